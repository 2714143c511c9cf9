"""Starting, reading and repairing process instances."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select, update

from ..engine import ScriptError, StateError
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import ActiveActivity, HistoryEvent, HumanTask, Incident, ProcessInstance
from ..models.base import new_id
from .context import SYSTEM, Actor, engine, utcnow
from .crm_actions import acting_for
from .definitions import (
    DefinitionInfo, definition_info, get_definition, latest_definition_id, load_workflow, new_workflow,
)
from .external_tasks import incident_type
from .forms import validate_form
from .pagination import Page, paginate
from .projection import InstanceRow, Step, jsonable
from .transactions import locked_instance, write_transaction


@dataclass
class InstanceResult:
    """An instance after a command, with its open tasks."""

    instance: InstanceRow
    tasks: list

    @property
    def id(self):
        return self.instance.id

    @property
    def status(self):
        return self.instance.status

    @property
    def variables(self):
        return self.instance.variables


def start_instance(actor: Actor, *, key: str | None = None, definition_id: str | None = None,
                   variables: dict | None = None, business_key: str | None = None) -> InstanceResult:
    """Start an instance of a definition (latest version of `key`) and run it until it waits."""
    with write_transaction():
        return start_in_transaction(actor, key=key, definition_id=definition_id, variables=variables,
                                    business_key=business_key)


def start_form(*, key: str | None = None, definition_id: str | None = None) -> dict:
    """What starting the definition (latest version of `key`) asks for: its start event's form."""
    return definition_info(definition_id or latest_definition_id(key)).start_form


def submit_start_form(actor: Actor, *, key: str | None = None, definition_id: str | None = None,
                      variables: dict | None = None, business_key: str | None = None) -> InstanceResult:
    """Start an instance with the data of its start form, checked against the form when it has one
    (only its fields are accepted, as on a task); without a start form, like `start_instance`."""
    definition_id = definition_id or latest_definition_id(key)
    form = definition_info(definition_id).start_form["form"]
    if form:
        variables = validate_form(form, variables or {})
    return start_instance(actor, definition_id=definition_id, variables=variables, business_key=business_key)


def start_in_transaction(actor: Actor, *, key: str | None = None, definition_id: str | None = None,
                         variables: dict | None = None, business_key: str | None = None,
                         record: tuple[str, str, str] | None = None) -> InstanceResult:
    """Start and run an instance inside the caller's write transaction.

    Args:
        record: (module, record id, role) when a record event starts it.
    """
    info = definition_info(definition_id or latest_definition_id(key))
    variables = variables or {}
    if info.initiator and actor is not SYSTEM and info.initiator not in variables:
        variables = {**variables, info.initiator: actor.username}  # camunda:initiator: who started it
    eng = engine()
    started_at = utcnow()
    module, record_id, role = record or (None, None, None)
    instance = InstanceRow(id=new_id(), definition_id=info.id, process_key=info.key, business_key=business_key,
                           status="running", variables={}, started_at=started_at, ended_at=None,
                           started_by=actor.username, lock_version=1, record_module=module,
                           record_id=record_id, record_role=role)
    try:
        wf = new_workflow(info, variables)
    except ScriptError as exc:
        raise ValidationError(f"variables cannot be stored: {exc}") from None
    with acting_for(instance.id, module, record_id, actor) as effects:
        outcome = eng.runner.advance(wf, effects)
    step = Step(instance, actor)
    step.record("instance_started", data=jsonable(variables), at=started_at)
    opened = step.apply_outcome(info, wf, outcome)
    step.write(new=True)
    if step.followed_by is not None:  # a buffered message moved it on already
        return step.followed_by
    return InstanceResult(instance, opened)


def get_instance(instance_id: str) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"no process instance {instance_id}")
    return instance


def instance_details(instance_id: str) -> dict:
    """The instance with its definition, open tasks, active activities and incidents."""
    instance = get_instance(instance_id)
    info = definition_info(instance.definition_id)
    tasks = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.state == "open").order_by(HumanTask.created_at)))
    active = list(db.session.scalars(select(ActiveActivity).where(ActiveActivity.instance_id == instance_id)
                                     .order_by(ActiveActivity.id)))
    incidents = list(db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                        .order_by(Incident.created_at)))
    return {"instance": instance, "definition": info, "tasks": tasks, "active_activities": active,
            "incidents": incidents}


@dataclass
class ActivityStatistics:
    """How many running instances of a definition wait at one element, and their open incidents by type."""

    element_id: str
    instances: int
    incidents: dict[str, int]


def definition_statistics(definition_id: str) -> list[ActivityStatistics]:
    """Per active element of a definition's instances that have not ended: instances there, open incidents.

    Raises:
        NotFoundError: no such definition.
    """
    get_definition(definition_id)
    not_ended = ProcessInstance.status.not_in(("completed", "cancelled"))
    counts = db.session.execute(
        select(ActiveActivity.element_id, func.count(func.distinct(ActiveActivity.instance_id)))
        .join(ProcessInstance, ProcessInstance.id == ActiveActivity.instance_id)
        .where(ProcessInstance.definition_id == definition_id, not_ended)
        .group_by(ActiveActivity.element_id).order_by(ActiveActivity.element_id)).all()
    incidents = db.session.execute(
        select(Incident.element_id, func.count(Incident.id))
        .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .where(ProcessInstance.definition_id == definition_id, not_ended, Incident.resolved_at.is_(None))
        .group_by(Incident.element_id)).all()
    by_element = {element_id: n for element_id, n in incidents}
    stats = [ActivityStatistics(element_id, n, {}) for element_id, n in counts]
    for stat in stats:
        if by_element.get(stat.element_id):
            stat.incidents[incident_type(definition_id, stat.element_id)] = by_element[stat.element_id]
    return stats


