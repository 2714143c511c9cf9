"""Starting, reading and repairing process instances."""
from __future__ import annotations

from dataclasses import dataclass

import datetime as dt

from sqlalchemy import JSON, String, and_, case, cast, exists, func, literal, null, select, true, union_all, update

from ..database import like
from ..engine import ScriptError, StateError
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import ActiveActivity, ActivityInstance, ActivityState, HistoryEvent, HumanTask, Incident, ProcessInstance
from ..statuses import InstanceStatus, TaskState
from .access import (NOT_READ, only_concerning_ids, readable_instances, readable_keys, readable_tasks, require,
                     require_admin, require_on_instance, require_read_instance)
from .core import (
    SYSTEM, Actor, InstanceResult, Page, TenantFilter, Turn, definition_info, engine, incident_type, jsonable,
    latest_definition_id, narrowed, paginate, run_on_instance, start_new, utcnow, write_transaction,
)
from .forms import check_variable_names, validate_form
from .variable_query import variable_clauses

def start_instance(actor: Actor, *, key: str | None = None, definition_id: str | None = None,
                   variables: dict | None = None, business_key: str | None = None,
                   record: tuple[str, str, str] | None = None, tenant_id: str | None = None) -> InstanceResult:
    """Start an instance of a definition (latest version of `key` in `tenant_id`'s version line, the
    line without a tenant by default) and run it until it waits.

    Joins the caller's write transaction, if any.

    Args:
        record: (module, record id, role) when a record event starts it; such starts follow the
            bindings admins made, so they need no `start` permission of the actor.
    """
    with write_transaction():  # one transaction from the first read (SQLite: BEGIN IMMEDIATE once)
        info = definition_info(definition_id or latest_definition_id(key, tenant_id))
        if record is None:
            require(actor, "start", "process", info.key, f"start process {info.key!r}")
        variables = check_variable_names(variables or {}) if record is None else (variables or {})
        if info.initiator and actor is not SYSTEM and info.initiator not in variables:
            variables = {**variables, info.initiator: actor.username}  # camunda:initiator: who started it
        return start_new(info, actor, variables, business_key=business_key, record=record)


def start_form(*, key: str | None = None, definition_id: str | None = None, tenant_id: str | None = None) -> dict:
    """What starting the definition (latest version of `key` in `tenant_id`'s line) asks for: its start
    event's form."""
    return definition_info(definition_id or latest_definition_id(key, tenant_id)).start_form


def submit_start_form(actor: Actor, *, key: str | None = None, definition_id: str | None = None,
                      variables: dict | None = None, business_key: str | None = None,
                      tenant_id: str | None = None) -> InstanceResult:
    """Start an instance with the data of its start form, checked against the form when it has one
    (only its fields are accepted, as on a task); without a start form, like `start_instance`."""
    definition_id = definition_id or latest_definition_id(key, tenant_id)
    form = definition_info(definition_id).start_form["form"]
    if form:
        variables = validate_form(form, variables or {})
    return start_instance(actor, definition_id=definition_id, variables=variables, business_key=business_key)


def _instance(instance_id: str) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"no process instance {instance_id}")
    return instance


def get_instance(instance_id: str, actor: Actor) -> ProcessInstance:
    """An instance the actor may read (404 otherwise, as for one that does not exist)."""
    instance = _instance(instance_id)
    require_read_instance(actor, instance)
    return instance


def instance_details(instance_id: str, actor: Actor) -> dict:
    """The instance with its definition, open tasks, active activities and incidents."""
    instance = get_instance(instance_id, actor)
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


