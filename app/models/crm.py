"""CRM modules, records, their timeline, bindings to processes, and CRM tasks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow

BigIntId = BigInteger().with_variant(Integer, "sqlite")


class Module(db.Model):
    """A record type: built in (Leads, Deals, ...) or defined by an admin (Enquiries, Trips)."""

    __tablename__ = "crm_module"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    api_name: Mapped[str] = mapped_column(String(100), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{name, label, type, required, values, lookup, min, max, pattern, max_length}]
    fields: Mapped[list] = mapped_column(JSON, default=list)
    # [{name, expression, field, message}]: cross-field conditions that must hold
    rules: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Record(db.Model):
    __tablename__ = "crm_record"
    __table_args__ = (Index("ix_crm_record_module_created", "module", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    module: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_by: Mapped[str | None] = mapped_column(String(200))
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set while an approval or review holds the record: writes get 423 except to `lock_editable`.
    locked_by: Mapped[str | None] = mapped_column(String(32))
    lock_editable: Mapped[list | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


NODE_LENGTH = 255


def touchpoint_node(type_: str, data) -> str | None:
    """The step an entry is on a record's path (Path Finder): `stage: <to>` for a stage change, `type: name`
    for a touchpoint with a name, its type for one without; None for an entry that is no touchpoint."""
    data = data if isinstance(data, dict) else {}
    if type_ == "stage_changed":
        node = f"stage: {data.get('to') if data.get('to') is not None else ''}"
    elif data.get("touchpoint") is True:
        name = data.get("name")
        node = f"{type_}: {name}" if name not in (None, "") else type_
    else:
        return None
    return node[:NODE_LENGTH]


def _node_of_entry(context) -> str | None:
    values = context.get_current_parameters()
    return touchpoint_node(values.get("type"), values.get("data"))


class RecordEvent(db.Model):
    """The record's timeline: field changes, processes, tasks, emails, reviews."""

    __tablename__ = "crm_record_event"
    __table_args__ = (
        # a module's timeline over a period (process analytics read only the rows of the period)
        Index("ix_crm_record_event_module_at", "module", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(32), index=True)  # no FK: outlives the record
    module: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict | None] = mapped_column(JSON)
    # Set as the entry is written from its type and data (`touchpoint_node`): what analytics group by,
    # without reading every entry's JSON again.
    node: Mapped[str | None] = mapped_column(String(NODE_LENGTH), default=_node_of_entry)


class Binding(db.Model):
    """Starts a process when a record event matches: module, event, field, criteria."""

    __tablename__ = "crm_binding"
    __table_args__ = (Index("ix_crm_binding_module_active", "module", "active"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    module: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(20))  # create | edit | create_or_edit | field_change | delete
    field: Mapped[str | None] = mapped_column(String(100))
    criteria: Mapped[str | None] = mapped_column(Text)
    process_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20), default="process")  # process | blueprint | approval | review | rule
    # blueprint: {stage_field}; approval/review: {editable: [...]}
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrmTask(db.Model):
    """A to-do for a user, created by a process (a call to make, a follow-up)."""

    __tablename__ = "crm_task"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    subject: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    record_id: Mapped[str | None] = mapped_column(String(32), index=True)
    module: Mapped[str | None] = mapped_column(String(100))
    instance_id: Mapped[str | None] = mapped_column(String(32))
    due_date: Mapped[dt.date | None] = mapped_column(db.Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | completed
    # call | meeting: completing it logs a call or a meeting on the record's timeline; None: a plain to-do
    kind: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    description: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(200))


class Counter(db.Model):
    """Named counters (round-robin assignment positions)."""

    __tablename__ = "crm_counter"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
