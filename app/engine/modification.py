"""Changing where a running workflow stands (process instance modification), as Camunda 7's
`ProcessInstanceModificationBuilder` does: cancel every token of an activity, start a token before an
element or after an activity, and, from SpiffWorkflow, reset a branch to a task that ran before.

Instructions apply in the order given; their variables are the instance's: every token sees them once
the instruction has applied.
- `cancel`: every active task of the element ends (a multi-instance with all its instances, an activity
  with its boundary events, a sub-process with what runs inside it); a sub-process left with nothing
  active is cancelled too, as Camunda cancels an emptied scope.
- `start_before`: a new token enters the element. It hangs from a finished carrier task holding the
  instance's variables of that moment (SpiffWorkflow's tasks re-inherit their parent's data, so a
  token hung from the start task would see the variables the instance started with). An element inside
  a sub-process needs that sub-process to be active once.
- `start_after`: a token on the activity's single outgoing flow (as Camunda: several flows are refused).
- `reset`: SpiffWorkflow's `reset_from_task_id` to the latest run of an element: what followed it on its
  branch is dropped and it is ready (or waiting) again. The variables stay as they are now: moving a
  token never undoes data (as in Camunda). A task opened again gets a new id: the one it had belongs to
  its finished run.

Whether the instance is left with no active token is the caller's to decide (`active_tokens`).
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit, _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .variables import ACTIVE, variables as read_variables, visible

__all__ = ["Instruction", "KINDS", "ModificationError", "active_tokens", "apply"]

KINDS = ("cancel", "start_before", "start_after", "reset")
_DONE = TaskState.COMPLETED | TaskState.CANCELLED


@dataclass(frozen=True)
class Instruction:
    kind: str  # one of KINDS
    element_id: str
    variables: dict = field(default_factory=dict)


class ModificationError(Exception):
    """An instruction that cannot apply to this instance: `index` is its place in the list."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def active_tokens(wf) -> list:
    """Where the instance stands: its active tasks (a token started before an activity with boundary events
    is, until it runs, the split in front of it, which stands for no element)."""
    return wf.get_tasks(state=ACTIVE)


def apply(wf, instructions: list[Instruction]) -> list[dict]:
    """Apply the instructions in order; returns one audit entry per instruction.

    Raises:
        ModificationError: an instruction names no element of the definition, or one it cannot apply to
            (the workflow is to be discarded: the caller rolls back).
    """
    done = []
    for index, instruction in enumerate(instructions):
        if instruction.kind not in KINDS:
            raise ModificationError(index, f"unknown instruction {instruction.kind!r}")
        handler = {"cancel": _cancel, "start_before": _start_before, "start_after": _start_after,
                   "reset": _reset}[instruction.kind]
        done.append(dict(handler(wf, index, instruction), kind=instruction.kind,
                         element_id=instruction.element_id))
        if instruction.variables:
            _patch(wf, instruction.variables)  # instance variables: every token sees them, as in Camunda
    return done


# -- finding elements -------------------------------------------------------------------------------------

def _element(wf, index: int, element_id: str):
    """(process spec, task spec) of a flow node of the definition."""
    for process in (wf.spec, *wf.subprocess_specs.values()):
        for ts in process.task_specs.values():
            if getattr(ts, "bpmn_id", None) == element_id and not _is_instance(process, ts):
                return process, ts
    raise ModificationError(index, f"the process has no element {element_id!r}")


def _is_instance(process, ts) -> bool:
    """An instance spec of a multi-instance shares its element's id."""
    return any(getattr(other, "task_spec", None) == ts.name for other in process.task_specs.values())


def _scope(wf, index: int, process, element_id: str):
    """The (sub)workflow a new token of an element of `process` runs in."""
    if process is wf.spec:
        return wf
    running = [sp for sp in wf.subprocesses.values()
               if sp.spec.name == process.name and not sp.is_completed()
               and wf.get_task_from_id(sp.parent_task_id).has_state(ACTIVE)]
    if len(running) != 1:
        state = "is not active" if not running else f"is active {len(running)} times"
        raise ModificationError(index, f"{element_id!r} lies inside sub-process {process.name!r}, which {state}; "
                                       f"start before the sub-process instead")
    return running[0]


# -- cancel ---------------------------------------------------------------------------------------------

def _cancel(wf, index: int, instruction: Instruction) -> dict:
    _element(wf, index, instruction.element_id)
    tasks = [t for t in wf.get_tasks(state=ACTIVE) if _stands_for(t, instruction.element_id)]
    tasks = [t for t in tasks if not any(a in tasks for a in _ancestors(t))]  # a multi-instance, not its instances
    if not tasks:
        raise ModificationError(index, f"{instruction.element_id!r} has no active token to cancel")
    for task in tasks:
        if task.has_state(_DONE):
            continue
        parent = task.parent
        if isinstance(getattr(parent, "task_spec", None), BoundaryEventSplit) \
                and not isinstance(task.task_spec, BoundaryEvent):
            for sibling in parent.children:  # the activity's boundary events go with it
                if not sibling.has_state(_DONE):
                    _end(sibling)
        else:
            _end(task)
    _close_empty_scopes(wf)
    return {"tokens": len(tasks)}


