"""Process variables: what one path of an instance sets, every other path sees at once (Camunda 7's process
instance scope).

SpiffWorkflow keeps data per task and hands it on along the flow: a variable a task set on one branch of
a parallel gateway, on a non-interrupting boundary event's path or in an event sub-process was not seen by
the tasks waiting on the other paths (a gateway there decided on the old value), and the join put the
stale copies back over it. `spread` makes the variables a task set or changed (or removed) the process's:
they are written to every other active task of the same scope (the process and its embedded
sub-processes; a called process is a scope of its own, as in Camunda) and to the parents such tasks take
their data from again. A multi-instance instance's own variables (`loops.local_names`) stay its own.
"""
from __future__ import annotations

from copy import copy

from SpiffWorkflow.util.task import TaskState

from .loops import embedded, local_names

__all__ = ["in_scope_of", "scope_of", "spread"]

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def scope_of(task):
    """The workflow whose variables `task` reads and writes: its own, or, inside an embedded sub-process,
    the process (or called process) around it."""
    workflow = task.workflow
    top = workflow.top_workflow
    while workflow is not top:
        holder = top.get_task_from_id(workflow.parent_task_id)
        if holder is None or not embedded(holder.task_spec):
            break
        workflow = holder.workflow
    return workflow


def in_scope_of(task, workflow) -> bool:
    return scope_of(task) is workflow


def spread(wf, task, before: dict) -> None:
    """After `task` ran (its data was `before`): set what it changed on every other active task of its
    scope, and on the parents those inherit from again."""
    data = task.data
    own = local_names(task)
    changed = {k: v for k, v in data.items()
               if k not in own and (k not in before or (before[k] is not v and before[k] != v))}
    removed = [k for k in before if k not in data and k not in own]
    if not changed and not removed:
        return
    scope = scope_of(task)
    targets = [t for t in wf.get_tasks(state=_ACTIVE) if t is not task and scope_of(t) is scope]
    if not targets:
        return
    parents = [t.parent for t in targets if t.parent is not None and t.parent is not task
               and not t.parent.has_state(_ACTIVE)]
    for target in {id(t): t for t in (*targets, *parents)}.values():
        kept = local_names(target)
        for key, value in changed.items():
            if key not in kept:
                target.data[key] = copy(value) if isinstance(value, (dict, list, set)) else value
        for key in removed:
            if key not in kept:
                target.data.pop(key, None)
