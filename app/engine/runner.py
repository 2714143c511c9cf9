"""Running workflows: until they wait, completing human tasks, retrying after errors.

The runner works on one loaded `BpmnWorkflow` at a time and never touches
storage; callers hold the instance lock and persist what it returns. Each
call returns an `Outcome`: the new status, what happened (for the audit
trail), the incident if a step failed, and the projections the server keeps
in its own tables (open human tasks, active activities, variables).
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition, SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..clock import utcnow

from . import iomapping
from .sandbox import ScriptError, check_storable
from .scripting import SandboxScriptEngine

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# SpiffWorkflow's task iterator stops at depth 1,000: past it a task becomes
# invisible and the instance believes it has completed. A loop drawn with a
# gateway deepens the tree on every pass, so instances are stopped well before.
MAX_TREE_DEPTH = 900
_TOO_DEEP = (f"the instance passed through a gateway loop too often (task tree deeper than {MAX_TREE_DEPTH}); "
             "model repetition with a loop or multi-instance marker")


class TaskEffects:
    """Told when each engine task starts and ends, so what a task did outside the
    workflow (rows written by the functions it called) can be kept or undone with it."""

    def task_started(self) -> None:
        pass

    def task_finished(self, succeeded: bool) -> None:
        pass


NO_EFFECTS = TaskEffects()


class StepLimitError(Exception):
    """The engine ran more steps than one request may."""


class TaskNotReadyError(Exception):
    """The task does not exist or is not a ready human task."""


class TaskCompletionError(Exception):
    """Completing a human task failed in the task itself (its output mapping, end listener or
    post-script): the workflow object is left half-changed and must be discarded."""

    def __init__(self, incident: Incident):
        super().__init__(incident.message)
        self.incident = incident


@dataclass
class OpenTask:
    id: str
    element_id: str
    name: str
    data: dict


@dataclass
class Incident:
    element_id: str | None
    element_name: str | None
    message: str
    line: int | None = None


@dataclass
class Outcome:
    status: str  # running | completed | error
    events: list[dict] = field(default_factory=list)
    incident: Incident | None = None
    open_tasks: list[OpenTask] = field(default_factory=list)
    active: list[dict] = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    closed_tasks: set[str] = field(default_factory=set)  # human tasks no longer open (done or withdrawn)
    # what the instance waits for: {"kind": "timer", "due_at"} / {"kind": "message"|"signal", "name"}
    waits: list[dict] = field(default_factory=list)
    # asynchronous and external tasks that are ready and held for a job or a worker: {task id: element id}
    held: dict[str, str] = field(default_factory=dict)
    opened_tasks: set[str] = field(default_factory=set)  # human tasks that became open in this step


@dataclass(frozen=True)
class RunSettings:
    """What running a definition's workflows needs of its element metadata (the parser's `elements`)."""

    asynchronous: dict[str, dict]  # camunda:asyncBefore/After elements, with their retry settings
    external: dict[str, dict]  # external tasks, with their topic (and priority)
    io: dict[str, dict]  # input/output mappings and listeners
    hold_before: frozenset[str]  # elements whose tasks wait for a job or a worker
    hold_after: frozenset[str]  # elements followed by a job (an external task's worker already is one)
    conditional: bool  # conditional events wait: changed variables may fire them

    @classmethod
    def from_elements(cls, elements: dict[str, dict]) -> RunSettings:
        asynchronous = {eid: e["async"] for eid, e in elements.items() if e.get("async")}
        external = {eid: e["external"] for eid, e in elements.items() if e.get("external")}
        return cls(
            asynchronous=asynchronous, external=external,
            io={eid: e["io"] for eid, e in elements.items() if e.get("io")},
            hold_before=frozenset({eid for eid, a in asynchronous.items() if a.get("before", True)} | set(external)),
            hold_after=frozenset(eid for eid, a in asynchronous.items() if a.get("after") and eid not in external),
            conditional=any((e.get("trigger") or {}).get("kind") == "condition" for e in elements.values()))


def _event_kind(definition) -> str | None:
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    if isinstance(definition, MessageEventDefinition):
        return "message"
    if isinstance(definition, SignalEventDefinition):
        return "signal"
    return None


def _due(value) -> dt.datetime | None:
    if isinstance(value, dict):  # a cycle: {"cycles": n, "next": iso, ...}
        value = value.get("next")
    if not value:
        return None
    try:
        # As the engine reads it: a date-time without a zone is in the server's local time.
        return TimerEventDefinition.get_datetime(value)
    except (TypeError, ValueError):
        return None


def _definitions(task) -> list:
    """The event definitions a waiting task listens for (an event-based gateway has several)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def waits_of(wf: BpmnWorkflow) -> list[dict]:
    """What the workflow waits for from outside: timers with their due time, messages, signals."""
    waits = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        for definition in _definitions(task):
            kind = _event_kind(definition)
            if kind == "timer":
                due = _due(task._get_internal_data("event_value"))
                if due is not None:
                    waits.append({"kind": "timer", "due_at": due, "element_id": task.task_spec.bpmn_id})
            elif kind in {"message", "signal"}:
                waits.append({"kind": kind, "name": definition.name, "element_id": task.task_spec.bpmn_id})
    return waits