def _stands_for(task, element_id: str) -> bool:
    """The task is a token of the element: its own task, or the split in front of it that a token started
    before it has not run yet."""
    spec = task.task_spec
    if isinstance(spec, BoundaryEventSplit):
        return any(getattr(o, "bpmn_id", None) == element_id for o in spec.outputs if not isinstance(o, BoundaryEvent))
    return getattr(spec, "bpmn_id", None) == element_id


def _end(task) -> None:
    """Cancel a task, a failed one too (SpiffWorkflow's `cancel` leaves a task in error as it is)."""
    if task.has_state(TaskState.ERROR):
        task._set_state(TaskState.CANCELLED)
        task._drop_children()
        task.task_spec._on_cancel(task)
    else:
        task.cancel()


def _ancestors(task):
    parent = task.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _close_empty_scopes(wf) -> None:
    """A sub-process with nothing active left is cancelled, and so on upwards."""
    changed = True
    while changed:
        changed = False
        for task_id, sp in list(wf.subprocesses.items()):
            owner = wf.get_task_from_id(task_id)
            if owner is None or not owner.has_state(ACTIVE) or sp.is_completed():
                continue
            if not any(visible(t) for t in sp.get_tasks(state=ACTIVE)):
                _end(owner)
                changed = True


def _patch(wf, values: dict) -> None:
    for task in wf.get_tasks(state=ACTIVE) or [wf.last_task or wf.task_tree]:
        task.data.update(copy.deepcopy(values))


# -- start ------------------------------------------------------------------------------------------------

def _start_before(wf, index: int, instruction: Instruction) -> dict:
    process, spec = _element(wf, index, instruction.element_id)
    if isinstance(spec, BoundaryEvent):
        raise ModificationError(index, f"{instruction.element_id!r} is a boundary event: start before the "
                                       f"activity it is attached to")
    entry = next((s for s in spec.inputs if isinstance(s, BoundaryEventSplit)), spec)
    return _start(wf, index, _scope(wf, index, process, instruction.element_id), entry, instruction)


def _start_after(wf, index: int, instruction: Instruction) -> dict:
    process, spec = _element(wf, index, instruction.element_id)
    outputs = [s for s in spec.outputs if not isinstance(s, BoundaryEventJoin)]
    if len(outputs) != 1 or isinstance(outputs[0], _EndJoin):
        count = "no" if not outputs or isinstance(outputs[0], _EndJoin) else str(len(outputs))
        raise ModificationError(index, f"{instruction.element_id!r} has {count} outgoing sequence flows: "
                                       f"start after an element with exactly one")
    return _start(wf, index, _scope(wf, index, process, instruction.element_id), outputs[0], instruction)


def _start(wf, index: int, scope, spec, instruction: Instruction) -> dict:
    data = copy.deepcopy(read_variables(wf))
    data.update(copy.deepcopy(instruction.variables))
    carrier = Task(scope, scope.spec.start, scope.task_tree, state=TaskState.COMPLETED)
    carrier.triggered = True
    carrier.data = data
    token = carrier._add_child(spec, TaskState.FUTURE)
    token.triggered = True
    token.task_spec._predict(token, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)  # as a branch reset does
    try:
        token.task_spec._update(token)  # a timer's date or duration, a condition: evaluated as it is entered
    except Exception as exc:  # noqa: BLE001 - whatever the element's own expression raised
        raise ModificationError(index, f"{instruction.element_id!r} cannot start: {_reason(exc)}") from None
    return {"task_id": str(token.id)}


def _reason(exc: Exception) -> str:
    """What an element's expression raised, as the engine's incidents name it."""
    underlying = getattr(exc, "exception", None)
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    if underlying is not None and str(underlying) not in message:
        message = f"{message}: {underlying}"
    return message


# -- reset ------------------------------------------------------------------------------------------------

def _reset(wf, index: int, instruction: Instruction) -> dict:
    _element(wf, index, instruction.element_id)
    runs = [t for t in wf.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None) == instruction.element_id]
    if not runs:
        raise ModificationError(index, f"{instruction.element_id!r} has not run in this instance: "
                                       f"start before it instead")
    latest = max(runs, key=lambda t: t.last_state_change)
    current = copy.deepcopy(read_variables(wf))
    current.update(copy.deepcopy(instruction.variables))
    finished = {t.id for t in wf.get_tasks(state=_DONE)}
    wf.reset_from_task_id(latest.id)
    reopened = [t for t in wf.get_tasks(state=ACTIVE) if t.id in finished]
    for task in reopened:
        task.data.update(copy.deepcopy(current))
        _renew_id(task)
    return {"task_id": str(latest.id) if latest.id in latest.workflow.tasks else None}


def _renew_id(task) -> None:
    """Give a task that runs again a new id (its old one names its finished run in the server's tables)."""
    workflow, old, new = task.workflow, task.id, uuid.uuid4()
    workflow.tasks[new] = workflow.tasks.pop(old)
    task.id = new
    parent = task.parent
    if parent is not None:
        parent._children[parent._children.index(old)] = new
    for child in task.children:
        child._parent = new
    top = workflow.top_workflow
    if old in top.subprocesses:
        sub = top.subprocesses.pop(old)
        sub.parent_task_id = new
        top.subprocesses[new] = sub
    events = top.event_manager.tasks
    if old in events:
        events[new] = events.pop(old)
