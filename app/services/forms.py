"""Validating submitted form data against a task's JSON Schema form, and the names of variables set
without one.

The form's patterns (and the `regex` format) run on RE2 (`app.patterns`): a value is checked in time
linear in its length, and one longer than PATTERN_MAX_INPUT is refused rather than matched.
"""
from __future__ import annotations

from .. import patterns
from ..errors import FormValidationError


def validate_form(schema: dict, data: dict) -> dict:
    """Return `data` if it fits the form; raise FormValidationError with per-field errors.

    Only fields the form declares are accepted: a user must not be able to
    set `approved=true` on a task that never asked for it.
    """
    if not isinstance(data, dict):
        raise FormValidationError("variables must be an object", errors={"variables": ["must be an object"]})
    schema = dict(schema or {})
    declared = set((schema.get("properties") or {}).keys())
    errors: dict[str, list[str]] = {}
    for name in data:
        if name not in declared:
            errors.setdefault(name, []).append("not a field of this task's form")
    readonly = {k for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict) and v.get("readOnly")}
    for name in readonly & set(data):
        errors.setdefault(name, []).append("read-only field")
    validator = patterns.json_schema_validator(schema)
    for error in validator.iter_errors(data):
        if error.validator == "additionalProperties":
            continue  # reported per field above
        if error.validator == "required":
            missing = [p for p in error.validator_value if p not in error.instance]
            for name in missing:
                messages = errors.setdefault(_join(error.absolute_path, name), [])
                if "required" not in messages:  # required by the form and by a rule for this transition
                    messages.append("required")
            continue
        field = _join(error.absolute_path) or "variables"
        errors.setdefault(field, []).append(error.message)
    if errors:
        raise FormValidationError(f"{len(errors)} field(s) rejected", errors=errors)
    return data


def _join(path, leaf: str | None = None) -> str:
    parts = [str(p) for p in path]
    if leaf is not None:
        parts.append(leaf)
    return ".".join(parts)


MAX_VARIABLE_NAME = 255


def check_variable_names(data: dict) -> dict:
    """Return `data` if every name may be set on an instance without a form's check (Camunda's
    `/task/{id}/complete` takes any variables); raise FormValidationError naming the others.

    A name is 1 to 255 characters and does not start with `_`: such names belong to the engine and
    the script sandbox, which never lets a script read them.
    """
    if not isinstance(data, dict):
        raise FormValidationError("variables must be an object", errors={"variables": ["must be an object"]})
    errors: dict[str, list[str]] = {}
    for name in data:
        if not isinstance(name, str) or not name or len(name) > MAX_VARIABLE_NAME:
            errors[str(name)[:80]] = [f"a variable name is 1 to {MAX_VARIABLE_NAME} characters"]
        elif name.startswith("_"):
            errors[name] = ["names starting with '_' are reserved for the engine"]
    if errors:
        raise FormValidationError(f"{len(errors)} variable(s) rejected", errors=errors)
    return data