def _held_by(task, hold: set, hold_after: set) -> str | None:
    """The element whose job must run this ready task, or None: the task's own element when it is
    asynchronous before (or external), the element it follows when that is asynchronous after."""
    if task.task_spec.manual:
        return None
    if task.task_spec.bpmn_id in hold:
        return task.task_spec.bpmn_id
    parent = task.parent
    if hold_after and parent is not None and getattr(parent.task_spec, "bpmn_id", None) in hold_after \
            and parent.has_state(TaskState.COMPLETED):
        return parent.task_spec.bpmn_id
    return None


def _engine_steps(wf: BpmnWorkflow, before, after) -> None:
    """SpiffWorkflow's do_engine_steps, except that held asynchronous tasks are left ready."""
    hold = getattr(wf, "_stagecoach_hold", None) or set()
    hold_after = getattr(wf, "_stagecoach_hold_after", None) or set()
    released = getattr(wf, "_stagecoach_released", None) or set()

    def runnable(task) -> bool:
        if task.task_spec.manual:
            return False
        return task.id in released or _held_by(task, hold, hold_after) is None

    def update(workflow) -> int:
        count = 0
        for task in workflow.get_tasks(state=TaskState.READY):
            if runnable(task):
                before(task)
                iomapping.ensure_inputs(task)
                task.run()
                count += 1
                after(task)
        return count

    def settle() -> None:
        while True:
            active = wf.get_active_subprocesses()
            for subprocess in sorted(active, key=lambda v: v.depth, reverse=True):
                count = None
                while count is None or count > 0:
                    count = update(subprocess)
                if subprocess.parent_task_id is not None:
                    parent = wf.get_task_from_id(subprocess.parent_task_id)
                    parent.task_spec._update(parent)
            if not (update(wf) > 0 or len(wf.get_active_subprocesses()) > len(active)):
                break

    settle()
    if getattr(wf, "_stagecoach_conditions", False) and _fire_conditions(wf):
        settle()  # once: a condition that stays true fires once per command, not in a loop
    if getattr(wf, "_stagecoach_io", None):
        for task in wf.get_tasks(state=TaskState.READY):  # offered to a person or a worker: inputs first
            iomapping.ensure_inputs(task)
    wf.refresh_timers()


def _has_conditions(wf: BpmnWorkflow) -> bool:
    """Whether any spec of the workflow has a conditional event (computed once per spec)."""
    found = False
    for spec in (wf.spec, *wf.subprocess_specs.values()):
        flag = spec.__dict__.get("_stagecoach_conditional")
        if flag is None:
            flag = any(isinstance(getattr(ts, "event_definition", None), ConditionalEventDefinition)
                       for ts in spec.task_specs.values())
            spec._stagecoach_conditional = flag
        found = found or flag
    return found


