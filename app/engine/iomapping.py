"""Input and output mappings of activities: camunda:inputOutput and zeebe:ioMapping.

Camunda Modeler writes them on tasks, sub-processes and events:

    <camunda:inputOutput>
      <camunda:inputParameter name="amount">${order.total}</camunda:inputParameter>
      <camunda:inputParameter name="approvers"><camunda:list>...</camunda:list></camunda:inputParameter>
      <camunda:outputParameter name="approved">${decision == 'yes'}</camunda:outputParameter>
    </camunda:inputOutput>
    <zeebe:ioMapping><zeebe:input source="= order.total" target="amount"/></zeebe:ioMapping>

Execution listeners (start, end) and task listeners (create, complete) written
as inline Python or JavaScript scripts run at those moments (start after the inputs,
end before the local variables go); any other listener (Java, other languages, other
events) is refused at deploy rather than silently skipped.

Semantics, as Camunda 7 defines them: input parameters are local variables of
the activity, evaluated when it starts (a person, a worker or a script sees
them); output parameters are evaluated against the activity's variables when it
ends and written to the process. Local variables do not outlive the activity:
on completion each input name gets back the value it had before (or goes).
With zeebe:ioMapping output mappings, as Camunda 8 defines them, only the
outputs leave the activity: what a worker or a person sent stays local.

At deploy `read` turns the XML into plain, storable data (`Mapping`), with every
expression already translated to sandbox Python (`expressions.translate`), so a
mapping that cannot run is refused with its line. At run time SpiffWorkflow's
task-spec events carry the work: `update_event` (the task has just inherited
its data: apply inputs) and `completed_event` (it ran: apply outputs), both
connected by `connect`. The mappings of a workflow's definition are attached to
the workflow object (`attach`, its `io_mappings`), as they are not part of
SpiffWorkflow's spec.

Call activities' camunda:in / camunda:out mappings are read the same way (inputs
and outputs of the call activity). As in Camunda, a call activity that maps
variables passes only the mapped ones into the called process (unless
`<camunda:in variables="all"/>`) and takes back only the mapped ones (unless
`<camunda:out variables="all"/>`); one without any camunda:in/out passes all
variables both ways, as SpiffWorkflow does.

Value forms: a text (a literal string, one `${...}`/`= ...` expression, or a
composite `Hello ${name}` text), `camunda:list`, `camunda:map`, and
`camunda:script` in Python (an expression whose value is the parameter's) or in
JavaScript (a script whose last value is the parameter's; as in Camunda, it may
set variables with `execution.setVariable`). An empty parameter is null.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from .expressions import TranslationError, is_modeler_expression, translate
from .javascript import JavaScript, is_javascript, mark
from .sandbox import Sandbox, ScriptError, ScriptSecurityError
from .workflow import StagecoachWorkflow

__all__ = ["attach", "caller_view", "connect", "ensure_inputs", "misplaced_listeners", "read"]

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_PYTHON_FORMATS = {"python", "py", "spiff", "spiffworkflow"}
_EMBEDDED = re.compile(r"[$#]\{")
_CHECK = Sandbox()  # compiles only: the checks of a mapping need no functions
_CHECK_JS = JavaScript()
_INTERNAL = "stagecoach_io"  # the task's internal-data key: what its inputs shadowed


class MappingProblem(Exception):
    """A parameter cannot be read; `line` is where it is written."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


# -- deploy: XML to storable mappings --------------------------------------------------

