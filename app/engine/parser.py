"""Deploy-time parsing: from uploaded files to runnable, validated process models.

Every file of a deployment is read safely (`xml.parse_untrusted`), checked
against the BPMN 2.0 XSD, parsed by SpiffWorkflow in the dialect it was
written in (Camunda extensions or SpiffWorkflow extensions), and every
script and condition is compiled by the sandbox. JUEL (`${...}`) and FEEL
(`= ...`) conditions, loop expressions and timers are first translated into
sandbox Python (`expressions.translate`). All problems of all files
are collected before `BpmnRejected` is raised, each naming file, line and
element id, so a modeler fixes a diagram in one round.
"""
from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators as jsonschema_validators
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser, SendTaskParser
from SpiffWorkflow.bpmn.specs.defaults import (EndEvent, IntermediateThrowEvent, ReceiveTask, ScriptTask, SendTask,
                                               ServiceTask)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (CamundaEndEventParser, CamundaEventDefinitionParser,
                                                        CamundaIntermediateThrowEventParser)
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser, CamundaTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from . import cron
from . import conditional, formjs, iomapping
from .expressions import TranslationError, is_modeler_expression, property_path, translate
from .sandbox import Sandbox, ScriptError
from .serializer import SERIALIZERS, ExternalTask
from .xml import Problem, XmlRejected, element_at, local_name, parse_untrusted

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"  # Camunda 8 Modeler extensions
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
}
HUMAN_TASK_TYPES = {"userTask", "manualTask"}
CONDITION_TAGS = ("conditionExpression", "completionCondition", "loopCondition", "condition")
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


