"""Element metadata: what the server needs to know of each flow node, read from the diagram at deploy.

`ElementReader` gives, per element id, its type and name and whatever applies to it: the trigger an event
waits for, a start event's initiator, asynchronous continuation and its retries, an external task's topic
and priority, camunda: and spiffworkflow: properties, input/output mappings, a user task's assignment
(assignee, candidates, lane, due dates, priority) and forms. Each element is read once, when SpiffWorkflow's
parser parses it. It is stored with the definition; at run time `resolvers` reads the assignment against a
task's data.
"""
from __future__ import annotations

import re

from .. import iomapping
from ..expressions import TranslationError, is_modeler_expression, translate
from ..resolvers import split_candidates
from ..xml import Problem, local_name
from .forms import _camunda_form, _form
from .implementation import _external
from .reading import BPMN_NS, CAMUNDA_NS, SPIFF_NS, _File, _zeebe

HUMAN_TASK_TYPES = {"userTask", "manualTask"}


_NOT_FLOW_NODES = {"sequenceFlow", "process"}


class ElementReader:
    """Reads each flow node's metadata once, as SpiffWorkflow's parser parses it.

    The deployment's parser calls `read` from its process parsers' `parse_node` (`tasks._ReadsElements`),
    SpiffWorkflow's own extension point for every node of a process or sub-process it builds. `elements`
    then holds, per executable process id, what `_element_info` found for each element of it (those of its
    embedded sub-processes included), and `form_files` the form files its forms came from. Problems go to
    the deployment's list, with file, line and element."""

    def __init__(self, files, forms, problems):
        self.files = {f.name: f for f in files}
        self.forms = forms
        self.problems = problems
        self.elements: dict[str, dict[str, dict]] = {}
        self.form_files: dict[str, set[str]] = {}
        self._lanes: dict[str, dict[str, str]] = {}

    def read(self, node, filename: str | None) -> None:
        f = self.files.get(filename)
        element_id = node.get("id")
        process = next(node.iterancestors(f"{{{BPMN_NS}}}process"), None)
        if f is None or process is None or not element_id or local_name(node) in _NOT_FLOW_NODES:
            return
        key = process.get("id")
        elements = self.elements.setdefault(key, {})
        if element_id in elements:
            return
        if key not in self._lanes:
            self._lanes[key] = _lanes(process)
        elements[element_id] = _element_info(f, node, process, self._lanes[key], self.forms, self.problems,
                                             self.form_files.setdefault(key, set()))

    def read_unreached(self, f: _File, process, parser) -> None:
        """Read the flow nodes of a process that SpiffWorkflow did not reach: ones no path leads to, or every
        node past the one a refused or failing file stopped at, so that a refusal lists all their problems."""
        node_tags = {*parser.PARSER_CLASSES, *parser.OVERRIDE_PARSER_CLASSES}
        for node in process.iter(*node_tags):
            self.read(node, f.name)


def _lanes(process) -> dict[str, str]:
    """The lane of each flow node of a process (by the lane's name, else its id)."""
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    return lanes


def _element_info(f: _File, el, process, lanes, forms, problems, form_files: set[str]) -> dict:
    """What the server needs to know of one flow node: name, trigger, jobs, mappings, assignment, forms."""
    kind = local_name(el)
    info: dict = {"type": kind, "name": el.get("name") or el.get("id")}
    incoming = _incoming(el)
    if incoming:
        info["incoming"] = incoming
    trigger = _trigger(el, f.root)
    if trigger:
        info["trigger"] = trigger
    if kind == "startEvent" and el.getparent() is not process:
        # a sub-process's or an event sub-process's: it starts no instance (a message, signal or timer of an
        # event sub-process reaches the running instance)
        info["in_subprocess"] = True
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
    return info


def _incoming(el) -> dict[str, str]:
    """The sequence flows into a flow node, by the element each comes from: {source id: flow id} (the first
    flow where two join the same pair), so a step can name the flow a token took."""
    container, element_id = el.getparent(), el.get("id")
    if container is None:
        return {}
    flows: dict[str, str] = {}
    for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("targetRef") == element_id and flow.get("sourceRef") and flow.get("id"):
            flows.setdefault(flow.get("sourceRef"), flow.get("id"))
    return flows


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
    users = split_candidates(attr("candidateUsers"))
    groups = split_candidates(attr("candidateGroups"))
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
