"""Where a definition version's instances wait: elements ranked by count x median duration, human tasks'
queue and work times per candidate group, and SLA breaches per task and per escalation level.

Queue time is a human task's occurrence from entered to its first claim (`claimed_at`), work time from
that claim to its completion. A candidate group is read from the task's row (`human_task.candidate_groups`,
a JSON list kept after the task closes), one row per group through the database's JSON table function;
a task offered to no group counts under none (null). A breach is a task with a due date completed after
it, or still open past it now. The escalation levels are a task's boundary timers (as the shipped
`sla/case_sla.bpmn` escalates after 4 and 8 hours): each counts the times it fired.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, distinct, func, select, true, tuple_

from ...clock import utcnow
from ...extensions import db
from ...models import ActivityInstance, ActivityState, HumanTask
from ...statuses import TaskState
from ..core import Actor, DefinitionInfo, millis_between
from .scope import Filters, activity_filters, percentiles, resolve, topology

A = ActivityInstance
HUMAN = ("userTask", "manualTask")


@dataclass
class ElementWait:
    """One element: completed occurrences, their p50/p90 duration, and the rank's score (count x p50)."""

    element_id: str
    name: str | None
    type: str | None
    completed: int
    p50_ms: int | None
    p90_ms: int | None
    score_ms: int


@dataclass
class GroupTimes:
    """A human task element, per candidate group: occurrences, claimed ones, queue and work p50/p90."""

    element_id: str
    name: str | None
    candidate_group: str | None
    tasks: int = 0
    claimed: int = 0
    queue_p50_ms: int | None = None
    queue_p90_ms: int | None = None
    work_p50_ms: int | None = None
    work_p90_ms: int | None = None


@dataclass
class SlaBreaches:
    """A human task element with due dates: tasks that had one, completed late, open past it now."""

    element_id: str
    name: str | None
    with_due_date: int = 0
    completed_late: int = 0
    open_overdue: int = 0

    @property
    def breached(self) -> int:
        return self.completed_late + self.open_overdue


@dataclass
class EscalationLevel:
    """A boundary timer on a human task: one SLA level, and how often it fired."""

    element_id: str
    name: str | None
    attached_to: str
    interrupting: bool
    fired: int = 0


@dataclass
class Bottlenecks:
    definition: DefinitionInfo
    filters: Filters
    elements: list[ElementWait] = field(default_factory=list)
    human_tasks: list[GroupTimes] = field(default_factory=list)
    sla: list[SlaBreaches] = field(default_factory=list)
    escalations: list[EscalationLevel] = field(default_factory=list)


def bottlenecks(actor: Actor, *, limit: int = 10, **query) -> Bottlenecks:
    """The bottlenecks of one definition version (see the module); `limit` ranked elements.

    Raises:
        ValidationError, ForbiddenError, NotFoundError: as `scope.resolve`.
    """
    scope = resolve(actor, **query)
    info = scope.definition
    names = {eid: (e or {}).get("name") for eid, e in (info.elements or {}).items()}
    types = {eid: (e or {}).get("type") for eid, e in (info.elements or {}).items()}
    where = activity_filters(scope)
    result = Bottlenecks(info, scope.filters)

    durations = select(A.element_id, A.duration_ms.label("value")).where(
        *where, A.state == ActivityState.COMPLETED).subquery()
    ranked = [ElementWait(eid, names.get(eid), types.get(eid), int(n), _int(p50), _int(p90), int(n) * int(p50 or 0))
              for eid, n, p50, p90 in db.session.execute(percentiles(durations, ["element_id"]))]
    ranked.sort(key=lambda w: (-w.score_ms, w.element_id))
    result.elements = ranked[:limit]

    # Human tasks only, found through the (definition, element) index rather than every activity row.
    human = [*where, A.element_id.in_([eid for eid, kind in types.items() if kind in HUMAN] or [""])]
    if db.session.get_bind().dialect.name == "postgresql":
        result.human_tasks, result.sla = _human_tasks_at_once(human, names)
    else:
        result.human_tasks, result.sla = _group_times(human, names), _breaches(human, names)
    fired = {w.element_id: w.completed for w in ranked}  # a boundary timer's completed occurrences: its firings
    result.escalations = _escalations(info, fired, types)
    return result


