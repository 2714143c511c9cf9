"""Held tasks: asynchronous continuations and external tasks wait, ready, for a job or a worker.

A task of an element in `hold_before` (camunda:asyncBefore, or an external
task), or one that follows an element in `hold_after` (camunda:asyncAfter), is
not run by the engine steps when it becomes ready: it stays ready and is
reported as held until a job (or the worker that fetched it) releases it
(`Runner.release`), which puts it in the workflow's `released` set for one run.
"""
from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.util.task import TaskState

from .compensation import resumed
from .workflow import StagecoachWorkflow

__all__ = ["held_by", "held_map", "held_pairs", "held_tasks", "hold", "is_runnable"]


def hold(wf: StagecoachWorkflow, before: Iterable[str], after: Iterable[str] = ()) -> None:
    """Hold the tasks of the `before` elements, and the tasks that follow the `after` elements."""
    wf.hold_before = set(before)
    wf.hold_after = set(after)
    wf.released = set()


def held_by(task, hold_before: set[str], hold_after: set[str]) -> str | None:
    """The element whose job must run this ready task, or None: the task's own element when it is
    asynchronous before (or external), the element it follows when that is asynchronous after."""
    if task.task_spec.manual or resumed(task):  # a compensation throw event completing was held once
        return None
    if task.task_spec.bpmn_id in hold_before:
        return task.task_spec.bpmn_id
    parent = task.parent
    if hold_after and parent is not None and getattr(parent.task_spec, "bpmn_id", None) in hold_after \
            and parent.has_state(TaskState.COMPLETED):
        return parent.task_spec.bpmn_id
    return None


def is_runnable(wf: StagecoachWorkflow, task) -> bool:
    """Whether the engine steps run this ready task: not a human task, and not held (or released)."""
    if task.task_spec.manual:
        return False
    return task.id in wf.released or held_by(task, wf.hold_before, wf.hold_after) is None


def held_pairs(wf: StagecoachWorkflow) -> list[tuple]:
    """The held tasks that are ready, each with the element whose job or worker runs it."""
    if not wf.hold_before and not wf.hold_after:
        return []
    pairs = []
    for task in wf.get_tasks(state=TaskState.READY):
        element = held_by(task, wf.hold_before, wf.hold_after)
        if element is not None:
            pairs.append((task, element))
    return pairs


def held_tasks(wf: StagecoachWorkflow) -> list:
    return [task for task, _ in held_pairs(wf)]


def held_map(wf: StagecoachWorkflow) -> dict[str, str]:
    """{task id: element id} of the held tasks that are ready."""
    return {str(task.id): element for task, element in held_pairs(wf)}