def read(el) -> tuple[dict | None, list[MappingProblem]]:
    """The element's own mappings as {"inputs": [[name, value]], "outputs": [[name, value]]}, or None,
    with every problem found (a parameter with a problem is left out)."""
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return None, []
    inputs: list = []
    outputs: list = []
    problems: list[MappingProblem] = []
    for io in ext.findall(f"{{{CAMUNDA_NS}}}inputOutput"):
        for tag, target in (("inputParameter", inputs), ("outputParameter", outputs)):
            for param in io.findall(f"{{{CAMUNDA_NS}}}{tag}"):
                name = (param.get("name") or "").strip()
                try:
                    if not name:
                        raise MappingProblem(f"camunda:{tag} needs a name", param.sourceline)
                    target.append([name, _camunda_value(param)])
                except MappingProblem as exc:
                    problems.append(exc)
    # Call activities: camunda:in / camunda:out (source, sourceExpression, target; variables="all").
    for tag, target in (("in", inputs), ("out", outputs)):
        for param in ext.findall(f"{{{CAMUNDA_NS}}}{tag}"):
            if param.get("variables") or param.get("businessKey") is not None:
                continue
            name = (param.get("target") or "").strip()
            try:
                if not name:
                    raise MappingProblem(f"camunda:{tag} needs a target (or variables=\"all\")", param.sourceline)
                if param.get("sourceExpression"):
                    target.append([name, {"expr": _translate(param.get("sourceExpression"), param.sourceline)}])
                elif param.get("source"):
                    target.append([name, {"expr": _translate("${" + param.get("source") + "}", param.sourceline)}])
                else:
                    raise MappingProblem(f"camunda:{tag} needs a source or a sourceExpression", param.sourceline)
            except MappingProblem as exc:
                problems.append(exc)
    for io in ext.findall(f"{{{ZEEBE_NS}}}ioMapping"):
        for tag, target in (("input", inputs), ("output", outputs)):
            for param in io.findall(f"{{{ZEEBE_NS}}}{tag}"):
                name = (param.get("target") or "").strip()
                try:
                    if not name:
                        raise MappingProblem(f"zeebe:{tag} needs a target", param.sourceline)
                    target.append([name, _text_value(param.get("source") or "", param.sourceline)])
                except MappingProblem as exc:
                    problems.append(exc)
    listeners = _listeners(ext, problems)
    ins, outs = ext.findall(f"{{{CAMUNDA_NS}}}in"), ext.findall(f"{{{CAMUNDA_NS}}}out")
    if not inputs and not outputs and not listeners and not ins and not outs:
        return None, problems
    mapping = {"inputs": inputs, "outputs": outputs}
    if ext.find(f"{{{ZEEBE_NS}}}ioMapping/{{{ZEEBE_NS}}}output") is not None:
        mapping["outputs_only"] = True  # Camunda 8: with output mappings, a result's other variables stay local
    if ins or outs:  # (`<camunda:in variables="all"/>` alone passes everything in and nothing back)  # a call activity that maps variables passes only those, unless variables="all"
        if not any(p.get("variables") == "all" for p in ins):
            mapping["inputs_only"] = True
        if not any(p.get("variables") == "all" for p in outs):
            mapping["outputs_only"] = True
    if listeners:
        mapping["listeners"] = listeners
    return mapping, problems


def misplaced_listeners(el) -> list[MappingProblem]:
    """Listeners on an element that has no moment to run them (a process, a sequence flow)."""
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return []
    where = "a sequence flow (event take)" if etree.QName(el).localname == "sequenceFlow" else "a process"
    return [MappingProblem(f"camunda:executionListener on {where} cannot run; do its work in a script task",
                           listener.sourceline) for listener in ext.findall(f"{{{CAMUNDA_NS}}}executionListener")]


_LISTENER_EVENTS = {"executionListener": {"start": "start", "end": "end"},
                    "taskListener": {"create": "start", "complete": "end"}}


