"""Process instances and what is projected out of their state."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..statuses import InstanceStatus
from .base import UTCDateTime, new_id, utcnow

BigIntId = BigInteger().with_variant(Integer, "sqlite")
# An instance that has not ended, as SQL (a partial index's condition)
LIVE_CLAUSE = "status IN (" + ", ".join(f"'{status}'" for status in sorted(InstanceStatus.LIVE)) + ")"


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_started", "started_at", "id"),
        # the instances that have not ended, newest first (Camunda's runtime list; one status, one key): a page at
        # any depth from one range of a small index, its filters read from the index, however many have ended
        Index("ix_process_instance_live", "started_at", "id", "status", "process_key",
              postgresql_where=text(LIVE_CLAUSE), sqlite_where=text(LIVE_CLAUSE)),
        Index("ix_process_instance_key_status", "process_key", "status", "started_at", "id"),
        # a key's completed instances by their end: those completed lately counted from one range (migration 0038)
        Index("ix_process_instance_completed", "process_key", "ended_at",
              postgresql_where=text("status = 'completed'"), sqlite_where=text("status = 'completed'")),
        # the instances a user started, their ids from the index alone (what the user may read; migration 0037)
        Index("ix_process_instance_started_by", "started_by", "id"),
        Index("ix_process_instance_tenant", "tenant_id", "started_at"),
        # history cleanup: the ended instances whose removal time has come, one index range scan
        Index("ix_process_instance_removal_time", "removal_time"),
        # by key (message correlation) and by prefix (businessKeyLike 'BK-12%'): PostgreSQL's pattern operator
        # class serves both (migration 0033)
        Index("ix_process_instance_business_key", "business_key",
              postgresql_ops={"business_key": "text_pattern_ops"}),
        # by any part (businessKeyLike '%-2026'): the key's trigrams, on PostgreSQL where pg_trgm could be
        # created (migration 0036)
        Index("ix_process_instance_business_key_trgm", "business_key", postgresql_using="gin",
              postgresql_ops={"business_key": "gin_trgm_ops"},
              postgresql_where=text("business_key IS NOT NULL")).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))  # its definition's (Camunda's tenant)
    business_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), index=True)
    variables: Mapped[dict] = mapped_column(JSON, default=dict)
    # The engine's serialized workflow while the instance lives; empty ('', ENDED_STATE) once it has ended:
    # nothing acts on an ended instance, its history, activity rows and variables say what it did.
    state: Mapped[str] = mapped_column(Text, deferred=True)
    state_version: Mapped[int] = mapped_column(Integer)
    started_by: Mapped[str | None] = mapped_column(String(200))
    # The CRM record the instance runs on, and what it is to that record
    # (process, blueprint, approval, review, rule).
    record_module: Mapped[str | None] = mapped_column(String(100))
    record_id: Mapped[str | None] = mapped_column(String(32), index=True)
    record_role: Mapped[str | None] = mapped_column(String(20))
    # When the earliest waiting timer is due, and whether the instance waits for
    # messages or signals: lets a step skip the job and subscription tables when
    # neither was nor is in play.
    next_timer_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    subscribed: Mapped[bool] = mapped_column(db.Boolean, default=False, server_default=db.false())
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_element_id: Mapped[str | None] = mapped_column(String(255))  # the end event it completed at
    # When history cleanup may remove the ended instance and every row of it: its end plus the history
    # time to live of its definition (or the server's default); None while it runs, or kept forever.
    removal_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic check on top of the row lock: a stale write fails instead of overwriting.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    definition = relationship("ProcessDefinition", lazy="raise")

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def duration_ms(self) -> int | None:
        """Milliseconds from start to end, once ended."""
        if self.ended_at is None or self.started_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds() * 1000)


ENDED_STATE = ""  # the state column of an ended instance


class ActiveActivity(db.Model):
    """An element an instance is at now (ready, waiting, running or failed); rows go when the instance ends."""

    __tablename__ = "active_activity"
    # instances waiting at each element of a definition: one index range (statistics)
    __table_args__ = (Index("ix_active_activity_definition", "definition_id", "element_id", "instance_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    # The instance's definition when the row was written (each step writes its instance's rows anew).
    definition_id: Mapped[str | None] = mapped_column(String(32))
    element_id: Mapped[str] = mapped_column(String(255), index=True)
    element_name: Mapped[str | None] = mapped_column(String(255))
    element_type: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20))
    # Declared so the unit of work inserts the instance before its rows.
    instance = relationship(ProcessInstance, lazy="raise")


class HistoryEvent(db.Model):
    """The audit trail: one row per thing that happened to an instance."""

    __tablename__ = "history_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    element_id: Mapped[str | None] = mapped_column(String(255))
    element_name: Mapped[str | None] = mapped_column(String(255))
    element_type: Mapped[str | None] = mapped_column(String(80))
    user: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    instance = relationship(ProcessInstance, lazy="raise")


class Incident(db.Model):
    """A failure that stopped an instance, open until retried or cancelled."""

    __tablename__ = "incident"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(255))
    element_name: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(40))
    instance = relationship(ProcessInstance, lazy="raise")
