"""External tasks: service tasks that workers outside the server fetch by topic, lock and complete."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ExternalTask(db.Model):
    """A held external service task of an instance, waiting for (or locked by) a worker.

    The id is the engine task's id; the row goes when the task is completed or no longer held.
    """

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_topic_lock", "topic", "lock_expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str | None] = mapped_column(String(64))  # its definition's (Camunda's tenant)
    element_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    worker_id: Mapped[str | None] = mapped_column(String(255))
    # the user who fetched it: a lock belongs to the worker id and to them (empty for a lock taken before 0008)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retries: Mapped[int | None] = mapped_column(Integer)  # None until a worker reports a failure
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # its own variables, over the instance's when a worker fetches it (a multi-instance instance's item)
    local_variables: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    instance = relationship("ProcessInstance", lazy="raise")
