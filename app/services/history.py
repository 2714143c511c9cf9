"""Reading what happened: historic instances, activity instances, tasks and open incidents.

Queries only, no commands: they serve history views such as Camunda's
`/history/*` and `/incident` resources. Ended instances and finished tasks are
included, unlike the runtime queries in `instances` and `tasks`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from .. import patterns
from ..extensions import db
from ..models import HistoryEvent, HumanTask, Incident, ProcessDefinition, ProcessInstance
from ..statuses import InstanceStatus
from .access import readable_instances
from .core import Actor, Page

ENDED = tuple(InstanceStatus.ENDED)


@dataclass
class HistoricInstance:
    """An instance with the version of the definition it runs, the start event it began at and the end event
    it ended at (None while it runs, or when it was cancelled)."""

    instance: ProcessInstance
    definition_version: int
    start_activity_id: str | None = None
    end_activity_id: str | None = None


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


@dataclass
class OpenIncident:
    """An open incident with the definition of its instance."""

    incident: Incident
    definition_id: str


def _rows_page(stmt, offset: int, limit: int) -> Page:
    """One page of a multi-column select, as Row objects (`paginate` only returns the first column)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(db.session.execute(stmt.limit(limit).offset(offset))) if limit else []
    return Page(rows, total, 1, limit)


def _readable(actor: Actor, stmt):
    """Restrict a query joined to process_instance to the instances the actor may read."""
    clause = readable_instances(actor)
    return stmt if clause is None else stmt.where(clause)


def _ended_clause(finished: bool, unfinished: bool, status_column):
    clauses = []
    if finished:
        clauses.append(status_column.in_(ENDED))
    if unfinished:
        clauses.append(status_column.not_in(ENDED))
    return clauses


def list_historic_instances(actor: Actor, *, instance_id=None, key=None, business_key=None, finished=False, unfinished=False,
                            offset: int = 0, limit: int = 20) -> Page:
    """Instances the actor may read, ended ones included, oldest first; items are `HistoricInstance`."""
    stmt = _readable(actor, select(ProcessInstance, ProcessDefinition.version)
                     .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id))
    if instance_id:
        stmt = stmt.where(ProcessInstance.id == instance_id)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if business_key:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    stmt = stmt.where(*_ended_clause(finished, unfinished, ProcessInstance.status))
    page = _rows_page(stmt.order_by(ProcessInstance.started_at, ProcessInstance.id), offset, limit)
    ids = [instance.id for instance, _ in page.items]
    starts, ends = _first_event_of("StartEvent", ids), _first_event_of("EndEvent", ids, last=True)
    page.items = [HistoricInstance(instance, version, starts.get(instance.id),
                                   ends.get(instance.id) if instance.status == InstanceStatus.COMPLETED else None)
                  for instance, version in page.items]
    return page


def _first_event_of(kind: str, instance_ids: list[str], last: bool = False) -> dict[str, str]:
    """Per instance, the element of the first (or last) `element_entered` event of an element of `kind`
    (`StartEvent`, `EndEvent`: any engine type whose name ends so), from the audit trail."""
    if not instance_ids:
        return {}
    pick = func.max(HistoryEvent.id) if last else func.min(HistoryEvent.id)
    chosen = (select(pick).where(HistoryEvent.instance_id.in_(instance_ids), HistoryEvent.type == "element_entered",
                                 HistoryEvent.element_type.like(f"%{kind}"))
              .group_by(HistoryEvent.instance_id))
    return dict(db.session.execute(select(HistoryEvent.instance_id, HistoryEvent.element_id)
                                   .where(HistoryEvent.id.in_(chosen))).all())


def list_historic_variables(actor: Actor, *, instance_id=None, name=None, name_like=None, key=None,
                            definition_id=None, offset: int = 0, limit: int = 20) -> Page:
    """Variables of the instances the actor may read, ended ones included, from each instance's stored variables;
    ordered by instance start, then name. Items are `HistoricVariable`.

    `name_like` is a SQL LIKE pattern (`%` any text, `_` one character), as Camunda's variableNameLike.
    Stagecoach keeps an instance's current variables, not each change: a variable removed from an
    instance is not listed. Names are matched in Python, so paging happens there too.
    """
    stmt = _readable(actor, select(ProcessInstance))
    if instance_id:
        stmt = stmt.where(ProcessInstance.id == instance_id)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if definition_id:
        stmt = stmt.where(ProcessInstance.definition_id == definition_id)
    matches = _like_matcher(name_like) if name_like else None
    found = []
    for instance in db.session.scalars(stmt.order_by(ProcessInstance.started_at, ProcessInstance.id)):
        for var_name in sorted(instance.variables or {}):
            if (name is None or var_name == name) and (matches is None or matches(var_name)):
                found.append(HistoricVariable(instance, var_name, instance.variables[var_name]))
    return Page(found[offset:offset + limit] if limit else [], len(found), 1, limit)


