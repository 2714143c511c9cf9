"""Moments for tests, always relative to the real now, so the suite passes on any day.

A test that needs a calendar property (a Monday, 09:00 on the dot) asks for the next such moment
after now rather than naming a date: data and tokens issued at real time never outlive it. Tests
that move time through the app take the `clock` fixture (conftest), frozen at the real now, and
shift it; a test that travels to one of these moments logs in after travelling, so its tokens are
issued by the same frozen clock.
"""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc


def real_now() -> dt.datetime:
    """Now, UTC (read when called: inside a travel it is the travelled time)."""
    return dt.datetime.now(UTC)


def next_at(hour: int, minute: int = 0, *, weekday: int | None = None, days_ahead: int = 1) -> dt.datetime:
    """The first hour:minute (on `weekday`, Monday = 0, when given) at least `days_ahead` days from now."""
    day = (real_now() + dt.timedelta(days=days_ahead)).date()
    if weekday is not None:
        day += dt.timedelta(days=(weekday - day.weekday()) % 7)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def iso(moment: dt.datetime) -> str:
    """As the API writes a UTC moment."""
    return moment.astimezone(UTC).isoformat()
