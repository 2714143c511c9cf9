"""The shape of a deployed process, read from its diagram: sequence flows, gateways, boundary events.

Process analytics count what happened per element and per sequence flow from the `activity_instance`
rows; what they cannot learn from rows is what might have happened: a gateway's outgoing flows that were
never taken, or which task a boundary timer (an SLA level) is attached to. The deployed file is read
once per definition version (versions never change) by the caller, with the same untrusted-XML parser
as a deployment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .xml import local_name, parse_untrusted

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class Flow:
    """A sequence flow: its id, name, source and target elements."""

    id: str
    name: str | None
    source: str
    target: str


@dataclass(frozen=True)
class Boundary:
    """A boundary event: the activity it is attached to, whether it interrupts it, and if it is a timer."""

    id: str
    name: str | None
    attached_to: str
    interrupting: bool
    timer: bool


@dataclass
class Topology:
    """The flows, gateways (id -> type) and boundary events of one process, in document order."""

    flows: dict[str, Flow] = field(default_factory=dict)
    gateways: dict[str, str] = field(default_factory=dict)
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def outgoing(self, element_id: str) -> list[Flow]:
        return [f for f in self.flows.values() if f.source == element_id]


def process_topology(content: bytes, process_id: str) -> Topology:
    """The topology of process `process_id` in a deployed BPMN file (subprocesses included)."""
    root = parse_untrusted(content, f"{process_id}.bpmn")
    topology = Topology()
    process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == process_id), None)
    if process is None:
        return topology
    for el in process.iter():
        kind, element_id = local_name(el), el.get("id")
        if not element_id:
            continue
        if el.get("name"):
            topology.names[element_id] = el.get("name")
        if kind == "sequenceFlow":
            topology.flows[element_id] = Flow(element_id, el.get("name"), el.get("sourceRef"), el.get("targetRef"))
        elif kind.endswith("Gateway"):
            topology.gateways[element_id] = kind
        elif kind == "boundaryEvent":
            topology.boundaries[element_id] = Boundary(
                element_id, el.get("name"), el.get("attachedToRef"),
                (el.get("cancelActivity") or "true").lower() != "false",
                el.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None)
    return topology