def _candidate_groups():
    """A table function of a human task's candidate groups (one `value` per group), joined laterally."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.json_each(HumanTask.candidate_groups).table_valued("value")
    return func.json_array_elements_text(HumanTask.candidate_groups).table_valued("value").lateral()


def _late():
    return and_(HumanTask.completed_at.is_not(None), HumanTask.completed_at > HumanTask.due_at)


def _overdue():
    return and_(HumanTask.state == TaskState.OPEN, HumanTask.due_at < utcnow())


def _task_rows(where: list):
    """Each human task occurrence once per candidate group (once, with none, for a task offered to no group)."""
    groups = _candidate_groups()
    return (select(A.id.label("occurrence"), A.element_id, groups.c.value.label("candidate_group"),
                   A.claimed_at.label("claimed_at"),
                   millis_between(A.claimed_at, A.started_at).label("queue"),
                   case((A.state == ActivityState.COMPLETED, millis_between(A.ended_at, A.claimed_at))).label("work"),
                   HumanTask.due_at.is_not(None).label("due"), _late().label("late"), _overdue().label("overdue"))
            .join(HumanTask, HumanTask.id == A.task_id).outerjoin(groups, true()).where(*where).subquery())


def _human_tasks_at_once(where: list, names: dict) -> tuple[list[GroupTimes], list[SlaBreaches]]:
    """PostgreSQL: the group times and the SLA breaches in one pass over the tasks and their groups; the
    breaches are counted per element (GROUPING SETS), each task once whatever its number of groups."""
    rows = _task_rows(where)

    def pct(p: float, column: str):
        return func.percentile_disc(p).within_group(rows.c[column])

    def tasks(condition):
        return func.count(distinct(rows.c.occurrence)).filter(condition)

    stmt = (select(rows.c.element_id, rows.c.candidate_group, func.grouping(rows.c.candidate_group),
                   func.count(), func.count(rows.c.claimed_at), pct(0.5, "queue"), pct(0.9, "queue"),
                   pct(0.5, "work"), pct(0.9, "work"), tasks(rows.c.due), tasks(rows.c.late), tasks(rows.c.overdue))
            .group_by(func.grouping_sets(tuple_(rows.c.element_id, rows.c.candidate_group),
                                         tuple_(rows.c.element_id))))
    times, breaches = [], []
    for element_id, group, whole, n, claimed, q50, q90, w50, w90, due, late, overdue in db.session.execute(stmt):
        if whole:
            if due:
                breaches.append(SlaBreaches(element_id, names.get(element_id), int(due), int(late), int(overdue)))
            continue
        times.append(GroupTimes(element_id, names.get(element_id), group, int(n), int(claimed),
                                _int(q50), _int(q90), _int(w50), _int(w90)))
    return (sorted(times, key=lambda t: (t.element_id, t.candidate_group or "")),
            sorted(breaches, key=lambda b: b.element_id))


def _group_times(where: list, names: dict) -> list[GroupTimes]:
    rows = _task_rows(where)
    times: dict[tuple, GroupTimes] = {}

    def at(element_id, group) -> GroupTimes:
        return times.setdefault((element_id, group), GroupTimes(element_id, names.get(element_id), group))

    for element_id, group, n, claimed in db.session.execute(
            select(rows.c.element_id, rows.c.candidate_group, func.count(), func.count(rows.c.claimed_at))
            .group_by(rows.c.element_id, rows.c.candidate_group)):
        at(element_id, group).tasks, at(element_id, group).claimed = int(n), int(claimed)
    for column in ("queue", "work"):
        for element_id, group, _, p50, p90 in db.session.execute(
                percentiles(rows, ["element_id", "candidate_group"], column)):
            setattr(at(element_id, group), f"{column}_p50_ms", _int(p50))
            setattr(at(element_id, group), f"{column}_p90_ms", _int(p90))
    return sorted(times.values(), key=lambda t: (t.element_id, t.candidate_group or ""))


def _breaches(where: list, names: dict) -> list[SlaBreaches]:
    late, overdue = _late(), _overdue()
    stmt = (select(A.element_id, func.count(), func.sum(case((late, 1), else_=0)),
                   func.sum(case((overdue, 1), else_=0)))
            .join(HumanTask, HumanTask.id == A.task_id)
            .where(*where, HumanTask.due_at.is_not(None)).group_by(A.element_id))
    return sorted((SlaBreaches(eid, names.get(eid), int(n), int(late_n or 0), int(overdue_n or 0))
                   for eid, n, late_n, overdue_n in db.session.execute(stmt)), key=lambda s: s.element_id)


def _escalations(info: DefinitionInfo, fired: dict, types: dict) -> list[EscalationLevel]:
    """Each boundary timer on a human task (an SLA level) and how often it fired (`fired`: completed
    occurrences per element)."""
    return [EscalationLevel(b.id, b.name, b.attached_to, b.interrupting, int(fired.get(b.id, 0)))
            for b in topology(info).boundaries.values() if b.timer and types.get(b.attached_to) in HUMAN]


def _int(value) -> int | None:
    return None if value is None else int(value)
