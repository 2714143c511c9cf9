"""Compensation in a diagram: reading, checking and parsing it for `engine.compensation`.

What the modeler draws (BPMN 2.0, 10.7 and 13.5.5, as Camunda 7 runs it): a compensation boundary event on
an activity, associated with its compensation handler (an activity marked isForCompensation="true",
outside the normal flow); compensation intermediate throw and end events, with or without activityRef;
and, inside a sub-process, a compensation event sub-process, which is the handler of that sub-process.

- `adopt_compensation_event_subprocesses` (a rewrite before parsing): a compensation event sub-process
  becomes what it means, the compensation handler of the sub-process around it: a sub-process marked
  isForCompensation, which SpiffWorkflow then leaves out of the flow (it started event sub-processes
  whose start event it does not know at once);
- `check_compensation`: what Stagecoach cannot run, or what would never run, is refused by element and
  line with what to draw instead;
- `CompensatingProcessParser` (mixed into SpiffWorkflow's process parsers): compensation boundary events
  are not wrapped around their activity (they catch nothing while it runs); each scope gets its
  `CompensationRegistry`, and every handler its throw events can reach is parsed into the spec those
  throw events run in (a handler of a nested sub-process's activity too, so that it can run there);
- `compensation_throw_parser`: a throw event with a compensateEventDefinition is parsed as a compensation
  throw event (SpiffWorkflow parsed it as a none event).
"""
from __future__ import annotations

from lxml import etree

from ..compensation import REGISTRY, CompensationEndEvent, CompensationRegistry, IntermediateCompensationThrowEvent
from ..xml import Problem, local_name
from .reading import BPMN_NS, _File

_B = f"{{{BPMN_NS}}}"
_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "callActivity", "subProcess", "transaction"}
_EMBEDDED = {"subProcess", "transaction"}
_LOOPS = (f"{_B}multiInstanceLoopCharacteristics", f"{_B}standardLoopCharacteristics")


def _loops(activity) -> bool:
    return any(activity.find(tag) is not None for tag in _LOOPS)


def definition(el):
    """The element's own compensateEventDefinition, or None."""
    return el.find(f"{_B}compensateEventDefinition")


def _is_event_subprocess(el) -> bool:
    return local_name(el) == "subProcess" and el.get("triggeredByEvent") == "true"


def _starts_by_compensation(sub) -> bool:
    return any(definition(start) is not None for start in sub.findall(f"{_B}startEvent"))


def is_inner_handler(el) -> bool:
    """A compensation event sub-process, once adopted: the compensation handler of its parent sub-process."""
    return (local_name(el) == "subProcess" and el.get("isForCompensation") == "true"
            and _starts_by_compensation(el))


def _is_activity(el) -> bool:
    return (isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS and local_name(el) in _ACTIVITIES
            and el.get("isForCompensation") != "true" and el.get("triggeredByEvent") != "true")


def activities(scope) -> list:
    """The activities of a process or sub-process that run in its flow (not its handlers or event
    sub-processes)."""
    return [el for el in scope if _is_activity(el)]


def scope_of(container):
    """The process or sub-process whose activities a throw event in `container` compensates: its own, but
    the one around an event sub-process, and the sub-process a compensation event sub-process undoes."""
    return _hops(container)[0]


def _hops(container) -> tuple:
    """`scope_of(container)`, and the hops from `container` out to it (`IntermediateCompensationThrowEvent`)."""
    hops = []
    while container.getparent() is not None and (_is_event_subprocess(container) or is_inner_handler(container)):
        hops.append("inner" if is_inner_handler(container) else "event")
        container = container.getparent()
    return container, hops


def adopt_compensation_event_subprocesses(root) -> None:
    """A compensation event sub-process inside a sub-process becomes that sub-process's compensation handler:
    no longer triggered by an event, marked isForCompensation. Any other place is refused by
    `check_compensation`."""
    for sub in list(root.iter(f"{_B}subProcess")):
        parent = sub.getparent()
        if (_is_event_subprocess(sub) and _starts_by_compensation(sub) and parent is not None
                and local_name(parent) in _EMBEDDED and not _is_event_subprocess(parent)):
            del sub.attrib["triggeredByEvent"]
            sub.set("isForCompensation", "true")


