"""Reading a diagram as BPMN 2.0 and Camunda define it where SpiffWorkflow 3.2 reads it otherwise.

Each pass rewrites the read tree in place before SpiffWorkflow parses it; what the modeler drew keeps its
id and line (an element renamed for SpiffWorkflow gets its id back on the parsed spec, `restore_ids`):

- data stores and data store references are documentation at run time, as Camunda ignores them;
- an exclusive gateway's outgoing flow without a condition that is not its default is taken as Camunda 7
  takes it: conditionally true, evaluated in the order the flows are written (SpiffWorkflow refused it, and
  orders flows by their drawn height);
- element ids that are SpiffWorkflow's own task names (`Start`, `End`, `Root`, `StartEventSplit`,
  `<process>.EndJoin`, `<activity>.BoundaryEventSplit`, ...) are
  renamed for parsing and restored afterwards;
- a cycle of activities and events without a gateway (task → timer → the same task) gets a pass-through
  exclusive gateway, where SpiffWorkflow's prediction of what comes next would otherwise never end;
- an event sub-process without an end event ends where its flows end;
- a throwing link event goes on at the catching one of the same name (`join_link_events`).
"""
from __future__ import annotations

import ast

from lxml import etree

from ..expressions import is_modeler_expression
from ..xml import Problem, local_name
from .reading import BPMN_NS, _File

_BPMN = f"{{{BPMN_NS}}}"

# -- data stores --------------------------------------------------------------------------------------------------


def ignore_data_stores(root) -> None:
    """Drop data stores, their references and the data associations to or from them: nothing stands behind
    them at run time (Camunda 7 parses and ignores them too)."""
    stores = {el.get("id") for tag in ("dataStore", "dataStoreReference") for el in root.iter(f"{_BPMN}{tag}")}
    if not stores:
        return
    for tag in ("dataInputAssociation", "dataOutputAssociation"):
        for assoc in list(root.iter(f"{_BPMN}{tag}")):
            refs = {(ref.text or "").strip() for ref in assoc if local_name(ref) in ("sourceRef", "targetRef")}
            if refs & stores:
                assoc.getparent().remove(assoc)
    for assoc in list(root.iter(f"{_BPMN}association")):
        if {assoc.get("sourceRef"), assoc.get("targetRef")} & stores:
            assoc.getparent().remove(assoc)
    for tag in ("dataStoreReference", "dataStore"):
        for el in list(root.iter(f"{_BPMN}{tag}")):
            el.getparent().remove(el)


# -- exclusive gateways -------------------------------------------------------------------------------------------


def take_unconditioned_flows(root) -> None:
    """An exclusive gateway's outgoing flow without a condition, not marked as its default, is conditionally
    true (Camunda 7: flows are evaluated in the order they are defined, the first true one is taken, a flow
    without a condition counts as true). SpiffWorkflow evaluates flows by their drawn height, so each flow of
    such a gateway gets a condition that holds only when it is the first true one in document order: a flow
    after the first unconditioned one is never taken."""
    flows_from: dict[str, list] = {}
    for flow in root.iter(f"{_BPMN}sequenceFlow"):
        flows_from.setdefault(flow.get("sourceRef"), []).append(flow)
    for gateway in root.iter(f"{_BPMN}exclusiveGateway"):
        outgoing = [f for f in flows_from.get(gateway.get("id"), []) if f.get("id") != gateway.get("default")]
        conditions = [_condition_text(f) for f in outgoing]
        if len(flows_from.get(gateway.get("id"), [])) < 2 or all(conditions):
            continue
        if any(c and (is_modeler_expression(c) or not _is_python(c)) for c in conditions):
            continue  # a condition that cannot run is reported as it is written (`checks._check_expressions`)
        earlier: list[str] = []
        for flow, condition in zip(outgoing, conditions):
            if earlier == ["True"]:
                rewritten = "False"
            else:
                own = condition or "True"
                rewritten = own if not earlier else f"({own}) and not ({' or '.join(earlier)})"
                earlier = ["True"] if own == "True" else earlier + [f"({own})"]
            _set_condition(flow, rewritten)


