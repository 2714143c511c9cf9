"""The activity trail: when the instance entered and left each element, as Camunda's activity history counts it.

Every runner call writes `element_entered` and `element_left` events (`element_cancelled` for an
occurrence that ended without completing: a task an interrupting boundary event took over, the
events of an event-based gateway that did not fire) under one rule:

- an element is entered when the instance is at it: a human task offered to people, a task held
  for a worker or a job, an event or a receive task waiting, a sub-process or multi-instance
  running, or an automatic task the moment it runs;
- it is left once: when it completes (or, for an automatic task, right after it is entered), or
  cancelled when it is no longer there without having completed; a branch waiting at a join is
  left when the join fires (each arriving branch is one occurrence of the gateway, as in Camunda);
- a boundary event is no activity while it only waits on its task (Camunda lists none): it is
  entered and left when it fires, once per firing, interrupting or not (a non-interrupting timer
  cycle keeps waiting and starts a new path at each firing: each path's first element stands for one).

What was entered before a call is worked out from the workflow itself (`entered_ids`), so the rule
needs no state of its own beyond the workflow.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from . import holding
from .outcome import describe
from .variables import visible

__all__ = ["Trail", "entered_ids"]

_AT = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _at(wf, active: list | None) -> list:
    """The tasks of `wf` in the states `_AT`: from `active` (`wf.get_tasks(state=ACTIVE)`, a superset walked
    in the same order) when given."""
    if active is None:
        return wf.get_tasks(state=_AT)
    return [t for t in active if t.state & _AT]


def entered_ids(wf, active: list | None = None) -> set:
    """Ids of the tasks of elements the instance is at now: entered and not yet left (`active`: the walk of
    its active tasks, made already)."""
    held = {t.id for t in holding.held_tasks(wf)}
    found = set()
    for task in _at(wf, active):
        if not visible(task):
            continue
        if task.has_state(TaskState.READY):
            if task.task_spec.manual or task.id in held:
                found.add(task.id)
        elif not isinstance(task.task_spec, BoundaryEvent):  # waiting on its task: not an activity
            found.add(task.id)
    return found


class Trail:
    """The entered/left events of one runner call, appended to its `events` list."""

    def __init__(self, wf, events: list[dict], clock: Callable[[], dt.datetime], active: list | None = None):
        self.events = events
        self.clock = clock
        # entered, not yet left (by this call or an earlier one): task id -> its element
        self.open = {task_id: describe(wf.get_task_from_id(task_id)) for task_id in entered_ids(wf, active)}
        # the active tasks the run left (`wf.get_tasks(state=ACTIVE)`), walked once by the runner after it for
        # its own checks and read by `settle` and the report; None: not walked (the run failed)
        self.settled: list | None = None

    def ran(self, task) -> None:
        """A task has run: it is entered (unless it already was) and, unless it goes on running
        (a sub-process, a multi-instance), left."""
        if _is_cycle(task):  # its firings were recorded with the paths they started
            return
        now = self.clock()
        if task.id not in self.open:
            self._enter(task, now)
        if not task.has_state(TaskState.STARTED):
            if _interrupted(task):
                self.left(task.id, now, "element_cancelled", "interrupted")
            else:
                self.left(task.id, now)

    def left(self, task_id, now: dt.datetime | None = None, kind: str = "element_left",
             state: str | None = None) -> None:
        """The occurrence of `task_id` ends (`kind`: element_left, or element_cancelled; `state`: how, for the
        activity row: completed, cancelled or interrupted)."""
        element = self.open.pop(task_id, None)
        if element is not None:
            state = state or ("completed" if kind == "element_left" else "cancelled")
            self.events.append(dict(element, type=kind, at=now or self.clock(), task_id=task_id, state=state))

    def _enter(self, task, now: dt.datetime) -> None:
        scope = _enclosing(task)
        if scope is not None and scope.id not in self.open and visible(scope):
            self._enter(scope, now)  # a sub-process is entered before what runs inside it
        if task.parent is not None and _is_cycle(task.parent):  # a path a cycle's firing started
            fired = dict(describe(task.parent), task_id=None, top=scope is None,
                         from_element_id=_came_from(task.parent))
            self.events += [dict(fired, type="element_entered", at=now),
                            dict(fired, type="element_left", at=now, state="completed")]
        self.open[task.id] = describe(task)
        self.events.append(dict(self.open[task.id], type="element_entered", at=now, task_id=task.id,
                                top=scope is None, from_element_id=_came_from(task)))

    def settle(self, wf) -> None:
        """After the run: what is no longer there is left (completed) or cancelled; what the
        instance is at now and was not before is entered."""
        now = self.clock()
        active = self.settled
        current = entered_ids(wf, active)
        for task_id in sorted(set(self.open) - current, key=str):
            try:
                task = wf.get_task_from_id(task_id)
            except TaskNotFoundException:  # removed with its sub-process
                task = None
            if _completed(task):
                self.left(task_id, now)
            else:
                self.left(task_id, now, "element_cancelled",
                          "interrupted" if task is not None and _interrupted(task) else "cancelled")
        for task in _at(wf, active):
            if task.id in current and task.id not in self.open:
                self._enter(task, now)


def _came_from(task) -> str | None:
    """The element the token came from: the nearest earlier task that stands for a BPMN element (None for
    a process's or sub-process's first element); for a boundary event, the activity it is attached to."""
    parent = task.parent
    if isinstance(task.task_spec, BoundaryEvent) and parent is not None:
        attached = [t for t in parent.children if visible(t) and not isinstance(t.task_spec, BoundaryEvent)]
        return attached[0].task_spec.bpmn_id if attached else None
    while parent is not None and not visible(parent):
        parent = parent.parent
    return parent.task_spec.bpmn_id if parent is not None else None


def _completed(task) -> bool:
    """Whether a task that is no longer at its element completed (rather than being cancelled)."""
    if task is None or _interrupted(task):
        return False
    if task.has_state(TaskState.COMPLETED):
        return True
    # SpiffWorkflow cancels the other branches' tasks of a join when it fires from one of them.
    return (task.has_state(TaskState.CANCELLED) and isinstance(task.task_spec, Join)
            and any(t.task_spec is task.task_spec for t in task.workflow.get_tasks(state=TaskState.COMPLETED)))


def _is_cycle(task) -> bool:
    """A boundary event with a timer cycle: it fires again and again while it waits."""
    return (isinstance(task.task_spec, BoundaryEvent)
            and isinstance(getattr(task.task_spec, "event_definition", None), CycleTimerEventDefinition))


def _interrupted(task) -> bool:
    """Whether an interrupting boundary event of this occurrence of the task's activity has fired: the
    activity did not complete, even when SpiffWorkflow finishes a sub-process whose error end event
    the boundary caught."""
    parent = task.parent
    if parent is None or isinstance(task.task_spec, BoundaryEvent):
        return False
    return any(sibling is not task and isinstance(sibling.task_spec, BoundaryEvent)
               and sibling.task_spec.cancel_activity and sibling.has_state(TaskState.READY | TaskState.COMPLETED)
               for sibling in parent.children)


def _enclosing(task):
    """The sub-process (or call activity) task whose workflow runs `task`, None at the top."""
    parent_id = getattr(task.workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    try:
        return task.workflow.top_workflow.get_task_from_id(parent_id)
    except (TaskNotFoundException, AttributeError):
        return None