class CompensationXml:
    """Lookups on one read diagram: which handler undoes which activity, which handlers a throw reaches."""

    def __init__(self, root):
        self.by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.associated: dict[str, list[str]] = {}
        for association in root.iter(f"{_B}association"):
            source, target = association.get("sourceRef"), association.get("targetRef")
            self.associated.setdefault(source, []).append(target)
            self.associated.setdefault(target, []).append(source)
        self.boundaries: dict[str, list] = {}
        for boundary in root.iter(f"{_B}boundaryEvent"):
            if definition(boundary) is not None:
                self.boundaries.setdefault(boundary.get("attachedToRef"), []).append(boundary)

    def associated_with(self, boundary) -> list:
        """The elements an association links to a compensation boundary event (either way round)."""
        return [self.by_id[i] for i in self.associated.get(boundary.get("id"), []) if i in self.by_id]

    def handler(self, activity):
        """The compensation handler of `activity`, or None."""
        for boundary in self.boundaries.get(activity.get("id"), []):
            for el in self.associated_with(boundary):
                if el.get("isForCompensation") == "true":
                    return el
        return next((child for child in activity if is_inner_handler(child)), None)

    def reachable(self, scope, activity_ref: str | None = None) -> list:
        """The handlers compensation thrown in `scope` (for `activity_ref` alone, when given) may run: those
        of its activities, and in place of an embedded sub-process without one, those of its activities."""
        found = []
        for child in activities(scope):
            if activity_ref is not None and child.get("id") != activity_ref:
                continue
            handler = self.handler(child)
            if handler is not None:
                found.append(handler)
            elif local_name(child) in _EMBEDDED and not _loops(child):
                found.extend(self.reachable(child))
        return found

    def looping_inside(self, scope, activity_ref: str | None = None) -> list:
        """The multi-instance or looping embedded sub-processes without a handler of their own whose activities
        compensation thrown in `scope` would have to undo instance by instance (which is refused)."""
        found = []
        for child in activities(scope):
            if (activity_ref is not None and child.get("id") != activity_ref) or local_name(child) not in _EMBEDDED \
                    or self.handler(child) is not None:
                continue
            if not _loops(child):
                found.extend(self.looping_inside(child))
            elif self.reachable(child) or self.looping_inside(child):
                found.append(child)
        return found


# -- checks ---------------------------------------------------------------------------------------------------


def check_compensation(f: _File) -> list[Problem]:
    """Every compensation element Stagecoach cannot run, or that would never run, with what to draw instead."""
    problems: list[Problem] = []
    if next(f.root.iter(f"{_B}compensateEventDefinition"), None) is None and not any(
            el.get("isForCompensation") == "true" for el in f.root.iter() if isinstance(el.tag, str)):
        return problems
    xml = CompensationXml(f.root)

    def refuse(el, message: str) -> None:
        problems.append(Problem(f.name, message, el.sourceline, el.get("id"), local_name(el)))

    flows = [flow for flow in f.root.iter(f"{_B}sequenceFlow")]
    for compensate in f.root.iter(f"{_B}compensateEventDefinition"):
        event = compensate.getparent()
        kind = local_name(event)
        if kind == "boundaryEvent":
            _check_boundary(xml, event, flows, refuse)
        elif kind in {"intermediateThrowEvent", "endEvent"}:
            _check_throw(xml, event, compensate, refuse)
        elif kind == "startEvent":
            _check_start(xml, event, refuse)
        elif kind == "intermediateCatchEvent":
            refuse(event, "a compensation event catches only on the boundary of the activity it undoes; attach it "
                          "there (with an association to the handler), or throw compensation with an "
                          "intermediate throw or end event")
    for el in f.root.iter():
        if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS and el.get("isForCompensation") == "true":
            _check_handler(xml, el, flows, refuse)
    for cancel in f.root.iter(f"{_B}cancelEventDefinition"):
        boundary = cancel.getparent()
        transaction = xml.by_id.get(boundary.get("attachedToRef"))
        if local_name(boundary) == "boundaryEvent" and transaction is not None and xml.reachable(transaction):
            refuse(boundary, f"transaction {transaction.get('id')!r} holds activities with compensation handlers "
                             f"and this cancel boundary event: Camunda compensates them when the transaction is "
                             f"cancelled, Stagecoach does not; throw compensation inside the transaction (an "
                             f"intermediate compensation throw event) before its cancel end event")
    return problems


