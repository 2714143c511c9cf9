"""Filtering instances by their variables, as Camunda's `variables` query parameter does.

Each filter is (name, operator, value) with operators eq, neq, gt, gteq, lt, lteq and like. A value is
compared with the variable of the same JSON type only (a number with numbers, a string with strings, a
boolean with booleans; `eq`/`neq` null with a null or missing variable), as Camunda compares typed values:
the string "100" is not the number 100. The type is checked in SQL before the value is cast, so no
stored value of another type can make the query fail.
"""
from __future__ import annotations

import operator as op

from sqlalchemy import and_, case, func, literal

from ..database import like
from ..extensions import db

OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like")
_COMPARISONS = {"eq": op.eq, "neq": op.ne, "gt": op.gt, "gteq": op.ge, "lt": op.lt, "lteq": op.le}
_JSON_TYPES = {  # the database's name for each JSON type of a value
    "postgresql": {"number": ("number",), "boolean": ("boolean",), "string": ("string",)},
    "sqlite": {"number": ("integer", "real"), "boolean": ("true", "false"), "string": ("text",)},
}


def variable_clauses(column, filters) -> list:
    """WHERE clauses on the JSON `column` of variables for each (name, operator, value) filter."""
    dialect = db.session.get_bind().dialect.name
    return [_clause(column, dialect, name, operator, value) for name, operator, value in filters]


def _clause(column, dialect: str, name: str, operator: str, value):
    item = column[name]
    if value is None:
        present = func.json_typeof(item) if dialect == "postgresql" else func.json_type(column, _path(name))
        missing = present.is_(None) | (present == "null")
        return missing if operator == "eq" else ~missing
    if isinstance(value, bool):
        kind, typed = "boolean", item.as_boolean()
    elif isinstance(value, (int, float)):
        kind, typed, value = "number", item.as_float(), float(value)
    else:
        kind, typed = "string", item.as_string()
    of_type = (func.json_typeof(item) if dialect == "postgresql" else func.json_type(column, _path(name))).in_(
        _JSON_TYPES.get(dialect, _JSON_TYPES["sqlite"])[kind])
    typed = case((of_type, typed))  # cast only a value of the filter's type
    if operator == "like":
        return and_(of_type, like(item.as_string(), str(value)))
    return and_(of_type, typed.operate(_COMPARISONS[operator], literal(value)))


def _path(name: str) -> str:
    return '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