def _listeners(ext, problems: list[MappingProblem]) -> dict[str, list[str]]:
    """Execution listeners (start, end) and task listeners (create, complete) written as Python or
    JavaScript scripts (marked as such, with their kind and event), by the moment they run:
    {"start": [script, ...], "end": [...]}. Any other listener is a problem: it cannot run here, and
    skipping it silently would change what the diagram does."""
    found: dict[str, list[str]] = {}
    for tag, events in _LISTENER_EVENTS.items():
        for listener in ext.findall(f"{{{CAMUNDA_NS}}}{tag}"):
            event = listener.get("event") or ""
            line = listener.sourceline
            script = listener.find(f"{{{CAMUNDA_NS}}}script")
            java = next((a for a in ("class", "delegateExpression", "expression") if listener.get(a)), None)
            try:
                if java is not None:
                    raise MappingProblem(
                        f"camunda:{tag} with camunda:{java} {listener.get(java)!r} cannot run (it is Java code or a "
                        "Java expression); do its work in a script task, or in an external task a worker runs",
                        line)
                if event not in events:
                    raise MappingProblem(f"camunda:{tag} event {event!r} is not supported (only "
                                         f"{' and '.join(events)}); do its work in a script task", line)
                if script is None:
                    raise MappingProblem(f"camunda:{tag} needs a camunda:script", line)
                fmt = (script.get("scriptFormat") or "").lower()
                javascript = is_javascript(fmt)
                if (fmt not in _PYTHON_FORMATS and not javascript) or script.get("resource"):
                    raise MappingProblem(
                        f"camunda:{tag} script in {script.get('scriptFormat')!r}"
                        f"{' from a resource' if script.get('resource') else ''} cannot run: scripts are Python "
                        "or JavaScript, written inline", script.sourceline)
                source = script.text or ""
                kind = "task" if tag == "taskListener" else "execution"
                try:
                    if javascript:
                        _CHECK_JS.check(source, task_listener=kind == "task")
                        source = mark(source, listener=kind, event=event)
                    else:
                        _CHECK.check(source, "exec")
                except ScriptError as exc:
                    said = f": {exc}" if javascript and isinstance(exc, ScriptSecurityError) else f" cannot run: {exc}"
                    raise MappingProblem(f"camunda:{tag} script{said}", _line(script, exc)) from None
                found.setdefault(events[event], []).append(source)
            except MappingProblem as exc:
                problems.append(exc)
    return found


def _camunda_value(node) -> dict:
    children = [c for c in node if isinstance(c.tag, str)]
    if not children:
        return _text_value(node.text or "", node.sourceline)
    child = children[0]
    kind = etree.QName(child).localname
    if kind == "list":
        return {"list": [_camunda_value(v) for v in child if isinstance(v.tag, str)]}
    if kind == "map":
        entries = []
        for entry in child:
            if not isinstance(entry.tag, str):
                continue
            if not entry.get("key"):
                raise MappingProblem("camunda:entry needs a key", entry.sourceline)
            entries.append([entry.get("key"), _camunda_value(entry)])
        return {"map": entries}
    if kind == "script":
        fmt = (child.get("scriptFormat") or "").lower()
        if fmt not in _PYTHON_FORMATS and not is_javascript(fmt):
            raise MappingProblem(f"a camunda:script parameter in {child.get('scriptFormat')!r} cannot run: scripts "
                                 "are Python or JavaScript; write scriptFormat=\"python\" with an expression, "
                                 "scriptFormat=\"javascript\", or a ${...} expression", child.sourceline)
        if child.get("resource"):
            raise MappingProblem("a camunda:script parameter loaded from a resource cannot run; write the "
                                 "script inline", child.sourceline)
        if is_javascript(fmt):
            try:
                _CHECK_JS.check(child.text or "")
            except ScriptError as exc:
                said = f": {exc}" if isinstance(exc, ScriptSecurityError) else f" cannot run: {exc}"
                raise MappingProblem(f"parameter script{said}", _line(child, exc)) from None
            return {"expr": mark(child.text or "", kind="parameter")}
        source = (child.text or "").strip()
        _check(source, child.sourceline)
        return {"expr": source}
    raise MappingProblem(f"camunda:{kind} is not a parameter value (use text, camunda:list, camunda:map or "
                         "camunda:script)", child.sourceline)


def _line(script, exc: ScriptError) -> int | None:
    """The diagram line of a script's error: the script element's line plus the error's within it."""
    return script.sourceline + (exc.line - 1 if exc.line else 0) if script.sourceline else None


def _text_value(text: str, line: int | None) -> dict:
    stripped = text.strip()
    if not stripped:
        return {"value": None}
    if is_modeler_expression(stripped) and (stripped.startswith("=") or _single_expression(stripped)):
        return {"expr": _translate(stripped, line)}
    if not _EMBEDDED.search(text):
        return {"value": text}
    return {"template": _template(text, line)}


