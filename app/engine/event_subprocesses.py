"""Interrupting event sub-processes (BPMN 2.0, 10.5.6; Camunda 7, "Event Subprocess").

An event sub-process whose start event is interrupting (`isInterrupting`, true unless "false") ends the
rest of its scope when it starts: every other activity of the process (or of the sub-process it is drawn
in), waiting tasks, running sub-processes and the other event sub-processes, is cancelled, and the scope
ends when the event sub-process does. A non-interrupting one runs beside them. SpiffWorkflow starts an
event sub-process when its event is caught but interrupts nothing; the parser marks each start event
(`mark`, as an extension of its spec), and `interrupt` cancels the scope's other work once such a start
event has fired.
"""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

__all__ = ["INTERRUPTING", "interrupt", "mark"]

INTERRUPTING = "stagecoach:interrupting"  # a key of the start event spec's extensions (stored with the spec)
_DONE = "stagecoach_interrupted"  # internal data of an event sub-process that has interrupted its scope


def mark(extensions, node) -> dict:
    """The extensions of a start event's spec (stored with it), with whether it interrupts when it starts
    an event sub-process; other start events' are left as they are."""
    parent = node.getparent()
    if parent is None or parent.get("triggeredByEvent") != "true":
        return extensions
    extensions = dict(extensions or {})
    extensions[INTERRUPTING] = (node.get("isInterrupting") or "true").strip().lower() != "false"
    return extensions


def _interrupts(start_event_task) -> bool:
    return bool((getattr(start_event_task.task_spec, "extensions", None) or {}).get(INTERRUPTING))


def _may_interrupt(spec) -> bool:
    """Whether the workflow spec is an event sub-process with an interrupting start (known once per spec)."""
    known = getattr(spec, "_stagecoach_interrupts", None)
    if known is None:
        known = any((getattr(ts, "extensions", None) or {}).get(INTERRUPTING) for ts in spec.task_specs.values())
        spec._stagecoach_interrupts = known
    return known


def interrupt(wf) -> bool:
    """Cancel what an interrupting event sub-process that just started ends; whether anything was."""
    acted = False
    for sub in list(wf.subprocesses.values()):
        if sub.parent_task_id is None or not _may_interrupt(sub.spec):
            continue
        holder = wf.get_task_from_id(sub.parent_task_id)
        if holder is None or holder.internal_data.get(_DONE):
            continue
        if not any(_interrupts(t) for t in sub.get_tasks(state=TaskState.COMPLETED)):
            continue  # not started by an interrupting event (yet)
        holder.internal_data[_DONE] = True
        keep = set()
        task = holder
        while task is not None:
            keep.add(task.id)
            task = task.parent
        _cancel_others(holder.workflow.task_tree, holder, keep)
        acted = True
    return acted


def _cancel_others(task, holder, keep: set) -> None:
    for child in list(task.children):
        if child is holder:
            continue
        if child.id in keep:
            _cancel_others(child, holder, keep)
        else:
            child.cancel()
