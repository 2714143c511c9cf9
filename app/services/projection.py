"""Writing an engine outcome back: state, status and the projected tables.

Instances are read through these projections (human tasks, active
activities, history, incidents) so lists and inboxes never deserialize a
workflow.
"""
from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import delete, update

from ..engine import STATE_VERSION, Outcome, resolve_assignment, resolve_due_date
from ..extensions import db
from ..models import ActiveActivity, HistoryEvent, HumanTask, Incident, ProcessInstance, TaskCandidate
from .context import Actor, engine, utcnow
from .definitions import DefinitionInfo

FINAL_STATUSES = {"completed", "cancelled"}


def jsonable(value):
    """Instance data as plain JSON (dates as ISO strings, decimals as strings)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def history(instance_id: str, type_: str, actor: Actor | None = None, **fields) -> None:
    db.session.add(HistoryEvent(instance_id=instance_id, type=type_, at=fields.pop("at", None) or utcnow(),
                                user=actor.username if actor else None, **fields))


def set_status(instance: ProcessInstance, status: str, actor: Actor | None, reason: str | None = None) -> None:
    if instance.status == status:
        return
    history(instance.id, "status_changed", actor, message=reason,
            data={"from": instance.status, "to": status})
    instance.status = status
    if status in FINAL_STATUSES:
        instance.ended_at = utcnow()


def apply_outcome(instance: ProcessInstance, info: DefinitionInfo, wf, outcome: Outcome,
                  actor: Actor | None, *, new: bool = False) -> list[HumanTask]:
    """Persist `wf` and project `outcome`; returns the human tasks opened by this step."""
    instance.state = engine().dump(info.dialect, wf)
    instance.variables = jsonable(outcome.variables)
    instance.state_version = _state_version()
    now = utcnow()

    for event in outcome.events:
        db.session.add(HistoryEvent(
            instance_id=instance.id, type=event["type"], at=event.get("at") or now,
            element_id=event.get("element_id"), element_name=event.get("element_name"),
            element_type=event.get("element_type"), user=event.get("user"), message=event.get("message"),
            data=jsonable(event["data"]) if event.get("data") is not None else None))

    if outcome.closed_tasks:
        db.session.execute(
            update(HumanTask).where(HumanTask.id.in_(outcome.closed_tasks), HumanTask.state == "open")
            .values(state="cancelled", completed_at=now).execution_options(synchronize_session=False))

    opened = []
    for task in outcome.open_tasks:
        if task.id not in outcome.opened_tasks:
            continue
        element = info.elements.get(task.element_id, {})
        row = HumanTask(
            id=task.id, instance_id=instance.id, definition_id=info.id, process_key=info.key,
            element_id=task.element_id, name=task.name, state="open", created_at=now,
            assignee=resolve_assignment(element.get("assignee"), task.data),
            candidate_users=[u for u in (resolve_assignment(v, task.data) for v in element.get("candidate_users", ())) if u],
            candidate_groups=[g for g in (resolve_assignment(v, task.data) for v in element.get("candidate_groups", ())) if g],
            due_at=resolve_due_date(element.get("due_date"), task.data, now))
        row.candidates = ([TaskCandidate(kind="user", name=u) for u in dict.fromkeys(row.candidate_users)]
                          + [TaskCandidate(kind="group", name=g) for g in dict.fromkeys(row.candidate_groups)])
        db.session.add(row)
        opened.append(row)

    if not new:
        db.session.execute(delete(ActiveActivity).where(ActiveActivity.instance_id == instance.id)
                           .execution_options(synchronize_session=False))
    db.session.add_all(ActiveActivity(instance_id=instance.id, **a) for a in outcome.active)

    if outcome.incident is not None:
        db.session.add(Incident(instance_id=instance.id, element_id=outcome.incident.element_id,
                                element_name=outcome.incident.element_name, message=outcome.incident.message,
                                line=outcome.incident.line))
    if outcome.status == "error":
        instance.status = "error"  # the "error" history event already records the change
    elif outcome.status == "completed":
        set_status(instance, "completed", actor)
    return opened


def _state_version() -> int:
    return STATE_VERSION
