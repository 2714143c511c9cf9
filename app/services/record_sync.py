"""The record-sync after-step hook: records follow the processes bound to them.

A blueprint's record takes the stage its instance entered; an approval's or a
review's record is unlocked once its instance has ended. Registered by the app
factory; runs in the step's transaction.
"""
from __future__ import annotations

from sqlalchemy import select

from ..crm import stage_of
from ..extensions import db
from ..models import Binding, Record
from ..statuses import InstanceStatus
from .core import Step, utcnow
from .timeline import add_event


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
                add_event(rec, "stage_changed", step.actor, {"field": field, "from": rec.data.get(field),
                                                             "to": stage}, inst.id)
                rec.data = dict(rec.data, **{field: stage})
                rec.modified_at = utcnow()
    if inst.status in InstanceStatus.ENDED:
        add_event(rec, "process_ended", step.actor, {"process_key": inst.process_key, "status": inst.status,
                                                     "role": inst.record_role}, inst.id)
        if rec.locked_by == inst.id:
            rec.locked_by = None
            rec.lock_editable = None


def _entered_stage(step) -> str | None:
    stage = None
    elements = step.info.elements if step.info is not None else {}
    for row in step.activities:  # the elements this step entered, in order
        entered = stage_of(elements.get(row["element_id"]))
        if entered is not None:
            stage = entered
    return stage