def _is_python(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


def _condition_text(flow) -> str | None:
    el = flow.find(f"{_BPMN}conditionExpression")
    text = (el.text or "").strip() if el is not None else ""
    return text or None


def _set_condition(flow, text: str) -> None:
    el = flow.find(f"{_BPMN}conditionExpression")
    if el is None:
        el = etree.SubElement(flow, f"{_BPMN}conditionExpression")
    el.text = text


# -- ids SpiffWorkflow uses for its own tasks ---------------------------------------------------------------------

_RESERVED = {"Start", "End", "Root", "StartEventSplit", "StartEventJoin"}
_RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")
_ID_REFERENCES = ("sourceRef", "targetRef", "attachedToRef", "default", "bpmnElement", "activityRef")
_ID_TEXTS = ("incoming", "outgoing", "flowNodeRef", "sourceRef", "targetRef")


def rename_reserved_ids(f: _File) -> None:
    """Rename BPMN elements whose id is one of SpiffWorkflow's internal task names (a start event `Start`
    replaced SpiffWorkflow's own start task, and every start looped): each gets a free id for parsing,
    remembered in `f.renamed` so the parsed spec, the element metadata and every problem carry the
    modeler's id again."""
    ids = {el.get("id") for el in f.root.iter() if isinstance(el.tag, str) and el.get("id")}
    renamed: dict[str, str] = {}
    for el in f.root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
            continue
        original = el.get("id")
        if not original or not (original in _RESERVED or original.endswith(_RESERVED_SUFFIXES)):
            continue
        new = f"{original}_element"
        while new in ids:
            new += "_"
        ids.add(new)
        renamed[original] = new
        el.set("id", new)
    if not renamed:
        return
    for el in f.root.iter():
        if not isinstance(el.tag, str):
            continue
        bpmn = etree.QName(el).namespace == BPMN_NS
        for attr in _ID_REFERENCES:
            if (bpmn or attr == "bpmnElement") and el.get(attr) in renamed:
                el.set(attr, renamed[el.get(attr)])
        if bpmn and local_name(el) in _ID_TEXTS and (el.text or "").strip() in renamed:
            el.text = renamed[el.text.strip()]
    f.renamed.update({new: original for original, new in renamed.items()})


def restore_ids(specs, renamed: dict[str, str]) -> None:
    """The parsed task specs of renamed elements answer with the modeler's id (`bpmn_id`), which is what
    history, open tasks, waits and incidents show."""
    if not renamed:
        return
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) in renamed:
                task_spec.bpmn_id = renamed[task_spec.bpmn_id]


# -- cycles without a gateway -------------------------------------------------------------------------------------

