"""What happens at each element of a definition: instances there now, incidents, and from the audit trail
how often each element was completed or cancelled and how long it took.

Counts of now come from the projection tables (active activities, incidents) over every instance that
has not ended. What happened comes from `history_event`, read for a bounded sample, the latest
`HISTORY_SAMPLE` instances of the definition, so the cost does not grow with the history: the k-th
`element_left` row of an element in an instance closes its k-th `element_entered` row (the oldest open
one, as `history.list_activity_instances` pairs them), and the pairs give the durations. Pairing,
percentiles and averages run in SQL, in one statement (window functions, on SQLite and PostgreSQL
alike); no instance's state is loaded. Non-admins count only the instances they may read.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Float, and_, case, cast, func, literal, null, select, union_all

from ..extensions import db
from ..models import HistoryEvent, ProcessInstance
from ..statuses import InstanceStatus
from .access import readable_instances
from .core import Actor, DefinitionInfo, definition_info
from .instances import definition_statistics

HISTORY_SAMPLE = 1_000  # the latest instances of a definition whose history is read
ENTERED, LEFT, FAILED = "element_entered", "element_left", "error"


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


def _seconds(later, earlier):
    """SQL: the seconds between two timestamps (SQLite stores them as text, PostgreSQL as timestamps)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


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
    """One statement over the history of these instances: rows (kind, element id, count, average, median) of
    kind `completed` (times left), `cancelled` (cancelled instances last there) and `timed` (entered and left
    pairs, their average and median seconds)."""
    events = (select(HistoryEvent.id, HistoryEvent.instance_id, HistoryEvent.element_id, HistoryEvent.type,
                     HistoryEvent.at,
                     func.row_number().over(partition_by=(HistoryEvent.instance_id, HistoryEvent.element_id,
                                                          HistoryEvent.type), order_by=HistoryEvent.id).label("n"))
              .where(HistoryEvent.instance_id.in_(instance_ids), HistoryEvent.type.in_((ENTERED, LEFT, FAILED)),
                     HistoryEvent.element_id.is_not(None))
              .cte("events"))
    no_number = cast(null(), Float)

    # The k-th leaving of an element in an instance closes its k-th entering: one row per occurrence.
    occurrences = (select(events.c.element_id,
                          func.max(case((events.c.type == ENTERED, events.c.at))).label("entered_at"),
                          func.max(case((events.c.type == LEFT, events.c.at))).label("left_at"))
                   .group_by(events.c.instance_id, events.c.element_id, events.c.n).subquery())
    completed = (select(literal("completed").label("kind"), occurrences.c.element_id,
                        func.count(occurrences.c.left_at).label("n"), no_number.label("average"),
                        no_number.label("median"))
                 .group_by(occurrences.c.element_id))
    pairs = (select(occurrences.c.element_id, _seconds(occurrences.c.left_at, occurrences.c.entered_at).label("seconds"))
             .where(occurrences.c.left_at.is_not(None), occurrences.c.entered_at.is_not(None)).subquery())
    ranked = select(pairs.c.element_id, pairs.c.seconds,
                    func.row_number().over(partition_by=pairs.c.element_id, order_by=pairs.c.seconds).label("rank"),
                    func.count().over(partition_by=pairs.c.element_id).label("total")).subquery()
    middle = ranked.c.rank.in_(((ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2))
    timed = (select(literal("timed"), ranked.c.element_id, func.count(), cast(func.avg(ranked.c.seconds), Float),
                    cast(func.avg(case((middle, ranked.c.seconds))), Float))
             .group_by(ranked.c.element_id))

    # Cancelled while there: in a cancelled instance, the element's last event is an entering, or a failure
    # (a failed step stops where it failed, before its element is entered).
    last = (select(events.c.element_id,
                   func.max(case((events.c.type.in_((ENTERED, FAILED)), events.c.id))).label("entered"),
                   func.coalesce(func.max(case((events.c.type == LEFT, events.c.id))), literal(0)).label("left"))
            .where(events.c.instance_id.in_(cancelled_ids))
            .group_by(events.c.instance_id, events.c.element_id).subquery())
    cancelled = (select(literal("cancelled"), last.c.element_id, func.count(), no_number, no_number)
                 .where(last.c.entered > last.c.left).group_by(last.c.element_id))
    return union_all(completed, timed, cancelled)


def _number(value) -> float | None:
    return None if value is None else round(float(value), 3)