def _single_expression(text: str) -> bool:
    """Whether a `${...}` text is one expression (not `${a} and ${b}`)."""
    try:
        translate(text)
        return True
    except TranslationError:
        return _EMBEDDED.search(text, 2) is None  # report the expression's own error


def _template(text: str, line: int | None) -> list[dict]:
    """`Dear ${name}, ...` → literal and expression parts, each expression a whole `${...}`."""
    parts: list[dict] = []
    pos = 0
    for match in _EMBEDDED.finditer(text):
        if match.start() < pos:
            continue
        end = _closing_brace(text, match.end())
        if end is None:
            raise MappingProblem(f"'{match.group(0)}' at column {match.start() + 1} is not closed", line)
        if match.start() > pos:
            parts.append({"value": text[pos:match.start()]})
        parts.append({"expr": _translate(text[match.start():end + 1], line)})
        pos = end + 1
    if pos < len(text):
        parts.append({"value": text[pos:]})
    return parts


def _closing_brace(text: str, i: int) -> int | None:
    quote = None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "}":
            return i
        i += 1
    return None


def _translate(expression: str, line: int | None) -> str:
    try:
        source = translate(expression)
    except TranslationError as exc:
        raise MappingProblem(f"expression {expression.strip()!r} cannot be translated: {exc.message} at column "
                             f"{exc.column}", line) from None
    _check(source, line)
    return source


def _check(source: str, line: int | None) -> None:
    if not source:
        raise MappingProblem("empty script parameter", line)
    try:
        _CHECK.check(source, "eval")
    except ScriptError as exc:
        raise MappingProblem(f"parameter expression cannot run: {exc}", line) from None


# -- run: SpiffWorkflow task-spec events -------------------------------------------------

def attach(wf: StagecoachWorkflow, mappings: dict[str, dict]) -> None:
    """Give a workflow its definition's mappings ({element id: mapping}) and make its specs apply them."""
    wf.io_mappings = mappings or {}
    if mappings:
        connect([wf.spec, *wf.subprocess_specs.values()])