def list_instances(*, status=None, key=None, business_key=None, activity=None, started_after=None,
                   started_before=None, module=None, record_id=None, definition_id=None, page=1, per_page=20,
                   offset=None) -> Page:
    """Newest first, from the projection tables only; `status` is one status or a list of them."""
    stmt = select(ProcessInstance)
    if module:
        stmt = stmt.where(ProcessInstance.record_module == module)
    if record_id:
        stmt = stmt.where(ProcessInstance.record_id == record_id)
    if isinstance(status, (list, tuple, set, frozenset)):
        stmt = stmt.where(ProcessInstance.status.in_(list(status)))
    elif status:
        stmt = stmt.where(ProcessInstance.status == status)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if definition_id:
        stmt = stmt.where(ProcessInstance.definition_id == definition_id)
    if business_key:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    if activity:
        stmt = stmt.where(exists().where(ActiveActivity.instance_id == ProcessInstance.id,
                                         ActiveActivity.element_id == activity))
    if started_after:
        stmt = stmt.where(ProcessInstance.started_at >= started_after)
    if started_before:
        stmt = stmt.where(ProcessInstance.started_at < started_before)
    return paginate(stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()), page, per_page,
                    offset)


def instance_history(instance_id: str, page: int = 1, per_page: int = 100) -> Page:
    get_instance(instance_id)
    stmt = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)
    return paginate(stmt, page, per_page)


# -- repair -------------------------------------------------------------------------

def _load(instance: InstanceRow) -> tuple[DefinitionInfo, object]:
    info = definition_info(instance.definition_id)
    try:
        wf = load_workflow(info, instance.state)
    except StateError as exc:
        raise ConflictError(f"instance state cannot be loaded: {exc}") from None
    return info, wf


def _require(instance: InstanceRow, allowed: set[str], action: str) -> None:
    if instance.status not in allowed:
        raise ConflictError(f"cannot {action} an instance that is {instance.status}",
                            instance_status=instance.status)


def suspend_instance(instance_id: str, actor: Actor, reason: str | None = None) -> InstanceRow:
    """Stop an instance from moving: its tasks cannot be completed until resumed."""
    with locked_instance(instance_id) as instance:
        _require(instance, {"running", "error"}, "suspend")
        step = Step(instance, actor)
        step.set_status("suspended", reason)
        step.write()
    return instance


def resume_instance(instance_id: str, actor: Actor, reason: str | None = None) -> InstanceRow:
    with locked_instance(instance_id) as instance:
        _require(instance, {"suspended"}, "resume")
        open_incident = db.session.scalar(select(Incident.id).where(Incident.instance_id == instance_id,
                                                                    Incident.resolved_at.is_(None)).limit(1))
        step = Step(instance, actor)
        step.set_status("error" if open_incident else "running", reason)
        if not open_incident and definition_info(instance.definition_id).settings.conditional:
            info, wf = _load(instance)  # variables may have changed while it was suspended: conditions again
            with acting_for(instance.id, instance.record_module, instance.record_id, actor) as effects:
                step.apply_outcome(info, wf, engine().runner.advance(wf, effects))
        step.write()
    return instance


def cancel_instance(instance_id: str, actor: Actor, reason: str | None = None) -> InstanceRow:
    """Cancel every open task and end the instance."""
    with locked_instance(instance_id) as instance:
        _require(instance, {"running", "suspended", "error"}, "cancel")
        info, wf = _load(instance)
        step = Step(instance, actor)
        step.apply_outcome(info, wf, engine().runner.cancel(wf))
        step.set_status("cancelled", reason)
        _resolve_incidents(instance_id, "cancelled")
        step.write()
    return instance


def retry_instance(instance_id: str, actor: Actor) -> InstanceResult:
    """Run the failed step again from the last good state."""
    with locked_instance(instance_id) as instance:
        _require(instance, {"error"}, "retry")
        info, wf = _load(instance)
        with acting_for(instance.id, instance.record_module, instance.record_id, actor) as effects:
            outcome = engine().runner.retry(wf, effects)
        _resolve_incidents(instance_id, "retried")
        step = Step(instance, actor)
        step.record("retried")
        if outcome.status != "error":
            step.set_status("running")
        opened = step.apply_outcome(info, wf, outcome)
        step.write()
    return step.followed_by or InstanceResult(instance, opened)


def update_variables(instance_id: str, changes: dict, actor: Actor) -> InstanceRow:
    """Merge-patch an instance's variables (null removes one)."""
    if not isinstance(changes, dict) or not changes:
        raise ValidationError("send an object of variables to change")
    with locked_instance(instance_id) as instance:
        _require(instance, {"running", "suspended", "error"}, "change the variables of")
        info, wf = _load(instance)
        try:
            variables = engine().runner.update_variables(wf, changes)
        except ScriptError as exc:
            raise ValidationError(str(exc)) from None
        step = Step(instance, actor)
        step.record("variables_updated", data=jsonable(changes))
        if instance.status == "running" and info.settings.conditional:
            # Conditional events wait on the variables: they are evaluated again now.
            with acting_for(instance.id, instance.record_module, instance.record_id, actor) as effects:
                outcome = engine().runner.advance(wf, effects)
            step.apply_outcome(info, wf, outcome)
            step.write()
            return instance
        step.set(state=engine().dump(info.dialect, wf), variables=jsonable(variables))
        step.write()
    return instance


def _resolve_incidents(instance_id: str, resolution: str) -> None:
    db.session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
                       .values(resolved_at=utcnow(), resolution=resolution)
                       .execution_options(synchronize_session=False))