class BpmnRejected(Exception):
    """The deployment cannot run; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class ProcessModel:
    """One executable process, ready to store as a definition version."""

    key: str
    name: str
    file: str
    dialect: str
    spec: object
    subprocess_specs: dict
    elements: dict[str, dict]
    content_hash: str


@dataclass
class _File:
    name: str
    content: bytes
    root: etree._Element | None = None
    kind: str = "bpmn"
    dialect: str = "spiff"
    problems: list[Problem] = field(default_factory=list)
    form_id: str | None = None  # a Camunda form's own id (camunda:formRef, zeebe formId name it)


_validator: BpmnValidator | None = None


def _xsd() -> etree.XMLSchema:
    global _validator
    if _validator is None:
        _validator = BpmnValidator()
    return _validator.validator


def parse_deployment(files: list[tuple[str, bytes]], sandbox: Sandbox) -> list[ProcessModel]:
    """Parse and validate a deployment as a whole.

    Args:
        files: (file name, content) pairs: .bpmn/.xml diagrams, .dmn decision
            tables and .json form schemas.
        sandbox: compiles scripts and conditions to check them.

    Raises:
        BpmnRejected: with every problem found in every file.
    """
    if not files:
        raise BpmnRejected([Problem("", "no files in the deployment")])
    loaded = [_load(name, content) for name, content in files]
    problems = [p for f in loaded for p in f.problems]
    forms = {Path(f.name).name: f for f in loaded if f.kind in ("json", "form") and not f.problems}
    forms.update({f"id:{f.form_id}": f for f in loaded if f.kind == "form" and not f.problems and f.form_id})
    diagrams = [f for f in loaded if f.kind == "bpmn" and not f.problems]
    decisions = [f for f in loaded if f.kind == "dmn" and not f.problems]

    models: list[ProcessModel] = []
    for dialect in ("camunda", "spiff"):
        group = [f for f in diagrams if f.dialect == dialect]
        if group:
            models.extend(_parse_group(dialect, group, decisions, forms, sandbox, problems))
    if not problems and not models:
        problems.extend(_no_executable_process(diagrams, files))
    if problems:
        raise BpmnRejected(problems)
    return models


def _identified_owner(root, line: int | None):
    """The element starting on `line` (or the nearest before it), or its nearest ancestor with an id: an
    XSD error on an `outMessageRef` is reported against its operation."""
    if line is None:
        return None
    found = None
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline:
            if el.sourceline > line:
                break
            found = el
    while found is not None and not found.get("id"):
        found = found.getparent()
    return found


def _no_executable_process(diagrams: list[_File], files) -> list[Problem]:
    """Name, in each diagram, the process that could have been executable."""
    if not diagrams:
        return [Problem(files[0][0], "no BPMN diagram in the deployment")]
    problems = []
    for f in diagrams:
        process = next(iter(f.root.iter(f"{{{BPMN_NS}}}process")), None)
        if process is None:
            problems.append(Problem(f.name, "no process in this diagram"))
        else:
            problems.append(Problem(f.name, f'process {process.get("id")!r} is not executable: mark it '
                                            f'isExecutable="true" to deploy it', process.sourceline,
                                    process.get("id"), "process"))
    return problems


def _load(name: str, content: bytes) -> _File:
    f = _File(name, content)
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        f.kind = "json"
        try:
            schema = json.loads(content)
            jsonschema_validators.validator_for(schema).check_schema(schema)
        except (ValueError, jsonschema_exceptions.SchemaError) as exc:
            f.problems.append(Problem(name, f"not a valid JSON Schema form: {_first_line(exc)}"))
        return f
    if suffix == ".form":
        f.kind = "form"
        try:
            document = json.loads(content)
            formjs.form_schema(document)
            f.form_id = document.get("id")
        except (ValueError, formjs.FormError) as exc:
            f.problems.append(Problem(name, f"not a Camunda form (form-js JSON): {_first_line(exc)}"))
        return f
    if suffix not in {".bpmn", ".xml", ".dmn", ""}:
        f.problems.append(Problem(name, "unsupported file type (expected .bpmn, .dmn, .form or .json)"))
        return f
    try:
        f.root = parse_untrusted(content, name)
    except XmlRejected as exc:
        f.problems.extend(exc.problems)
        return f
    ns = etree.QName(f.root).namespace
    tag = local_name(f.root)
    if ns in DMN_NAMESPACES and tag == "definitions":
        f.kind = "dmn"
        return f
    if ns != BPMN_NS or tag != "definitions":
        f.problems.append(Problem(name, f"not a BPMN 2.0 document (root element is <{tag}>)", f.root.sourceline))
        return f
    schema = _xsd()
    if not schema.validate(f.root):
        for error in schema.error_log:
            el = element_at(f.root, error.line)
            if el is None:
                el = _identified_owner(f.root, error.line)
            f.problems.append(Problem(
                name, f"not valid BPMN 2.0: {_short_xsd_message(error.message)}", error.line,
                el.get("id") if el is not None else None, local_name(el) if el is not None else None))
        return f
    _resolve_qualified_references(f.root)
    _check_references(f)
    _check_event_references(f)
    _check_cron_cycles(f)
    _adopt_activiti_namespace(f.root)
    _read_loop_collections(f)
    if f.problems:
        return f
    _split_implicit_forks(f.root)
    _add_implicit_starts(f.root)
    _quote_iso_timers(f.root)
    _translate_expressions(f.root)
    # Zeebe (Camunda 8) diagrams are read in the Camunda dialect: their extensions are looked up by `_elements`.
    uses_camunda = bool({CAMUNDA_NS, ZEEBE_NS} & set(f.root.nsmap.values())) or any(
        etree.QName(el).namespace == ZEEBE_NS or any(etree.QName(a).namespace == CAMUNDA_NS for a in el.attrib)
        for el in f.root.iter() if isinstance(el.tag, str))
    f.dialect = "camunda" if uses_camunda else "spiff"
    return f


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


def _read_loop_collections(f: _File) -> None:
    """Multi-instance over a collection, as Camunda 7 and 8 write it, in the form SpiffWorkflow's Camunda
    parser reads (camunda:collection naming a variable, camunda:elementVariable): `camunda:collection=
    "${orderItems}"`, and Zeebe's `zeebe:loopCharacteristics inputCollection="=orderItems"
    inputElement="item"`. A collection computed by an expression is refused: compute it into a variable."""
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
        path = None
        if is_modeler_expression(collection):
            try:
                path = property_path(collection)
            except TranslationError:
                path = None
        if path is not None and len(path) == 1 and isinstance(path[0], str):
            loop.set(f"{{{CAMUNDA_NS}}}collection", path[0])
            continue
        f.problems.append(Problem(
            f.name, f"multi-instance collection {collection!r} must name one variable (orderItems, ${{orderItems}} "
                    f"or = orderItems); compute the list into a variable before the activity",
            loop.sourceline, owner.get("id"), local_name(owner)))


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


def _check_cron_cycles(f: _File) -> None:
    """Cron cycles (Quartz `0 0/5 * * * ?`, as Camunda 7 accepts them, or Unix `*/5 * * * *`) run through
    `cron.CronTimerEventDefinition`; one croniter cannot schedule is refused here, saying why."""
    for el in f.root.iter(f"{{{BPMN_NS}}}timeCycle"):
        text = (el.text or "").strip()
        if not cron.looks_like_cron(text):
            continue
        why = cron.problem(text)
        if why:
            owner = _owner(el)
            f.problems.append(Problem(
                f.name, f"cron cycle {text!r} cannot be scheduled ({why}); write a Quartz cron expression "
                        f"(seconds minutes hours day-of-month month day-of-week [year], e.g. 0 0/5 * * * ?), "
                        f"a Unix one (*/5 * * * *), or an ISO 8601 repeating interval such as R/PT5M",
                el.sourceline, owner.get("id"), local_name(owner)))


def _quote_iso_timers(root) -> None:
    """Modelers write `PT4H`, `R3/PT1H` or a cron cycle `0 0/5 * * * ?`; SpiffWorkflow evaluates timer
    expressions as Python, so a bare ISO 8601 literal (or cron cycle) becomes the string it means."""
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (el.text or "").strip()
            if _ISO_TIMER.match(text) or (tag == "timeCycle" and cron.looks_like_cron(text)):
                el.text = repr(text)


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


def _short_xsd_message(message: str) -> str:
    message = message.replace(f"{{{BPMN_NS}}}", "bpmn:")
    return re.sub(r"\s*Expected is one of \(.*\)\.?$", "", message, flags=re.S)


_REFERENCES = ("messageRef", "signalRef", "errorRef", "escalationRef", "attachedToRef", "sourceRef", "targetRef",
               "processRef", "dataStoreRef", "dataObjectRef", "default")


def _resolve_qualified_references(root) -> None:
    """References are QNames in the BPMN schema: some tools write `semantic:Message_1`, prefix and all,
    where SpiffWorkflow looks for the id `Message_1` (and failed with a TypeError). A reference whose
    prefix is a declared namespace and whose local part is an id of this document becomes that id."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in _REFERENCES:
            value = el.get(attr)
            if value and ":" in value and value not in ids:
                prefix, local = value.split(":", 1)
                if prefix in el.nsmap and local in ids:
                    el.set(attr, local)


_EVENT_REFERENCES = {"messageRef": "message", "signalRef": "signal", "errorRef": "error", "escalationRef": "escalation"}


def _check_event_references(f: _File) -> None:
    """A message, signal, error or escalation reference must name such an element of the file
    (SpiffWorkflow fails with an unrelated TypeError, without line or element). A referenced message
    or signal without a name is known by its id (SpiffWorkflow fails on a nameless one the same way)."""
    by_id = {el.get("id"): el for el in f.root.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in f.root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
            continue
        for attr, kind in _EVENT_REFERENCES.items():
            ref = el.get(attr)
            if not ref or local_name(el) in {"operation", "participant", "messageFlow"}:
                continue
            target = by_id.get(ref)
            owner = el if el.get("id") and not local_name(el).endswith("EventDefinition") else _owner(el)
            if target is None or local_name(target) != kind:
                f.problems.append(Problem(
                    f.name, f"{attr} {ref!r} names no bpmn:{kind} of this file; declare <bpmn:{kind} id={ref!r} "
                            f"name=\"...\"> or refer to one that exists", el.sourceline, owner.get("id"),
                    local_name(owner)))
            elif kind in {"message", "signal"} and not (target.get("name") or "").strip():
                target.set("name", ref)


def _check_references(f: _File) -> None:
    """The XSD does not check that flows point at existing elements; do it here."""
    ids = {el.get("id") for el in f.root.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in f.root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if ref not in ids:
                f.problems.append(Problem(f.name, f"sequence flow {attr} {ref!r} names no element of this file",
                                          flow.sourceline, flow.get("id"), "sequenceFlow"))
    for el in f.root.iter():
        if isinstance(el.tag, str) and el.get("default") and el.get("default") not in ids:
            f.problems.append(Problem(f.name, f"default flow {el.get('default')!r} names no element of this file",
                                      el.sourceline, el.get("id"), local_name(el)))


class _ServiceTaskParser(CamundaTaskParser):
    """Service, send and business rule tasks of the Camunda dialect.

    A task run outside the engine (camunda:type="external", zeebe:taskDefinition, Java code named by
    camunda:class / delegateExpression / expression, or a camunda:connector) is an `ExternalTask`, held by
    the server until a worker completes it. A camunda:expression that translates to sandbox Python runs in
    the engine instead, as a script task (same id, name and line). A business rule task with
    camunda:decisionRef stays a DMN task; anything else keeps SpiffWorkflow's spec."""

    def __init__(self, process_parser, spec_class, node, nsmap=None, lane=None):
        self.script = _in_process_script(node)
        if self.script is not None:
            spec_class = ScriptTask
        elif _is_external(node):
            spec_class = ExternalTask
        super().__init__(process_parser, spec_class, node, nsmap, lane)

    def create_task(self):
        if self.script is not None:
            return self.spec_class(self.spec, self.bpmn_id, script=self.script, **self.bpmn_attributes)
        if self.spec_class is BusinessRuleTask:
            return BusinessRuleTaskParser.create_task(self)
        return super().create_task()

    @staticmethod
    def get_decision_ref(node):
        """The DMN decision of a business rule task, None without one (SpiffWorkflow asks before parsing)."""
        return node.get(f"{{{CAMUNDA_NS}}}decisionRef")


def _send_task_parser(process_parser, spec_class, node, nsmap=None, lane=None):
    """A send task run by Java code or a worker is an external task; a plain one throws its message."""
    if _in_process_script(node) is None and not _is_external(node):
        return _PLAIN_SEND_TASK[0](process_parser, spec_class, node, nsmap, lane)
    return _ServiceTaskParser(process_parser, spec_class, node, nsmap, lane)


def _message_throw_parser(base):
    """An intermediate throw or end event whose message is sent by Java code (camunda:class,
    delegateExpression or expression on its messageEventDefinition) is an external task too."""

    class _Parser(base):
        def __init__(self, process_parser, spec_class, node, nsmap=None, lane=None):
            self.external = _is_external(node)
            super().__init__(process_parser, ExternalTask if self.external else spec_class, node, nsmap, lane)

        def create_task(self):
            if self.external:
                return ExternalTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
            return _without_payload(super().create_task())

    _Parser.__name__ = _Parser.__qualname__ = f"_Stagecoach{base.__name__}"
    return _Parser


class _CamundaSendTaskParser(CamundaEventDefinitionParser, SendTaskParser):
    """A send task of the Camunda dialect, with Camunda's message definition (SpiffWorkflow's Camunda
    serializer stores no other: the plain one made every receive or send task unstorable)."""

    def create_task(self):
        return _without_payload(SendTaskParser.create_task(self))


class _CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    """A receive task of the Camunda dialect, with Camunda's message definition (see above)."""

    def create_task(self):
        return ReceiveTaskParser.create_task(self)


_PLAIN_SEND_TASK = (_CamundaSendTaskParser, SendTask)


def _without_payload(task_spec):
    """A Camunda message thrown without camunda:expression carries no payload: SpiffWorkflow evaluates the
    missing expression and fails ("Error evaluating expression 'None'") when the event is thrown."""
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, CamundaMessageEventDefinition) and definition.expression is None:
        definition.expression = "None"
    return task_spec


class _StagecoachCamundaParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        f"{{{BPMN_NS}}}serviceTask": (_ServiceTaskParser, ServiceTask),
        f"{{{BPMN_NS}}}businessRuleTask": (_ServiceTaskParser, BusinessRuleTask),
        f"{{{BPMN_NS}}}sendTask": (_send_task_parser, _PLAIN_SEND_TASK[1]),
        f"{{{BPMN_NS}}}receiveTask": (_CamundaReceiveTaskParser, ReceiveTask),
        f"{{{BPMN_NS}}}intermediateThrowEvent": (_message_throw_parser(CamundaIntermediateThrowEventParser),
                                                 IntermediateThrowEvent),
        f"{{{BPMN_NS}}}endEvent": (_message_throw_parser(CamundaEndEventParser), EndEvent),
    }


def _parse_group(dialect, group, decisions, forms, sandbox, problems) -> list[ProcessModel]:
    parser = _StagecoachCamundaParser() if dialect == "camunda" else SpiffBpmnParser(validator=None)
    parser.validator = None
    models = []
    files_ok = []
    for d in decisions:
        try:
            parser.add_dmn_xml(d.root, filename=d.name)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_problem_from(exc, d))
    refused: set[str] = set()  # files with elements SpiffWorkflow cannot run: its own errors on them are noise
    for f in group:
        if _check_service_tasks(f, dialect, problems) + _check_unsupported(f, problems):
            refused.add(f.name)
        try:
            parser.add_bpmn_xml(f.root, filename=f.name)
            files_ok.append(f)
        except (ValidationException, SpiffWorkflowException) as exc:
            if f.name not in refused:
                problems.append(_problem_from(exc, f))
        except Exception as exc:  # SpiffWorkflow's parsers raise bare errors on some models
            if f.name not in refused:
                problems.append(Problem(f.name, f"cannot be read: {type(exc).__name__}: {exc}"))
    dmn_bytes = b"".join(d.content for d in sorted(decisions, key=lambda d: d.name))
    for f in group:
        if f not in files_ok and f.name not in refused:
            continue
        before = len(problems)
        _check_expressions(f, sandbox, problems)
        processes = [p for p in f.root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"]
        for process in processes:
            key = process.get("id")
            elements, form_files = _elements(f, process, forms, problems)
            if f.name in refused:
                continue
            try:
                spec = parser.get_spec(key)
                subprocess_specs = parser.get_subprocess_specs(key)
                _use_cron_timers([spec, *subprocess_specs.values()])
                conditional.adopt([spec, *subprocess_specs.values()])
            except (ValidationException, SpiffWorkflowException) as exc:
                problems.append(_problem_from(exc, f))
                continue
            except Exception as exc:  # SpiffWorkflow raises bare errors on some malformed models
                problems.append(Problem(f.name, f"cannot build process {key}: {type(exc).__name__}: {exc}",
                                        process.sourceline, key, "process"))
                continue
            if len(problems) > before:
                continue
            try:
                SERIALIZERS[dialect].dump_spec(spec, subprocess_specs)
            except Exception as exc:  # an element the engine parsed but cannot store
                problems.append(Problem(f.name, f"process {key} uses an element Stagecoach cannot run yet "
                                                f"({type(exc).__name__}: {_first_line(exc)})",
                                        process.sourceline, key, "process"))
                continue
            digest = hashlib.sha256(f.content)
            for name in sorted(form_files):
                digest.update(forms[name].content)
            digest.update(dmn_bytes)
            models.append(ProcessModel(
                key=key, name=process.get("name") or key, file=f.name, dialect=dialect,
                spec=spec, subprocess_specs=subprocess_specs, elements=elements,
                content_hash=digest.hexdigest()))
    return models


_IMPLEMENT_ADVICE = ('set camunda:type="external" and camunda:topic for a worker to fetch it by (camunda:class or '
                     'camunda:delegateExpression also make it an external task, named after the Java code), or a '
                     'spiffworkflow:serviceTaskOperator; or model the work as a script task, or as a user task if a '
                     'person does it')


def _check_service_tasks(f: _File, dialect: str, problems: list[Problem]) -> int:
    """Service tasks Stagecoach cannot run are refused by name, with what to set instead; returns how many.

    Tasks implemented in Java or by a connector are external tasks (`_java_topic`), a translatable
    camunda:expression runs in the engine (`_in_process_script`)."""
    found = 0

    def refuse(el, message: str) -> None:
        nonlocal found
        found += 1
        problems.append(Problem(f.name, message, el.sourceline, el.get("id"), local_name(el)))

    for tag in _SERVICE_TAGS:
        for el in f.root.iter(f"{{{BPMN_NS}}}{tag}"):
            if tag == "businessRuleTask" and el.get(f"{{{CAMUNDA_NS}}}decisionRef"):
                continue
            if _in_process_script(el) is not None:
                result = (el.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
                if result and not result.isidentifier():
                    refuse(el, f"camunda:resultVariable {result!r} must be a variable name")
            elif _is_external(el):
                if not _external(el)["topic"]:
                    refuse(el, "an external task (camunda:type=\"external\") needs camunda:topic, the topic its "
                               "workers fetch it by (zeebe:taskDefinition: its type)")
            elif tag == "businessRuleTask" and dialect == "camunda":
                refuse(el, "a business rule task needs camunda:decisionRef naming a deployed DMN decision")
            elif tag == "serviceTask" and not _has_spiff_operator(el):
                refuse(el, f"service task {el.get('id')!r} has no implementation: " + _IMPLEMENT_ADVICE)
    return found


def _has_spiff_operator(el) -> bool:
    return el.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}serviceTaskOperator") is not None


_COMPENSATION_ADVICE = ("undo the work explicitly: an error boundary event (or an exclusive gateway) followed by "
                        "the undoing task on ordinary sequence flows")
_GLOBAL_TASKS = ("globalTask", "globalUserTask", "globalManualTask", "globalScriptTask", "globalBusinessRuleTask")


def _check_unsupported(f: _File, problems: list[Problem]) -> int:
    """Name every element SpiffWorkflow 3.2 parses but cannot execute (or refuses with an unhelpful
    message), each with its line, its id and what to model instead. Returns how many were found."""
    found: list[Problem] = []

    def refuse(el, message: str) -> None:
        found.append(Problem(f.name, message, el.sourceline, el.get("id"), local_name(el)))

    def event_of(definition):
        parent = definition.getparent()
        return parent if parent is not None and parent.get("id") else definition

    for el in f.root.iter(f"{{{BPMN_NS}}}complexGateway"):
        refuse(el, "complex gateways are not supported (SpiffWorkflow does not execute them); use an inclusive "
                   "gateway with a condition on each outgoing flow, or compute the choice in a script task "
                   "followed by an exclusive gateway")
    for definition in f.root.iter(f"{{{BPMN_NS}}}conditionalEventDefinition"):
        # Intermediate and boundary conditional events (and those starting an event sub-process) wait until
        # their condition holds, re-evaluated as the instance changes (runner._fire_conditions); a process's
        # own conditional start event has no running instance to evaluate it.
        event = event_of(definition)
        parent = event.getparent()
        if local_name(event) == "startEvent" and parent is not None and local_name(parent) == "process":
            refuse(event, "a conditional start event of a process is not supported: no instance exists yet to "
                          "evaluate its condition; start the process from a record binding with criteria "
                          "(/api/v1/bindings), or use a message start event")
    for definition in f.root.iter(f"{{{BPMN_NS}}}compensateEventDefinition"):
        event = event_of(definition)
        refuse(event, "compensation events are not supported (SpiffWorkflow refuses compensation boundary events "
                      "and ignores compensation throw events); " + _COMPENSATION_ADVICE)
    for el in f.root.iter():
        if isinstance(el.tag, str) and el.get("isForCompensation") == "true":
            refuse(el, 'compensation handlers (isForCompensation="true") are never run; ' + _COMPENSATION_ADVICE)
    referenced_stores = set()
    for el in f.root.iter(f"{{{BPMN_NS}}}dataStoreReference"):
        referenced_stores.add(el.get("dataStoreRef"))
        refuse(el, "data stores are not supported: nothing stands behind a bpmn:dataStore; keep the data in "
                   "process variables, or read and write it in a script or service task")
    for el in f.root.iter(f"{{{BPMN_NS}}}dataStore"):
        if el.get("id") not in referenced_stores:
            refuse(el, "data stores are not supported: nothing stands behind a bpmn:dataStore; keep the data in "
                       "process variables, or read and write it in a script or service task")
    for el in f.root.iter(f"{{{BPMN_NS}}}adHocSubProcess"):
        refuse(el, "ad-hoc sub-processes are not supported (SpiffWorkflow fails when it runs them); use a "
                   "sub-process whose tasks follow a parallel or inclusive gateway")
    for tag in _GLOBAL_TASKS:
        for el in f.root.iter(f"{{{BPMN_NS}}}{tag}"):
            refuse(el, "global tasks are not supported (a call activity can only call a process); model the task "
                       "inside the process, or make it a process of its own for the call activity to call")
    for tag in ("choreography", "globalChoreographyTask"):
        for el in f.root.iter(f"{{{BPMN_NS}}}{tag}"):
            refuse(el, "choreographies are not executed; model what each participant does as a process "
                       '(isExecutable="true") and deploy that')
    for el in f.root.iter(f"{{{BPMN_NS}}}scriptTask"):
        language = (el.get("scriptFormat") or "").strip()
        resource = el.get(f"{{{CAMUNDA_NS}}}resource")
        if not _is_python(language):
            refuse(el, f"scriptFormat {language!r} is not supported: scripts are Python run in the sandbox; rewrite "
                       f"the script in Python (scriptFormat=\"python\"), or make the task an external task "
                       f"(camunda:type=\"external\") for a worker in that language")
        elif resource:
            refuse(el, f"a script from a resource (camunda:resource={resource!r}) is not supported: write the "
                       f"Python script inline, in the task's bpmn:script")
        elif not (el.findtext(f"{{{BPMN_NS}}}script") or "").strip():
            refuse(el, "a script task needs a script: write it in Python in the task's bpmn:script")
    found.sort(key=lambda p: p.line or 0)
    problems.extend(found)
    return len(found)


_PYTHON = {"", "python", "python3", "py", "text/x-python", "text/python", "application/x-python"}


def _is_python(script_format: str) -> bool:
    return script_format.strip().lower() in _PYTHON


def _problem_from(exc: SpiffWorkflowException, f: _File) -> Problem:
    element_id = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or None
    message = str(exc.args[0]) if exc.args else str(exc)
    tag = getattr(exc, "tag", None) or None
    called = _MISSING_PROCESS.match(message)
    if called and not element_id and f.root is not None:  # SpiffWorkflow names neither file nor element
        callers = f.root.xpath("//bpmn:callActivity[@calledElement=$p]", namespaces={"bpmn": BPMN_NS},
                               p=called["process"])
        if callers:
            element_id, line, tag = callers[0].get("id"), callers[0].sourceline, "callActivity"
    if element_id and not line and f.root is not None:
        found = f.root.xpath("//*[@id=$i]", i=element_id)
        line = found[0].sourceline if found else None
    for pattern, explain in _SPIFF_MESSAGES:
        match = pattern.search(message)
        if match:
            message = explain(match, element_id)
            break
    return Problem(getattr(exc, "file_name", None) or f.name, message, int(line) if line else None,
                   element_id, tag)


_MISSING_PROCESS = re.compile(r"^The process '(?P<process>[^']+)' was not found")

# SpiffWorkflow's own validation messages, said with what to do instead.
_SPIFF_MESSAGES = [
    (re.compile(r"^Non-default exclusive outgoing sequence flow without condition"),
     lambda m, eid: f"sequence flow {eid!r} leaves an exclusive gateway without a condition and is not its default "
                    f"flow; give it a conditionExpression (a label is not one), or make it the gateway's "
                    f"default=\"{eid}\""),
    (re.compile(r"Unknown Time Specification"),
     lambda m, eid: f"timer event {eid!r} has no time definition; give its timerEventDefinition a timeDuration "
                    f"(PT1H), timeDate (2030-01-31T09:00:00Z) or timeCycle (R3/PT1H, or cron 0 0 9 * * ?)"),
    (re.compile(r"^A multiinstance task must specify a cardinality or a collection"),
     lambda m, eid: f"multi-instance activity {eid!r} says neither how many instances nor over what; set "
                    f"loopCardinality (a number or expression) or camunda:collection (a list variable) on its "
                    f"multiInstanceLoopCharacteristics"),
    (re.compile(r'^No "calledElement" attribute for Call Activity'),
     lambda m, eid: f"call activity {eid!r} names no process to call; set calledElement to the id of a process "
                    f"deployed with it"),
    (_MISSING_PROCESS,
     lambda m, eid: f"call activity {eid!r} calls process {m['process']!r}, which is not in this deployment; deploy "
                    f"the file that defines it together with this one (or earlier, in a deployment of its own)"),
    (re.compile(r"^Exactly one start event is required in a SubWorkflow Task; found (?P<count>\d+)"),
     lambda m, eid: f"sub-process {eid!r} has {m['count']} start events; a sub-process starts at exactly one none "
                    f"start event (use an event sub-process for a start triggered by a message, timer or signal)"),
]


def _check_expressions(f: _File, sandbox: Sandbox, problems: list[Problem]) -> None:
    """Compile every script and condition of a diagram in the sandbox; name every JUEL/FEEL
    expression that `_translate_expressions` could not translate."""
    for el in f.root.iter():
        if not isinstance(el.tag, str):
            continue
        name = local_name(el)
        if name == "script" and etree.QName(el).namespace == BPMN_NS:
            if not _is_python(el.getparent().get("scriptFormat") or ""):
                continue  # refused by `_check_unsupported`, language and all
            source, mode = el.text or "", "exec"
        elif name in CONDITION_TAGS:
            source, mode = (el.text or "").strip(), "eval"
        elif name in (*TIMER_TAGS, "loopCardinality"):
            source, mode = (el.text or "").strip(), None  # checked only when untranslated
        else:
            continue
        if not source.strip():
            continue
        owner = _owner(el)
        if is_modeler_expression(source):
            try:
                translate(source)
            except TranslationError as exc:
                advice = _spaced_name_advice(source)
                problems.append(Problem(
                    f.name, f"expression {source.strip()!r} cannot be translated: {exc.message} at column "
                            f"{exc.column}{advice}", el.sourceline, owner.get("id"), local_name(owner)))
            continue
        if mode is None:
            continue
        try:
            sandbox.check(source, mode)
        except ScriptError as exc:
            line = el.sourceline + (exc.line - 1 if exc.line else 0)
            message = f"{'script' if mode == 'exec' else 'expression'} cannot run: {exc}"
            if mode == "eval" and "SyntaxError" in str(exc):
                language = el.get("language") or f.root.get("expressionLanguage") or XPATH
                message = _condition_advice(source, language)
            problems.append(Problem(f.name, message, line, owner.get("id"), local_name(owner)))


XPATH = "http://www.w3.org/1999/XPath"  # the expression language of BPMN when a diagram names none
_SPACED_NAME = re.compile(r"(?<![\w\"'.])([A-Za-z_]\w*(?: [A-Za-z_]\w*)+)(?=\s*(?:[.=<>!+\-*/)]|$))")
_KEYWORDS = {"and", "or", "not", "in", "is", "if", "then", "else", "for", "some", "every", "satisfies", "return",
             "between", "instance", "of", "true", "false", "null"}


def _spaced_name(source: str) -> str | None:
    """The first name with spaces in an expression (FEEL allows `Vacation Approval`), or None."""
    for match in _SPACED_NAME.finditer(re.sub(r"\"[^\"]*\"|'[^']*'", "''", source)):
        if not set(match.group(1).lower().split()) & _KEYWORDS:
            return match.group(1)
    return None


def _spaced_name_advice(source: str) -> str:
    name = _spaced_name(source)
    if not name:
        return ""
    return (f"; the name {name!r} has spaces (FEEL allows them, the sandbox does not): name the variable "
            f"{name.replace(' ', '_')!r} and write that")


def _condition_advice(source: str, language: str) -> str:
    """Why a condition that is not a Python expression cannot run, and what to write instead."""
    text = source.strip()
    if "getDataObject" in text:
        return (f"condition {text!r} is XPath (bpmn:getDataObject, BPMN's default expression language), "
                f"which Stagecoach does not evaluate; write it over process variables in Python "
                f"(approved == 'yes'), JUEL (${{approved == 'yes'}}) or FEEL (= approved = \"yes\")")
    if "feel" in language.lower():
        return (f"condition {text!r} is FEEL (language {language}); write it as `= <expression>` so it is "
                f"translated{_spaced_name_advice(text) or ', over variable names without spaces'}")
    name = _spaced_name(text)
    hint = f" ({name!r} is not a variable name)" if name else ""
    return (f"condition {text!r} is not an expression{hint}: descriptive models write conditions in prose; write it "
            f"over process variables in Python (service_level == 'Premium') or JUEL (${{serviceLevel == 'Premium'}})")


def _owner(el):
    """The nearest element with an id: the flow of a condition, the task of a loop, the event of a timer."""
    owner = el.getparent()
    while owner.getparent() is not None and (not owner.get("id") or local_name(owner).endswith(
            ("EventDefinition", "LoopCharacteristics"))):
        owner = owner.getparent()
    return owner


def _elements(f: _File, process, forms, problems) -> tuple[dict, set[str]]:
    """What the server needs to know of each flow node: names, assignment, forms."""
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    elements: dict[str, dict] = {}
    form_files: set[str] = set()
    for el in process.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS or not el.get("id"):
            continue
        kind = local_name(el)
        if kind in {"sequenceFlow", "process"}:
            for problem in iomapping.misplaced_listeners(el):
                problems.append(Problem(f.name, problem.message, problem.line, el.get("id"), kind))
        if kind in {"sequenceFlow", "lane", "laneSet", "flowNodeRef", "process", "documentation",
                    "extensionElements", "dataObject", "dataObjectReference", "dataStoreReference",
                    "textAnnotation", "association", "ioSpecification", "dataInput", "dataOutput",
                    "inputSet", "outputSet", "dataInputAssociation", "dataOutputAssociation",
                    "conditionExpression", "timerEventDefinition", "messageEventDefinition",
                    "signalEventDefinition", "errorEventDefinition", "escalationEventDefinition",
                    "terminateEventDefinition", "property", "multiInstanceLoopCharacteristics",
                    "standardLoopCharacteristics"}:
            continue
        info: dict = {"type": kind, "name": el.get("name") or el.get("id")}
        trigger = _trigger(el, f.root)
        if trigger:
            info["trigger"] = trigger
        if kind == "startEvent" and el.get(f"{{{CAMUNDA_NS}}}initiator"):
            info["initiator"] = el.get(f"{{{CAMUNDA_NS}}}initiator").strip()
        asynchronous = _asynchronous(el)
        if asynchronous:
            info["async"] = asynchronous
        external = _external(el)
        if external:
            info["external"] = external
            for what in ("topic", "priority"):
                problem = _assignment_problem(external.get(what))
                if problem:
                    problems.append(Problem(f.name, f"external task {what} {external[what]!r} cannot be evaluated: "
                                                    f"{problem}", el.sourceline, el.get("id"), kind))
        properties = _properties(el)
        if properties:
            info["properties"] = properties
        mapping, mapping_problems = iomapping.read(el)
        if mapping:
            info["io"] = mapping
        for problem in mapping_problems:
            problems.append(Problem(f.name, problem.message, problem.line, el.get("id"), kind))
        if kind == "startEvent" and el.getparent() is process:  # a start form: what starting it asks for
            form, form_file = _form(f, el, forms, problems)
            camunda_form = _camunda_form(f, el, forms, problems)
            if camunda_form is not None:
                form, form_file, info["camunda_form"] = camunda_form
            if form.get("properties") or camunda_form is not None:
                info["form"] = form
            zeebe_form = _zeebe(el, "formDefinition")
            form_key = el.get(f"{{{CAMUNDA_NS}}}formKey") or (
                zeebe_form.get("formKey") if zeebe_form is not None else None)
            if form_key:
                info["form_key"] = form_key
            if form_file:
                form_files.add(form_file)
        if kind in HUMAN_TASK_TYPES:
            info.update(_assignment(f, el, lanes, problems))
            form, form_file = _form(f, el, forms, problems)
            camunda_form = _camunda_form(f, el, forms, problems)
            if camunda_form is not None:
                form, form_file, info["camunda_form"] = camunda_form
            info["form"] = form
            if form_file:
                form_files.add(form_file)
        elements[el.get("id")] = info
    return elements, form_files


_RETRY_CYCLE = re.compile(r"^R(\d+)/(P\S+)$")


def _asynchronous(el) -> dict | None:
    """camunda:asyncBefore (or the older camunda:async): run the task as a job; camunda:asyncAfter:
    run what follows it as a job, once it is done. Failed jobs are retried on the cycle of
    camunda:failedJobRetryTimeCycle (default three tries, five minutes apart)."""
    before = (el.get(f"{{{CAMUNDA_NS}}}asyncBefore") or el.get(f"{{{CAMUNDA_NS}}}async") or "").lower() == "true"
    after = (el.get(f"{{{CAMUNDA_NS}}}asyncAfter") or "").lower() == "true"
    if not before and not after:
        return None
    retries, interval = 3, "PT5M"
    cycle = el.find(f".//{{{CAMUNDA_NS}}}failedJobRetryTimeCycle")
    if cycle is not None and _RETRY_CYCLE.match((cycle.text or "").strip()):
        match = _RETRY_CYCLE.match(cycle.text.strip())
        retries, interval = int(match.group(1)), match.group(2)
    return {"retries": retries, "interval": interval, "before": before, "after": after}


def _zeebe(el, name: str):
    """The element's own zeebe:`name` extension (Camunda 8 Modeler), or None."""
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    return None if ext is None else ext.find(f"{{{ZEEBE_NS}}}{name}")


_SERVICE_TAGS = ("serviceTask", "sendTask", "businessRuleTask")
_MESSAGE_THROW_TAGS = ("intermediateThrowEvent", "endEvent")
_JAVA_IMPLEMENTATIONS = ("class", "delegateExpression", "expression")
_WRAPPED_EXPRESSION = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)


def _implementation_node(el):
    """The element carrying a task's camunda: implementation: the task itself, or the
    messageEventDefinition of a message throw or end event; None for other elements."""
    kind = local_name(el)
    if kind in _SERVICE_TAGS:
        if kind == "businessRuleTask" and el.get(f"{{{CAMUNDA_NS}}}decisionRef"):
            return None
        return el
    if kind in _MESSAGE_THROW_TAGS:
        return el.find(f"{{{BPMN_NS}}}messageEventDefinition")
    return None


def _in_process_script(el) -> str | None:
    """A camunda:expression that translates to sandbox Python, as the script that runs it in the engine
    (storing camunda:resultVariable when given); None when there is none or it cannot be translated."""
    if local_name(el) not in _SERVICE_TAGS or _implementation_node(el) is None:
        return None
    expression = el.get(f"{{{CAMUNDA_NS}}}expression")
    if not expression or el.get(f"{{{CAMUNDA_NS}}}class") or el.get(f"{{{CAMUNDA_NS}}}delegateExpression"):
        return None
    try:
        python = translate(expression)
    except TranslationError:
        return None
    result = (el.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
    return f"{result} = ({python})" if result else f"({python})"


def _translates(expression: str) -> bool:
    try:
        translate(expression)
    except TranslationError:
        return False
    return True


def _connector_id(el) -> str | None:
    """The camunda:connectorId of a camunda:connector (http-connector, soap-http-connector, ...)."""
    connector = el.find(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}connector")
    if connector is None:
        return None
    return (connector.findtext(f"{{{CAMUNDA_NS}}}connectorId") or "").strip() or None


def _java_topic(el) -> tuple[str, str] | None:
    """(implementation, topic) of a task whose work Camunda 7 did in Java, or by a connector.

    As the Camunda 7 to 8 migration tooling does, such a task becomes an external task that a worker
    fetches by a topic named after the code: the class name (camunda:class), the bean of a delegate
    expression (`${loggerDelegate}` -> `loggerDelegate`; a longer expression without its `${}`), the text of
    a camunda:expression that does not translate to sandbox Python, or the connector's id."""
    node = _implementation_node(el)
    if node is None:
        return None
    for attr in _JAVA_IMPLEMENTATIONS:
        value = (node.get(f"{{{CAMUNDA_NS}}}{attr}") or "").strip()
        if not value:
            continue
        if attr == "expression" and (_in_process_script(el) is not None if node is el else _translates(value)):
            return None  # runs in the engine (on a message event: the payload SpiffWorkflow evaluates)
        if attr != "class":
            wrapped = _WRAPPED_EXPRESSION.match(value)
            value = wrapped.group(1).strip() if wrapped else value
        return f"camunda:{attr}", value
    if node is el:
        connector = _connector_id(el)
        if connector:
            return "camunda:connector", connector
    return None


def _is_external(el) -> bool:
    """camunda:type="external", a Zeebe service task with zeebe:taskDefinition, or a task (or message
    throw event) implemented in Java or by a connector."""
    node = _implementation_node(el) if local_name(el) in _MESSAGE_THROW_TAGS else el
    if node is None:
        return False
    return node.get(f"{{{CAMUNDA_NS}}}type") == "external" or (
        local_name(el) == "serviceTask" and _zeebe(el, "taskDefinition") is not None) or (
        _java_topic(el) is not None)


def _external(el) -> dict | None:
    """camunda:type="external" (or zeebe:taskDefinition type="..."): a worker fetches the task by its
    camunda:topic (the Zeebe type) and completes it. A task implemented in Java or by a connector is
    fetched by the topic `_java_topic` names, and says which implementation it replaces."""
    if not _is_external(el):
        return None
    node = _implementation_node(el) if local_name(el) in _MESSAGE_THROW_TAGS else el
    topic = node.get(f"{{{CAMUNDA_NS}}}topic")
    definition = _zeebe(el, "taskDefinition")
    if not topic and definition is not None:
        topic = definition.get("type")
    info = {"topic": (topic or "").strip()}
    java = None if node.get(f"{{{CAMUNDA_NS}}}type") == "external" or definition is not None else _java_topic(el)
    if java is not None:
        info["implementation"], info["topic"] = java
    # camunda:taskPriority of the task, else of its process: an integer or one ${expression}
    priority = el.get(f"{{{CAMUNDA_NS}}}taskPriority")
    process = next((a for a in el.iterancestors(f"{{{BPMN_NS}}}process")), None)
    if priority is None and process is not None:
        priority = process.get(f"{{{CAMUNDA_NS}}}taskPriority")
    if priority and priority.strip():
        info["priority"] = priority.strip()
    return info


def _trigger(el, root) -> dict | None:
    """What an event (or receive task) waits for: {kind: message|signal|timer, name}."""
    if local_name(el) == "receiveTask" and el.get("messageRef"):
        return {"kind": "message", "name": _ref_name(root, "message", el.get("messageRef"))}
    for child in el:
        if not isinstance(child.tag, str):
            continue
        kind = local_name(child)
        if kind == "messageEventDefinition":
            return {"kind": "message", "name": _ref_name(root, "message", child.get("messageRef"))}
        if kind == "signalEventDefinition":
            return {"kind": "signal", "name": _ref_name(root, "signal", child.get("signalRef"))}
        if kind == "timerEventDefinition":
            return {"kind": "timer", "name": el.get("name") or el.get("id")}
        if kind == "conditionalEventDefinition":
            return {"kind": "condition", "name": el.get("name") or el.get("id")}
    return None


def _ref_name(root, tag: str, ref: str | None) -> str | None:
    if not ref:
        return None
    found = root.xpath(f"//bpmn:{tag}[@id=$ref]", namespaces={"bpmn": BPMN_NS}, ref=ref)
    return (found[0].get("name") or ref) if found else ref


def _properties(el) -> dict[str, str]:
    """camunda:property and spiffworkflow:property name/value pairs of the element itself."""
    props: dict[str, str] = {}
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return props
    for ns in (CAMUNDA_NS, SPIFF_NS):
        for container in ext.findall(f"{{{ns}}}properties"):
            for prop in container.findall(f"{{{ns}}}property"):
                if prop.get("name"):
                    props[prop.get("name")] = prop.get("value") or ""
    return props


def _split(value: str | None) -> list[str]:
    """A candidate list as written: `a, b, ${c}` (commas inside `${...}` kept), or one FEEL `= ...`
    expression, which may give a list (`= ["sales", "managers"]`)."""
    text = (value or "").strip()
    if text.startswith("="):
        return [text]
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}" and depth > 0
        current += ch
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def _assignment(f: _File, el, lanes, problems) -> dict:
    zeebe = _zeebe(el, "assignmentDefinition")
    schedule = _zeebe(el, "taskSchedule")
    extra = {k: v for k, v in (zeebe.attrib if zeebe is not None else {}).items()}
    extra.update({k: v for k, v in (schedule.attrib if schedule is not None else {}).items()})
    priority_def = _zeebe(el, "priorityDefinition")
    if priority_def is not None and priority_def.get("priority"):
        extra["priority"] = priority_def.get("priority")

    def attr(name):  # camunda:name, else the zeebe extension's attribute of that name
        return el.get(f"{{{CAMUNDA_NS}}}{name}") or extra.get(name)

    assignee = attr("assignee")
    users = _split(attr("candidateUsers"))
    groups = _split(attr("candidateGroups"))
    if el.get("id") in lanes:
        groups.append(lanes[el.get("id")])
    for value in [assignee, *users, *groups]:
        problem = _assignment_problem(value)
        if problem:
            problems.append(Problem(f.name, f"assignment expression {value!r} is not supported: {problem}",
                                    el.sourceline, el.get("id"), local_name(el)))
    priority = (attr("priority") or "").strip() or None
    if priority and not is_modeler_expression(priority) and not re.fullmatch(r"[+-]?\d+", priority):
        problems.append(Problem(f.name, f"camunda:priority {priority!r} must be an integer or one ${{expression}}",
                                el.sourceline, el.get("id"), local_name(el)))
    form = _zeebe(el, "formDefinition")
    form_key = el.get(f"{{{CAMUNDA_NS}}}formKey") or (form.get("formKey") if form is not None else None)
    return {"assignee": assignee, "candidate_users": users, "candidate_groups": list(dict.fromkeys(groups)),
            "due_date": attr("dueDate"), "follow_up_date": attr("followUpDate"), "priority": priority,
            "form_key": form_key}


def _assignment_problem(value: str | None) -> str | None:
    """Why a camunda:assignee / candidate value cannot be resolved, or None if it can."""
    if not value:
        return None
    if is_modeler_expression(value):
        try:
            translate(value)
        except TranslationError as exc:
            return f"{exc.message} at column {exc.column}"
        return None
    if "{" in value:
        return "write a plain name or one ${expression}, not text around ${...}"
    return None


_CAMUNDA_TYPES = {"string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
                  "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
                  "double": {"type": "number"}}


def _camunda_form(f: _File, el, forms, problems) -> tuple[dict, str | None, dict] | None:
    """A Camunda form (form-js) the task names, as (JSON Schema, deployed file or None, the form), or None.

    Named by camunda:formRef (the form's id), camunda:formKey "camunda-forms:deployment:<file>" (or
    "camunda-forms:app:<file>", used when the file is deployed too), zeebe:formDefinition formId, or
    formKey "camunda-forms:bpmn:<id>" naming a zeebe:userTaskForm embedded in the diagram."""
    def refuse(message: str):
        problems.append(Problem(f.name, message, el.sourceline, el.get("id"), local_name(el)))
        return None

    zeebe = _zeebe(el, "formDefinition")
    ref = el.get(f"{{{CAMUNDA_NS}}}formRef") or (zeebe.get("formId") if zeebe is not None else None)
    key = el.get(f"{{{CAMUNDA_NS}}}formKey") or (zeebe.get("formKey") if zeebe is not None else None) or ""
    if ref:
        found = forms.get(f"id:{ref}")
        if found is None:
            return refuse(f"form {ref!r} is not part of the deployment; deploy its .form file with the diagram")
        document = json.loads(found.content)
        return formjs.form_schema(document), Path(found.name).name, document
    if key.startswith("camunda-forms:bpmn:"):
        embedded = f.root.xpath("//zeebe:userTaskForm[@id=$i]", namespaces={"zeebe": ZEEBE_NS},
                                i=key.split(":", 2)[2])
        if not embedded:  # a form the client knows by that key: served as the form key, nothing to check
            return None
        try:
            document = json.loads(embedded[0].text or "")
            return formjs.form_schema(document), None, document
        except (ValueError, formjs.FormError) as exc:
            return refuse(f"embedded form {key!r} is not a Camunda form (form-js JSON): {_first_line(exc)}")
    for prefix in ("camunda-forms:deployment:", "camunda-forms:app:"):
        if key.startswith(prefix):
            found = forms.get(Path(key[len(prefix):]).name)
            if found is not None and found.kind == "form":
                document = json.loads(found.content)
                return formjs.form_schema(document), Path(found.name).name, document
            if prefix == "camunda-forms:deployment:":
                return refuse(f"form {key[len(prefix):]!r} is not part of the deployment; deploy it with the diagram")
    return None


def _form(f: _File, el, forms, problems) -> tuple[dict, str | None]:
    """The task's form as a JSON Schema, from camunda:formField or a spiffworkflow form file."""
    schema: dict = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    for prop in el.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == "formJsonSchemaFilename":
            filename = prop.get("value") or ""
            if filename not in forms or forms[filename].kind != "json":
                problems.append(Problem(f.name, f"form schema {filename!r} is not part of the deployment; "
                                                "upload it with the diagram", prop.sourceline, el.get("id"),
                                        local_name(el)))
                return schema, None
            return json.loads(forms[filename].content), filename
    for field_el in el.iter(f"{{{CAMUNDA_NS}}}formField"):
        fid = field_el.get("id")
        ftype = field_el.get("type") or "string"
        if ftype not in _CAMUNDA_TYPES:
            problems.append(Problem(f.name, f"form field {fid!r} has unsupported type {ftype!r} "
                                            f"(use one of {', '.join(sorted(_CAMUNDA_TYPES))})",
                                    field_el.sourceline, el.get("id"), local_name(el)))
            continue
        prop: dict = dict(_CAMUNDA_TYPES[ftype])
        prop["title"] = field_el.get("label") or fid
        if field_el.get("defaultValue") is not None:
            prop["default"] = field_el.get("defaultValue")
        if ftype == "enum":
            prop["enum"] = [v.get("id") for v in field_el.iter(f"{{{CAMUNDA_NS}}}value")]
        for constraint in field_el.iter(f"{{{CAMUNDA_NS}}}constraint"):
            cname, cvalue = constraint.get("name"), constraint.get("config")
            try:
                if cname == "required":
                    schema["required"].append(fid)
                elif cname == "readonly":
                    prop["readOnly"] = True
                elif cname in {"min", "max"} and ftype in {"long", "double"}:
                    prop["minimum" if cname == "min" else "maximum"] = float(cvalue)
                elif cname in {"minlength", "maxlength"}:
                    prop["minLength" if cname == "minlength" else "maxLength"] = int(cvalue)
            except (TypeError, ValueError):
                problems.append(Problem(f.name, f"constraint {cname} of form field {fid!r} needs a number",
                                        constraint.sourceline, el.get("id"), local_name(el)))
        schema["properties"][fid] = prop
    return schema, None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_ASSIGNMENT_SANDBOX = Sandbox()  # no functions: assignment expressions only read task data


def resolve_assignment(value: str | None, data: dict) -> str | None:
    """A literal name, or the value of a `${...}` (or FEEL `= ...`) expression over the task's data.

    A property path (`${owner}`, `${approval.approver}`, `${approvers[0]}`) is read directly;
    any other translatable expression (`${region == 'EU' ? 'eu_team' : 'team'}`) runs in a
    function-free sandbox. A missing variable or a failing expression gives None.
    """
    if not value:
        return None
    if not is_modeler_expression(value):
        return value
    current = _expression_value(value, data)
    return None if current is None else str(current)


def _expression_value(value: str, data: dict):
    """The value of a modeler expression over `data`: a property path read directly, anything else
    evaluated in the function-free sandbox; None when it cannot be evaluated."""
    try:
        path = property_path(value)
        return _ASSIGNMENT_SANDBOX.evaluate(translate(value), data) if path is None else _read_path(data, path)
    except (TranslationError, ScriptError):
        return None


def resolve_candidates(values, data: dict) -> list[str]:
    """Candidate users or groups: literal names, and expressions giving a name, a list of names or
    a comma-separated text of names (as Camunda accepts)."""
    names: list[str] = []
    for value in values or ():
        if not is_modeler_expression(value):
            names.append(value)
            continue
        current = _expression_value(value, data)
        if isinstance(current, (list, tuple)):
            names.extend(str(item) for item in current if item not in (None, ""))
        elif current not in (None, ""):
            names.extend(_split(str(current)))
    return list(dict.fromkeys(names))


def _read_path(data: dict, path: list[str | int]):
    current = data
    for part in path:
        if isinstance(part, str) and isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(part, int) and isinstance(current, list) and -len(current) <= part < len(current):
            current = current[part]
        else:
            return None
    return current


def resolve_priority(value: str | None, data: dict) -> int:
    """A task's priority from camunda:priority: an integer or `${variable}`; default (or unreadable) 50."""
    raw = resolve_assignment(value, data) if value else None
    try:
        return int(str(raw).strip()) if raw is not None else 50
    except ValueError:
        try:
            return int(float(raw))
        except (TypeError, ValueError):
            return 50


def resolve_due_date(value: str | None, data: dict, now: dt.datetime) -> dt.datetime | None:
    """A task's due time from camunda:dueDate: an ISO date-time, an ISO duration
    from now (P2D, PT4H), or `${variable}` holding either. Unreadable → None."""
    raw = resolve_assignment(value, data) if value else None
    if not raw:
        return None
    try:
        if raw.startswith("P"):
            return now + TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(raw), now)
        when = dt.datetime.fromisoformat(raw)
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    except (ValueError, TypeError, AttributeError):
        return None
