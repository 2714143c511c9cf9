"""Dialect normalisation: rewriting a read diagram into the BPMN that SpiffWorkflow 3.2 parses and runs.

What modelers write and Camunda 7 and 8 accept, SpiffWorkflow reads differently or not at all. Each pass
rewrites the tree in place, keeping element ids and lines so problems still point at what the modeler
wrote: activiti: extensions read as camunda: ones, qualified references, multi-instance collections,
implicit forks, starts and ends, ISO 8601 and cron timer literals, JavaScript scripts and conditions
marked as such (`javascript.marker`), and JUEL and FEEL expressions translated to sandbox Python;
`_dialect_of` then says which SpiffWorkflow parser reads the diagram. After
parsing, `_use_cron_timers` puts cron cycles on `cron`'s timer definitions.
"""
from __future__ import annotations

import ast
import re

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

from .. import cron, data_paths  # noqa: F401 - data_paths reads collections named by a path
from ..expressions import TranslationError, is_modeler_expression, property_path, translate
from ..javascript import is_javascript, mark
from ..xml import Problem, local_name
from .reading import BPMN_NS, CAMUNDA_NS, SPIFF_NS, ZEEBE_NS, _File, _owner

CONDITION_TAGS = ("conditionExpression", "completionCondition", "loopCondition", "condition")
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")

_REFERENCES = ("messageRef", "signalRef", "errorRef", "escalationRef", "attachedToRef", "sourceRef", "targetRef",
               "processRef", "dataStoreRef", "dataObjectRef", "default")


def _resolve_qualified_references(root) -> None:
    """References are QNames in the BPMN schema: some tools write `semantic:Message_1`, prefix and all,
    where SpiffWorkflow looks for the id `Message_1` (and failed with a TypeError). A reference whose
    prefix is a declared namespace and whose local part is an id of this document becomes that id."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
            continue  # a vendor's element: its attributes are not BPMN references
        for attr in _REFERENCES:
            value = el.get(attr)
            if value and ":" in value and value not in ids:
                prefix, local = value.split(":", 1)
                if prefix in el.nsmap and local in ids:
                    el.set(attr, local)


ACTIVITI_NS = "http://activiti.org/bpmn"  # older Camunda Modeler files; Camunda 7 reads it as camunda:


def _adopt_activiti_namespace(root) -> None:
    """Read activiti: extensions (attributes and elements) as the camunda: ones they are, as Camunda 7 does."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el).namespace == ACTIVITI_NS:
            el.tag = f"{{{CAMUNDA_NS}}}{etree.QName(el).localname}"
        for name in [a for a in el.attrib if etree.QName(a).namespace == ACTIVITI_NS]:
            el.set(f"{{{CAMUNDA_NS}}}{etree.QName(name).localname}", el.attrib.pop(name))


_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _read_loop_collections(f: _File) -> None:
    """Multi-instance over a collection, as Camunda 7 and 8 write it, in the form SpiffWorkflow's Camunda
    parser reads (camunda:collection naming a variable, camunda:elementVariable): `camunda:collection=
    "${orderItems}"`, and Zeebe's `zeebe:loopCharacteristics inputCollection="=orderItems"
    inputElement="item"`. A path (`customer.orders`, `${customer.orders}`) names a variable's nested list
    (`data_paths`). A collection computed by an expression is refused: compute it into a variable."""
    for loop in f.root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        owner = loop.getparent()
        zeebe = loop.find(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}loopCharacteristics")
        if zeebe is not None:
            if zeebe.get("inputCollection") and not loop.get(f"{{{CAMUNDA_NS}}}collection"):
                loop.set(f"{{{CAMUNDA_NS}}}collection", zeebe.get("inputCollection"))
            if zeebe.get("inputElement") and not loop.get(f"{{{CAMUNDA_NS}}}elementVariable"):
                loop.set(f"{{{CAMUNDA_NS}}}elementVariable", zeebe.get("inputElement"))
            if zeebe.get("outputCollection"):
                f.problems.append(Problem(
                    f.name, f"zeebe:loopCharacteristics outputCollection {zeebe.get('outputCollection')!r} is not "
                            f"supported: each instance's element variable ({zeebe.get('inputElement') or 'the item'}) "
                            f"is written back into the input collection, which holds the results afterwards",
                    zeebe.sourceline, owner.get("id"), local_name(owner)))
        collection = (loop.get(f"{{{CAMUNDA_NS}}}collection") or "").strip()
        if not collection or _VARIABLE.match(collection):
            continue
        if _PATH.match(collection):  # customer.orders: read through `data_paths`
            continue
        path = None
        if is_modeler_expression(collection):
            try:
                path = property_path(collection)
            except TranslationError:
                path = None
        if path and all(isinstance(part, str) and _VARIABLE.match(part) for part in path):
            loop.set(f"{{{CAMUNDA_NS}}}collection", ".".join(path))
            continue
        f.problems.append(Problem(
            f.name, f"multi-instance collection {collection!r} must name a variable or a path to one (orderItems, "
                    f"${{customer.orders}}, = customer.orders); compute any other list into a variable before the "
                    f"activity", loop.sourceline, owner.get("id"), local_name(owner)))


