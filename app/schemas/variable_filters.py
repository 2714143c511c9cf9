"""Camunda's `variables` query parameter: filters on an instance's variables by name, operator and value."""
import math
import re

from marshmallow import ValidationError, fields

from .common import MAX_KEY


class VariableFilters(fields.Field):
    """Camunda's `variables` filter: `name_operator_value` pairs joined by commas in a query string, or
    `[{name, operator, value}]` in a JSON body; operators eq, neq, gt, gteq, lt, lteq, like. In a query
    string `true`/`false` are booleans and a number is a number, as Camunda reads them; a `like` pattern is
    the text as written (`zip_like_80%`), and a number or boolean given to `like` is matched as its text."""

    OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like")
    MAX_FILTERS = 20

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            items = []
            for part in value.split(","):
                name, operator, raw = _triple(part, self.OPERATORS)
                items.append({"name": name, "operator": operator, "value": raw if operator == "like" else _typed(raw)})
        elif isinstance(value, list):
            items = value
        else:
            raise ValidationError("send name_operator_value pairs, or a list of {name, operator, value}")
        if len(items) > self.MAX_FILTERS:
            raise ValidationError(f"at most {self.MAX_FILTERS} variable filters")
        filters = []
        for item in items:
            if not isinstance(item, dict):
                raise ValidationError("each variable filter is {name, operator, value}")
            name, operator, val = item.get("name"), item.get("operator"), item.get("value")
            if not isinstance(name, str) or not 0 < len(name) <= MAX_KEY or '"' in name or "\\" in name:
                raise ValidationError(f"variable name {name!r}: 1 to {MAX_KEY} characters, no quote or backslash")
            if operator not in self.OPERATORS:
                raise ValidationError(f"operator {operator!r}: one of {', '.join(self.OPERATORS)}")
            if not (val is None or isinstance(val, (bool, int, float)) or (isinstance(val, str) and len(val) <= 4000)):
                raise ValidationError(f"the value for {name!r} must be a string (at most 4,000 characters), "
                                      "a number, a boolean or null")
            if isinstance(val, float) and val != val:
                raise ValidationError(f"the value for {name!r} is not a number")
            if operator == "like" and isinstance(val, (bool, int, float)):  # Camunda's String.valueOf
                val = ("true" if val else "false") if isinstance(val, bool) else str(val)
            if isinstance(val, bool) and operator not in ("eq", "neq"):
                raise ValidationError(f"a boolean compares with eq or neq only ({name!r})")
            if val is None and operator not in ("eq", "neq"):
                raise ValidationError(f"null compares with eq or neq only ({name!r})")
            filters.append((name, operator, val))
        return filters


def _triple(part: str, operators) -> tuple[str, str, str]:
    """KEY_OPERATOR_VALUE. Camunda allows no underscore in the name or the value; a name with underscores
    (`order_no_eq_7`) is read too, splitting at the last operator word that leaves a name and a value."""
    pieces = part.split("_")
    at = next((i for i in range(len(pieces) - 2, 0, -1) if pieces[i] in operators), None)
    if at is None:
        raise ValidationError(f"variable filter {part[:100]!r}: write name_operator_value with an operator of "
                              f"{', '.join(operators)}")
    return "_".join(pieces[:at]), pieces[at], "_".join(pieces[at + 1:])


_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _typed(raw: str):
    """A query string's value as Camunda reads it: a boolean, a number (ASCII digits, with a fraction or
    an exponent), else the string. A number too large for a double is refused."""
    if raw in ("true", "false"):
        return raw == "true"
    if len(raw) <= 400 and _INTEGER.fullmatch(raw):
        value = int(raw)
        if abs(value) > 2**53 and not math.isfinite(float(raw)):
            raise ValidationError(f"{raw[:40]}...: a number too large to compare")
        return value
    if len(raw) <= 400 and _DECIMAL.fullmatch(raw):
        value = float(raw)
        if not math.isfinite(value):
            raise ValidationError(f"{raw[:40]}: a number too large to compare")
        return value
    return raw
