"""Batches: work over many instances done in chunks, one transaction each (instance migration).

A batch keeps its plan and one item per instance, so a crash in the middle
leaves the items done so far marked and the rest pending: running it again
finishes the pending ones and never touches a done one twice. While items are
pending, a job of kind `batch` (with `batch_id`) keeps it in the job runner's line.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow


class Batch(db.Model):
    __tablename__ = "batch"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))  # instance-migration
    status: Mapped[str] = mapped_column(String(20))  # running | completed
    # What every item runs with (a migration: source and target definitions, mapping, variables).
    plan: Mapped[dict] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)  # items that succeeded (migrated)
    refused: Mapped[int] = mapped_column(Integer, default=0)  # items the plan cannot apply to, with reasons
    failed: Mapped[int] = mapped_column(Integer, default=0)  # items that raised an error
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def pending(self) -> int:
        return self.total - self.done - self.refused - self.failed


class BatchItem(db.Model):
    """One instance of a batch: pending until done, refused (with reasons) or failed (with the error)."""

    __tablename__ = "batch_item"
    __table_args__ = (Index("ix_batch_item_pending", "batch_id", "status", "position"),)

    batch_id: Mapped[str] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(20))  # pending | done | refused | failed
    reasons: Mapped[list | None] = mapped_column(JSON)  # [{element_id, reason, message}]
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