_NOT_FORKING = {"startEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                "complexGateway"}


def _split_implicit_forks(root) -> None:
    """Several outgoing flows of an activity or event are a fork (BPMN 2.0, 10.2.1): unconditioned ones are all
    taken, conditioned ones when true, the activity's default one when no condition is. SpiffWorkflow parses only
    gateways with several outgoing flows, so a gateway of the same meaning is put after the element: parallel
    when no flow has a condition, otherwise inclusive (an unconditioned flow there gets the condition True).
    The element keeps its id and line; the gateway is `<id>_fork`, reached by the flow `<id>_to_fork`."""
    flows_from: dict[str, list] = {}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        flows_from.setdefault(flow.get("sourceRef"), []).append(flow)
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
            continue
        outgoing = flows_from.get(el.get("id")) or []
        if len(outgoing) < 2 or local_name(el) in _NOT_FORKING or el.getparent() is None:
            continue
        if el.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None:
            continue  # a compensation boundary event starts no path: its flows are refused as drawn
        element_id = el.get("id")
        fork_id, link_id = f"{element_id}_fork", f"{element_id}_to_fork"
        while fork_id in ids or link_id in ids:
            fork_id, link_id = fork_id + "_", link_id + "_"
        ids.update({fork_id, link_id})
        conditioned = any(flow.find(f"{{{BPMN_NS}}}conditionExpression") is not None for flow in outgoing)
        fork = etree.Element(f"{{{BPMN_NS}}}{'inclusiveGateway' if conditioned else 'parallelGateway'}",
                             id=fork_id, name="")
        default = el.attrib.pop("default", None)
        if conditioned and default:
            fork.set("default", default)
        etree.SubElement(fork, f"{{{BPMN_NS}}}incoming").text = link_id
        for flow in outgoing:
            flow.set("sourceRef", fork_id)
            etree.SubElement(fork, f"{{{BPMN_NS}}}outgoing").text = flow.get("id")
            if conditioned and flow.get("id") != default and flow.find(f"{{{BPMN_NS}}}conditionExpression") is None:
                etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression").text = "True"
        for ref in el.findall(f"{{{BPMN_NS}}}outgoing"):
            el.remove(ref)
        etree.SubElement(el, f"{{{BPMN_NS}}}outgoing").text = link_id
        container = el.getparent()
        container.insert(container.index(el) + 1, fork)
        link = etree.Element(f"{{{BPMN_NS}}}sequenceFlow", id=link_id, sourceRef=element_id, targetRef=fork_id)
        container.insert(container.index(fork) + 1, link)


_NOT_STARTED_BY_FLOW = {"boundaryEvent", "sequenceFlow", "dataObject", "dataObjectReference", "dataStoreReference",
                        "textAnnotation", "association", "group", "laneSet", "ioSpecification", "property",
                        "extensionElements", "documentation", "incoming", "outgoing",
                        "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "dataInputAssociation",
                        "dataOutputAssociation"}


def _add_implicit_starts(root) -> None:
    """A sub-process without a start event starts every flow node of it that has no incoming flow, and one
    without an end event ends where its flows end (BPMN 2.0, 10.5.2 and 10.5.3; an empty one completes at
    once). SpiffWorkflow wants exactly one start event and an end event in a sub-process, so they are added:
    `<id>_start` with a flow to each first node, `<id>_end` with a flow from each last one. Event
    sub-processes keep their own triggers."""
    for sub in [el for tag in ("subProcess", "transaction") for el in root.iter(f"{{{BPMN_NS}}}{tag}")]:
        if sub.get("triggeredByEvent") == "true":
            continue
        children = [c for c in sub if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN_NS]
        flows = [c for c in children if local_name(c) == "sequenceFlow"]
        nodes = [c for c in children if c.get("id") and local_name(c) not in _NOT_STARTED_BY_FLOW
                 and c.get("triggeredByEvent") != "true" and c.get("isForCompensation") != "true"]
        has_start = any(local_name(c) == "startEvent" for c in children)
        has_end = any(local_name(c) == "endEvent" for c in children)
        if has_start and has_end:
            continue
        targets = {flow.get("targetRef") for flow in flows}
        sources = {flow.get("sourceRef") for flow in flows}
        sub_id = sub.get("id")

        def add(tag: str, element_id: str):
            node = etree.Element(f"{{{BPMN_NS}}}{tag}", id=element_id)
            position = next((i for i, c in enumerate(sub) if isinstance(c.tag, str) and local_name(c) not in
                             {"extensionElements", "documentation", "incoming", "outgoing"}), len(sub))
            sub.insert(position, node)
            return node

        def connect(source: str, target: str) -> None:
            sub.append(etree.Element(f"{{{BPMN_NS}}}sequenceFlow", id=f"{source}_to_{target}", sourceRef=source,
                                     targetRef=target))

        first = [n.get("id") for n in nodes if n.get("id") not in targets]
        last = [n.get("id") for n in nodes if n.get("id") not in sources and local_name(n) != "endEvent"]
        if not has_start:
            add("startEvent", f"{sub_id}_start")
            for node_id in first:
                connect(f"{sub_id}_start", node_id)
            if not first:
                last.append(f"{sub_id}_start")
        if not has_end:
            add("endEvent", f"{sub_id}_end")
            for node_id in last:
                connect(node_id, f"{sub_id}_end")


_ISO_TIMER = re.compile(
    r"^(R\d*/\S+|P(?=\d|T\d)[\dYMWD]*(T[\d.,HMS]+)?|\d{4}-\d{2}-\d{2}(T[\d:.,]+(Z|[+-]\d{2}:?\d{2})?)?)$")


def _quote_iso_timers(root) -> None:
    """Modelers write `PT4H`, `R3/PT1H` or a cron cycle `0 0/5 * * * ?`; SpiffWorkflow evaluates timer
    expressions as Python, so a bare ISO 8601 literal (or cron cycle) becomes the string it means."""
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (el.text or "").strip()
            if _ISO_TIMER.match(text) or (tag == "timeCycle" and cron.looks_like_cron(text)):
                el.text = repr(text)


def _mark_javascript(root) -> None:
    """A script task in JavaScript (scriptFormat="javascript", "js", "ecmascript", ...) and a condition written
    in it (language="javascript" on the expression, or the definitions' expressionLanguage) are marked as
    JavaScript (`javascript.mark`), so that the engine runs them in V8; a script task's camunda:resultVariable
    goes in its marker. One that is refused (`checks`) is left as written."""
    default = root.get("expressionLanguage")
    for task in root.iter(f"{{{BPMN_NS}}}scriptTask"):
        script = task.find(f"{{{BPMN_NS}}}script")
        result = (task.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
        if (is_javascript(task.get("scriptFormat")) and script is not None and (script.text or "").strip()
                and not task.get(f"{{{CAMUNDA_NS}}}resource") and (not result or result.isidentifier())):
            script.text = mark(script.text, result=result or None)
    for tag in CONDITION_TAGS:
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            if is_javascript(el.get("language") or default) and (el.text or "").strip():
                el.text = mark(el.text, kind="condition")


def _translate_expressions(root) -> None:
    """Modelers write conditions and timers as JUEL (`${amount > 1000}`) or FEEL (`= amount > 1000`);
    SpiffWorkflow evaluates them as Python, so each becomes the sandbox Python it means. One that
    cannot be translated is left as written and reported by `_check_expressions`."""
    for tag in (*CONDITION_TAGS, "loopCardinality", *TIMER_TAGS):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            if is_modeler_expression(el.text):
                try:
                    el.text = translate(el.text)
                except TranslationError:
                    pass


def _dialect_of(f: _File) -> str:
    """The dialect a diagram is parsed in, by the extensions it uses: camunda for camunda: (activiti: ones
    adopted first) or zeebe: ones, spiff for spiffworkflow: ones; a diagram using neither is camunda when it
    declares the camunda or zeebe namespace. SpiffWorkflow's parser of one dialect drops the other's
    extensions, so a diagram using both is refused, naming the first extension of each."""
    camunda = _first_use(f.root, {CAMUNDA_NS, ZEEBE_NS})
    spiff = _first_use(f.root, {SPIFF_NS})
    if camunda is not None and spiff is not None:
        (c_el, c_name), (s_el, s_name) = camunda, spiff
        owner = c_el if c_el.get("id") else _owner(c_el)
        f.problems.append(Problem(
            f.name, f"this diagram mixes dialects: {c_name} (line {c_el.sourceline}) makes it a Camunda diagram, "
                    f"whose parser would drop the spiffworkflow: extensions such as {s_name} (line "
                    f"{s_el.sourceline}); write each diagram in one dialect: replace the spiffworkflow: "
                    f"extensions by their camunda: equivalents, or the camunda: ones by spiffworkflow: ones",
            c_el.sourceline, owner.get("id"), local_name(owner)))
        return "camunda"
    if camunda is not None:
        return "camunda"
    if spiff is not None:
        return "spiff"
    # Zeebe (Camunda 8) diagrams are read in the Camunda dialect: their extensions are looked up by `_elements`.
    return "camunda" if {CAMUNDA_NS, ZEEBE_NS} & set(f.root.nsmap.values()) else "spiff"


def _first_use(root, namespaces: set[str]):
    """The first element that is, or carries an attribute, of one of `namespaces`, with that name written
    with its prefix; None when none does."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el).namespace in namespaces:
            return el, _prefixed(el, el.tag)
        for name in el.attrib:
            if etree.QName(name).namespace in namespaces:
                return el, _prefixed(el, name)
    return None


def _prefixed(el, name: str) -> str:
    qname = etree.QName(name)
    prefix = next((p for p, ns in el.nsmap.items() if ns == qname.namespace and p), None)
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _use_cron_timers(specs) -> None:
    """Cycle timers that may be cron expressions run through `cron`: every timeCycle of a start or
    non-interrupting boundary event (ISO 8601 cycles are left to SpiffWorkflow there), and a literal cron
    cycle on an event that fires once."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, MultipleEventDefinition):
                definition.event_definitions = [_as_cron(d, task_spec) for d in definition.event_definitions]
            elif definition is not None:
                task_spec.event_definition = _as_cron(definition, task_spec)


def _as_cron(definition, task_spec):
    if type(definition) is not CycleTimerEventDefinition:
        return definition
    if cron.repeats(task_spec):
        replacement = cron.CronTimerEventDefinition.__new__(cron.CronTimerEventDefinition)
        replacement.__dict__.update(definition.__dict__)
        return replacement
    try:
        literal = ast.literal_eval(definition.expression or "")
    except (ValueError, SyntaxError):
        return definition
    if not cron.looks_like_cron(literal):
        return definition
    return cron.CronOnceTimerEventDefinition(definition.name, definition.expression,
                                             description=definition.description)