def _like_matcher(pattern: str):
    """A SQL LIKE pattern as a predicate on Python strings (`%` any text, `_` one character, case-sensitive),
    matched on RE2 in time linear in the name: wildcards cannot make it backtrack."""
    regex = patterns.compile_pattern("(?s)" + "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern))
    return lambda value: regex.fullmatch(value) is not None


def list_activity_instances(actor: Actor, *, instance_id=None, element_id=None, offset: int = 0, limit: int = 20) -> Page:
    """Activity instances built from the audit trail, ordered by when they started.

    Each `element_entered` row opens an occurrence of its element; the next
    `element_left` row for the same element in the same instance closes the
    oldest open one. An occurrence still open when its instance was cancelled
    counts as canceled, ending with the instance. Pairing happens in Python, so
    paging does too.
    """
    stmt = _readable(actor, select(HistoryEvent, ProcessInstance.definition_id, ProcessInstance.status,
                                   ProcessInstance.ended_at)
                     .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
                     .where(HistoryEvent.type.in_(("element_entered", "element_left"))))
    if instance_id:
        stmt = stmt.where(HistoryEvent.instance_id == instance_id)
    if element_id:
        stmt = stmt.where(HistoryEvent.element_id == element_id)
    activities: list[ActivityInstance] = []
    open_ones: dict[tuple[str, str], list[ActivityInstance]] = {}
    ends: dict[str, tuple[str, dt.datetime | None]] = {}
    for event, definition_id, status, ended_at in db.session.execute(stmt.order_by(HistoryEvent.id)):
        ends[event.instance_id] = (status, ended_at)
        slot = (event.instance_id, event.element_id)
        if event.type == "element_entered":
            activity = ActivityInstance(id=f"{event.element_id}:{event.id}", instance_id=event.instance_id,
                                        definition_id=definition_id, element_id=event.element_id,
                                        element_name=event.element_name, element_type=event.element_type,
                                        started_at=event.at, ended_at=None, canceled=False)
            activities.append(activity)
            open_ones.setdefault(slot, []).append(activity)
        elif open_ones.get(slot):
            open_ones[slot].pop(0).ended_at = event.at
    for (instance, _element), still_open in open_ones.items():
        status, ended_at = ends[instance]
        if status == InstanceStatus.CANCELLED:
            for activity in still_open:
                activity.ended_at, activity.canceled = ended_at, True
    activities.sort(key=lambda a: (a.started_at, int(a.id.rsplit(":", 1)[1])))
    items = activities[offset:offset + limit] if limit else []
    return Page(items, len(activities), 1, limit)


def list_historic_tasks(actor: Actor, *, instance_id=None, assignee=None, finished=False, unfinished=False, offset: int = 0,
                        limit: int = 20) -> Page:
    """Human tasks in every state (open, completed, cancelled) of instances the actor may read, oldest first."""
    stmt = _readable(actor, select(HumanTask).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id))
    if instance_id:
        stmt = stmt.where(HumanTask.instance_id == instance_id)
    if assignee:
        stmt = stmt.where(HumanTask.assignee == assignee)
    if finished:
        stmt = stmt.where(HumanTask.state != "open")
    if unfinished:
        stmt = stmt.where(HumanTask.state == "open")
    page = _rows_page(stmt.order_by(HumanTask.created_at, HumanTask.id), offset, limit)
    page.items = [task for (task,) in page.items]
    return page


def list_open_incidents(actor: Actor, *, instance_id=None, offset: int = 0, limit: int = 20) -> Page:
    """Incidents not yet resolved (by a retry or a cancel), oldest first; items are `OpenIncident`."""
    stmt = _readable(actor, select(Incident, ProcessInstance.definition_id)
                     .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
                     .where(Incident.resolved_at.is_(None)))
    if instance_id:
        stmt = stmt.where(Incident.instance_id == instance_id)
    page = _rows_page(stmt.order_by(Incident.created_at, Incident.id), offset, limit)
    page.items = [OpenIncident(incident, definition_id) for incident, definition_id in page.items]
    return page


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
    found = _rows_page(stmt.order_by(Incident.created_at.desc(), Incident.id.desc()), (page - 1) * per_page, per_page)
    return Page([ListedIncident(*row) for row in found.items], found.total, page, per_page)
