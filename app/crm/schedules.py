"""When a date-based workflow rule or a scheduled action is due: plain date arithmetic, no database.

A moment is computed from a reference (a record's date or datetime field, or the moment the rule
triggered), an offset in days and hours (negative: before), an optional time of day in a time zone,
and an optional yearly or monthly repetition. The first moment strictly after `after` counts:
a moment already past is never fired late, and a repeating rule goes on with its next occurrence.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo

from .. import clock

__all__ = ["REPEATS", "next_due", "time_problem", "timezone_problem"]

REPEATS = ("yearly", "monthly")
DEFAULT_TIME = "09:00"  # a date field's rule fires at this time of day unless the rule names one
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MAX_REPEATS = 2_400  # monthly for 200 years: the search for the next occurrence is bounded


def time_problem(value) -> str | None:
    """Why `value` is not a time of day HH:MM, or None."""
    if not isinstance(value, str) or not _TIME.match(value):
        return "a time of day HH:MM (24 hours), e.g. 09:00"
    return None


def timezone_problem(value) -> str | None:
    """Why `value` is not an IANA time zone name, or None."""
    if not isinstance(value, str) or not value or len(value) > 64 or ".." in value or value.startswith("/"):
        return "an IANA time zone name, e.g. Europe/Berlin"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}"
    return None


def _as_moment(value) -> dt.date | dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    text = str(value)
    try:
        if "T" in text or " " in text:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _shift(day: dt.date, years: int = 0, months: int = 0) -> dt.date:
    """`day` moved by whole years and months; the 29th-31st fall back to the month's last day."""
    month_index = day.year * 12 + (day.month - 1) + years * 12 + months
    year, month = divmod(month_index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _moment(reference, days: int, hours: int, time: str | None, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    if isinstance(reference, dt.datetime):
        local = (reference if reference.tzinfo else reference.replace(tzinfo=dt.timezone.utc)).astimezone(zone)
        local = local + dt.timedelta(days=days)
        if time:
            hh, mm = (int(p) for p in time.split(":"))
            local = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
    else:
        hh, mm = (int(p) for p in (time or DEFAULT_TIME).split(":"))
        day = reference + dt.timedelta(days=days)
        local = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=zone)
    return (local + dt.timedelta(hours=hours)).astimezone(dt.timezone.utc)


def next_due(value, days: int = 0, hours: int = 0, time: str | None = None, timezone: str = "UTC",
             repeat: str | None = None, after=None) -> str | None:
    """The first moment strictly after `after` (default: now) when a rule on `value` fires, as an ISO
    8601 UTC text (what a BPMN timeDate reads), or None: no value, or past and not repeating.

    Args:
        value: a date or datetime (or its ISO text): the record's field, or the trigger moment.
        days, hours: the offset from it (negative: before).
        time: "HH:MM" in `timezone`; for a date the default is 09:00, for a datetime its own time.
        repeat: None, "yearly" or "monthly": the value's anniversaries count as well.
    """
    reference = _as_moment(value)
    if reference is None:
        return None
    zone = zoneinfo.ZoneInfo(timezone or "UTC")
    bound = _as_moment(after) if after is not None else clock.utcnow()
    if not isinstance(bound, dt.datetime):
        return None
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=dt.timezone.utc)
    days, hours = int(days or 0), int(hours or 0)
    if repeat not in REPEATS:
        moment = _moment(reference, days, hours, time, zone)
        return moment.isoformat() if moment > bound else None
    base_day = reference.date() if isinstance(reference, dt.datetime) else reference
    step = 12 if repeat == "yearly" else 1
    # Start near `after`: the offset is at most ~10 years, so begin that far before it.
    months_apart = (bound.year - base_day.year) * 12 + (bound.month - base_day.month)
    start = max(0, (months_apart - abs(days) // 28 - 130) // step)
    for k in range(start, start + _MAX_REPEATS):
        day = _shift(base_day, months=k * step)
        shifted = (dt.datetime.combine(day, reference.timetz()) if isinstance(reference, dt.datetime) else day)
        moment = _moment(shifted, days, hours, time, zone)
        if moment > bound:
            return moment.isoformat()
    return None
