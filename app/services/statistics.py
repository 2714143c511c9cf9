"""What happens at each element of a definition: instances there now, incidents, and from the audit trail
how often each element was completed or cancelled and how long it took.

Counts of now come from the projection tables (active activities, incidents) over every instance that
has not ended. What happened comes from `history_event`, read for a bounded sample, the latest
`HISTORY_SAMPLE` instances of the definition, so the cost does not grow with the history: each
`element_left` row closes the oldest open `element_entered` row of the same element in the same
instance (as `history.list_activity_instances` pairs them), and the pairs give the durations. Pairing,
percentiles and averages run in SQL (window functions, on SQLite and PostgreSQL alike); no instance's
state is loaded. Non-admins count only the instances they may read.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, literal, select

from ..extensions import db
from ..models import HistoryEvent, ProcessInstance
from ..statuses import InstanceStatus
from .access import readable_instances
from .core import Actor, DefinitionInfo, definition_info
from .instances import definition_statistics

HISTORY_SAMPLE = 5_000  # the latest instances of a definition whose history is read
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
    latest = latest.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).limit(sample).cte("latest")
    sampled, oldest = db.session.execute(select(func.count(), func.min(latest.c.started_at))).one()

    events = (select(HistoryEvent.id, HistoryEvent.instance_id, HistoryEvent.element_id, HistoryEvent.type,
                     HistoryEvent.at, latest.c.status,
                     func.row_number().over(partition_by=(HistoryEvent.instance_id, HistoryEvent.element_id,
                                                          HistoryEvent.type), order_by=HistoryEvent.id).label("n"))
              .join(latest, latest.c.id == HistoryEvent.instance_id)
              .where(HistoryEvent.type.in_((ENTERED, LEFT, FAILED)), HistoryEvent.element_id.is_not(None))
              .cte("events"))
    for element_id, completed in db.session.execute(
            select(events.c.element_id, func.count()).where(events.c.type == LEFT).group_by(events.c.element_id)):
        at(element_id).completed = int(completed)

    # Cancelled while there: in a cancelled instance, the element's last event is an entering, or a failure
    # (a failed step stops where it failed, before its element is entered).
    last = (select(events.c.element_id,
                   func.max(case((events.c.type.in_((ENTERED, FAILED)), events.c.id))).label("entered"),
                   func.coalesce(func.max(case((events.c.type == LEFT, events.c.id))), literal(0)).label("left"))
            .where(events.c.status == InstanceStatus.CANCELLED)
            .group_by(events.c.instance_id, events.c.element_id).subquery())
    for element_id, cancelled in db.session.execute(
            select(last.c.element_id, func.count()).where(last.c.entered > last.c.left).group_by(last.c.element_id)):
        at(element_id).cancelled = int(cancelled)

    # The k-th leaving of an element in an instance closes its k-th entering.
    entered, left = events.alias("entered"), events.alias("left")
    pairs = (select(left.c.element_id, _seconds(left.c.at, entered.c.at).label("seconds"))
             .join(entered, and_(entered.c.instance_id == left.c.instance_id,
                                 entered.c.element_id == left.c.element_id, entered.c.n == left.c.n,
                                 entered.c.type == ENTERED))
             .where(left.c.type == LEFT).subquery())
    ranked = select(pairs.c.element_id, pairs.c.seconds,
                    func.row_number().over(partition_by=pairs.c.element_id, order_by=pairs.c.seconds).label("rank"),
                    func.count().over(partition_by=pairs.c.element_id).label("total")).subquery()
    middle = ranked.c.rank.in_(((ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2))
    for element_id, timed, average, median in db.session.execute(
            select(ranked.c.element_id, func.count(), func.avg(ranked.c.seconds),
                   func.avg(case((middle, ranked.c.seconds))))
            .group_by(ranked.c.element_id)):
        stat = at(element_id)
        stat.timed, stat.avg_seconds, stat.p50_seconds = int(timed), _number(average), _number(median)
    return DefinitionStatistics(info, HistorySample(int(sampled), sample, oldest), list(stats.values()))


def _number(value) -> float | None:
    return None if value is None else round(float(value), 3)