def definition_statistics(definition_id: str, actor: Actor) -> list[ActivityStatistics]:
    """Per active element of a definition's instances that have not ended: instances there, open incidents.

    Only the instances the actor may read are counted.

    Raises:
        NotFoundError: no such definition.
    """
    definition_info(definition_id)  # 404 when there is no such definition
    not_ended = ProcessInstance.status.not_in(tuple(InstanceStatus.ENDED))
    readable = readable_instances(actor)
    if readable is not None:
        not_ended = and_(not_ended, readable)
    # Active rows exist only while their instance has not ended (the step that ends it writes none): an
    # admin's count is one range of the (definition, element, instance) index.
    waiting = (select(ActiveActivity.element_id, func.count(func.distinct(ActiveActivity.instance_id)))
               .where(ActiveActivity.definition_id == definition_id)
               .group_by(ActiveActivity.element_id).order_by(ActiveActivity.element_id))
    if readable is not None:
        waiting = waiting.join(ProcessInstance, ProcessInstance.id == ActiveActivity.instance_id).where(readable)
    counts = db.session.execute(waiting).all()
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


def list_instances(actor: Actor, *, page=1, per_page=20, offset=None, after=None, exact=True, **filters) -> Page:
    """Newest first, from the projection tables only; `status` is one status or a list of them.

    Only the instances the actor may read (see `access.readable_instances`); the filters are
    `instances_query`'s. `after` continues from a page's `next_cursor`; `exact=False` caps the total,
    `exact=None` counts nothing (see `core.pagination`).
    """
    keys = readable_keys(actor)
    stmt = instances_query(actor, readable=keys, **filters)
    # Unfiltered, a user's list holds exactly the instances that concern them: counted from their ids alone.
    counted = None if any(filters.values()) else only_concerning_ids(actor, keys=keys)
    return paginate(stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()), page, per_page,
                    offset, exact=exact, keyset=(ProcessInstance.started_at, ProcessInstance.id), after=after,
                    counted=counted)


def instances_query(actor: Actor, *, status=None, key=None, business_key=None, activity=None, started_after=None,
                    started_before=None, module=None, record_id=None, definition_id=None, business_key_like=None,
                    variables=None, tenants: TenantFilter | None = None, readable=NOT_READ):
    """SELECT the instances `actor` may read that match the filters (the instance list's, which a migration
    also selects its instances with). `tenants` keeps those of some tenants (or of none); `variables`:
    (name, operator, value) filters on the instance's variables (`variable_query`); `readable`: the
    actor's `readable_keys` if already read."""
    stmt = narrowed(select(ProcessInstance), tenants, ProcessInstance.tenant_id)
    readable = readable_instances(actor, few=bool(record_id), keys=readable)
    if readable is not None:
        stmt = stmt.where(readable)
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
    if business_key_like:  # a SQL LIKE pattern, as Camunda's businessKeyLike
        stmt = stmt.where(like(ProcessInstance.business_key, business_key_like))
    if activity:
        stmt = stmt.where(exists().where(ActiveActivity.instance_id == ProcessInstance.id,
                                         ActiveActivity.element_id == activity))
    if variables:
        stmt = stmt.where(*variable_clauses(ProcessInstance.variables, variables))
    if started_after:
        stmt = stmt.where(ProcessInstance.started_at >= started_after)
    if started_before:
        stmt = stmt.where(ProcessInstance.started_at < started_before)
    return stmt


@dataclass
class ProcessOverview:
    """One process key's instances now: running, in error, suspended; open incidents and tasks; completed lately."""

    key: str
    running: int
    error: int
    suspended: int
    incidents: int
    open_tasks: int
    completed_recently: int


