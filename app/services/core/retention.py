"""When an ended instance may be removed: its end plus the history time to live in force.

As Camunda 7's removal-time strategy "end": the removal time is written on the instance
in the step that ends it (`Step.set_status`), so history cleanup finds what is due with
one index range scan and never recomputes anything. The time to live is the definition's
own (`camunda:historyTimeToLive`, or what an admin set since) or else the server's default
(`HISTORY_TTL_DAYS`); none at all keeps the instance forever (no removal time).
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import bindparam, select

from ...extensions import db
from ...models import ProcessDefinition

DEFINITIONS = ProcessDefinition.__table__


def effective_ttl_days(own_ttl_days: int | None) -> int | None:
    """A definition's time to live, or the server's default when it has none."""
    return own_ttl_days if own_ttl_days is not None else current_app.config.get("HISTORY_TTL_DAYS")


def removal_time_after(ended_at: dt.datetime | None, ttl_days: int | None) -> dt.datetime | None:
    """`ended_at` plus the time to live; None while running or when kept forever."""
    if ended_at is None or ttl_days is None:
        return None
    return ended_at + dt.timedelta(days=ttl_days)


# Built once: every step that ends an instance runs one of them.
_TTL = select(DEFINITIONS.c.history_ttl_days).where(DEFINITIONS.c.id == bindparam("id"))
_TTL_FOR_SHARE = _TTL.with_for_update(read=True)


def removal_time(definition_id: str, ended_at: dt.datetime) -> dt.datetime | None:
    """The removal time of an instance of `definition_id` ending at `ended_at`.

    On PostgreSQL the definition row is read FOR SHARE: an admin changing its time to live
    (an UPDATE of that row) waits for the steps ending instances now, and the recomputation
    that follows the change sees them; an instance ending later reads the new value.
    """
    conn = db.session.connection()
    stmt = _TTL_FOR_SHARE if conn.dialect.name == "postgresql" else _TTL
    return removal_time_after(ended_at, effective_ttl_days(conn.execute(stmt, {"id": definition_id}).scalar()))
