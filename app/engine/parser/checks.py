"""Checks and refusals: every reason a diagram cannot run, each said with what to model instead.

Dangling references, cron cycles croniter cannot schedule, service tasks without an implementation,
elements SpiffWorkflow 3.2 parses but cannot execute, compensation that would not run as drawn
(`compensation.check_compensation`), scripts and conditions the sandbox (or V8, for JavaScript) does not
compile, JavaScript that reaches for Java, and JUEL or FEEL that does not translate become `Problem`s
naming file, line and element; so do
SpiffWorkflow's own exceptions (`_problem_from`), their messages rephrased as advice.
"""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .. import cron, iomapping
from ..expressions import TranslationError, is_modeler_expression, translate
from ..javascript import JavaScript, is_javascript, unmark
from ..sandbox import Sandbox, ScriptError, ScriptSecurityError
from ..xml import Problem, local_name
from .compensation import check_compensation
from .implementation import _SERVICE_TAGS, _external, _in_process_script, _is_external
from .reading import BPMN_NS, CAMUNDA_NS, SPIFF_NS, _File, _owner
from .rewrite import CONDITION_TAGS, TIMER_TAGS


def _check_references(f: _File) -> None:
    """The XSD does not check that flows point at existing elements; do it here."""
    ids = {el.get("id") for el in f.root.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in f.root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if ref not in ids:
                f.problems.append(Problem(f.name, f"sequence flow {attr} {ref!r} names no element of this file",
                                          flow.sourceline, flow.get("id"), "sequenceFlow"))
    for el in _bpmn_elements(f.root):
        if el.get("default") and el.get("default") not in ids:
            f.problems.append(Problem(f.name, f"default flow {el.get('default')!r} names no element of this file",
                                      el.sourceline, el.get("id"), local_name(el)))


def _bpmn_elements(root):
    """The BPMN elements of a tree: the attributes BPMN defines (`default`, `isForCompensation`) are read only
    there, never on a vendor's extension elements, whose attributes of the same name mean something else."""
    return (el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS)


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
    for sub in f.root.iter(f"{{{BPMN_NS}}}subProcess"):
        # An event sub-process inside a sub-process starts by a timer, an error, an escalation or a condition;
        # a message or signal is delivered to the process's own event sub-processes only.
        parent = sub.getparent()
        if sub.get("triggeredByEvent") != "true" or parent is None or local_name(parent) == "process":
            continue
        for start in sub.findall(f"{{{BPMN_NS}}}startEvent"):
            kinds = [local_name(c) for c in start if isinstance(c.tag, str)]
            if "messageEventDefinition" in kinds or "signalEventDefinition" in kinds:
                refuse(start, "an event sub-process started by a message or a signal is supported in the process "
                              "itself, not inside a sub-process (Stagecoach would never deliver it there); draw it "
                              "at the process level, or put a message or signal boundary event on the sub-process")
    found.extend(check_compensation(f))
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
        result = (el.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
        if not _is_python(language) and not is_javascript(language):
            refuse(el, f"scriptFormat {language!r} is not supported: scripts run in Python (the sandbox) or "
                       f"JavaScript (V8); rewrite the script in one of them (scriptFormat=\"python\" or "
                       f"\"javascript\"), or make the task an external task (camunda:type=\"external\") for a "
                       f"worker in that language")
        elif resource:
            refuse(el, f"a script from a resource (camunda:resource={resource!r}) is not supported: write the "
                       f"script inline, in the task's bpmn:script")
        elif not (el.findtext(f"{{{BPMN_NS}}}script") or "").strip():
            refuse(el, "a script task needs a script: write it in the task's bpmn:script")
        elif is_javascript(language) and result and not result.isidentifier():
            refuse(el, f"camunda:resultVariable {result!r} must be a variable name")
    found.sort(key=lambda p: p.line or 0)
    problems.extend(found)
    return len(found)


_PYTHON = {"", "python", "python3", "py", "text/x-python", "text/python", "application/x-python"}


def _is_python(script_format: str) -> bool:
    return script_format.strip().lower() in _PYTHON


def _check_misplaced_listeners(f: _File, processes, problems: list[Problem]) -> None:
    """Listeners on a process or a sequence flow have no moment to run: name each."""
    for process in processes:
        for el in [process, *process.iter(f"{{{BPMN_NS}}}sequenceFlow")]:
            for problem in iomapping.misplaced_listeners(el):
                problems.append(Problem(f.name, problem.message, problem.line, el.get("id"), local_name(el)))


def _check_expressions(f: _File, sandbox: Sandbox, problems: list[Problem]) -> None:
    """Compile every script and condition of a diagram in the sandbox (in V8 for JavaScript); name every
    JUEL/FEEL expression that `_translate_expressions` could not translate."""
    javascript = JavaScript(sandbox.limits)
    for el in f.root.iter():
        if not isinstance(el.tag, str):
            continue
        name = local_name(el)
        marked = unmark(el.text)
        if marked is not None and (name == "script" or name in CONDITION_TAGS):
            try:
                javascript.check(marked.source)
            except ScriptError as exc:  # what it reaches for says itself that it cannot run; else the syntax
                what = "script" if name == "script" else "condition"
                message = str(exc) if isinstance(exc, ScriptSecurityError) else f"JavaScript {what} cannot run: {exc}"
                problems.append(Problem(f.name, message,
                                        el.sourceline + (exc.line - 1 if exc.line else 0), _owner(el).get("id"),
                                        local_name(_owner(el))))
            continue
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
    if _recursed(exc):
        message = TOO_DEEP_TO_READ
    return Problem(getattr(exc, "file_name", None) or f.name, message, int(line) if line else None,
                   element_id, tag)


_MISSING_PROCESS = re.compile(r"^The process '(?P<process>[^']+)' was not found")

TOO_DEEP_TO_READ = ("the process is too large or nests too deeply to be read; split it into processes joined by "
                    "call activities (limits: STAGECOACH_BPMN_MAX_ELEMENTS, STAGECOACH_BPMN_MAX_SUBPROCESS_DEPTH)")


def _recursed(exc: BaseException | None) -> bool:
    """Whether `exc` is, wraps or was caused by a RecursionError (SpiffWorkflow wraps it in its own)."""
    for _ in range(10):
        if exc is None:
            return False
        if isinstance(exc, RecursionError) or "RecursionError" in str(exc.args[0] if exc.args else ""):
            return True
        exc = exc.__cause__ or exc.__context__
    return False

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
