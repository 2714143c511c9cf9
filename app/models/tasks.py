"""Human tasks: the inbox projection of instances' ready user and manual tasks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class HumanTask(db.Model):
    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_instance_state", "instance_id", "state"),
        # a key's tasks, and its open ones counted from one range (process statistics; migration 0038)
        Index("ix_human_task_process_key", "process_key", "state"),
        # the inbox's default order (newest first), open tasks only; the caller's own open tasks
        Index("ix_human_task_open_assignee", "assignee", "created_at", "id", postgresql_where=text("state = 'open'"),
              sqlite_where=text("state = 'open'")),
        Index("ix_human_task_open_created", "created_at", "id", postgresql_where=text("state = 'open'"),
              sqlite_where=text("state = 'open'")),
        # an open task by id, with what the inbox filters and sorts on: a list driven by candidate rows (a group,
        # "mine") checks each task from the index alone (PostgreSQL: an index-only scan)
        Index("ix_human_task_open_id", "id", postgresql_include=["assignee", "created_at"],
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
        Index("ix_human_task_open_due", "due_at", "id", postgresql_where=text("state = 'open'"),
              sqlite_where=text("state = 'open'")),
        # the task list's other orders (Camunda's sortBy), open tasks only, ties by id either way
        *(Index(f"ix_human_task_open_{name}", column, "id", postgresql_where=text("state = 'open'"),
                sqlite_where=text("state = 'open'"))
          for name, column in (("name", "name"), ("follow_up", "follow_up_at"), ("assignee_id", "assignee"),
                               ("instance", "instance_id"))),
        # every task, oldest first: the task history (Camunda's /history/task) pages through it
        Index("ix_human_task_created", "created_at", "id"),
        # who has or had a task, whatever its state: what a user may read
        Index("ix_human_task_assignee", "assignee"),
        Index("ix_human_task_owner", "owner"),
        Index("ix_human_task_completed_by", "completed_by"),
        Index("ix_human_task_tenant", "tenant_id", "state"),
    )

    # The engine's task id: stable across save and restore.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    definition_id: Mapped[str] = mapped_column(String(32))
    process_key: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))  # its definition's (Camunda's tenant)
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(200))
    candidate_users: Mapped[list] = mapped_column(JSON, default=list)
    candidate_groups: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20))  # open | completed | cancelled
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    follow_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # camunda:followUpDate
    priority: Mapped[int | None] = mapped_column(Integer)  # camunda:priority (50 unless modeled)
    # Camunda's delegation: the owner gets the task back when the delegate resolves it.
    owner: Mapped[str | None] = mapped_column(String(200))
    delegation_state: Mapped[str | None] = mapped_column(String(20))  # PENDING | RESOLVED
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(200))

    candidates: Mapped[list["TaskCandidate"]] = relationship(cascade="all, delete-orphan", lazy="raise")
    instance = relationship("ProcessInstance", lazy="raise")


# Open tasks by priority (unset counts as Camunda's default, 50), either way: the inbox sorted by priority
# (the priority itself last: a page's skipped rows are read from the index alone)
Index("ix_human_task_open_priority", func.coalesce(HumanTask.priority, 50), HumanTask.id, HumanTask.priority,
      postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'"))
# ... and by name in any case (Camunda's nameCaseInsensitive; the name itself last, for an index-only scan)
Index("ix_human_task_open_name_ci", func.lower(HumanTask.name), HumanTask.id, HumanTask.name,
      postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'"))


class TaskCandidate(db.Model):
    """Who may claim an open task: one row per candidate user or group, indexed for the inbox. The rows go
    when the task closes (a trigger deletes them as its state leaves 'open', migration 0031); the task keeps
    its candidates as data.

    A row carries its task's instance, so the instances offered to a user (what they may read) come from
    the index alone, without a lookup of each task."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_lookup", "kind", "name", "task_id", "instance_id"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # user | group
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # the task's (a copy: a task never moves to another instance)
    instance_id: Mapped[str] = mapped_column(String(32), nullable=False)
