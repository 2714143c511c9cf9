"""A record's approval as its people see it: submit it by hand, recall it, approve, reject with a
reason, or delegate.

An approval is an instance of a process bound to the record's module with kind `approval`
(`record_triggers.start_bound`): it holds the record's lock from its start until it ends, whatever
ends it (its diagram, a recall, a cancellation), because the lock is taken where it starts and
released by the record-sync hook when the instance ends. Everything here goes through the same use
cases as the inbox (`tasks.complete_task`, `tasks.delegate_task`) and the repair API
(`instances.cancel`), so form checks, task permissions and the instance lock hold on this path too.

The approver's decision is written into the task's own form: a boolean `approved`, or an enum
`approval` / `decision` with approve and reject values; the reason goes into its `reason` or
`comment` field when the form has one, and onto the record's timeline in any case.
"""
from __future__ import annotations

from sqlalchemy import select

from ..crm import binding_matches
from ..errors import ConflictError, ForbiddenError, FormValidationError, NotFoundError
from ..extensions import db
from ..models import Binding, HumanTask, ProcessInstance, Record
from ..statuses import InstanceStatus, TaskState
from .access import may_work_on, require_on_record, require_read_record
from .core import Actor, engine, write_transaction
from .instances import cancel
from .modules import get_module
from .record_triggers import start_bound
from .records import find_record
from .tasks import complete_task, delegate_task, get_task, task_form
from .timeline import add_event

APPROVE_VALUES = ("approved", "approve", "yes")
REJECT_VALUES = ("rejected", "reject", "no")
DECISION_FIELDS = ("approval", "decision")
REASON_FIELDS = ("reason", "comment", "rejection_reason")
MAX_REASON = 2_000  # as app/schemas/approvals.py bounds it for the API


def _pending(record: Record) -> ProcessInstance | None:
    return db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.record_id == record.id,
                                      ProcessInstance.record_role == "approval",
                                      ProcessInstance.status.in_(tuple(InstanceStatus.LIVE)))
        .order_by(ProcessInstance.started_at.desc()).limit(1))


def _require_pending(record: Record) -> ProcessInstance:
    instance = _pending(record)
    if instance is None:
        raise ConflictError(f"no approval is pending on {record.module} record {record.id}")
    return instance


def _readable(module: str, record_id: str, actor: Actor) -> Record:
    record = find_record(module, record_id)
    require_read_record(actor, record)
    return record


def approval_state(module: str, record_id: str, actor: Actor) -> dict:
    """The record's pending approval: its instance, submitter and open approval tasks (None if none)."""
    record = _readable(module, record_id, actor)
    return _view(record, _pending(record))


def _view(record: Record, instance: ProcessInstance | None) -> dict:
    if instance is None:
        return {"record_id": record.id, "module": record.module, "pending": False, "locked_by": record.locked_by,
                "instance_id": None, "process_key": None, "submitted_by": None, "status": None, "tasks": []}
    open_tasks = db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.state == TaskState.OPEN).order_by(HumanTask.created_at))
    return {"record_id": record.id, "module": record.module,
            "pending": instance.status in InstanceStatus.LIVE, "locked_by": record.locked_by,
            "instance_id": instance.id, "process_key": instance.process_key,
            "submitted_by": instance.started_by, "status": instance.status,
            "tasks": [{"id": t.id, "name": t.name, "assignee": t.assignee,
                       "candidate_users": list(t.candidate_users or []),
                       "candidate_groups": list(t.candidate_groups or [])} for t in open_tasks]}


def submit(module: str, record_id: str, actor: Actor) -> dict:
    """Submit a record for approval by hand: the first active approval binding of its module whose
    criteria the record matches starts, and locks the record.

    Raises:
        ForbiddenError: the caller may not change the record.
        ConflictError: an approval or review holds the record already, or no approval binding matches.
    """
    with write_transaction():
        record = find_record(module, record_id)
        require_on_record(actor, "update", record, "submit this record for approval")
        running = _pending(record)
        if running is not None or record.locked_by:
            holder = running.id if running is not None else record.locked_by
            raise ConflictError(f"the record is already held by process instance {holder}", instance_id=holder)
        mod = get_module(module)
        bindings = db.session.scalars(select(Binding).where(
            Binding.module == mod.api_name, Binding.kind == "approval", Binding.active.is_(True))
            .order_by(Binding.created_at)).all()
        data = dict(record.data, owner=record.owner)
        evaluate = engine().evaluate_expression
        # The binding's event does not matter to a manual submission: only its criteria.
        matching = [b for b in bindings if binding_matches({"event": "edit", "criteria": b.criteria}, "edit",
                                                           set(), mod.fields, data, evaluate)]
        if not matching:
            raise ConflictError(f"no active approval binding of {mod.api_name} matches this record's criteria")
        result = start_bound(matching[0], record, actor)
        add_event(record, "approval_submitted", actor, {"process_key": matching[0].process_key,
                                                        "binding": matching[0].name}, result.id)
        instance = db.session.get(ProcessInstance, result.id)
        db.session.flush()
        return _view(record, instance)


def recall(module: str, record_id: str, reason: str | None, actor: Actor) -> dict:
    """Withdraw a pending approval: its instance is cancelled and the record's lock released.

    The submitter (who saved or submitted the record), the record's owner or an admin may.

    Raises:
        ConflictError: no approval is pending.
        ForbiddenError: the caller is none of those; nothing changes.
    """
    with write_transaction():
        record = _readable(module, record_id, actor)
        instance = _require_pending(record)
        if not (actor.is_admin or actor.username in {instance.started_by, record.owner}):
            raise ForbiddenError(f"only the submitter ({instance.started_by}), the record's owner "
                                 f"({record.owner}) or an admin may recall this approval")
        add_event(record, "approval_recalled", actor, {"process_key": instance.process_key,
                                                       "submitted_by": instance.started_by,
                                                       "reason": reason}, instance.id)
        cancel(instance.id, actor, f"approval recalled by {actor.username}" + (f": {reason}" if reason else ""))
        db.session.refresh(instance)
        return _view(record, instance)


