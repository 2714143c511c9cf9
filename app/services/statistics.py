"""What happens at each element of a definition: instances there now, incidents, and from the audit trail
how often each element was completed or cancelled and how long it took.

Counts of now come from the projection tables (active activities, incidents) over every instance that
has not ended. What happened comes from `activity_instance` (one row per occurrence, with how it ended
and its duration), read for a bounded sample, the latest `HISTORY_SAMPLE` instances of the definition,
so the cost does not grow with the history. Percentiles and averages run in SQL, in one statement
(window functions, on SQLite and PostgreSQL alike); no instance's state is loaded. Non-admins count only the instances they may read.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Float, case, cast, exists, func, literal, null, or_, select, union, union_all

from ..extensions import db
from ..models import ActivityInstance, ActivityState, HistoryEvent, ProcessInstance
from ..statuses import InstanceStatus
from .access import readable_instances
from .core import Actor, DefinitionInfo, definition_info
from .instances import definition_statistics

HISTORY_SAMPLE = 1_000  # the latest instances of a definition whose history is read
FAILED = "error"


@dataclass
class ElementStatistics:
    """One element of a definition.

    `waiting` and `incidents` count now (instances there, open incidents there); `completed` (times the
    element was left), `cancelled` (instances cancelled while there) and the durations (of entered and
    left pairs, in seconds) count within the history sample."""

    element_id: str
    name: str | None = None
    type: str | None = None
    waiting: int = 0
    incidents: int = 0
    completed: int = 0
    cancelled: int = 0
    timed: int = 0
    p50_seconds: float | None = None
    avg_seconds: float | None = None


@dataclass
class HistorySample:
    """The instances whose history was read: how many (at most `limit`), the oldest one's start."""

    instances: int
    limit: int
    oldest_started_at: dt.datetime | None


@dataclass
class DefinitionStatistics:
    """Per element statistics of one definition version, and the sample its history numbers come from."""

    definition: DefinitionInfo
    sample: HistorySample
    elements: list[ElementStatistics] = field(default_factory=list)


def element_statistics(definition_id: str, actor: Actor, *, sample: int = HISTORY_SAMPLE) -> DefinitionStatistics:
    """Per element of a definition version: instances waiting there now and open incidents there (every
    instance that has not ended), completed and cancelled counts and durations (p50, average) from the
    history of its latest `sample` instances.

    Raises:
        NotFoundError: no such definition.
    """
    info = definition_info(definition_id)  # 404 when there is none
    stats = {eid: ElementStatistics(eid, (e or {}).get("name"), (e or {}).get("type"))
             for eid, e in (info.elements or {}).items()}

    def at(element_id: str) -> ElementStatistics:
        return stats.setdefault(element_id, ElementStatistics(element_id))

    for now in definition_statistics(definition_id, actor):
        at(now.element_id).waiting = now.instances
        at(now.element_id).incidents = sum(now.incidents.values())

    latest = select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.started_at).where(
        ProcessInstance.definition_id == definition_id)
    readable = readable_instances(actor)
    if readable is not None:
        latest = latest.where(readable)
    sampled = db.session.execute(
        latest.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).limit(sample)).all()
    if sampled:
        # The sample's ids go in as a list: the history is then read through its instance index, whatever
        # the planner would guess about a join with 5,000 instances out of many.
        cancelled = [row.id for row in sampled if row.status == InstanceStatus.CANCELLED]
        for kind, element_id, n, average, median in db.session.execute(
                _history_statistics([row.id for row in sampled], cancelled)):
            stat = at(element_id)
            if kind == "completed":
                stat.completed = int(n)
            elif kind == "cancelled":
                stat.cancelled = int(n)
            else:
                stat.timed, stat.avg_seconds, stat.p50_seconds = int(n), _number(average), _number(median)
    oldest = sampled[-1].started_at if sampled else None
    return DefinitionStatistics(info, HistorySample(len(sampled), sample, oldest), list(stats.values()))


def _history_statistics(instance_ids: list[str], cancelled_ids: list[str]):
    """One statement over the activity instances of these instances: rows (kind, element id, count, average,
    median) of kind `completed` (times completed), `cancelled` (cancelled instances last there) and `timed`
    (completed occurrences, their average and median seconds)."""
    a = ActivityInstance.__table__
    no_number = cast(null(), Float)
    done = (select(a.c.element_id, (cast(a.c.duration_ms, Float) / 1000.0).label("seconds"))
            .where(a.c.instance_id.in_(instance_ids), a.c.state == ActivityState.COMPLETED).subquery())
    completed = (select(literal("completed").label("kind"), done.c.element_id, func.count().label("n"),
                        no_number.label("average"), no_number.label("median"))
                 .group_by(done.c.element_id))
    ranked = select(done.c.element_id, done.c.seconds,
                    func.row_number().over(partition_by=done.c.element_id, order_by=done.c.seconds).label("rank"),
                    func.count().over(partition_by=done.c.element_id).label("total")
                    ).where(done.c.seconds.is_not(None)).subquery()
    middle = ranked.c.rank.in_(((ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2))
    timed = (select(literal("timed"), ranked.c.element_id, func.count(), cast(func.avg(ranked.c.seconds), Float),
                    cast(func.avg(case((middle, ranked.c.seconds))), Float))
             .group_by(ranked.c.element_id))
    # Cancelled while there: the occurrences a cancelled instance ended with (ended as it was cancelled, or
    # left open by rows older than that rule), and the element a failure stopped it at (a failed step stops
    # before its element is entered) unless entered since.
    there = (select(a.c.instance_id, a.c.element_id)
             .join(ProcessInstance, ProcessInstance.id == a.c.instance_id)
             .where(a.c.instance_id.in_(cancelled_ids), a.c.state.in_((ActivityState.CANCELLED, ActivityState.ACTIVE)),
                    or_(a.c.ended_at.is_(None), a.c.ended_at == ProcessInstance.ended_at)))
    failures = (select(HistoryEvent.instance_id, HistoryEvent.element_id)
                .where(HistoryEvent.instance_id.in_(cancelled_ids), HistoryEvent.type == FAILED,
                       HistoryEvent.element_id.is_not(None),
                       ~exists().where(a.c.instance_id == HistoryEvent.instance_id,
                                       a.c.element_id == HistoryEvent.element_id, a.c.started_at >= HistoryEvent.at)))
    last = union(there, failures).subquery()
    cancelled = (select(literal("cancelled"), last.c.element_id, func.count(), no_number, no_number)
                 .group_by(last.c.element_id))
    return union_all(completed, timed, cancelled)


def _number(value) -> float | None:
    return None if value is None else round(float(value), 3)