def _check_boundary(xml: CompensationXml, boundary, flows, refuse) -> None:
    bid = boundary.get("id")
    activity = xml.by_id.get(boundary.get("attachedToRef"))
    if activity is None or activity.getparent() is not boundary.getparent() or not _is_activity(activity):
        refuse(boundary, f"compensation boundary event {bid!r} is attached to {boundary.get('attachedToRef')!r}, "
                         f"which is no activity of its process or sub-process; attach it to the activity it undoes")
        return
    aid = activity.get("id")
    leaving = [flow.get("id") for flow in flows if flow.get("sourceRef") == bid]
    if leaving:
        refuse(boundary, f"compensation boundary event {bid!r} has outgoing sequence flow {leaving[0]!r}: it starts "
                         f"no path (BPMN 2.0, 10.7); remove the flow and draw what undoes {aid!r} as its "
                         f"compensation handler, an activity marked isForCompensation=\"true\" that an "
                         f"association links to the event")
        return
    others = xml.boundaries.get(aid, [])
    if others[0] is not boundary:
        refuse(boundary, f"activity {aid!r} already has compensation boundary event {others[0].get('id')!r}; an "
                         f"activity has one compensation handler: remove this one (make the handler a sub-process "
                         f"if undoing takes several steps)")
        return
    handlers = [el for el in xml.associated_with(boundary) if el.get("isForCompensation") == "true"]
    if not handlers:
        linked = [el.get("id") for el in xml.associated_with(boundary) if _is_activity(el)]
        why = (f"{linked[0]!r} is associated with it but is not marked as a compensation activity "
               f"(isForCompensation=\"true\")" if linked else "no activity is associated with it")
        refuse(boundary, f"compensation boundary event {bid!r} on {aid!r} has no compensation handler ({why}): "
                         f"draw an association from it to the activity that undoes {aid!r}, marked "
                         f"isForCompensation=\"true\"")
        return
    if len(handlers) > 1:
        refuse(boundary, f"compensation boundary event {bid!r} is associated with {len(handlers)} compensation "
                         f"handlers ({', '.join(repr(h.get('id')) for h in handlers)}); associate exactly one (make "
                         f"it a sub-process if undoing takes several steps)")
        return
    if handlers[0].getparent() is not activity.getparent():
        refuse(boundary, f"compensation handler {handlers[0].get('id')!r} must be drawn beside {aid!r}, in the same "
                         f"process or sub-process")
        return
    _check_compensable(activity, boundary, refuse)
    if any(is_inner_handler(child) for child in activity):
        refuse(boundary, f"sub-process {aid!r} has both this compensation boundary event and a compensation event "
                         f"sub-process; keep one of the two as its compensation handler")


def _check_compensable(activity, culprit, refuse) -> None:
    """What makes an activity impossible to compensate here, said on `culprit` (its boundary event or its
    compensation event sub-process)."""
    aid = activity.get("id")
    if _loops(activity):
        refuse(culprit, f"compensating multi-instance or looping activity {aid!r} is not supported: Camunda runs "
                        f"the handler once per completed instance, with that instance's variables, which "
                        f"Stagecoach cannot give it; put {aid!r} in a sub-process and compensate the sub-process "
                        f"(its handler undoes all instances), or draw the repetition as a loop through a gateway "
                        f"(each completed pass is then compensated)")
    scope = activity.getparent()
    while scope is not None and local_name(scope) != "process":
        if _is_event_subprocess(scope):
            refuse(culprit, f"activity {aid!r} is inside event sub-process {scope.get('id')!r}, whose activities "
                            f"are never compensated (compensation thrown there undoes the scope around it); "
                            f"move {aid!r} out of the event sub-process, or undo it there with ordinary flows")
            return
        scope = scope.getparent()


def _check_throw(xml: CompensationXml, event, compensate, refuse) -> None:
    eid = event.get("id")
    others = [child for child in event if isinstance(child.tag, str) and local_name(child).endswith("EventDefinition")
              and child is not compensate]
    if others:
        refuse(event, f"event {eid!r} throws compensation and {local_name(others[0])}; draw one event per kind "
                      f"of event thrown")
        return
    ref = compensate.get("activityRef") or None
    scope = scope_of(event.getparent())
    if ref is not None and not any(el.get("id") == ref for el in activities(scope)):
        refuse(event, f"activityRef {ref!r} names no activity of {scope.get('id')!r}, the scope this event "
                      f"compensates: compensation reaches only the activities of its own process or sub-process "
                      f"(from an event sub-process, those of the scope around it); name one of them, or leave "
                      f"activityRef out to compensate them all")
        return
    looping = xml.looping_inside(scope, ref)
    if looping:
        sid = looping[0].get("id")
        refuse(event, f"compensation thrown here would undo the activities of multi-instance (or looping) "
                      f"sub-process {sid!r} instance by instance, which Stagecoach does not do; throw compensation "
                      f"inside {sid!r} (each instance then undoes its own activities), or draw {sid!r} inside a "
                      f"sub-process with a compensation handler of its own")
    elif ref is not None and not xml.reachable(scope, ref):
        refuse(event, f"activityRef {ref!r} names an activity without a compensation handler, so nothing would be "
                      f"compensated: attach a compensation boundary event to {ref!r} with an association to its "
                      f"handler, or leave activityRef out")


def _check_start(xml: CompensationXml, start, refuse) -> None:
    sub = start.getparent()
    if is_inner_handler(sub):
        parent = sub.getparent()
        inner = [child for child in parent if is_inner_handler(child)]
        if inner[0] is not sub:
            refuse(sub, f"sub-process {parent.get('id')!r} already has compensation event sub-process "
                        f"{inner[0].get('id')!r}; a sub-process has one compensation handler")
        else:
            _check_compensable(parent, sub, refuse)
        return
    if _is_event_subprocess(sub):
        refuse(sub, f"compensation event sub-process {sub.get('id')!r} would never run: it undoes the sub-process "
                    f"it is drawn in, and a process (or an event sub-process) is never compensated; draw it inside "
                    f"the sub-process it undoes, or attach a compensation boundary event to the activities instead")
        return
    refuse(start, "a compensation start event only starts a compensation event sub-process (inside the "
                  "sub-process it undoes); start this flow with a none start event")