def process_overview(actor: Actor, *, since: dt.timedelta = dt.timedelta(hours=24)) -> list[ProcessOverview]:
    """Per process key, from the projection tables: for a reader of every instance per key from index ranges
    (`_overview_of_every_key`), for anyone else in one grouped pass over what they may read.

    `completed_recently` counts the instances completed within `since` (24 hours by default). Only the
    instances the actor may read are counted, and their incidents and tasks (admins: all).
    """
    after = utcnow() - since
    keys = readable_keys(actor)
    if keys is None:
        return _overview_of_every_key(after)
    readable, tasks_readable = readable_instances(actor, keys=keys), readable_tasks(actor, keys=keys)
    readable = true() if readable is None else readable
    tasks_readable = true() if tasks_readable is None else tasks_readable

    def counted(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    status = ProcessInstance.status
    # One pass over the instances: their open incidents joined per instance, not a second scan to find keys.
    incidents = (select(Incident.instance_id, func.count().label("n")).where(Incident.resolved_at.is_(None))
                 .group_by(Incident.instance_id).subquery())
    per_instance = (
        select(ProcessInstance.process_key.label("key"),
               counted(status == InstanceStatus.RUNNING).label("running"),
               counted(status == InstanceStatus.ERROR).label("error"),
               counted(status == InstanceStatus.SUSPENDED).label("suspended"),
               func.coalesce(func.sum(incidents.c.n), 0).label("incidents"),
               counted(and_(status == InstanceStatus.COMPLETED, ProcessInstance.ended_at >= after)).label("completed"))
        .outerjoin(incidents, incidents.c.instance_id == ProcessInstance.id)
        .where(readable).group_by(ProcessInstance.process_key).subquery())
    open_tasks = (select(HumanTask.process_key.label("key"), func.count(HumanTask.id).label("n"))
                  .where(HumanTask.state == TaskState.OPEN, tasks_readable)
                  .group_by(HumanTask.process_key).subquery())
    rows = db.session.execute(
        select(per_instance.c.key, per_instance.c.running, per_instance.c.error, per_instance.c.suspended,
               per_instance.c.incidents, func.coalesce(open_tasks.c.n, literal(0)), per_instance.c.completed)
        .outerjoin(open_tasks, open_tasks.c.key == per_instance.c.key)
        .order_by(per_instance.c.key)).all()
    return [ProcessOverview(row[0], *(int(n) for n in row[1:])) for row in rows]


def _present_keys():
    """SELECT every process key some instance has, each once: the next key after the last one, from the index
    that leads with it, as many lookups as there are keys (however many instances each has)."""
    pk = ProcessInstance.process_key
    keys = select(func.min(pk).label("key")).cte("present_key", recursive=True)
    keys = keys.union_all(select(select(func.min(pk)).where(pk > keys.c.key).scalar_subquery())
                          .where(keys.c.key.is_not(None)))
    return keys


def _overview_of_every_key(after) -> list[ProcessOverview]:
    """`process_overview` of every instance: per key, each figure counted from one range of an index that
    leads with the key (statuses, open tasks, completions since `after`), not by a pass over every instance."""
    keys = _present_keys()
    key = keys.c.key

    def count(*where, of=ProcessInstance):
        return select(func.count()).select_from(of).where(*where).scalar_subquery()

    def written(value: str):  # in the statement's text: a partial index for that value serves it on any database
        return literal(value, String(), literal_execute=True)

    pi = ProcessInstance
    rows = db.session.execute(
        select(key,
               count(pi.process_key == key, pi.status == written(InstanceStatus.RUNNING)),
               count(pi.process_key == key, pi.status == written(InstanceStatus.ERROR)),
               count(pi.process_key == key, pi.status == written(InstanceStatus.SUSPENDED)),
               count(HumanTask.process_key == key, HumanTask.state == written(TaskState.OPEN), of=HumanTask),
               count(pi.process_key == key, pi.status == written(InstanceStatus.COMPLETED), pi.ended_at >= after))
        .where(key.is_not(None)).order_by(key)).all()
    # open incidents are few: read from their table, each instance's key looked up
    incidents = dict(db.session.execute(
        select(pi.process_key, func.count(Incident.id)).join(pi, pi.id == Incident.instance_id)
        .where(Incident.resolved_at.is_(None)).group_by(pi.process_key)).all())
    return [ProcessOverview(row[0], int(row[1]), int(row[2]), int(row[3]), int(incidents.get(row[0], 0)),
                            int(row[4]), int(row[5])) for row in rows]


@dataclass
class IncidentGroup:
    """Open incidents that share a process key, an element and a message."""

    key: str
    element_id: str | None
    element_name: str | None
    message: str
    count: int
    first_at: dt.datetime
    last_at: dt.datetime


def incident_groups(actor: Actor) -> list[IncidentGroup]:
    """Open incidents grouped by process key, element and message, the largest group first (admins only)."""
    require_admin(actor, "see every process's incidents")
    rows = db.session.execute(
        select(ProcessInstance.process_key, Incident.element_id, func.max(Incident.element_name), Incident.message,
               func.count(Incident.id), func.min(Incident.created_at), func.max(Incident.created_at))
        .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .where(Incident.resolved_at.is_(None))
        .group_by(ProcessInstance.process_key, Incident.element_id, Incident.message)
        .order_by(func.count(Incident.id).desc(), ProcessInstance.process_key, Incident.element_id)).all()
    return [IncidentGroup(*row) for row in rows]


def instance_history(instance_id: str, actor: Actor, page: int = 1, per_page: int = 100) -> Page:
    """The instance's audit trail: its history rows with each activity instance's entering and leaving
    (`element_entered`, then `element_left` or `element_cancelled`), in the order they happened. At one
    moment, what a step began with comes first, its elements next (each entered before it is left), the
    status it ended at last."""
    get_instance(instance_id, actor)
    h, a = HistoryEvent.__table__, ActivityInstance.__table__
    late = h.c.type.in_(("status_changed", "error"))
    rows = select(h.c.id, h.c.type, h.c.at, h.c.element_id, h.c.element_name, h.c.element_type, h.c.user,
                  h.c.message, h.c.data, case((late, 2), else_=0).label("rank"), h.c.id.label("seq"),
                  literal(0).label("phase")).where(h.c.instance_id == instance_id)
    no_text, no_data = cast(null(), String), cast(null(), JSON)
    entered = select(null().label("id"), literal("element_entered"), a.c.started_at, a.c.element_id, a.c.element_name,
                     a.c.element_type, no_text, no_text, no_data, literal(1), a.c.id, literal(0)
                     ).where(a.c.instance_id == instance_id)
    left = select(null().label("id"),
                  case((a.c.state == ActivityState.COMPLETED, "element_left"), else_="element_cancelled"),
                  a.c.ended_at, a.c.element_id, a.c.element_name, a.c.element_type, a.c.actor, no_text, no_data,
                  literal(1), a.c.id, literal(1)).where(a.c.instance_id == instance_id, a.c.ended_at.is_not(None))
    trail = union_all(rows, entered, left).subquery()
    stmt = select(trail.c.id, trail.c.type, trail.c.at, trail.c.element_id, trail.c.element_name,
                  trail.c.element_type, trail.c.user, trail.c.message, trail.c.data
                  ).order_by(trail.c.at, trail.c.rank, trail.c.seq, trail.c.phase)
    total = db.session.scalar(select(func.count()).select_from(trail))
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items, total, page, per_page)