def connect(specs) -> None:
    """Subscribe the mapping hooks to every task spec (once: the specs are shared between workflows)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if not task_spec.update_event.is_connected(_on_update):
                task_spec.update_event.connect(_on_update)
                task_spec.completed_event.connect(_on_completed)


def _mapping(task) -> dict | None:
    # The hooks are on specs, which workflows share: one that is not a StagecoachWorkflow has no mappings.
    top = task.workflow.top_workflow
    mappings = top.io_mappings if isinstance(top, StagecoachWorkflow) else None
    if not mappings or isinstance(task.task_spec, LoopTask):
        return None  # a multi-instance body: its mappings and listeners are each instance's, as in Camunda
    return mappings.get(getattr(task.task_spec, "bpmn_id", None))


def _on_update(workflow, task) -> None:
    # The task has just inherited its predecessor's data: its inputs apply afresh, then its start
    # listeners run. A failure is kept and raised by `ensure_inputs` when the task is about to run,
    # where it becomes the task's error (an incident that can be retried) instead of breaking its
    # predecessor.
    mapping = _mapping(task)
    if mapping and _starts_with_work(mapping):
        task.internal_data.pop(_INTERNAL, None)
        try:
            _apply_inputs(task, mapping)
        except WorkflowTaskException:
            pass


def ensure_inputs(task) -> None:
    """Apply the task's inputs if they are not applied yet.

    Raises:
        WorkflowTaskException: an input cannot be evaluated (the task is put in error).
    """
    mapping = _mapping(task)
    if not mapping or _INTERNAL in task.internal_data or not _starts_with_work(mapping):
        return
    try:
        _apply_inputs(task, mapping)
    except WorkflowTaskException:
        task._set_state(TaskState.ERROR)
        raise


def _starts_with_work(mapping: dict) -> bool:
    """Inputs to evaluate, start listeners to run, or data to keep for outputs-only completion."""
    return bool(mapping["inputs"] or mapping.get("listeners", {}).get("start") or mapping.get("outputs_only")
                or mapping.get("inputs_only"))


def _apply_inputs(task, mapping: dict) -> None:
    values = {name: _evaluate(task, value, "input", name) for name, value in mapping["inputs"]}
    roots = list(dict.fromkeys(name.split(".")[0] for name in values))  # `from.email` makes `from` local
    shadowed = {name: task.data[name] for name in roots if name in task.data}
    absent = [name for name in roots if name not in task.data]
    for name in roots:  # a local object starts empty: the inputs build it
        if any(v.startswith(name + ".") for v in values) and name not in values:
            task.data[name] = {}
    for name, value in values.items():
        _assign(task.data, name, value)
    for script in mapping.get("listeners", {}).get("start", ()):
        task.workflow.script_engine.execute(task, script)
    local = {"shadowed": shadowed, "absent": absent}
    if mapping.get("outputs_only") or mapping.get("inputs_only"):
        local["before"] = copy.deepcopy({k: v for k, v in task.data.items() if k not in local["absent"]
                                         and k not in shadowed})
    if mapping.get("inputs_only"):  # what the called process sees: the mapped variables only
        mapped = {name: task.data[name] for name in roots}
        task.data.clear()
        task.data.update(mapped)
    task.internal_data[_INTERNAL] = local


def caller_view(task) -> dict | None:
    """The variables of the scope around a task whose inputs are applied (a call activity that maps variables
    holds only those while the called process runs), or None for any other task."""
    local = task.internal_data.get(_INTERNAL)
    if local is None:
        return None
    if "before" in local:
        view = dict(local["before"])
    else:
        own = set(local.get("absent", [])) | set(local.get("shadowed", {}))
        view = {k: v for k, v in task.data.items() if k not in own}
    view.update(local.get("shadowed", {}))
    return view


def _on_completed(workflow, task) -> None:
    mapping = _mapping(task)
    if not mapping:
        return
    try:
        values = {name: _evaluate(task, value, "output", name) for name, value in mapping["outputs"]}
        for script in mapping.get("listeners", {}).get("end", ()):  # they still see the local variables
            task.workflow.script_engine.execute(task, script)
    except WorkflowTaskException:
        task._set_state(TaskState.ERROR)  # retried from here; its successors have not started
        raise
    local = task.internal_data.pop(_INTERNAL, None) or {}
    if "before" in local and mapping.get("outputs_only"):  # only the outputs leave the activity
        task.data.clear()
        task.data.update(local["before"])
    elif "before" in local:  # every variable comes back, over what the activity was given
        returned = dict(task.data)
        task.data.clear()
        task.data.update(local["before"])
        task.data.update(returned)
    for name in local.get("absent", []):
        task.data.pop(name, None)
    task.data.update(local.get("shadowed", {}))
    for name, value in values.items():
        _assign(task.data, name, value)


def _assign(data: dict, name: str, value: Any) -> None:
    """Set a variable; a dotted target (`order.status`, as Zeebe writes them) sets a nested key."""
    *parents, last = name.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = {}
        else:
            child = dict(child)  # inherited data may be shared with other tasks: copy before writing
        data[part] = child
        data = child
    data[last] = value


def _evaluate(task, value: dict, kind: str, name: str) -> Any:
    if "value" in value:
        return value["value"]
    if "expr" in value:
        try:
            return task.workflow.script_engine.evaluate(task, value["expr"])
        except WorkflowTaskException as exc:
            raise WorkflowTaskException(f"{kind} parameter {name!r}: {exc.args[0] if exc.args else exc}",
                                        task=task, exception=getattr(exc, "exception", None)) from None
    if "list" in value:
        return [_evaluate(task, v, kind, name) for v in value["list"]]
    if "map" in value:
        return {k: _evaluate(task, v, kind, name) for k, v in value["map"]}
    if "template" in value:
        parts = (_evaluate(task, v, kind, name) for v in value["template"])
        return "".join("" if p is None else _text(p) for p in parts)
    raise WorkflowTaskException(f"{kind} parameter {name!r} has an unknown form", task=task)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