_CHOICES = {"exclusiveGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_CONTAINERS = ("process", "subProcess", "transaction")


def break_gatewayless_cycles(root) -> None:
    """A cycle of activities and events without a gateway (a task, a timer, back to the task) is what the
    modeler drew; SpiffWorkflow predicts the tasks ahead of a running one until it meets a choice, so it
    predicted such a cycle forever (a RecursionError before). A pass-through exclusive gateway,
    `<flow>_loop`, is put on the flow that closes each such cycle: the cycle runs as drawn."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for container in [el for tag in _CONTAINERS for el in root.iter(f"{_BPMN}{tag}")]:
        flows = [c for c in container if isinstance(c.tag, str) and c.tag == f"{_BPMN}sequenceFlow"]
        nodes = {c.get("id"): c for c in container if isinstance(c.tag, str) and c.get("id")}
        successors: dict[str, list] = {}
        for flow in flows:
            successors.setdefault(flow.get("sourceRef"), []).append(flow)
        for boundary in [n for n in nodes.values() if local_name(n) == "boundaryEvent"]:
            successors.setdefault(boundary.get("attachedToRef"), []).append(boundary)
        for flow in _closing_flows(nodes, successors):
            gateway_id = f"{flow.get('id')}_loop"
            while gateway_id in ids or f"{gateway_id}_to" in ids:
                gateway_id += "_"
            ids.update({gateway_id, f"{gateway_id}_to"})
            target = flow.get("targetRef")
            flow.set("targetRef", gateway_id)
            gateway = etree.Element(f"{_BPMN}exclusiveGateway", id=gateway_id, default=f"{gateway_id}_to")
            container.insert(container.index(flow), gateway)
            container.insert(container.index(flow) + 1, etree.Element(
                f"{_BPMN}sequenceFlow", id=f"{gateway_id}_to", sourceRef=gateway_id, targetRef=target))
            for ref in nodes[target].findall(f"{_BPMN}incoming"):
                if (ref.text or "").strip() == flow.get("id"):
                    ref.text = f"{gateway_id}_to"


def _closing_flows(nodes: dict, successors: dict) -> list:
    """The flows that close a cycle without a choice (an iterative depth-first search; a boundary event
    counts as a step after its activity)."""
    closing, state = [], {}
    for start in nodes:
        if start in state:
            continue
        path: list[str] = []
        stack = [(start, iter(successors.get(start, [])))]
        state[start] = "open"
        path.append(start)
        while stack:
            node, edges = stack[-1]
            edge = next(edges, None)
            if edge is None:
                stack.pop()
                path.pop()
                state[node] = "done"
                continue
            target = edge.get("targetRef") if edge.tag == f"{_BPMN}sequenceFlow" else edge.get("id")
            if target not in nodes:
                continue
            if state.get(target) == "open":
                cycle = path[path.index(target):]
                if edge.tag == f"{_BPMN}sequenceFlow" and not any(local_name(nodes[n]) in _CHOICES for n in cycle):
                    closing.append(edge)
                continue
            if target not in state:
                state[target] = "open"
                path.append(target)
                stack.append((target, iter(successors.get(target, []))))
    return closing


# -- event sub-processes ------------------------------------------------------------------------------------------


def end_event_subprocesses(root) -> None:
    """An event sub-process without an end event ends where its flows end (BPMN 2.0, 10.5.3, as any
    sub-process): `<id>_end` is added with a flow from each last node (SpiffWorkflow refused it)."""
    for sub in root.iter(f"{_BPMN}subProcess"):
        if sub.get("triggeredByEvent") != "true":
            continue
        children = [c for c in sub if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN_NS]
        if any(local_name(c) == "endEvent" for c in children):
            continue
        sources = {c.get("sourceRef") for c in children if local_name(c) == "sequenceFlow"}
        last = [c.get("id") for c in children if c.get("id") and c.get("id") not in sources and local_name(c) in
                _FLOW_NODES and c.get("isForCompensation") != "true" and c.get("triggeredByEvent") != "true"]
        end_id = f"{sub.get('id')}_end"
        sub.append(etree.Element(f"{_BPMN}endEvent", id=end_id))
        for node_id in last:
            sub.append(etree.Element(f"{_BPMN}sequenceFlow", id=f"{node_id}_to_{end_id}", sourceRef=node_id,
                                     targetRef=end_id))


_FLOW_NODES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "callActivity", "subProcess", "transaction", "startEvent",
               "intermediateCatchEvent", "intermediateThrowEvent", "exclusiveGateway", "parallelGateway",
               "inclusiveGateway", "eventBasedGateway"}


# -- link events ---------------------------------------------------------------------------------------------------

def join_link_events(f: _File) -> None:
    """Link events (BPMN 2.0, 10.5.6, "Link"): the flow reaching a throwing link event goes on at the catching
    link event of the same name in the same process or sub-process, as an off-page connector. SpiffWorkflow
    read the throw as a plain event with nowhere to go, so the instance ended there. Each pair becomes a
    sequence flow from the throw event to the catch event, both plain pass-through events (their ids and
    lines kept); a throw whose name no catch event of its scope has is refused with its line."""
    for scope in [f.root.iter(f"{_BPMN}{tag}") for tag in ("process", "subProcess", "transaction")]:
        for container in scope:
            _join_links_in(f, container)


def _link_name(event) -> str | None:
    definition = event.find(f"{_BPMN}linkEventDefinition")
    if definition is None:
        return None
    if "name" in definition.attrib:  # the link's name, as Camunda pairs them (an empty one pairs with empty)
        return definition.get("name").strip()
    return (event.get("name") or "").strip()


def _join_links_in(f: _File, container) -> None:
    throws = [el for el in container.findall(f"{_BPMN}intermediateThrowEvent") if _link_name(el) is not None]
    catches = [el for el in container.findall(f"{_BPMN}intermediateCatchEvent") if _link_name(el) is not None]
    if not throws and not catches:
        return
    targets: dict[str, object] = {}
    for catch in catches:
        targets.setdefault(_link_name(catch), catch)
    ids = {el.get("id") for el in f.root.iter() if isinstance(el.tag, str) and el.get("id")}
    for throw in throws:
        name = _link_name(throw)
        target = targets.get(name)
        if target is None:
            f.problems.append(Problem(f.name, f"link event {throw.get('id')!r} throws link {name!r}, which no catching "
                                              "link event of the same process or sub-process has",
                                      throw.sourceline, throw.get("id"), "intermediateThrowEvent"))
            continue
        throw.remove(throw.find(f"{_BPMN}linkEventDefinition"))
        flow_id = f"{throw.get('id')}_link"
        while flow_id in ids:
            flow_id += "_"
        ids.add(flow_id)
        etree.SubElement(throw, f"{_BPMN}outgoing").text = flow_id
        flow = etree.SubElement(container, f"{_BPMN}sequenceFlow", id=flow_id, sourceRef=throw.get("id"),
                                targetRef=target.get("id"))
        flow.sourceline = throw.sourceline
    for catch in catches:  # a plain event the flow passes through
        catch.remove(catch.find(f"{_BPMN}linkEventDefinition"))
        catch.tag = f"{_BPMN}intermediateThrowEvent"
