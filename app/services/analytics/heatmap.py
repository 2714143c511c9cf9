"""The heat map of a definition version (per element and per sequence flow) and its gateways' branches.

Both read the `activity_instance` rows of the version through its index (definition, element, start):
per element how often it was entered, how those occurrences ended, how many are open, and the p50/p90
of the completed ones' durations; per sequence flow how often a token came along it (`from_flow_id`);
per gateway how often each outgoing flow was taken and how the instances that took it ended.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, distinct, func, select

from ...extensions import db
from ...models import ActivityInstance, ActivityState, ProcessInstance
from ..core import Actor, DefinitionInfo
from .scope import Filters, activity_filters, percentiles, resolve, topology

A = ActivityInstance


@dataclass
class ElementHeat:
    """One element: occurrences entered (in the period), how they ended, open now, completed durations."""

    element_id: str
    name: str | None = None
    type: str | None = None
    count: int = 0
    completed: int = 0
    cancelled: int = 0
    interrupted: int = 0
    active: int = 0
    p50_ms: int | None = None
    p90_ms: int | None = None


@dataclass
class FlowHeat:
    """One sequence flow: how often a token came along it."""

    flow_id: str
    name: str | None = None
    source: str | None = None
    target: str | None = None
    taken: int = 0


@dataclass
class HeatMap:
    definition: DefinitionInfo
    filters: Filters
    elements: list[ElementHeat] = field(default_factory=list)
    flows: list[FlowHeat] = field(default_factory=list)


def heat_map(actor: Actor, **query) -> HeatMap:
    """Per element and per sequence flow of one definition version, what happened (see the module).

    Args:
        query: definition_id, or key (and version; default the latest), and the filters (`Filters`).

    Raises:
        ValidationError, ForbiddenError, NotFoundError: as `scope.resolve`.
    """
    scope = resolve(actor, **query)
    info = scope.definition
    shape = topology(info)
    where = activity_filters(scope)
    elements = {eid: ElementHeat(eid, (e or {}).get("name"), (e or {}).get("type"))
                for eid, e in (info.elements or {}).items()}

    def at(element_id: str) -> ElementHeat:
        return elements.setdefault(element_id, ElementHeat(element_id, shape.names.get(element_id)))

    def of(state: str):
        return func.sum(case((A.state == state, 1), else_=0))

    # One pass for both the elements and the flows: counted per element and the flow it came along.
    flows = {f.id: FlowHeat(f.id, f.name, f.source, f.target) for f in shape.flows.values()}
    counts = select(A.element_id, A.from_flow_id, func.max(A.from_element_id), func.max(A.element_name),
                    func.max(A.element_type), func.count(), of(ActivityState.COMPLETED), of(ActivityState.CANCELLED),
                    of(ActivityState.INTERRUPTED), of(ActivityState.ACTIVE)).where(*where).group_by(
                    A.element_id, A.from_flow_id)
    for element_id, flow_id, source, name, kind, n, completed, cancelled, interrupted, active in \
            db.session.execute(counts):
        heat = at(element_id)
        heat.name, heat.type = heat.name or name, heat.type or kind
        heat.count += int(n)
        heat.completed += int(completed or 0)
        heat.cancelled += int(cancelled or 0)
        heat.interrupted += int(interrupted or 0)
        heat.active += int(active or 0)
        if flow_id is not None:
            flows.setdefault(flow_id, FlowHeat(flow_id, None, source, element_id)).taken += int(n)
    durations = select(A.element_id, A.duration_ms.label("value")).where(
        *where, A.state == ActivityState.COMPLETED).subquery()
    for element_id, _, p50, p90 in db.session.execute(percentiles(durations, ["element_id"])):
        at(element_id).p50_ms, at(element_id).p90_ms = _int(p50), _int(p90)

    return HeatMap(info, scope.filters, list(elements.values()), list(flows.values()))


# -- gateways ---------------------------------------------------------------------------------------

@dataclass
class BranchOutcome:
    """Instances that took a branch, by how they stand now: their status and the end event they reached."""

    status: str
    end_element_id: str | None
    instances: int


@dataclass
class Branch:
    flow_id: str | None
    name: str | None
    target: str | None
    taken: int = 0
    instances: int = 0
    outcomes: list[BranchOutcome] = field(default_factory=list)


@dataclass
class GatewayBranches:
    gateway_id: str
    name: str | None
    type: str
    taken: int = 0
    branches: list[Branch] = field(default_factory=list)


@dataclass
class Gateways:
    definition: DefinitionInfo
    filters: Filters
    gateways: list[GatewayBranches] = field(default_factory=list)


def gateway_branches(actor: Actor, **query) -> Gateways:
    """For each gateway of one definition version: how often each outgoing flow was taken (the rows that came
    from the gateway, by flow), by how many instances, and how those instances stand (status, end event).

    Raises:
        ValidationError, ForbiddenError, NotFoundError: as `scope.resolve`.
    """
    scope = resolve(actor, **query)
    info = scope.definition
    shape = topology(info)
    gateways = {gid: GatewayBranches(gid, shape.names.get(gid), kind) for gid, kind in shape.gateways.items()}
    branches: dict[tuple[str, str | None], Branch] = {}
    for gid in gateways:
        for flow in shape.outgoing(gid):
            branches[(gid, flow.id)] = Branch(flow.id, flow.name, flow.target)
    if not gateways:
        return Gateways(info, scope.filters, [])

    def branch(gid: str, flow_id: str | None, target: str | None) -> Branch:
        if flow_id is None:  # a row that names its source but not the flow: the gateway's flow to that target
            flow_id = next((f.id for f in shape.outgoing(gid) if f.target == target), None)
        return branches.setdefault((gid, flow_id), Branch(flow_id, None, target))

    # the rows entering a gateway's targets, through the (definition, element) index, that came from it
    targets = sorted({flow.target for gid in gateways for flow in shape.outgoing(gid) if flow.target})
    where = [*activity_filters(scope), A.element_id.in_(targets or [""]), A.from_element_id.in_(list(gateways))]
    # One pass over the rows that came from a gateway: per branch and instance outcome, the rows and the
    # instances (an instance has one status and end, so a branch's instances add up over its outcomes).
    outcomes = (select(A.from_element_id, A.from_flow_id, A.element_id, ProcessInstance.status,
                       ProcessInstance.end_element_id, func.count(), func.count(distinct(A.instance_id)))
                .join(ProcessInstance, ProcessInstance.id == A.instance_id).where(*where)
                .group_by(A.from_element_id, A.from_flow_id, A.element_id, ProcessInstance.status,
                          ProcessInstance.end_element_id))
    for gid, flow_id, target, status, end, n, instances in sorted(db.session.execute(outcomes).all(),
                                                                  key=lambda row: (row[3], row[4] or "")):
        b = branch(gid, flow_id, target)
        b.taken += int(n)
        b.instances += int(instances)
        b.outcomes.append(BranchOutcome(status, end, int(instances)))
    for (gid, _), b in branches.items():
        gateways[gid].branches.append(b)
        gateways[gid].taken += b.taken
    return Gateways(info, scope.filters, list(gateways.values()))


def _int(value) -> int | None:
    return None if value is None else int(value)