def _fire_conditions(wf: BpmnWorkflow) -> bool:
    """Fire the waiting conditional events whose condition holds now.

    SpiffWorkflow evaluates a condition once, when the event is reached. As in Camunda, a waiting
    conditional event is evaluated again whenever the instance changes (each command that runs
    it), against the instance's current variables; one that cannot be evaluated yet (a variable
    not set) has not fired.
    """
    waiting = [t for t in wf.get_tasks(state=TaskState.WAITING)
               if isinstance(getattr(t.task_spec, "event_definition", None), ConditionalEventDefinition)]
    if not waiting:
        return False
    current: dict = {}
    for task in wf.get_tasks(state=_ACTIVE):
        if _visible(task):
            current.update(task.data)
    fired = False
    for task in waiting:
        try:
            holds = wf.script_engine.environment.evaluate(task.task_spec.event_definition.expression, dict(current))
        except Exception:  # noqa: BLE001 - not evaluable yet is not fired
            holds = False
        if holds:
            task.data.update(current)
            task._ready()
            fired = True
    return fired


def _visible(task) -> bool:
    return getattr(task.task_spec, "bpmn_id", None) is not None


def _describe(task) -> dict:
    spec = task.task_spec
    return {"element_id": spec.bpmn_id, "element_name": spec.bpmn_name or spec.bpmn_id,
            "element_type": type(spec).__name__}


