"""Activity instances: one row per occurrence of an element in an instance, from entered to left.

It is the instance's activity history (what the history API lists as `element_entered` and
`element_left`/`element_cancelled`) and what process analytics read: heat maps, durations, branch
frequencies, bottlenecks and the event log export, from indexed rows and never from instance state.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime

BigIntId = BigInteger().with_variant(Integer, "sqlite")


class ActivityState:
    """How an activity instance stands or ended."""

    ACTIVE = "active"            # entered, not yet left
    COMPLETED = "completed"      # left by completing
    CANCELLED = "cancelled"      # ended without completing (the instance or its scope was cancelled, a branch not taken)
    INTERRUPTED = "interrupted"  # an interrupting boundary event took it over

    ENDED = (COMPLETED, CANCELLED, INTERRUPTED)


class ActivityInstance(db.Model):
    __tablename__ = "activity_instance"
    __table_args__ = (
        # an instance's history (a few rows, put in order as read); the cascade from its instance. The instance
        # alone: PostgreSQL keeps one entry per instance for its rows (deduplication), a third of (instance, id)
        Index("ix_activity_instance_instance", "instance_id"),
        # a definition's heat map and durations per element
        Index("ix_activity_instance_definition", "definition_id", "element_id", "started_at"),
        # the p50/p90 durations of a definition's elements: presorted input for percentile_disc (0022)
        Index("ix_activity_instance_durations", "definition_id", "element_id", "duration_ms",
              postgresql_where=text("state = 'completed'"), sqlite_where=text("state = 'completed'")),
        # the occurrence a step leaves: open rows of an instance by engine task
        Index("ix_activity_instance_open", "instance_id", "task_id",
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    definition_id: Mapped[str] = mapped_column(String(32))
    process_key: Mapped[str] = mapped_column(String(255))
    # The engine's task of this occurrence (None for a timer cycle's firing, entered and left at once).
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    element_name: Mapped[str | None] = mapped_column(String(255))
    element_type: Mapped[str] = mapped_column(String(80))
    # Where the token came from: the element before it and the sequence flow between them.
    from_element_id: Mapped[str | None] = mapped_column(String(255))
    from_flow_id: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # A human task's first claim: queue time is started -> claimed, work time claimed -> ended.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))  # ActivityState
    actor: Mapped[str | None] = mapped_column(String(200))  # who completed it (a human task's user)
    outcome: Mapped[str | None] = mapped_column(String(255))  # a transition's name, an approval's decision
    instance = relationship("ProcessInstance", lazy="raise")
