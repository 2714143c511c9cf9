"""Durable work: timer jobs, and what instances wait for (the event index)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow


class Job(db.Model):
    """A piece of work due at a time: one row per waiting instance timer (its earliest)."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # timer | async | batch
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"),
                                                    index=True)
    # A batch job (instance migration) works through its batch's pending items, a chunk per run.
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    instance = relationship("ProcessInstance", lazy="raise")
    batch = relationship("Batch", lazy="selectin")


class RunnerHeartbeat(db.Model):
    """A job runner (embedded, `flask jobs worker`, a Celery worker) was alive and running passes at `beat_at`.

    Each runner updates its own row every few passes; readiness (`/health/ready`) and the metrics read
    the newest. Rows of runners gone for a day are removed when a new runner first beats.
    """

    __tablename__ = "runner_heartbeat"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:thread, with its kind's prefix
    kind: Mapped[str] = mapped_column(String(20))  # embedded | worker | celery
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class EventSubscription(db.Model):
    """An instance waits for a message or signal with this name: the indexed side of correlation."""

    __tablename__ = "event_subscription"
    __table_args__ = (Index("ix_event_subscription_lookup", "kind", "name", "business_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    element_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    instance = relationship("ProcessInstance", lazy="raise")


class BufferedMessage(db.Model):
    """A message nobody waited for, kept until `expires_at` for an instance that starts waiting."""

    __tablename__ = "buffered_message"
    __table_args__ = (Index("ix_buffered_message_lookup", "name", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    process_instance_id: Mapped[str | None] = mapped_column(String(32))
    variables: Mapped[dict] = mapped_column(db.JSON, default=dict)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
