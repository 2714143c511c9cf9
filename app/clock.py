"""The one clock Stagecoach reads.

Every part of the server (models' default timestamps, services, the engine's
script functions and cron timers, bearer tokens) asks this module for the time,
so there is one place that says what "now" is. SpiffWorkflow reads the wall
clock itself inside its timer definitions; both read `datetime.now`, so a test
that moves time (time-machine's `travel`, Debian's `faketime`) moves them
together. The module depends on nothing but the standard library, so every
layer may import it.
"""
from __future__ import annotations

import datetime as dt

__all__ = ["utcnow", "today", "timestamp", "as_utc"]


def utcnow() -> dt.datetime:
    """The current time, UTC and timezone-aware."""
    return dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """Today's date in UTC."""
    return utcnow().date()


def timestamp() -> float:
    """Seconds since the epoch, for signatures that carry their issue time."""
    return utcnow().timestamp()


def as_utc(value) -> dt.datetime | None:
    """A moment as an aware UTC datetime: one without a zone is taken as UTC; text (what SQLite gives for
    a timestamp read through an expression or an aggregate) is read as ISO 8601; None stays None."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
