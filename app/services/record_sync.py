"""The record-sync after-step hooks: records follow the processes bound to them, and hear what they did.

A blueprint's record takes the stage its instance entered (a `stage_changed` touchpoint); an approval's
or a review's record is unlocked once its instance has ended. A step of an instance running on a record
also puts the touchpoints it caused on the record's timeline: a message it received
(`message_received`) and a form completed (`form_submitted`). Registered by the app factory; they run
in the step's transaction, so a step that fails records nothing.
"""
from __future__ import annotations

from sqlalchemy import select

from ..crm import stage_of
from ..extensions import db
from ..models import Binding, Record, RecordEvent
from ..statuses import InstanceStatus
from .core import Step, utcnow
from .modules import get_module
from .record_triggers import fire, tell_linked_instances
from .records import rescore
from .timeline import add_event, add_touchpoint

HUMAN_TASKS = {"UserTask", "ManualTask"}


def sync_record(step: Step) -> None:
    """After an instance step: a blueprint's record takes the stage the instance entered;
    an approval's or review's record is unlocked once the instance has ended."""

    inst = step.instance
    if not inst.record_id:
        return
    rec = db.session.get(Record, inst.record_id)
    if rec is None:
        return
    if inst.record_role == "blueprint":
        stage = _entered_stage(step)
        if stage is not None:
            stage_field = db.session.scalar(
                select(Binding.options).where(Binding.module == rec.module, Binding.kind == "blueprint",
                                              Binding.process_key == inst.process_key).limit(1)) or {}
            field = stage_field.get("stage_field", "stage")
            if rec.data.get(field) != stage:
                _stage_changed(step, rec, field, stage)
                rec.data = dict(rec.data, **{field: stage})
                rec.modified_at = utcnow()
                rescore(rec, "stage_changed", inst.id)
                # a stage reached is an edit of the stage field, as any other write of the record: its
                # workflow rules and bindings (not the blueprint's own) and its waiting instances hear of it
                fire(get_module(rec.module), rec, "edit", {field}, step.actor, skip_key=inst.process_key)
                tell_linked_instances(rec, {field}, step.actor, skip_instance=inst.id)
    if inst.status in InstanceStatus.ENDED:
        add_event(rec, "process_ended", step.actor, {"process_key": inst.process_key, "status": inst.status,
                                                     "role": inst.record_role}, inst.id)
        if rec.locked_by == inst.id:
            rec.locked_by = None
            rec.lock_editable = None


def _stage_changed(step: Step, rec: Record, field: str, stage: str) -> None:
    """The `stage_changed` touchpoint: the stage reached, the transition taken (the `transition` a
    completed task of this step carried, else None), who, and how long the record spent in the stage
    it leaves (since the previous `stage_changed`, or since it was created)."""
    db.session.flush()
    since = db.session.scalar(select(RecordEvent.at).where(
        RecordEvent.record_id == rec.id, RecordEvent.type == "stage_changed").order_by(RecordEvent.id.desc()).limit(1))
    since = since or rec.created_at
    now = utcnow()
    transition = next((e["data"].get("transition") for e in reversed(step.events)
                       if e["type"] == "task_completed" and isinstance(e.get("data"), dict)
                       and e["data"].get("transition") is not None), None)
    add_touchpoint(rec, "stage_changed", step.actor, stage, {
        "field": field, "from": rec.data.get(field), "to": stage,
        "transition": str(transition) if transition is not None else None,
        "who": step.actor.username if step.actor else None,
        "previous_stage_ms": max(0, int((now - since).total_seconds() * 1000)) if since else None}, step.instance.id)


def record_touchpoints(step: Step) -> None:
    """After an instance step on a record: a message it received and each form completed in it are
    touchpoints on the record's timeline (nothing when the step ended in an incident)."""
    inst = step.instance
    if not inst.record_id or step.incidents:
        return
    found = [e for e in step.events if e["type"] == "message_received" or (
        e["type"] == "task_completed" and e.get("element_type") in HUMAN_TASKS)]
    if not found:
        return
    rec = db.session.get(Record, inst.record_id)
    if rec is None:
        return
    elements = step.info.elements if step.info is not None else {}
    kinds = []
    for event in found:
        if event["type"] == "message_received":
            data = event.get("data") or {}
            if "tracked_email" in (data.get("variables") or {}):  # the server's own open: `email_opened` says it
                continue
            name = data.get("name")
            add_touchpoint(rec, "message_received", step.actor, name, {}, inst.id)
            kinds.append("message_received")
            continue
        element = elements.get(event.get("element_id")) or {}
        if not _has_form(element):
            continue
        add_touchpoint(rec, "form_submitted", step.actor, event.get("element_name"),
                       {"element_id": event.get("element_id"), "process_key": inst.process_key}, inst.id)
        kinds.append("form_submitted")
    for kind in dict.fromkeys(kinds):
        rescore(rec, kind, inst.id)


def _has_form(element: dict) -> bool:
    """A human task with a form: a JSON Schema with fields, a Camunda form, or a form key."""
    return bool((element.get("form") or {}).get("properties") or element.get("camunda_form")
                or element.get("form_key"))


def _entered_stage(step) -> str | None:
    stage = None
    elements = step.info.elements if step.info is not None else {}
    for row in step.activities:  # the elements this step entered, in order
        entered = stage_of(elements.get(row["element_id"]))
        if entered is not None:
            stage = entered
    return stage