class Runner:
    """Drives workflows with the sandboxed script engine and a step cap."""

    def __init__(self, script_engine: SandboxScriptEngine, max_steps: int = 1_000,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.script_engine = script_engine
        self.max_steps = max_steps
        self.clock = clock

    # -- life cycle ---------------------------------------------------------
    def create(self, spec, subprocess_specs: dict, data: dict | None = None) -> BpmnWorkflow:
        """A new workflow with `data` as its initial variables; nothing has run yet."""
        wf = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        wf._stagecoach_conditions = _has_conditions(wf)
        if data:
            check_storable(data)
            wf.task_tree.data.update(data)
        return wf

    def attach(self, wf: BpmnWorkflow) -> BpmnWorkflow:
        """Re-attach the script engine to a loaded workflow (it is not serialized)."""
        wf.script_engine = self.script_engine
        wf._stagecoach_conditions = _has_conditions(wf)
        return wf

    def advance(self, wf: BpmnWorkflow, effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Run every ready engine task until all paths wait or end."""
        events: list[dict] = []
        waiting_before, human_before = self._waiting_ids(wf)
        incident = self._run(wf, events, effects)
        return self._outcome(wf, events, incident, waiting_before, human_before)

    def complete(self, wf: BpmnWorkflow, task_id: str, data: dict, user: str | None = None,
                 effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Complete a ready human task with `data`, then advance.

        Raises:
            TaskNotReadyError: no ready human task has this id.
            TaskCompletionError: the task's own completion failed (as in Camunda, the caller's
                transaction is to be rolled back: the task stays open).
        """
        task = self.human_task(wf, task_id)
        waiting_before, human_before = self._waiting_ids(wf)
        task.data.update(data)
        events = [dict(_describe(task), type="task_completed", at=self.clock(), user=user, data=dict(data))]
        try:
            task.run()
        except Exception as exc:  # the task's own output mapping, end listener or post-script failed
            raise TaskCompletionError(self._incident(wf, exc)) from None
        events.append(dict(_describe(task), type="element_left", at=self.clock()))
        incident = self._run(wf, events, effects)
        outcome = self._outcome(wf, events, incident, waiting_before, human_before)
        outcome.closed_tasks.discard(str(task.id))  # completed, not withdrawn
        return outcome

    @staticmethod
    def hold(wf: BpmnWorkflow, before, after=()) -> None:
        """Hold the tasks of the `before` elements when they become ready, and the tasks that follow
        the `after` elements (camunda:asyncAfter): a job (or a worker) runs them (`release`)."""
        wf._stagecoach_hold = set(before)
        wf._stagecoach_hold_after = set(after)
        wf._stagecoach_released = set()

    def prepare(self, wf: BpmnWorkflow, settings: RunSettings) -> BpmnWorkflow:
        """Hold the asynchronous and external tasks and apply the mappings of the workflow's definition."""
        self.hold(wf, settings.hold_before, settings.hold_after)
        if settings.io:
            self.map_io(wf, settings.io)
        return wf

    @staticmethod
    def map_io(wf: BpmnWorkflow, mappings: dict[str, dict]) -> None:
        """Apply these input/output mappings ({element id: mapping}, see `iomapping`) in `wf`."""
        iomapping.attach(wf, mappings)

    def release(self, wf: BpmnWorkflow, effects: TaskEffects = NO_EFFECTS,
                task_ids: set[str] | None = None) -> Outcome:
        """Run held tasks that are ready (all of them, or those of `task_ids`), then advance."""
        wf._stagecoach_released = {t.id for t in self._held(wf) if task_ids is None or str(t.id) in task_ids}
        try:
            return self.advance(wf, effects)
        finally:
            wf._stagecoach_released = set()

    def held(self, wf: BpmnWorkflow) -> dict[str, str]:
        """The held tasks that are ready: {task id: the element whose job or worker runs it}."""
        return self._held_map(wf)

    def complete_held(self, wf: BpmnWorkflow, task_id: str, data: dict,
                      effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Complete one held task (an external task a worker finished) with `data`, then advance.

        Raises:
            TaskNotReadyError: no held task has this id.
            TaskCompletionError: the task's own completion failed (to be rolled back: it stays held).
        """
        task = self._held_task(wf, task_id)
        check_storable(data)
        task.data.update(data)
        outcome = self.release(wf, effects, {str(task.id)})
        if task.has_state(TaskState.ERROR) and outcome.incident is not None:
            raise TaskCompletionError(outcome.incident)  # its own output mapping or end listener failed
        return outcome

    def throw_error(self, wf: BpmnWorkflow, task_id: str, code: str, data: dict,
                    effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Throw a BPMN error with `code` from one held task to its error boundary event, then advance.

        Raises:
            TaskNotReadyError: no held task has this id, or no boundary event of it catches `code`.
        """
        task = self._held_task(wf, task_id)
        check_storable(data)
        catching = [t for t in (task.parent.children if task.parent else [])
                    if t.has_state(TaskState.WAITING)
                    and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
                    and t.task_spec.event_definition.code in (None, code)]
        if not catching:
            raise TaskNotReadyError(f"no error boundary event on {task.task_spec.bpmn_id} catches error code {code!r}")
        waiting_before, human_before = self._waiting_ids(wf)
        task.data.update(data)
        wf.catch(BpmnEvent(ErrorEventDefinition(code, code=code), dict(data), target=task.workflow))
        for caught in catching:
            caught.data.update(data)
        events = [dict(_describe(task), type="bpmn_error", at=self.clock(), data={"code": code, **data})]
        incident = self._run(wf, events, effects)
        return self._outcome(wf, events, incident, waiting_before, human_before)

    def _held_task(self, wf: BpmnWorkflow, task_id: str):
        task = next((t for t in self._held(wf) if str(t.id) == str(task_id)), None)
        if task is None:
            raise TaskNotReadyError(task_id)
        return task

    @staticmethod
    def _held(wf: BpmnWorkflow) -> list:
        return [task for task, _ in Runner._held_pairs(wf)]

    @staticmethod
    def _held_map(wf: BpmnWorkflow) -> dict[str, str]:
        return {str(task.id): element for task, element in Runner._held_pairs(wf)}

    @staticmethod
    def _held_pairs(wf: BpmnWorkflow) -> list:
        hold = getattr(wf, "_stagecoach_hold", None) or set()
        hold_after = getattr(wf, "_stagecoach_hold_after", None) or set()
        if not hold and not hold_after:
            return []
        pairs = []
        for task in wf.get_tasks(state=TaskState.READY):
            element = _held_by(task, hold, hold_after)
            if element is not None:
                pairs.append((task, element))
        return pairs

    def fire_timers(self, wf: BpmnWorkflow, effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Let every timer that is due fire, then advance."""
        wf.refresh_timers()
        return self.advance(wf, effects)

    def deliver(self, wf: BpmnWorkflow, kind: str, name: str, variables: dict,
                effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Deliver a message or signal to the tasks waiting for it, then advance.

        The variables are merged into the catching tasks' data before they
        catch, whatever the dialect's payload convention.

        Raises:
            TaskNotReadyError: nothing in this workflow waits for it.
        """
        check_storable(variables)
        waiting = [(t, d) for t in wf.get_tasks(state=TaskState.WAITING) for d in _definitions(t)
                   if _event_kind(d) == kind and d.name == name]
        if not waiting:
            raise TaskNotReadyError(f"nothing waits for {kind} {name!r}")
        for task, _ in waiting:
            task.data.update(variables)
        definition = copy.copy(waiting[0][1])
        payload = dict(variables)
        if type(definition).__module__.startswith("SpiffWorkflow.camunda"):
            payload = {"payload": dict(variables), "result_var": None}
        wf.send_event(BpmnEvent(definition, payload))
        for task, _ in waiting:  # catching copied the parent's data over the task's: put them back
            if task.has_state(TaskState.READY):
                task.data.update(variables)
        return self.advance(wf, effects)

    def retry(self, wf: BpmnWorkflow, effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Put failed tasks back to ready and advance again."""
        for task in wf.get_tasks(state=TaskState.ERROR):
            task._set_state(TaskState.READY)
        return self.advance(wf, effects)

    def cancel(self, wf: BpmnWorkflow) -> Outcome:
        """Cancel every unfinished task."""
        closed = self.open_task_ids(wf)
        wf.cancel()
        return Outcome(status="cancelled", variables=self.variables(wf), closed_tasks=closed)

    # -- data -----------------------------------------------------------------
    def human_task(self, wf: BpmnWorkflow, task_id: str):
        from uuid import UUID
        try:
            task = wf.get_task_from_id(UUID(str(task_id)))
        except (ValueError, KeyError, SpiffWorkflowException):
            task = None
        if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
            raise TaskNotReadyError(task_id)
        return task

    def variables(self, wf: BpmnWorkflow) -> dict:
        """The instance's current business data."""
        frontier = [t for t in wf.get_tasks(state=_ACTIVE) if _visible(t)]
        if not frontier:
            if wf.data:
                return dict(wf.data)
            last = wf.last_task
            return dict(last.data) if last is not None else dict(wf.task_tree.data)
        merged: dict = {}
        for task in frontier:
            merged.update(task.data)
        return merged

    def update_variables(self, wf: BpmnWorkflow, changes: dict[str, Any]) -> dict:
        """Merge-patch the data of every waiting task (None deletes); return the new variables."""
        check_storable({k: v for k, v in changes.items() if v is not None})
        targets = [t for t in wf.get_tasks(state=_ACTIVE)] or [wf.last_task or wf.task_tree]
        for task in targets:
            for key, value in changes.items():
                if value is None:
                    task.data.pop(key, None)
                else:
                    task.data[key] = value
        return self.variables(wf)

    # -- internals --------------------------------------------------------------
    def _run(self, wf: BpmnWorkflow, events: list[dict], effects: TaskEffects = NO_EFFECTS) -> Incident | None:
        steps = 0

        def before(task):
            nonlocal steps
            steps += 1
            if steps > self.max_steps:
                raise StepLimitError(
                    f"more than {self.max_steps} engine steps in one go; does the diagram loop forever?")
            if task.depth > MAX_TREE_DEPTH:
                raise StepLimitError(_TOO_DEEP)
            effects.task_started()

        def after(task):
            effects.task_finished(True)
            if _visible(task):
                now = self.clock()
                events.append(dict(_describe(task), type="element_entered", at=now))
                events.append(dict(_describe(task), type="element_left", at=now))

        try:
            try:
                _engine_steps(wf, before, after)
            except BaseException:
                effects.task_finished(False)  # the failed task's effects go with it
                raise
        except StepLimitError as exc:
            ready = [t for t in wf.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
            task = ready[0] if ready else None
            return Incident(task.task_spec.bpmn_id if task else None,
                            (task.task_spec.bpmn_name if task else None), str(exc))
        except Exception as exc:
            return self._incident(wf, exc)
        deep = next((t for t in wf.get_tasks(state=_ACTIVE) if t.depth > MAX_TREE_DEPTH), None)
        if deep is not None:
            return Incident(deep.task_spec.bpmn_id, deep.task_spec.bpmn_name, _TOO_DEEP)
        return None

    def _incident(self, wf: BpmnWorkflow, exc: Exception) -> Incident:
        task = getattr(exc, "task", None)
        if task is None:
            errored = wf.get_tasks(state=TaskState.ERROR)
            task = errored[0] if errored else None
        underlying = getattr(exc, "exception", None)
        message = str(exc.args[0]) if exc.args else type(exc).__name__
        if isinstance(underlying, ScriptError) and str(underlying) not in message:
            message = f"{message}: {underlying}"
        if not isinstance(exc, SpiffWorkflowException) and not isinstance(exc, ScriptError):
            message = f"{type(exc).__name__}: {message}"
        line = getattr(exc, "line_number", None) or None
        if task is None:
            return Incident(None, None, message, line)
        return Incident(task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id, message, line)

    @staticmethod
    def _waiting_ids(wf: BpmnWorkflow) -> tuple[set, set[str]]:
        """Ids of the tasks waiting (for a person or an event), and of the open human tasks."""
        waiting, human = set(), set()
        for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING):
            if t.task_spec.manual and t.has_state(TaskState.READY):
                waiting.add(t.id)
                human.add(str(t.id))
            elif t.has_state(TaskState.WAITING):
                waiting.add(t.id)
        return waiting, human

    @staticmethod
    def open_task_ids(wf: BpmnWorkflow) -> set[str]:
        return {str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True)}

    def _outcome(self, wf, events, incident, waiting_before, human_before) -> Outcome:
        now = self.clock()
        frontier = [t for t in wf.get_tasks(state=_ACTIVE) if _visible(t)]  # one walk of the tree
        open_tasks, active, variables = [], [], {}
        for t in frontier:
            spec = t.task_spec
            ready_human = spec.manual and t.has_state(TaskState.READY)
            if (ready_human or t.has_state(TaskState.WAITING)) and t.id not in waiting_before:
                events.append(dict(_describe(t), type="element_entered", at=now))
            if ready_human:
                open_tasks.append(OpenTask(str(t.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, t.data))
            active.append({"element_id": spec.bpmn_id, "element_name": spec.bpmn_name or spec.bpmn_id,
                           "element_type": type(spec).__name__, "state": TaskState.get_name(t.state).lower()})
            variables.update(t.data)
        if incident is not None:
            status = "error"
            events.append({"type": "error", "element_id": incident.element_id,
                           "element_name": incident.element_name, "at": now, "message": incident.message})
        elif not frontier and wf.is_completed():
            status = "completed"
        else:
            status = "running"
        if not frontier:
            variables = self.variables(wf)
        open_ids = {t.id for t in open_tasks}
        held = self._held_map(wf) if status != "completed" else {}
        return Outcome(held=held, status=status, events=events, incident=incident, open_tasks=open_tasks,
                       active=active, variables=variables, closed_tasks=human_before - open_ids,
                       opened_tasks=open_ids - human_before, waits=waits_of(wf) if status != "completed" else [])
