"""An instance's variables: read from the task tree's frontier, merge-patched in place.

SpiffWorkflow keeps data per task. The instance's current business data is the
merged data of its active tasks (ready, waiting, started or failed) that stand
for BPMN elements; once none is left, the workflow's own data or that of the
last task that ran.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .iomapping import caller_view
from .loops import embedded, local_names
from .scope import scope_of
from .sandbox import check_storable

__all__ = ["ACTIVE", "frontier", "update_variables", "variables", "visible"]

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def visible(task) -> bool:
    """Whether the task stands for a BPMN element (SpiffWorkflow adds start and end tasks of its own)."""
    return getattr(task.task_spec, "bpmn_id", None) is not None


def frontier(wf: BpmnWorkflow, active: list | None = None) -> list:
    """The active tasks of BPMN elements, in one walk of the tree (`active`: that walk's
    `wf.get_tasks(state=ACTIVE)`, made already)."""
    return [t for t in (wf.get_tasks(state=ACTIVE) if active is None else active) if visible(t)]


def _calls(task) -> bool:
    """Whether the task is a call activity (a sub-process of the engine's whose spec is another process)."""
    spec = task.task_spec
    return getattr(spec, "spec", None) is not None and not embedded(spec)


def _own(wf: BpmnWorkflow, tasks: list) -> list:
    """The tasks whose variables are the instance's: not those of a process a call activity runs (a scope
    of its own, as in Camunda), whose variables go back only through the call activity's mappings."""
    if not wf.subprocesses:
        return tasks
    return [t for t in tasks if t.workflow is wf or scope_of(t) is wf]


def variables(wf: BpmnWorkflow, active: list | None = None) -> dict:
    """The instance's current business data (`active`: as for `frontier`)."""
    tasks = _own(wf, frontier(wf, active))
    if not tasks:
        if wf.data:
            return dict(wf.data)
        last = wf.last_task
        return dict(last.data) if last is not None else dict(wf.task_tree.data)
    merged: dict = {}
    for task in tasks:
        # a call activity that maps variables holds only what it passes while the called process runs: the
        # caller's own variables are those it set aside
        data = caller_view(task) if _calls(task) else None
        data = task.data if data is None else data
        local = local_names(task)  # an instance of a multi-instance activity: its item and counter are its own
        merged.update(data if not local else {k: v for k, v in data.items() if k not in local})
    return merged


def update_variables(wf: BpmnWorkflow, changes: dict[str, Any]) -> dict:
    """Merge-patch the data of every waiting task (None deletes); return the new variables.

    A waiting task takes its parent's data again each time SpiffWorkflow looks at it (a timer or a
    message catch event being checked merges the data of the task before it over its own), so the
    parents of the waiting tasks are patched too: otherwise the old values come back at the next step."""
    check_storable({k: v for k, v in changes.items() if v is not None})
    active = [t for t in wf.get_tasks(state=ACTIVE)] or [wf.last_task or wf.task_tree]
    parents = [t.parent for t in active if t.parent is not None and not t.parent.has_state(ACTIVE)]
    targets = list({id(t): t for t in [*active, *parents]}.values())
    for task in targets:
        for key, value in changes.items():
            if value is None:
                task.data.pop(key, None)
            else:
                task.data[key] = value
    return variables(wf)