# -- repair (admins, or a grant on the process key) --------------------------------------------------------------

_REPAIRABLE = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED, InstanceStatus.ERROR)


def _cannot(verb: str) -> str:
    return f"cannot {verb} an instance that is {{status}}"


def _authorize(instance_id: str, actor: Actor, permission: str, what: str) -> None:
    """Changing an instance needs read access to it and `permission` on its process key (admins have all)."""
    require_on_instance(actor, permission, _instance(instance_id), what)


def _loaded(turn: Turn):
    try:
        return turn.wf
    except StateError as exc:
        raise ConflictError(f"instance state cannot be loaded: {exc}") from None


def suspend_instance(instance_id: str, actor: Actor, reason: str | None = None):
    """Stop an instance from moving: its tasks cannot be completed until resumed."""
    _authorize(instance_id, actor, "repair", "suspend this instance")
    return run_on_instance(instance_id, actor, lambda turn: _set_status(turn, InstanceStatus.SUSPENDED, reason),
                           statuses=(InstanceStatus.RUNNING, InstanceStatus.ERROR), refusal=_cannot("suspend"))


def _set_status(turn: Turn, status: str, reason: str | None):
    turn.step.set_status(status, reason)
    return turn.instance


def resume_instance(instance_id: str, actor: Actor, reason: str | None = None):
    _authorize(instance_id, actor, "repair", "resume this instance")

    def act(turn: Turn):
        open_incident = db.session.scalar(select(Incident.id).where(Incident.instance_id == instance_id,
                                                                    Incident.resolved_at.is_(None)).limit(1))
        turn.step.set_status(InstanceStatus.ERROR if open_incident else InstanceStatus.RUNNING, reason)
        if not open_incident and turn.info.settings.conditional:
            _loaded(turn)  # variables may have changed while it was suspended: conditions again
            turn.run(lambda runner, wf, effects: runner.advance(wf, effects))
        return turn.instance
    return run_on_instance(instance_id, actor, act, statuses=(InstanceStatus.SUSPENDED,), refusal=_cannot("resume"))


