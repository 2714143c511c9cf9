"""CRM to-dos: the calls to make and follow-ups processes create (`create_crm_task`), worked by people.

A to-do belongs to its owner: the owner, the people the owner reports to (up the `manager` chain)
and admins list, edit, complete and reopen it. Whoever may read its record reads it too (the
record's timeline names it anyway) but may not change it (403); anyone else gets 404, as for a
to-do that does not exist.

Completing a to-do writes its record's timeline and, when the instance that created it waits for
the message `crm_task_completed`, delivers it there in the same transaction, with the to-do's id.
A to-do of kind `call` or `meeting` is a call or a meeting to hold: its first completion is also a
`call_logged` or `meeting_logged` touchpoint (name: its subject) on the record's timeline, and rescores
the record when its module's scoring rules give that type points. Reopening and completing it again
logs nothing more.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, select

from ..clock import today
from ..errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ..extensions import db
from ..models import CrmTask, EventSubscription, ProcessInstance, Record, RecordEvent, User
from .access import acts_for, owners_for, require_read_record
from .core import Actor, Page, paginate, utcnow, write_transaction
from .events import deliver_to
from .records import rescore
from .timeline import add_event, add_touchpoint

OPEN, COMPLETED = "open", "completed"
STATUSES = (OPEN, COMPLETED)
COMPLETED_MESSAGE = "crm_task_completed"
DUE_FILTERS = ("overdue", "today", "next_7_days", "none")
SORTS = ("due", "created")
EDITABLE = ("subject", "due_date", "owner", "description", "kind")
KINDS = ("call", "meeting")
LOGGED = {"call": "call_logged", "meeting": "meeting_logged"}


def _record_of(task: CrmTask) -> Record | None:
    if not task.record_id:
        return None
    record = db.session.get(Record, task.record_id)
    return record if record is not None and record.module == task.module else None


def _may_read(actor: Actor, task: CrmTask) -> bool:
    if acts_for(actor, task.owner):
        return True
    record = _record_of(task)
    if record is None:
        return False
    try:
        require_read_record(actor, record)
    except NotFoundError:
        return False
    return True


def get_task(task_id: str, actor: Actor) -> CrmTask:
    """A to-do the actor may read (404 otherwise, as for one that does not exist)."""
    task = db.session.get(CrmTask, task_id)
    if task is None or not _may_read(actor, task):
        raise NotFoundError(f"no CRM to-do {task_id}")
    return task


def _get_for_change(task_id: str, actor: Actor, what: str) -> CrmTask:
    task = get_task(task_id, actor)
    if not acts_for(actor, task.owner):
        raise ForbiddenError(f"{actor.username} may not {what} this to-do: it belongs to {task.owner!r}; only its "
                             "owner, the people the owner reports to and admins may")
    return task


def list_tasks(actor: Actor, *, owner: str | None = None, mine: bool = False, record_id: str | None = None,
               module: str | None = None, status: str | None = OPEN, due: str | None = None,
               process_key: str | None = None, sort: str = "due", page: int = 1, per_page: int = 20) -> Page:
    """To-dos, soonest due first (undated last), then newest; with `sort="created"`, newest first.

    The actor's own and those of the people who report to them (admins: everyone's); with
    `record_id`, every to-do of that record if the actor may read it; with `process_key`, those that
    instances of that process created (a join on the instance's primary key).
    """
    if sort not in SORTS:
        raise ValidationError("unknown sort", errors={"sort": [f"one of {', '.join(SORTS)}"]})
    stmt = select(CrmTask)
    owners = owners_for(actor)
    visible = None if owners is None else CrmTask.owner.in_(owners)
    if record_id:
        stmt = stmt.where(CrmTask.record_id == record_id)
        record = db.session.get(Record, record_id)
        if visible is not None and record is not None:
            try:
                require_read_record(actor, record)
                visible = None
            except NotFoundError:
                pass
    if visible is not None:
        stmt = stmt.where(visible)
    if mine:
        stmt = stmt.where(CrmTask.owner == actor.username)
    if owner:
        stmt = stmt.where(CrmTask.owner == owner)
    if module:
        stmt = stmt.where(CrmTask.module == module)
    if status:
        if status not in STATUSES:
            raise ValidationError("unknown status", errors={"status": [f"one of {', '.join(STATUSES)}"]})
        stmt = stmt.where(CrmTask.status == status)
    if due:
        stmt = stmt.where(_due_clause(due))
    if process_key:
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == CrmTask.instance_id).where(
            ProcessInstance.process_key == process_key)
    if sort == "created":
        order = (CrmTask.created_at.desc(), CrmTask.id)
    else:
        order = (CrmTask.due_date.is_(None), CrmTask.due_date, CrmTask.created_at.desc(), CrmTask.id)
    return paginate(stmt.order_by(*order), page, per_page)


def _due_clause(due: str):
    day = today()
    if due == "overdue":
        return and_(CrmTask.due_date < day, CrmTask.status == OPEN)
    if due == "today":
        return CrmTask.due_date == day
    if due == "next_7_days":
        return and_(CrmTask.due_date >= day, CrmTask.due_date <= day + dt.timedelta(days=7))
    if due == "none":
        return CrmTask.due_date.is_(None)
    raise ValidationError("unknown due filter", errors={"due": [f"one of {', '.join(DUE_FILTERS)}"]})


def update_task(task_id: str, changes: dict, actor: Actor) -> CrmTask:
    """Change a to-do's subject, due date, owner or description; the record's timeline says what changed."""
    with write_transaction():
        task = _get_for_change(task_id, actor, "edit")
        changed = {}
        for name in EDITABLE:
            if name not in changes or changes[name] == getattr(task, name):
                continue
            value = changes[name]
            if name == "owner" and db.session.scalar(select(User.id).where(User.username == value)) is None:
                raise ValidationError("the to-do's owner must be a user", errors={"owner": [f"no user {value}"]})
            if name == "subject" and not (value or "").strip():
                raise ValidationError("a to-do needs a subject", errors={"subject": ["must not be blank"]})
            old = getattr(task, name)
            changed[name] = [_plain(old), _plain(value)]
            setattr(task, name, value)
        if changed:
            _on_timeline(task, "task_updated", actor, {"changes": changed})
        db.session.flush()
        return task


def complete_task(task_id: str, actor: Actor) -> CrmTask:
    """Mark an open to-do done (409 if it is done already); tell the instance that created it, if it waits."""
    with write_transaction():
        task = _get_for_change(task_id, actor, "complete")
        if task.status == COMPLETED:
            raise ConflictError(f"the to-do {task.id} is completed already")
        task.status, task.completed_at, task.completed_by = COMPLETED, utcnow(), actor.username
        _on_timeline(task, "task_completed", actor, {})
        _log_touchpoint(task, actor)
        db.session.flush()
        _tell_creator(task, actor)
        return task


def reopen_task(task_id: str, actor: Actor) -> CrmTask:
    """Open a completed to-do again (409 if it is open)."""
    with write_transaction():
        task = _get_for_change(task_id, actor, "reopen")
        if task.status != COMPLETED:
            raise ConflictError(f"the to-do {task.id} is open")
        task.status, task.completed_at, task.completed_by = OPEN, None, None
        _on_timeline(task, "task_reopened", actor, {})
        db.session.flush()
        return task


def _on_timeline(task: CrmTask, type_: str, actor: Actor, data: dict) -> None:
    record = _record_of(task)
    if record is not None:
        add_event(record, type_, actor, {"task_id": task.id, "subject": task.subject, **data}, task.instance_id)


def _log_touchpoint(task: CrmTask, actor: Actor) -> None:
    """A call or meeting held: its touchpoint on the record's timeline, once per to-do."""
    record = _record_of(task)
    kind = LOGGED.get(task.kind or "")
    if record is None or kind is None:
        return
    logged = db.session.scalars(select(RecordEvent.data).where(RecordEvent.record_id == record.id,
                                                               RecordEvent.type == kind))
    if any((data or {}).get("task_id") == task.id for data in logged):
        return
    add_touchpoint(record, kind, actor, task.subject, {"task_id": task.id}, task.instance_id)
    rescore(record, kind)


def _tell_creator(task: CrmTask, actor: Actor) -> None:
    """Deliver `crm_task_completed` to the instance that created the to-do, if it waits for it now."""
    if not task.instance_id:
        return
    waiting = db.session.scalar(select(EventSubscription.id).where(
        EventSubscription.instance_id == task.instance_id, EventSubscription.kind == "message",
        EventSubscription.name == COMPLETED_MESSAGE).limit(1))
    if waiting is None:
        return
    deliver_to(task.instance_id, "message", COMPLETED_MESSAGE,
               {"crm_task_id": task.id, "crm_task_completed_by": actor.username}, actor)


def _plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
