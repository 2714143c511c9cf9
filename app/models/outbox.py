"""The outbox: emails and webhook calls written with the change that caused them, delivered after commit."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # email | webhook
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    instance_id: Mapped[str | None] = mapped_column(String(32), index=True)
    record_id: Mapped[str | None] = mapped_column(String(32), index=True)
    module: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class EmailTracking(db.Model):
    """An open or a click of a tracked email, recorded once: the unique key makes a replayed pixel or a
    second click of the same link a no-op (app/services/tracking.py)."""

    __tablename__ = "email_tracking"
    __table_args__ = (UniqueConstraint("message_id", "key", name="uq_email_tracking_message_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(String(32))  # the outbox message; no FK: outlives it
    key: Mapped[str] = mapped_column(String(80))  # "open", or "click:" + a digest of the link's URL
    record_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
