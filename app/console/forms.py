"""A JSON Schema form as HTML fields, and the posted fields back as the values the API would receive.

The schema is the one the services check (`forms.validate_form`), so the console sends what an
API client would and gets the same per-field errors back: a value that does not parse (`abc` for a
number) is passed on as the text it is, for the validator to name its field. Empty inputs are
left out (a required one is then "required"); read-only fields are shown and never sent.
Nested objects are named with dots (`creditor.name`), as the validator names their errors.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INPUT_TYPES = {"date": "date", "date-time": "datetime-local", "time": "time", "email": "email"}


@dataclass
class Field:
    """One form control: what the templates' `form_field` macro renders."""

    name: str                      # the posted name, dotted for nested objects
    label: str
    kind: str                      # input | textarea | select | boolean | choices | group | json
    input_type: str = "text"       # for kind "input": text, number, date, datetime-local, time, email
    required: bool = False
    readonly: bool = False
    help: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) of select and choices
    attrs: dict[str, Any] = field(default_factory=dict)           # min, max, step, minlength, maxlength
    value: Any = None              # as shown: a string, a list of strings (choices), None
    children: list["Field"] = field(default_factory=list)         # kind "group"

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


def _options(prop: dict) -> list[tuple[Any, str]] | None:
    if isinstance(prop.get("enum"), list):
        return [(v, str(v)) for v in prop["enum"]]
    one_of = [o for o in prop.get("oneOf") or prop.get("anyOf") or [] if isinstance(o, dict) and "const" in o]
    if one_of:
        return [(o["const"], str(o.get("title") or o["const"])) for o in one_of]
    return None


def option_value(value: Any) -> str:
    """How an enum value is posted: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _shown(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fields_of(schema: dict, values: dict | None = None, *, only: list[str] | None = None,
              required: list[str] | None = None, prefix: str = "") -> list[Field]:
    """The controls of a form, filled with `values` (typed values, or the strings that were posted).

    Args:
        only: the fields to show, in that order (default: every property, in the schema's order).
        required: fields marked required besides the schema's own `required`.
    """
    values = values or {}
    properties = (schema or {}).get("properties") or {}
    must = set((schema or {}).get("required") or []) | set(required or [])
    names = [n for n in (only if only is not None else list(properties)) if n in properties]
    result = []
    for name in names:
        prop = properties[name] if isinstance(properties[name], dict) else {}
        dotted = prefix + name
        value = values.get(name, values.get(dotted))
        if value is None and prefix == "" and dotted not in values and "default" in prop:
            value = prop["default"]
        result.append(_field(dotted, prop, value, name in must))
    return result


def _field(name: str, prop: dict, value: Any, required: bool) -> Field:
    label = str(prop.get("title") or name.rsplit(".", 1)[-1].replace("_", " ").capitalize())
    common = {"name": name, "label": label, "required": required, "readonly": bool(prop.get("readOnly")),
              "help": prop.get("description")}
    options = _options(prop)
    kind = prop.get("type")
    if options is not None:
        return Field(kind="select", options=[(option_value(v), text) for v, text in options],
                     value=None if value is None else (value if isinstance(value, str) else option_value(value)),
                     **common)
    if kind == "boolean":
        return Field(kind="boolean", value=_shown(value), **common)
    if kind == "object":
        nested = value if isinstance(value, dict) else {}
        children = fields_of(prop, nested, prefix=name + ".")
        return Field(kind="group", children=children, **common)
    if kind == "array":
        items = _options(prop.get("items") or {})
        if items is not None:
            chosen = [v if isinstance(v, str) else option_value(v) for v in value] if isinstance(value, list) else []
            return Field(kind="choices", options=[(option_value(v), t) for v, t in items], value=chosen, **common)
        return Field(kind="json", value=value if isinstance(value, str) else _shown(value), **common)
    if kind in ("number", "integer"):
        attrs = {"step": "1" if kind == "integer" else "any"}
        for source, target in (("minimum", "min"), ("maximum", "max")):
            if isinstance(prop.get(source), (int, float)):
                attrs[target] = _shown(prop[source])
        return Field(kind="input", input_type="text" if isinstance(value, str) and not _NUMBER.fullmatch(value)
                     else "number", attrs=attrs, value=_shown(value), **common)
    attrs = {}
    for source, target in (("minLength", "minlength"), ("maxLength", "maxlength")):
        if isinstance(prop.get(source), int):
            attrs[target] = prop[source]
    long_text = isinstance(prop.get("maxLength"), int) and prop["maxLength"] > 255
    return Field(kind="textarea" if long_text else "input", input_type=_INPUT_TYPES.get(prop.get("format"), "text"),
                 attrs=attrs, value=_shown(value), **common)


def parse(schema: dict, form: MultiDict, *, only: list[str] | None = None, prefix: str = "") -> dict:
    """The posted fields of `schema` as typed values (what an API client would send as variables)."""
    properties = (schema or {}).get("properties") or {}
    result: dict = {}
    for name in (only if only is not None else list(properties)):
        prop = properties.get(name)
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        dotted = prefix + name
        kind = prop.get("type")
        if kind == "object" and _options(prop) is None:
            nested = parse(prop, form, prefix=dotted + ".")
            if nested:
                result[name] = nested
            continue
        if kind == "array" and _options(prop.get("items") or {}) is not None:
            chosen = [_typed(prop.get("items") or {}, raw) for raw in form.getlist(dotted)]
            if chosen:  # none ticked: left out, like an empty input
                result[name] = chosen
            continue
        raw = form.get(dotted)
        if raw is None or raw.strip() == "":
            continue
        result[name] = _typed(prop, raw)
    return result


def _typed(prop: dict, raw: str) -> Any:
    """The value `raw` stands for under `prop`; text that is none is returned as it is, for the validator."""
    options = _options(prop)
    if options is not None:
        return next((v for v, _ in options if option_value(v) == raw), raw)
    kind = prop.get("type")
    text = raw.strip()
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, raw)
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _NUMBER.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):
            return raw
        written_as_integer = _INTEGER.fullmatch(text) is not None
        return int(text) if written_as_integer else number
    if kind in ("array", "object"):
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw
