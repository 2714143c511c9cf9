"""Reading what happened: historic instances, activity instances, tasks and open incidents.

Queries only, no commands: they serve history views such as Camunda's
`/history/*` and `/incident` resources. Ended instances and finished tasks are
included, unlike the runtime queries in `instances` and `tasks`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from sqlalchemy import and_, case, exists, false, func, or_, select, true

from ..database import like
from ..engine import element_types
from ..extensions import db
from ..models import ActivityInstance as ActivityRow
from ..models import ActivityState, HumanTask, Incident, ProcessDefinition, ProcessInstance
from ..statuses import InstanceStatus, TaskState
from .access import only_concerning_ids, readable_instances, readable_keys, readable_tasks
from .core import Actor, Page, TenantFilter, narrowed, past
from .instances import get_instance

ENDED = tuple(InstanceStatus.ENDED)


@dataclass
class HistoricInstance:
    """An instance with the version of the definition it runs, the start event it began at and the end event
    it ended at (None while it runs, or when it was cancelled)."""

    instance: ProcessInstance
    definition_version: int
    start_activity_id: str | None = None
    end_activity_id: str | None = None
    definition_name: str | None = None


@dataclass
class HistoricVariable:
    """One variable of one instance, as the instance holds it now (ended instances keep their last values)."""

    instance: ProcessInstance
    name: str
    value: object


@dataclass
class ActivityInstance:
    """One occurrence of one element in one instance: entered, and left unless still there (or cancelled)."""

    id: str
    instance_id: str
    definition_id: str
    element_id: str
    element_name: str | None
    element_type: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    canceled: bool
    tenant_id: str | None = None

    @property
    def completes_scope(self) -> bool:
        """An end event the instance passed (Camunda's completeScope)."""
        return (self.element_type or "").endswith("EndEvent") and self.ended_at is not None and not self.canceled


@dataclass
class OpenIncident:
    """An open incident with the definition of its instance."""

    incident: Incident
    definition_id: str
    tenant_id: str | None = None


def _rows_page(stmt, offset: int, limit: int, *, total: bool = False, key=None, keys=None) -> Page:
    """One page of a multi-column select, as Row objects (`paginate` only returns the first column).

    The rows are counted for a count (`limit` 0) or when `total` asks; a page of a list that does not tell
    its total (Camunda's lists: their count is another call) is not, and its `total` is None: a count reads
    every match, where a page in the list's index order reads only its rows. `key`: a unique column of the
    order's index; a page past the first then skips its rows as keys alone (`core.past`, from `keys` when
    given; being the same rows, they are counted from it too, without the tables only the page needs).
    """
    count = None
    if total or not limit:
        counted = stmt if keys is None else keys
        count = db.session.scalar(select(func.count()).select_from(counted.order_by(None).subquery())) or 0
    if offset and limit and key is not None:
        stmt, offset = past(stmt, key, limit, offset, keys), 0
    rows = list(db.session.execute(stmt.limit(limit).offset(offset))) if limit else []
    return Page(rows, count, 1, limit)


def _readable(actor: Actor, stmt):
    """Restrict a query joined to process_instance to the instances the actor may read."""
    clause = readable_instances(actor)
    return stmt if clause is None else stmt.where(clause)


def _ended_clause(finished: bool, unfinished: bool, status_column):
    clauses = []
    if finished:
        clauses.append(status_column.in_(ENDED))
    if unfinished:  # the live statuses named: the live instances' partial index serves IN, not NOT IN
        clauses.append(status_column.in_(sorted(InstanceStatus.LIVE)))
    return clauses


def list_historic_instances(actor: Actor, *, instance_id=None, key=None, business_key=None, finished=False, unfinished=False,
                            offset: int = 0, limit: int = 20, business_key_like=None, definition_name=None,
                            definition_name_like=None, incident_message=None, incident_message_like=None,
                            definition_id=None, started_by=None, tenants: TenantFilter | None = None) -> Page:
    """Instances the actor may read, ended ones included, oldest first; items are `HistoricInstance`.

    `..._like` are SQL LIKE patterns (`%` any text, `_` one character), as Camunda's `...Like` filters;
    `incident_message(_like)` keeps instances with an incident (open or resolved) of that message.
    """
    stmt = narrowed(_readable(actor, select(ProcessInstance)), tenants, ProcessInstance.tenant_id)
    if instance_id:
        stmt = stmt.where(ProcessInstance.id == instance_id)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if business_key:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    if business_key_like:
        stmt = stmt.where(like(ProcessInstance.business_key, business_key_like))
    if definition_id:
        stmt = stmt.where(ProcessInstance.definition_id == definition_id)
    if started_by:
        stmt = stmt.where(ProcessInstance.started_by == started_by)
    for name, matching in ((definition_name, ProcessDefinition.name.__eq__),
                           (definition_name_like, partial(like, ProcessDefinition.name))):
        if name:
            stmt = stmt.where(ProcessInstance.definition_id.in_(select(ProcessDefinition.id).where(matching(name))))
    for message, matching in ((incident_message, Incident.message.__eq__),
                              (incident_message_like, partial(like, Incident.message))):
        if message:
            stmt = stmt.where(exists().where(Incident.instance_id == ProcessInstance.id, matching(message)))
    stmt = stmt.where(*_ended_clause(finished, unfinished, ProcessInstance.status))
    stmt = stmt.order_by(ProcessInstance.started_at, ProcessInstance.id)
    rows = stmt.add_columns(ProcessDefinition.version, ProcessDefinition.name).join(
        ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    page = _rows_page(rows, offset, limit, key=ProcessInstance.id, keys=stmt.with_only_columns(ProcessInstance.id))
    ids = [instance.id for instance, _, _ in page.items]
    starts, ends = _first_event_of("StartEvent", ids), _first_event_of("EndEvent", ids, last=True)
    page.items = [HistoricInstance(instance, version, starts.get(instance.id),
                                   ends.get(instance.id) if instance.status == InstanceStatus.COMPLETED else None,
                                   name)
                  for instance, version, name in page.items]
    return page


def _first_event_of(kind: str, instance_ids: list[str], last: bool = False) -> dict[str, str]:
    """Per instance, the element of the first (or last) `element_entered` event of an element of `kind`
    (`StartEvent`, `EndEvent`: any engine type whose name ends so), from the audit trail."""
    if not instance_ids:
        return {}
    pick = func.max(ActivityRow.id) if last else func.min(ActivityRow.id)
    chosen = (select(pick).where(ActivityRow.instance_id.in_(instance_ids), ActivityRow.element_type.like(f"%{kind}"))
              .group_by(ActivityRow.instance_id))
    return dict(db.session.execute(select(ActivityRow.instance_id, ActivityRow.element_id)
                                   .where(ActivityRow.id.in_(chosen))).all())


def list_historic_variables(actor: Actor, *, instance_id=None, name=None, name_like=None, key=None,
                            definition_id=None, offset: int = 0, limit: int = 20,
                            tenants: TenantFilter | None = None) -> Page:
    """Variables of the instances the actor may read, ended ones included, from each instance's stored variables;
    ordered by instance start, then name. Items are `HistoricVariable`.

    `name_like` is a LIKE pattern, as Camunda's variableNameLike (`database.like`). Stagecoach keeps an
    instance's current variables, not each change: a variable removed from an instance is not listed. Each
    instance's variables are listed by the database (`json_each`), so a page reads its own rows only (where
    most instances hold none, an admin's page walks them in start order until it has its rows).
    """
    names = func.json_each(ProcessInstance.variables).table_valued("key").alias("variable")
    stmt = select(ProcessInstance, names.c.key)
    keys = readable_keys(actor)  # read once, for either way below
    concerning = only_concerning_ids(actor, keys=keys)
    if concerning is None:  # an admin, or a reader of whole process keys: walk the instances in start order
        readable = readable_instances(actor, keys=keys)
        stmt = stmt if readable is None else stmt.where(readable)
        order = (ProcessInstance.started_at, ProcessInstance.id)
    else:  # the few thousand instances that concern the user, read and ordered by themselves (a subquery the
        # planner keeps whole): not found by walking every instance in start order and testing each
        mine = (select(ProcessInstance.id, ProcessInstance.started_at)
                .where(ProcessInstance.id.in_(concerning)).limit(None).offset(0).subquery())
        stmt, order = stmt.join(mine, mine.c.id == ProcessInstance.id), (mine.c.started_at, mine.c.id)
    stmt = narrowed(stmt, tenants, ProcessInstance.tenant_id).join(names, true())
    if instance_id:
        stmt = stmt.where(ProcessInstance.id == instance_id)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if definition_id:
        stmt = stmt.where(ProcessInstance.definition_id == definition_id)
    if name is not None:
        stmt = stmt.where(names.c.key == name)
    if name_like:
        stmt = stmt.where(like(names.c.key, name_like))
    page = _rows_page(stmt.order_by(*order, names.c.key), offset, limit)
    page.items = [HistoricVariable(instance, var_name, instance.variables[var_name])
                  for instance, var_name in page.items]
    return page


def list_activity_instances(actor: Actor, *, instance_id=None, element_id=None, offset: int = 0, limit: int = 20,
                            definition_id=None, element_name=None, element_type=None, states: dict | None = None,
                            tenants: TenantFilter | None = None) -> Page:
    """Activity instances (one row per occurrence of an element), in the order they were entered (written);
    filtered and paged in SQL.

    An occurrence still open when its instance was cancelled (rows kept from before occurrences were
    ended with their instance) counts as canceled, ending with the instance.

    Args:
        element_type: a predicate on the engine's element type (Camunda's activity type is the API's),
            asked of every element type the engine has.
        states: any of `finished`, `unfinished`, `canceled`, `complete_scope` (an end event that completed
            its scope) set to True keeps only those occurrences.
    """
    a, inst = ActivityRow, ProcessInstance
    own = []  # conditions on the activity rows alone
    if instance_id:
        own.append(a.instance_id == instance_id)
    if element_id:
        own.append(a.element_id == element_id)
    if element_name:
        own.append(a.element_name == element_name)
    if definition_id:
        own.append(a.definition_id == definition_id)
    readable = readable_instances(actor)
    on_instance = [] if readable is None else [readable]  # conditions that need the instance's row
    if tenants is not None:
        on_instance.append(tenants.clause(inst.tenant_id))
    if element_type is not None:  # the engine's types that answer to it (no scan of the rows for their types)
        own.append(a.element_type.in_(sorted(kind for kind in element_types() if element_type(kind))))
    left_with_instance = and_(a.ended_at.is_(None), inst.status == InstanceStatus.CANCELLED)
    checks = {"finished": or_(a.ended_at.is_not(None), left_with_instance),
              "unfinished": and_(a.ended_at.is_(None), inst.status != InstanceStatus.CANCELLED),
              "canceled": or_(a.state.in_((ActivityState.CANCELLED, ActivityState.INTERRUPTED)), left_with_instance),
              "complete_scope": and_(a.element_type.like("%EndEvent"), a.state == ActivityState.COMPLETED)}
    on_instance += [checks[name] for name, wanted in (states or {}).items() if wanted and name != "complete_scope"]
    if (states or {}).get("complete_scope"):
        own.append(checks["complete_scope"])
    rows = select(a, inst.status, inst.ended_at, inst.tenant_id).join(inst, inst.id == a.instance_id)
    if on_instance:
        page = _rows_page(rows.where(*own, *on_instance).order_by(a.id), offset, limit)
    else:  # counted and cut from the activity rows alone (an index), the instances joined to the page's rows
        page = _rows_page(select(a.id).where(*own).order_by(a.id), offset, limit)
        ids = [row_id for (row_id,) in page.items]
        page.items = list(db.session.execute(rows.where(a.id.in_(ids)).order_by(a.id))) if ids else []
    page.items = [_activity(row, status, ended_at, tenant_id) for row, status, ended_at, tenant_id in page.items]
    return page


def _activity(row, status: str, instance_ended_at, tenant_id) -> ActivityInstance:
    activity = ActivityInstance(id=f"{row.element_id}:{row.id}", instance_id=row.instance_id,
                                definition_id=row.definition_id, element_id=row.element_id,
                                element_name=row.element_name, element_type=row.element_type,
                                started_at=row.started_at, ended_at=row.ended_at,
                                canceled=row.state in (ActivityState.CANCELLED, ActivityState.INTERRUPTED),
                                tenant_id=tenant_id)
    if row.ended_at is None and status == InstanceStatus.CANCELLED:
        activity.ended_at, activity.canceled = instance_ended_at, True
    return activity


# Camunda's deleteReason of a historic task, by task state (None while open).
DELETE_REASON = case((HumanTask.state == TaskState.COMPLETED, "completed"),
                     (HumanTask.state == TaskState.CANCELLED, "deleted"), else_=None)


def list_historic_tasks(actor: Actor, *, instance_id=None, assignee=None, finished=False, unfinished=False, offset: int = 0,
                        limit: int = 20, filters: dict | None = None, tenants: TenantFilter | None = None) -> Page:
    """Human tasks in every state (open, completed, cancelled) of instances the actor may read, oldest first.

    `filters`: Camunda's names for the rest, each exact or (`..._like`) a SQL LIKE pattern: `name`,
    `assignee_like`, `owner`, `delete_reason` (`completed`, `deleted`), `description` (tasks have none: such a
    filter keeps nothing), `business_key`, `key`, `definition_id`, `element_id`, `id`, each with its `_like`
    where Camunda has one.
    """
    stmt = narrowed(select(HumanTask), tenants, HumanTask.tenant_id)
    readable = readable_tasks(actor)
    if readable is not None:
        stmt = stmt.where(readable)
    if (filters or {}).get("business_key") is not None or (filters or {}).get("business_key_like") is not None:
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)  # the instance's row is needed
    if instance_id:
        stmt = stmt.where(HumanTask.instance_id == instance_id)
    if assignee:
        stmt = stmt.where(HumanTask.assignee == assignee)
    if finished:
        stmt = stmt.where(HumanTask.state != "open")
    if unfinished:
        stmt = stmt.where(HumanTask.state == "open")
    columns = {"name": HumanTask.name, "assignee": HumanTask.assignee, "owner": HumanTask.owner,
               "delete_reason": DELETE_REASON, "business_key": ProcessInstance.business_key,
               "key": HumanTask.process_key, "definition_id": HumanTask.definition_id,
               "element_id": HumanTask.element_id, "id": HumanTask.id, "description": None}
    for name, value in (filters or {}).items():
        if value is None:
            continue
        column = columns[name.removesuffix("_like")]
        if column is None:  # no task has one: Camunda's filter would keep none of them
            stmt = stmt.where(false())
        else:
            stmt = stmt.where(like(column, value) if name.endswith("_like") else column == value)
    page = _rows_page(stmt.order_by(HumanTask.created_at, HumanTask.id), offset, limit, key=HumanTask.id)
    page.items = [task for (task,) in page.items]
    return page


def list_open_incidents(actor: Actor, *, instance_id=None, incident_id=None, offset: int = 0, limit: int = 20,
                        message=None, message_like=None, tenants: TenantFilter | None = None) -> Page:
    """Incidents not yet resolved (by a retry or a cancel), oldest first; items are `OpenIncident`.
    `message_like` is a SQL LIKE pattern."""
    stmt = _readable(actor, select(Incident, ProcessInstance.definition_id, ProcessInstance.tenant_id)
                     .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
                     .where(Incident.resolved_at.is_(None)))
    stmt = narrowed(stmt, tenants, ProcessInstance.tenant_id)
    if instance_id:
        stmt = stmt.where(Incident.instance_id == instance_id)
    if incident_id:
        stmt = stmt.where(Incident.id == incident_id)
    if message:
        stmt = stmt.where(Incident.message == message)
    if message_like:
        stmt = stmt.where(like(Incident.message, message_like))
    page = _rows_page(stmt.order_by(Incident.created_at, Incident.id), offset, limit)
    page.items = [OpenIncident(incident, definition_id, tenant_id) for incident, definition_id, tenant_id in page.items]
    return page


def element_counts(instance_id: str, actor: Actor) -> dict[str, int]:
    """How many times each element of an instance was entered (a loop's task, a retried path), from its
    activity instances in one grouped query: {element id: count}.

    Raises:
        NotFoundError: no such instance, or not one the actor may read.
    """
    get_instance(instance_id, actor)
    rows = db.session.execute(
        select(ActivityRow.element_id, func.count(ActivityRow.id))
        .where(ActivityRow.instance_id == instance_id).group_by(ActivityRow.element_id)).all()
    return {element_id: count for element_id, count in rows}


INCIDENT_STATES = ("open", "resolved", "all")


@dataclass
class ListedIncident:
    """An incident with the process key and definition of its instance."""

    incident: Incident
    process_key: str
    definition_id: str


def list_incidents(actor: Actor, *, key=None, definition_id=None, instance_id=None, element_id=None, message=None,
                   message_contains=None, state: str = "open", page: int = 1, per_page: int = 20) -> Page:
    """Incidents of the instances the actor may read, newest first; items are `ListedIncident`.

    `state`: open (not yet retried or cancelled), resolved, or all. `message` matches the whole message,
    `message_contains` a part of it (case-sensitive, taken literally: no wildcards).
    """
    stmt = _readable(actor, select(Incident, ProcessInstance.process_key, ProcessInstance.definition_id)
                     .join(ProcessInstance, ProcessInstance.id == Incident.instance_id))
    if state == "open":
        stmt = stmt.where(Incident.resolved_at.is_(None))
    elif state == "resolved":
        stmt = stmt.where(Incident.resolved_at.is_not(None))
    for column, value in ((ProcessInstance.process_key, key), (ProcessInstance.definition_id, definition_id),
                          (Incident.instance_id, instance_id), (Incident.element_id, element_id),
                          (Incident.message, message)):
        if value:
            stmt = stmt.where(column == value)
    if message_contains:
        stmt = stmt.where(Incident.message.contains(message_contains, autoescape=True))
    found = _rows_page(stmt.order_by(Incident.created_at.desc(), Incident.id.desc()), (page - 1) * per_page, per_page,
                       total=True)
    return Page([ListedIncident(*row) for row in found.items], found.total, page, per_page)