def cancel_instance(instance_id: str, actor: Actor, reason: str | None = None):
    """Cancel every open task and end the instance."""
    _authorize(instance_id, actor, "delete", "cancel this instance")
    return cancel(instance_id, actor, reason)


def cancel(instance_id: str, actor: Actor, reason: str | None = None):
    """Cancel an instance for the server itself (a new schedule replaces it, a record goes)."""
    def act(turn: Turn):
        _loaded(turn)
        turn.run(lambda runner, wf, effects: runner.cancel(wf))
        turn.step.set_status(InstanceStatus.CANCELLED, reason)
        _resolve_incidents(instance_id, "cancelled")
        return turn.instance
    return run_on_instance(instance_id, actor, act, statuses=_REPAIRABLE, refusal=_cannot("cancel"))


def retry_instance(instance_id: str, actor: Actor, reason: str | None = None) -> InstanceResult:
    """Run the failed step again from the last good state (the reason, if any, kept in its history)."""
    _authorize(instance_id, actor, "repair", "retry this instance")

    def act(turn: Turn):
        _loaded(turn)
        outcome = turn.engine_step(lambda runner, wf, effects: runner.retry(wf, effects))
        _resolve_incidents(instance_id, "retried")
        turn.step.record("retried", message=reason)
        if outcome.status != InstanceStatus.ERROR:
            turn.step.set_status(InstanceStatus.RUNNING)
        turn.apply(outcome)
    return run_on_instance(instance_id, actor, act, statuses=(InstanceStatus.ERROR,), refusal=_cannot("retry"))


def update_variables(instance_id: str, changes: dict, actor: Actor):
    """Merge-patch an instance's variables (null removes one): admins or `update` on the process key."""
    _authorize(instance_id, actor, "update", "change the variables of this instance")
    return change_variables(instance_id, changes, actor)


def change_variables(instance_id: str, changes: dict, actor: Actor):
    """Merge-patch an instance's variables, for a caller already authorized (a task's delegate resolving it)."""
    if not isinstance(changes, dict) or not changes:
        raise ValidationError("send an object of variables to change")
    check_variable_names(changes)

    def act(turn: Turn):
        wf = _loaded(turn)
        try:
            variables = engine().runner.update_variables(wf, changes)
        except ScriptError as exc:
            raise ValidationError(str(exc)) from None
        turn.step.record("variables_updated", data=jsonable(changes))
        if turn.instance.status == InstanceStatus.RUNNING and turn.info.settings.conditional:
            # Conditional events wait on the variables: they are evaluated again now.
            turn.run(lambda runner, workflow, effects: runner.advance(workflow, effects))
        else:
            turn.step.set(state=turn.dump(), variables=jsonable(variables))
        return turn.instance
    return run_on_instance(instance_id, actor, act, statuses=_REPAIRABLE, refusal=_cannot("change the variables of"))


def _resolve_incidents(instance_id: str, resolution: str) -> None:
    db.session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
                       .values(resolved_at=utcnow(), resolution=resolution)
                       .execution_options(synchronize_session=False))


def suspended_among(instance_ids) -> set[str]:
    """The ids among `instance_ids` of the instances that are suspended (one lookup by primary key): what
    Camunda's task and external task representations flag as `suspended`."""
    ids = sorted(set(instance_ids))
    if not ids:
        return set()
    return set(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(ids),
                                                                    ProcessInstance.status == InstanceStatus.SUSPENDED)))
