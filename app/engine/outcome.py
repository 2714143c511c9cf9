"""What a runner call reports, and how tasks are described in it.

Each call of the runner returns an `Outcome`: the new status, what happened (for
the audit trail), the incident if a step failed, and the projections the server
keeps in its own tables (open human tasks, active activities, variables, what
the instance waits for, held tasks). `report` builds it from the workflow after
the engine ran.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .holding import held_pairs
from .loops import local_names
from .sandbox import ScriptError
from .variables import ACTIVE, frontier, variables

__all__ = ["Incident", "NO_EFFECTS", "OpenTask", "Outcome", "StepLimitError", "TaskCompletionError",
           "TaskEffects", "TaskNotReadyError", "definitions", "describe", "errored_tasks", "event_kind", "incident_of",
           "open_task_ids", "report", "Before", "active_elements", "before", "spec_definitions", "waits_of"]


class TaskEffects:
    """Told when each engine task starts and ends, so what a task did outside the
    workflow (rows written by the functions it called) can be kept or undone with it.

    Also says which instance runs (`instance_id`, `business_key`), for the scripts that ask
    (JavaScript's `execution.getProcessInstanceId()`); None when the caller does not say.
    """

    instance_id: str | None = None
    business_key: str | None = None

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
    # the variables of their own of held tasks that have some (a multi-instance instance's item and
    # counter): {task id: {name: value}}
    held_locals: dict[str, dict] = field(default_factory=dict)


@dataclass
class Before:
    """Where a workflow stood before a command: its open human tasks and the walk of its active tasks."""

    human: set[str]
    tasks: list  # its active tasks (`wf.get_tasks(state=ACTIVE)`), for the `Trail` made with it


# -- describing tasks -------------------------------------------------------------------

def describe(task) -> dict:
    spec = task.task_spec
    return {"element_id": spec.bpmn_id, "element_name": spec.bpmn_name or spec.bpmn_id,
            "element_type": type(spec).__name__}


def event_kind(definition) -> str | None:
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


def definitions(task) -> list:
    """The event definitions a waiting task listens for (an event-based gateway has several)."""
    return spec_definitions(task.task_spec)


def spec_definitions(task_spec) -> list:
    """The event definitions an element listens for (an event-based gateway has several)."""
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def waits_of(wf: BpmnWorkflow, active: list | None = None) -> list[dict]:
    """What the workflow waits for from outside: timers with their due time, messages, signals (`active`:
    the walk of its active tasks, made already)."""
    waits = []
    waiting = (wf.get_tasks(state=TaskState.WAITING) if active is None
               else [t for t in active if t.has_state(TaskState.WAITING)])
    for task in waiting:
        for definition in definitions(task):
            kind = event_kind(definition)
            if kind == "timer":
                due = _due(task._get_internal_data("event_value"))
                if due is not None:
                    waits.append({"kind": "timer", "due_at": due, "element_id": task.task_spec.bpmn_id})
            elif kind in {"message", "signal"}:
                waits.append({"kind": kind, "name": definition.name, "element_id": task.task_spec.bpmn_id})
    for start_event in event_subprocess_starts(wf):
        kind = event_kind(start_event.event_definition)
        if kind in {"message", "signal"}:
            waits.append({"kind": kind, "name": start_event.event_definition.name, "element_id": start_event.bpmn_id})
    return waits


def event_subprocess_starts(wf: BpmnWorkflow) -> list:
    """The start events of the process's event sub-processes that wait for an event (a message, a signal, an
    error, ...): the process listens for each while it runs (BPMN 2.0, 10.5.6), and SpiffWorkflow starts the
    sub-process when it catches one (its timer-started ones run from the start and wait as tasks)."""
    starts = []
    for name in getattr(wf.spec.start, "trigger_specs", ()):
        sub_spec = wf.subprocess_specs.get(name)
        if sub_spec is not None:
            starts.extend(sub_spec.bpmn_start_events)
    return starts


def open_task_ids(wf: BpmnWorkflow) -> set[str]:
    return {str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True)}


def _is_open(task) -> bool:
    return task.task_spec.manual and task.has_state(TaskState.READY)


def _active_row(task) -> dict:
    spec = task.task_spec
    return {"element_id": spec.bpmn_id, "element_name": spec.bpmn_name or spec.bpmn_id,
            "element_type": type(spec).__name__, "state": TaskState.get_name(task.state).lower()}


def before(wf: BpmnWorkflow) -> Before:
    """Where `wf` stands before a command acts (one walk of the tree), for `report`."""
    walked = wf.get_tasks(state=ACTIVE)
    return Before({str(t.id) for t in frontier(wf, walked) if _is_open(t)}, walked)


def active_elements(wf: BpmnWorkflow) -> list[dict]:
    """The elements `wf` is at (as an outcome's `active`): element, name, type and state of each active task."""
    return [_active_row(t) for t in frontier(wf)]


def errored_tasks(wf: BpmnWorkflow) -> list:
    """The tasks in ERROR. Asked for finished states only, SpiffWorkflow's iterator does not descend below
    unfinished tasks, and a compensation throw event waits (started) above its handlers: ask for the
    unfinished states too, and keep the failed tasks."""
    return [t for t in wf.get_tasks(state=TaskState.ERROR | TaskState.DEFINITE_MASK) if t.has_state(TaskState.ERROR)]


def incident_of(wf: BpmnWorkflow, exc: Exception) -> Incident:
    """The incident a failed engine step (or task completion) raised `exc` for."""
    task = getattr(exc, "task", None)
    if task is None:
        errored = errored_tasks(wf)
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


# -- the outcome ------------------------------------------------------------------------

def report(wf, events: list[dict], incident: Incident | None, trail, start: Before,
           now: dt.datetime) -> Outcome:
    """The outcome of a run that started where `start` (`before`) says;
    `trail` (a `trail.Trail` over `events`) adds what the instance entered and left."""
    walked = trail.settled  # walked by the runner after the run, if it went through (the tree is as it left it)
    trail.settle(wf)
    tasks = frontier(wf, walked)
    open_tasks, active = [], []
    for t in tasks:
        spec = t.task_spec
        if _is_open(t):
            open_tasks.append(OpenTask(str(t.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, t.data))
        active.append(_active_row(t))
    # the instance's variables: its own scope's (not a called process's), without a loop instance's own
    current = variables(wf, walked)
    if incident is not None:
        status = "error"
        events.append({"type": "error", "element_id": incident.element_id,
                       "element_name": incident.element_name, "at": now, "message": incident.message})
    elif not tasks and wf.is_completed():
        status = "completed"
    else:
        status = "running"
    open_ids = {t.id for t in open_tasks}
    pairs = held_pairs(wf) if status != "completed" else []
    held = {str(task.id): element for task, element in pairs}
    held_locals = {str(task.id): {name: task.data[name] for name in local if name in task.data}
                   for task, _ in pairs for local in [local_names(task)] if local}
    return Outcome(held=held, held_locals=held_locals, status=status, events=events, incident=incident,
                   open_tasks=open_tasks,
                   active=active, variables=current, closed_tasks=start.human - open_ids,
                   opened_tasks=open_ids - start.human, waits=waits_of(wf, walked) if status != "completed" else [])
