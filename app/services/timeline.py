"""A record's timeline: field changes, processes, tasks, emails and reviews, oldest first.

A touchpoint is an entry whose data has `"touchpoint": true` and, where it has one, `"name"` (what it
was: an email's subject, a message's name, a form's task name, the stage reached); `instance_id` is
set when a process caused it. The server records its own (README, CRM section: email_sent,
email_opened, email_clicked, message_received, form_submitted, webhook_delivered, call_logged,
meeting_logged, stage_changed) in the transaction of the step that caused them; integrations post
others (app/services/touchpoints.py).
"""
from __future__ import annotations

from sqlalchemy import select

from ..errors import NotFoundError
from ..extensions import db
from ..models import Record, RecordEvent
from .access import readable_records, require_read_record
from .core import Actor, Page, paginate, utcnow

def add_event(record: Record, type_: str, actor: Actor | None, data: dict | None = None,
              instance_id: str | None = None) -> None:
    db.session.add(RecordEvent(record_id=record.id, module=record.module, type=type_, at=utcnow(),
                               user=actor.username if actor else None, data=data, instance_id=instance_id))


def add_touchpoint(record: Record, type_: str, actor: Actor | None, name: str | None, data: dict | None = None,
                   instance_id: str | None = None) -> None:
    """Put a touchpoint the server observed itself on the record's timeline (no rescore: see
    `records.rescore`)."""
    add_event(record, type_, actor, {**(data or {}), "touchpoint": True, "name": name}, instance_id)


def timeline(module: str, record_id: str, actor: Actor, page: int, per_page: int) -> Page:
    """A record's events, oldest first, for those who may read the record.

    A deleted record's timeline stays readable (it ends with `deleted`) by admins, holders of
    `read` on the module and whoever wrote one of its events.
    """
    record = db.session.get(Record, record_id)
    if record is not None and record.module == module:
        require_read_record(actor, record)
    else:
        kept = db.session.scalar(select(RecordEvent.id).where(RecordEvent.record_id == record_id,
                                                              RecordEvent.module == module).limit(1))
        if record is not None or kept is None or not (
                readable_records(actor, module) is None or db.session.scalar(select(RecordEvent.id).where(
                    RecordEvent.record_id == record_id, RecordEvent.user == actor.username).limit(1))):
            raise NotFoundError(f"no {module} record {record_id}")
    stmt = select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
    return paginate(stmt, page, per_page)
