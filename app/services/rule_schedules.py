"""Workflow rules that wait, kept in line with their record; and a rule's failed action, reported.

Date-based rules (`event: "date"`) and rules with scheduled actions run as instances that wait on
the engine's own timers (app/engine/rule_diagrams.py: the diagram computes the moment with
`rule_next_due` and waits on a timeDate; the timer job fires it). The record's write path calls
`review_waiting_rules` on every create, edit and delete (from `record_triggers.fire`, in the write's
transaction), so that:

- a waiting instance whose record no longer matches the rule's criteria, or is deleted, is cancelled
  before its actions run (`rule_cancelled` on the timeline);
- a date rule's waiting instance is cancelled when its date field changes, and a new one starts
  when the record matches (again) and its moment lies ahead: on create, on the edit that makes it
  match, on the edit that moves the date.

**Past dates do not fire retroactively**: a moment already past when the record is written (a
renewal date last week, "7 days before" a date 3 days away) starts nothing; a repeating rule
starts with its next occurrence instead. A moment of a scheduled action computed in the past is
skipped the same way. The moment of a scheduled action relative to a date field is taken when
the rule triggers.

`report_rule_failure` is an after-step hook: when an action of a rule instance fails (the step
leaves an incident), the record's timeline gets `rule_failed` (rule, action, error) and the rule's
author a CRM to-do, plus an email through the outbox if they have an address. The instance waits
in `error` at its last good state: `POST /process-instances/{id}/retry` runs the action again.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..crm import binding_matches
from ..crm.schedules import next_due
from ..extensions import db
from ..models import Binding, CrmTask, Module, OutboxMessage, ProcessInstance, Record, User
from ..statuses import InstanceStatus
from .core import Actor, engine, utcnow
from .instances import cancel, start_instance
from .timeline import add_event

__all__ = ["report_rule_failure", "review_waiting_rules", "waits"]

_LIVE = tuple(InstanceStatus.LIVE)


def waits(binding: Binding) -> bool:
    """Does this binding start a rule instance that waits (a date rule, or scheduled actions)?"""
    return binding.kind == "rule" and (binding.event == "date" or bool((binding.options or {}).get("scheduled")))


def review_waiting_rules(mod: Module, record: Record, event: str, changed: set[str], actor: Actor,
                         bindings: list[Binding]) -> None:
    """Cancel the waiting rule instances this write makes wrong; start the date rules it makes due."""
    rules = [b for b in bindings if waits(b)]
    if not rules:
        return
    waiting: dict[str, list[str]] = {}
    for instance_id, key in db.session.execute(
            select(ProcessInstance.id, ProcessInstance.process_key).where(
                ProcessInstance.record_id == record.id, ProcessInstance.status.in_(_LIVE),
                ProcessInstance.process_key.in_({b.process_key for b in rules}))):
        waiting.setdefault(key, []).append(instance_id)
    data = dict(record.data, owner=record.owner)
    evaluate = engine().evaluate_expression
    for b in rules:
        spec = {"event": "create", "criteria": b.criteria}  # the criteria alone: does the record match?
        matches = event != "delete" and binding_matches(spec, "create", changed, mod.fields, data, evaluate)
        date = (b.options or {}).get("date")
        moved = bool(date) and date["field"] in changed
        live = waiting.get(b.process_key, [])
        if live and (not matches or moved):
            why = ("the record was deleted" if event == "delete" else
                   f"{date['field']} changed" if matches else "the record no longer matches the rule's criteria")
            for instance_id in live:
                cancel(instance_id, actor, f"workflow rule {b.name!r}: {why}")
                add_event(record, "rule_cancelled", actor, {"rule": b.name, "process_key": b.process_key,
                                                            "reason": why}, instance_id)
            live = []
        if date and matches and not live and event in {"create", "edit"}:
            _start_date_rule(b, date, record, data, actor)


def _start_date_rule(b: Binding, date: dict, record: Record, data: dict, actor: Actor) -> None:
    due = next_due(record.data.get(date["field"]), date.get("days", 0), date.get("hours", 0), date.get("time"),
                   date.get("timezone") or "UTC", date.get("repeat"))
    if due is None:
        return  # no date, or a moment already past: never fired late
    result = start_instance(actor, key=b.process_key, variables=dict(data, record_id=record.id, module=record.module),
                            business_key=record.id, record=(record.module, record.id, "rule"))
    add_event(record, "process_started", actor, {"process_key": b.process_key, "binding": b.name, "kind": "rule",
                                                 "status": result.status, "due_at": due}, result.id)


# -- failures -------------------------------------------------------------------------

def _failed_action(binding: Binding | None, element_id: str | None) -> tuple[int | None, dict | None]:
    """(1-based index, action) of the action an incident's element runs, if it is one."""
    if binding is None or not element_id:
        return None, None
    prefix, _, number = element_id.rpartition("_")
    actions = (binding.options or {}).get("actions") or []
    if prefix in {"action", "when"} and number.isdigit() and 0 < int(number) <= len(actions):
        return int(number), actions[int(number) - 1]
    return None, None


def report_rule_failure(step) -> None:
    """After-step hook: a rule instance's step failed with an incident: tell the record and the author."""
    inst = step.instance
    if not step.incidents or inst.record_role != "rule" or not inst.record_id:
        return
    record = db.session.get(Record, inst.record_id)
    binding = db.session.scalar(select(Binding).where(Binding.kind == "rule", Binding.process_key == inst.process_key)
                                .order_by(Binding.created_at.desc()).limit(1))
    name = binding.name if binding is not None else inst.process_key
    author = (binding.options or {}).get("created_by") if binding is not None else None
    for incident in step.incidents:
        index, action = _failed_action(binding, incident.get("element_id"))
        error = str(incident.get("message") or "failed")
        data = {"rule": name, "process_key": inst.process_key, "action": index,
                "action_type": action.get("type") if action else None, "element_id": incident.get("element_id"),
                "error": error[:2000]}
        if record is not None:
            add_event(record, "rule_failed", step.actor, data, inst.id)
        if author:
            _tell_author(author, name, index, action, error, inst, record)


def _tell_author(author: str, name: str, index, action, error: str, inst, record) -> None:
    what = f"action {index} ({action['type']})" if action else "a step"
    subject = f"Workflow rule {name!r}: {what} failed"
    where = f"{inst.record_id}" if record is None else f"{record.module} record {record.id}"
    todo = CrmTask(subject=subject[:255], owner=author, record_id=inst.record_id,
                   module=record.module if record is not None else None, instance_id=inst.id, due_date=utcnow().date())
    db.session.add(todo)
    db.session.flush()
    if record is not None:
        add_event(record, "task_created", None, {"task_id": todo.id, "subject": todo.subject, "owner": author,
                                                 "due_date": todo.due_date.isoformat()}, inst.id)
    email = db.session.scalar(select(User.email).where(User.username == author))
    if email:
        body = (f"The workflow rule {name!r} failed on {where}.\n\n{what}: {error}\n\n"
                f"Fix the cause, then retry process instance {inst.id} (POST /api/v1/process-instances/{inst.id}/retry).")
        db.session.add(OutboxMessage(kind="email", payload={"to": [email], "subject": subject[:998], "body": body},
                                     record_id=inst.record_id, module=record.module if record is not None else None,
                                     next_attempt_at=utcnow(), max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"]))
    db.session.flush()
