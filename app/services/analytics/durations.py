"""How long instances take: p50/p90 of completed instances per definition version and per end event reached.

Read from `process_instance` alone (its start, end and `end_element_id`), through its definition index;
the period filters instances by their start.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ...extensions import db
from ...models import ProcessInstance
from ...statuses import InstanceStatus
from ..core import Actor, DefinitionInfo, millis_between
from .scope import Filters, instance_filters, percentiles, resolve, topology

P = ProcessInstance


@dataclass
class EndEventDurations:
    end_element_id: str | None  # None: completed before end events were recorded
    name: str | None
    completed: int = 0
    p50_ms: int | None = None
    p90_ms: int | None = None


@dataclass
class DefinitionDurations:
    """One version: its instances (started in the period) by status, completed ones' p50/p90, per end event."""

    definition: DefinitionInfo
    instances: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    completed: int = 0
    p50_ms: int | None = None
    p90_ms: int | None = None
    end_events: list[EndEventDurations] = field(default_factory=list)


@dataclass
class Durations:
    key: str
    filters: Filters
    definitions: list[DefinitionDurations] = field(default_factory=list)


def instance_durations(actor: Actor, **query) -> Durations:
    """Instance durations of a process: per version (a key alone: every version, newest first) and per end
    event reached, over the completed instances.

    Raises:
        ValidationError, ForbiddenError, NotFoundError: as `scope.resolve`.
    """
    scope = resolve(actor, every_version=True, **query)
    per = {d.id: DefinitionDurations(d) for d in scope.definitions}
    where = instance_filters(scope)
    for definition_id, status, n in db.session.execute(
            select(P.definition_id, P.status, func.count()).where(*where).group_by(P.definition_id, P.status)):
        per[definition_id].by_status[status] = int(n)
        per[definition_id].instances += int(n)
    completed = select(P.definition_id, P.end_element_id, millis_between(P.ended_at, P.started_at).label("value")).where(
        *where, P.status == InstanceStatus.COMPLETED, P.ended_at.is_not(None)).subquery()
    for definition_id, n, p50, p90 in db.session.execute(percentiles(completed, ["definition_id"])):
        d = per[definition_id]
        d.completed, d.p50_ms, d.p90_ms = int(n), _int(p50), _int(p90)
    ends = db.session.execute(percentiles(completed, ["definition_id", "end_element_id"])).all()
    for definition_id, end, n, p50, p90 in sorted(ends, key=lambda row: (row[0], row[1] or "")):
        d = per[definition_id]
        name = topology(d.definition).names.get(end) if end else None
        d.end_events.append(EndEventDurations(end, name, int(n), _int(p50), _int(p90)))
    return Durations(scope.key, scope.filters, list(per.values()))


def _int(value) -> int | None:
    return None if value is None else int(value)
