"""What a record event sets off: the processes whose bindings match it (an approval or review
locks the record, a blueprint takes over its stage field) and the instances waiting for its changes.

Runs inside the record write's transaction; a record created by a process started by a record ...
fires at most `_MAX_CASCADE` deep.
"""
from __future__ import annotations

from sqlalchemy import select

from ..crm import binding_matches
from ..extensions import db
from ..models import Binding, EventSubscription, Module, ProcessInstance, Record, User
from ..statuses import InstanceStatus
from .core import Actor, cascade_depth, cascading, current_step, engine
from .events import deliver_to
from .instances import start_instance
from .rule_schedules import review_waiting_rules
from .timeline import add_event

LIVE_STATUSES = tuple(InstanceStatus.LIVE)
LOCKING_ROLES = {"approval", "review"}
ONE_AT_A_TIME = {"blueprint", "approval", "review"}  # a record is in at most one live instance of each
_MAX_CASCADE = 3  # records created by processes started by records ... at most this deep


def governing_blueprint(record: Record) -> tuple[str, str] | None:
    """(instance id, stage field) of the live blueprint instance on this record, if any."""
    row = db.session.execute(
        select(ProcessInstance.id, Binding.options)
        .join(Binding, (Binding.process_key == ProcessInstance.process_key) & (Binding.module == record.module)
              & (Binding.kind == "blueprint"))
        .where(ProcessInstance.record_id == record.id, ProcessInstance.record_role == "blueprint",
               ProcessInstance.status.in_(LIVE_STATUSES)).limit(1)).one_or_none()
    if row is None:
        return None
    return row[0], (row[1] or {}).get("stage_field", "stage")


def fire(mod: Module, record: Record, event: str, changed: set[str], actor: Actor,
          skip_key: str | None = None) -> None:
    """Start every process whose binding matches this record event, in this transaction.

    `skip_key`: the process whose instance made the change; its own bindings do not fire again.
    """
    stmt = select(Binding).where(Binding.module == mod.api_name, Binding.active.is_(True))
    if skip_key is not None:
        stmt = stmt.where(Binding.process_key != skip_key)
    bindings = db.session.scalars(stmt.order_by(Binding.created_at)).all()
    if not bindings:
        return
    review_waiting_rules(mod, record, event, changed, actor, bindings)  # date rules, scheduled actions
    if cascade_depth() >= _MAX_CASCADE:
        return
    evaluate = engine().evaluate_expression
    data = dict(record.data, owner=record.owner)
    live: set[str] | None = None
    with cascading():
        for b in bindings:
            spec = {"event": b.event, "field": b.field, "criteria": b.criteria}
            if not binding_matches(spec, event, changed, mod.fields, data, evaluate):
                continue
            if b.kind in ONE_AT_A_TIME:
                if live is None:
                    live = set(db.session.scalars(select(ProcessInstance.process_key).where(
                        ProcessInstance.record_id == record.id, ProcessInstance.status.in_(LIVE_STATUSES))))
                if b.process_key in live:
                    continue  # already in this blueprint, approval or review
                live.add(b.process_key)
            start_bound(b, record, actor, lock=event != "delete")


def start_bound(b: Binding, record: Record, actor: Actor, *, lock: bool = True):
    """Start binding `b`'s process on `record` (the record's fields, `record_id` and `module` as its
    variables); an approval or review takes the record's lock while it runs.

    An approval also sees `submitted_by` (who saved or submitted the record) and `owner_manager`
    (the record owner's manager), so its diagram can name approvers by role (`${owner_manager}`).
    """
    variables = dict(record.data, owner=record.owner, record_id=record.id, module=record.module)
    if b.kind == "approval":
        variables.update(submitted_by=actor.username, owner_manager=db.session.scalar(
            select(User.manager).where(User.username == record.owner)))
    result = start_instance(actor, key=b.process_key, variables=variables, business_key=record.id,
                            record=(record.module, record.id, b.kind))
    add_event(record, "process_started", actor, {"process_key": b.process_key, "binding": b.name,
                                                 "kind": b.kind, "status": result.status}, result.id)
    if lock and b.kind in LOCKING_ROLES and result.status in LIVE_STATUSES:
        record.locked_by = result.id
        record.lock_editable = list(b.options.get("editable") or [])
    return result


def tell_linked_instances(record: Record, changed: set[str], actor: Actor, skip_instance: str | None = None) -> None:
    """Deliver `record_edited` (and `record_<field>_changed`) to instances on this record that wait for it."""
    names = {"record_edited", *(f"record_{field}_changed" for field in changed)}
    stmt = (select(EventSubscription.instance_id, EventSubscription.name)
            .join(ProcessInstance, ProcessInstance.id == EventSubscription.instance_id)
            .where(ProcessInstance.record_id == record.id, EventSubscription.kind == "message",
                   EventSubscription.name.in_(names)))
    if skip_instance is not None:
        stmt = stmt.where(ProcessInstance.id != skip_instance)
    waiting = db.session.execute(stmt).all()
    for instance_id, name in dict(waiting).items():
        deliver_to(instance_id, "message", name, {"changed_fields": sorted(changed)}, actor)


def process_key_of(instance_id: str | None) -> str | None:
    """The process key of the instance writing now (it may not be stored yet: it is the step's)."""
    if instance_id is None:
        return None
    step = current_step()
    if step is not None and step.instance_id == instance_id and step.process_key:
        return step.process_key
    return db.session.scalar(select(ProcessInstance.process_key).where(ProcessInstance.id == instance_id))
