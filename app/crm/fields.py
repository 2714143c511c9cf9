"""Typed fields: definitions and the checking and coercion of values.

A field's `pattern` is a regular expression its text must match in full; it runs on RE2 (`app.patterns`),
in linear time, so a pattern such as `^(a+)+$` cannot stall a record write. One RE2 cannot run
(backreferences, lookaround) or longer than PATTERN_MAX_LENGTH is refused when the module is saved.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from .. import patterns

FIELD_TYPES = {"text", "long_text", "number", "currency", "percent", "boolean", "date", "datetime", "email",
               "phone", "picklist", "multi_picklist", "lookup", "user"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,30}$")
SYSTEM_FIELDS = {"id", "module", "owner", "created_by", "created_at", "modified_by", "modified_at", "locked_by",
                 "record_id"}


class FieldError(Exception):
    """Values or definitions that do not fit; `errors` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def check_field_definitions(fields: list[dict], module_names: set[str]) -> list[dict]:
    """Validate a module's field list; returns it normalised."""
    errors: dict[str, list[str]] = {}
    seen = set()
    out = []
    for i, f in enumerate(fields):
        name = f.get("name", "")
        key = name or f"fields[{i}]"
        if not isinstance(name, str) or not _NAME.match(name) or name in SYSTEM_FIELDS:
            errors.setdefault(key, []).append("name must be lower_snake_case and not a system field")
        if name in seen:
            errors.setdefault(key, []).append("duplicate field")
        seen.add(name)
        ftype = f.get("type")
        if ftype not in FIELD_TYPES:
            errors.setdefault(key, []).append(f"type must be one of {', '.join(sorted(FIELD_TYPES))}")
        if ftype in {"picklist", "multi_picklist"} and not (isinstance(f.get("values"), list) and f["values"]):
            errors.setdefault(key, []).append("a picklist needs its values")
        if ftype == "lookup" and f.get("lookup") not in module_names:
            errors.setdefault(key, []).append("a lookup needs `lookup`: the module it points to")
        if f.get("pattern"):
            why = patterns.problem(f["pattern"])
            if why:
                errors.setdefault(key, []).append(f"pattern is not a valid regular expression: {why}")
        out.append({k: v for k, v in f.items() if k in {
            "name", "label", "type", "required", "values", "lookup", "min", "max", "pattern", "max_length"}})
    if errors:
        raise FieldError(errors)
    return out


def clean_values(fields: list[dict], values: dict[str, Any], *, partial: bool,
                 exists: Callable[[str, str, str | None], bool]) -> dict[str, Any]:
    """Check and coerce `values` against the module's fields.

    Args:
        partial: a PATCH: required fields are checked only if sent.
        exists: exists(kind, value, module) for lookups ("record") and users ("user").
    Returns the cleaned values; raises FieldError with every problem.
    """
    by_name = {f["name"]: f for f in fields}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        f = by_name.get(name)
        if f is None:
            errors.setdefault(name, []).append("not a field of this module")
            continue
        if value is None or value == "":
            if f.get("required"):
                errors.setdefault(name, []).append("required")
            cleaned[name] = None
            continue
        try:
            cleaned[name] = _clean(f, value, exists)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    if not partial:
        for f in fields:
            if f.get("required") and values.get(f["name"]) in (None, "") and f["name"] not in errors:
                errors.setdefault(f["name"], []).append("required")
    if errors:
        raise FieldError(errors)
    return cleaned


def _clean(f: dict, value: Any, exists) -> Any:
    ftype = f["type"]
    if ftype in {"text", "long_text", "email", "phone"}:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        limit = f.get("max_length") or (255 if ftype != "long_text" else 32_000)
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        if ftype == "email" and not _EMAIL.match(value):
            raise ValueError("not an email address")
        if ftype == "phone" and not _PHONE.match(value):
            raise ValueError("not a phone number")
        if f.get("pattern"):
            try:
                matches = patterns.fullmatch(f["pattern"], value)
            except (patterns.PatternError, patterns.PatternInputError) as exc:
                raise ValueError(str(exc)) from None
            if not matches:
                raise ValueError(f"must match {f['pattern']}")
        return value
    if ftype in {"number", "currency", "percent"}:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number")
        lo = f.get("min", 0 if ftype == "percent" else None)
        hi = f.get("max", 100 if ftype == "percent" else None)
        if lo is not None and value < lo:
            raise ValueError(f"must be at least {lo}")
        if hi is not None and value > hi:
            raise ValueError(f"must be at most {hi}")
        return value
    if ftype == "boolean":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if ftype == "date":
        try:
            return dt.date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if ftype == "datetime":
        try:
            return dt.datetime.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise ValueError("must be an ISO 8601 date-time") from None
    if ftype == "picklist":
        if value not in f["values"]:
            raise ValueError(f"must be one of {', '.join(map(str, f['values']))}")
        return value
    if ftype == "multi_picklist":
        if not isinstance(value, list) or any(v not in f["values"] for v in value):
            raise ValueError(f"must be a list of {', '.join(map(str, f['values']))}")
        return list(dict.fromkeys(value))
    if ftype == "lookup":
        if not isinstance(value, str) or not exists("record", value, f["lookup"]):
            raise ValueError(f"no {f['lookup']} record {value}")
        return value
    if ftype == "user":
        if not isinstance(value, str) or not exists("user", value, None):
            raise ValueError(f"no user {value}")
        return value
    raise ValueError("unknown field type")  # pragma: no cover - definitions are checked
