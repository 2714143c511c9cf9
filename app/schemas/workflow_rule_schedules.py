"""What a date-based workflow rule's trigger and a scheduled action's `schedule` may say.

`load_date_trigger` and `load_schedule` return (the cleaned value, {key: [messages]}), the keys
relative to the object checked (`field`, `days`, ...); app/services/workflow_rules.py puts them under
`date.` or `actions[i].schedule.`. Moments themselves are computed by app/crm/schedules.py.
"""
from __future__ import annotations

from ..crm.schedules import REPEATS, time_problem, timezone_problem

DATE_TYPES = {"date", "datetime"}
MAX_DAYS = 3_650
MAX_HOURS = 24 * 3_650
_DATE_KEYS = {"field", "days", "hours", "time", "timezone", "repeat"}
_SCHEDULE_KEYS = {"field", "days", "hours", "time"}


def _whole(value, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"a whole number from {low} to {high}"
    return None


def _date_field_problem(name, module) -> str | None:
    if not isinstance(name, str) or not name:
        return "required: a date or datetime field of the module"
    fields = {f["name"]: f for f in module.fields} if module is not None else None
    if fields is not None:
        if name not in fields:
            return f"not a field of {module.api_name}"
        if fields[name].get("type") not in DATE_TYPES:
            return f"{name} is a {fields[name].get('type')} field; a date or datetime field is needed"
    return None


def _offset(spec: dict, errors: dict, *, days_low: int) -> tuple[int, int]:
    days, hours = spec.get("days", 0), spec.get("hours", 0)
    if problem := _whole(days, days_low, MAX_DAYS):
        errors.setdefault("days", []).append(problem)
    if problem := _whole(hours, -MAX_HOURS if days_low < 0 else 0, MAX_HOURS):
        errors.setdefault("hours", []).append(problem)
    return days, hours


def _time(spec: dict, errors: dict) -> str | None:
    time = spec.get("time")
    if time is not None and (problem := time_problem(time)):
        errors.setdefault("time", []).append(problem)
    return time


def load_date_trigger(spec, module, default_timezone: str) -> tuple[dict | None, dict[str, list[str]]]:
    """`{field, days, hours, time, timezone, repeat}` of an `event: "date"` rule."""
    if not isinstance(spec, dict):
        return None, {"": ["a date rule needs `date`: {field, days, hours, time, timezone, repeat}"]}
    errors: dict[str, list[str]] = {key: ["not a key of a date trigger"] for key in spec if key not in _DATE_KEYS}
    if problem := _date_field_problem(spec.get("field"), module):
        errors.setdefault("field", []).append(problem)
    days, hours = _offset(spec, errors, days_low=-MAX_DAYS)
    time = _time(spec, errors)
    timezone = spec.get("timezone") or default_timezone
    if problem := timezone_problem(timezone):
        errors.setdefault("timezone", []).append(problem)
    repeat = spec.get("repeat")
    if repeat is not None and repeat not in REPEATS:
        errors.setdefault("repeat", []).append(f"must be one of {', '.join(REPEATS)} (or null)")
    if errors:
        return None, errors
    return {"field": spec["field"], "days": days, "hours": hours, "time": time, "timezone": timezone,
            "repeat": repeat}, {}


def load_schedule(spec, module) -> tuple[dict | None, dict[str, list[str]]]:
    """An action's `schedule`: `{days, hours}` after the trigger, or `{field, days, hours, time}` from a
    date field (negative days: before it)."""
    if not isinstance(spec, dict):
        return None, {"": ["an object: {days, hours} after the trigger, or {field, days, hours, time}"]}
    errors: dict[str, list[str]] = {key: ["not a key of a schedule"] for key in spec if key not in _SCHEDULE_KEYS}
    field = spec.get("field")
    if field is None:
        days, hours = _offset(spec, errors, days_low=0)
        if "time" in spec:
            errors.setdefault("time", []).append("only a schedule from a date field sets a time of day")
        if not errors and days == 0 and hours == 0:
            errors.setdefault("days", []).append("a scheduled action waits: give days or hours after the trigger")
        time = None
    else:
        if problem := _date_field_problem(field, module):
            errors.setdefault("field", []).append(problem)
        days, hours = _offset(spec, errors, days_low=-MAX_DAYS)
        time = _time(spec, errors)
    if errors:
        return None, errors
    return {"field": field, "days": days, "hours": hours, "time": time}, {}