def _check_handler(xml: CompensationXml, handler, flows, refuse) -> None:
    hid = handler.get("id")
    crossing = [flow.get("id") for flow in flows if hid in (flow.get("sourceRef"), flow.get("targetRef"))]
    if crossing:
        refuse(handler, f"compensation handler {hid!r} has sequence flow {crossing[0]!r}: a handler stands outside "
                        f"the normal flow (BPMN 2.0, 10.7) and runs only when compensation is thrown; remove the "
                        f"flow, or remove isForCompensation if it is an ordinary step")
        return
    attached = [b.get("id") for b in handler.getparent().findall(f"{_B}boundaryEvent") if b.get("attachedToRef") == hid]
    if attached:
        refuse(handler, f"compensation handler {hid!r} has boundary event {attached[0]!r}: make the handler a "
                        f"sub-process and attach the event to the activity inside it")
        return
    if is_inner_handler(handler):
        return
    if not any(handler in xml.associated_with(b) for bs in xml.boundaries.values() for b in bs):
        refuse(handler, f"compensation handler {hid!r} is linked to no compensation boundary event, so it would "
                        f"never run: draw an association to it from the compensation boundary event of the "
                        f"activity it undoes")


# -- parsing ----------------------------------------------------------------------------------------------------


def _xml_of(process_parser) -> CompensationXml | None:
    """The compensation lookups of the parser's document (built once per document, None without compensation)."""
    cache = process_parser.parser.__dict__.setdefault("_compensation_xml", {})
    root = process_parser.document_root
    key = id(root)
    if key not in cache:
        uses = next(root.iter(f"{_B}compensateEventDefinition"), None) is not None
        cache[key] = (root, CompensationXml(root) if uses else None)
    return cache[key][1]


class CompensatingProcessParser:
    """Mixed into a SpiffWorkflow process parser: compensation boundary events, registries and handlers."""

    def get_boundary_events(self, attached_to_ref):
        # A compensation boundary event catches nothing while its activity runs: it only names the handler.
        return [node for node in super().get_boundary_events(attached_to_ref) if definition(node) is None]

    def add_tasks(self):
        super().add_tasks()
        xml = _xml_of(self)
        if xml is not None:
            _add_registry(self, xml)


def _add_registry(parser, xml: CompensationXml) -> None:
    handlers, nested = {}, []
    for activity in activities(parser.node):
        handler = xml.handler(activity)
        if handler is not None:
            handlers[activity.get("id")] = handler
        elif local_name(activity) in _EMBEDDED and not _loops(activity) and xml.reachable(activity):
            nested.append(activity.get("id"))
    scope = scope_of(parser.node)
    reached = list(handlers.values())
    for throw in parser.node:
        compensate = definition(throw) if local_name(throw) in {"intermediateThrowEvent", "endEvent"} else None
        if compensate is not None:
            reached.extend(xml.reachable(scope, compensate.get("activityRef") or None))
    if not (handlers or nested or reached):
        return
    registry = CompensationRegistry(parser.spec, REGISTRY, handlers={a: h.get("id") for a, h in handlers.items()},
                                    nested=nested)
    seen: set[str] = set()
    for node in reached:
        if node.get("id") not in seen:
            seen.add(node.get("id"))
            registry.connect(parser.parse_node(node))


class ReusingParsers:
    """Mixed into a SpiffWorkflow BPMN parser: a sub-process that is a compensation handler is parsed into every
    spec that may run it, so its own process parser is asked for more than once; the first one is kept."""

    def create_parser(self, node, filename=None, lane=None):
        known = self.process_parsers.get(node.get("id"))
        if known is not None and known.node is node:
            return
        super().create_parser(node, filename, lane)


def compensation_throw_parser(base, end: bool):
    """`base` (an intermediate throw or end event parser) parsing compensation throw events as such."""

    class _Parser(base):
        def create_task(self):
            compensate = definition(self.node)
            if compensate is None:
                return super().create_task()
            cls = CompensationEndEvent if end else IntermediateCompensationThrowEvent
            task = cls(self.spec, self.bpmn_id, activity=compensate.get("activityRef") or None,
                       hops=_hops(self.node.getparent())[1], **self.bpmn_attributes)
            if end:
                task.connect(self.spec.end)
            return task

    _Parser.__name__ = _Parser.__qualname__ = f"_Compensating{base.__name__}"
    return _Parser
