"""The time between two timestamps, in SQL, as SQLite and PostgreSQL each can say it.

SQLite keeps timestamps as text (`julianday` reads them), PostgreSQL as timestamps (`extract(epoch ...)`
of their difference). Durations written and analytics read go through these two, so every duration the
server reports is counted the same way.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, cast, func

from ...extensions import db

__all__ = ["seconds_between", "millis_between"]


def seconds_between(later, earlier, dialect: str | None = None):
    """SQL: the seconds from `earlier` to `later` (`dialect`: the database's, if not the session's)."""
    if (dialect or db.session.get_bind().dialect.name) == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def millis_between(later, earlier, dialect: str | None = None):
    """SQL: the whole milliseconds from `earlier` to `later`."""
    return cast(func.round(seconds_between(later, earlier, dialect) * 1000), BigInteger)