def _my_task(instance: ProcessInstance, actor: Actor, task_id: str | None) -> HumanTask:
    """The open approval task the caller may work on (the one named by `task_id`, if given)."""
    open_tasks = list(db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.state == TaskState.OPEN).order_by(HumanTask.created_at)))
    if task_id is not None:
        named = [t for t in open_tasks if t.id == task_id]
        if not named:
            raise NotFoundError(f"no open task {task_id} in this approval")
        if not may_work_on(named[0], actor):
            raise ForbiddenError("only the task's assignee, a candidate or an admin may decide it")
        return named[0]
    mine = [t for t in open_tasks if may_work_on(t, actor)]
    if not mine:
        raise ForbiddenError(f"{actor.username} is not an approver of this request")
    assigned = [t for t in mine if t.assignee == actor.username]
    choice = assigned or mine
    if len(choice) > 1:
        raise ConflictError("several approval tasks are open to you: name one with task_id "
                            f"({', '.join(t.id for t in choice)})")
    return choice[0]


def _has_decision(form: dict) -> bool:
    props = form.get("properties") or {}
    return "approved" in props or any(
        str(v).lower() in APPROVE_VALUES for name in DECISION_FIELDS for v in (props.get(name) or {}).get("enum") or [])


def decision_of(task: HumanTask) -> dict | None:
    """Where the task's Approve and Reject go: {"module", "record_id"} when it is an open task of a record's
    approval and its form has a decision field (`approved`, or `approval` / `decision` with approve values);
    None for any other task, which is completed with its form."""
    if task.state != TaskState.OPEN:
        return None
    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None or instance.record_role != "approval" or not instance.record_id:
        return None
    if not _has_decision(task_form(task)):
        return None
    return {"module": instance.record_module, "record_id": instance.record_id}


def decide_task(task_id: str, approve: bool, reason: str | None, actor: Actor) -> dict:
    """Approve or reject one task of a record's approval by its id (the inbox's Approve and Reject): the same
    as `decide` naming that task. A task someone decided first is a 409.

    Raises:
        NotFoundError: the actor may not read the task.
        ConflictError: the task is not a decision of a record's approval, or it is no longer open.
    """
    task = get_task(task_id, actor)
    if task.state != TaskState.OPEN:  # someone else decided it first
        raise ConflictError(f"task is {task.state}" + (f" by {task.completed_by}" if task.completed_by else ""),
                            task_state=task.state)
    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None or instance.record_role != "approval" or not instance.record_id:
        raise ConflictError("this task is not part of a record's approval: complete it with its form")
    return decide(instance.record_module, instance.record_id, approve, reason, task.id, actor)


def _decision_data(form: dict, approve: bool, reason: str | None) -> dict:
    """The task's form data for a decision: its decision field, and the reason where it has a place."""
    props = form.get("properties") or {}
    data: dict = {}
    if "approved" in props:
        data["approved"] = approve
    else:
        for name in DECISION_FIELDS:
            values = (props.get(name) or {}).get("enum") or []
            wanted = [v for v in values if str(v).lower() in (APPROVE_VALUES if approve else REJECT_VALUES)]
            if wanted:
                data[name] = wanted[0]
                break
        else:
            raise ConflictError("this approval task's form has no decision field (approved, approval or decision); "
                                "complete it from the inbox (POST /tasks/{id}/complete)")
    if reason:
        for name in REASON_FIELDS:
            if name in props:
                data[name] = reason
                break
    return data


def decide(module: str, record_id: str, approve: bool, reason: str | None, task_id: str | None,
           actor: Actor) -> dict:
    """Approve or reject the caller's task in the record's pending approval; a rejection needs a reason.

    Raises:
        FormValidationError: a rejection without a reason, or data the task's form refuses.
        ConflictError: no approval is pending.
        ForbiddenError: the caller is not an approver of the pending request.
    """
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise FormValidationError("a rejection needs a reason", errors={"reason": ["required when rejecting"]})
    if reason is not None and len(reason) > MAX_REASON:
        raise FormValidationError("the reason is too long", errors={"reason": [f"at most {MAX_REASON} characters"]})
    with write_transaction():
        record = _readable(module, record_id, actor)
        instance = _require_pending(record)
        task = _my_task(instance, actor, task_id)
        data = _decision_data(task_form(task), approve, reason)
        add_event(record, "approval_approved" if approve else "approval_rejected", actor,
                  {"task_id": task.id, "task": task.name, "reason": reason}, instance.id)
        complete_task(task.id, data, actor)
        db.session.refresh(instance)
        return _view(record, instance)


def delegate(module: str, record_id: str, username: str, task_id: str | None, actor: Actor) -> dict:
    """Hand the caller's approval task to another user (the inbox's delegation: they become its assignee)."""
    with write_transaction():
        record = _readable(module, record_id, actor)
        instance = _require_pending(record)
        task = _my_task(instance, actor, task_id)
        previous = task.assignee
        delegate_task(task.id, username, actor)
        add_event(record, "approval_delegated", actor, {"task_id": task.id, "task": task.name, "from": previous,
                                                        "to": username}, instance.id)
        return _view(record, instance)
