"""Waiting conditional events, evaluated again whenever the instance changes.

SpiffWorkflow evaluates a condition once, when the event is reached (and
`conditional.WaitingConditionalEventDefinition` makes one that cannot be
evaluated yet wait instead of failing). As in Camunda, a waiting conditional
event is evaluated again whenever the instance changes (each command that runs
it), against the instance's current variables; `fire_conditions` does that.
"""
from __future__ import annotations

from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .variables import ACTIVE, visible

__all__ = ["fire_conditions", "has_conditions"]

# process spec -> whether one of its task specs is a conditional event (specs are shared and immutable)
_CONDITIONAL_SPECS: WeakKeyDictionary = WeakKeyDictionary()


def _is_conditional(task_spec) -> bool:
    return isinstance(getattr(task_spec, "event_definition", None), ConditionalEventDefinition)


def has_conditions(wf: BpmnWorkflow) -> bool:
    """Whether any spec of the workflow has a conditional event (computed once per spec)."""
    found = False
    for spec in (wf.spec, *wf.subprocess_specs.values()):
        flag = _CONDITIONAL_SPECS.get(spec)
        if flag is None:
            flag = any(_is_conditional(ts) for ts in spec.task_specs.values())
            _CONDITIONAL_SPECS[spec] = flag
        found = found or flag
    return found


def fire_conditions(wf: BpmnWorkflow) -> bool:
    """Fire the waiting conditional events whose condition holds now; whether any did.

    One that cannot be evaluated yet (a variable not set) has not fired.
    """
    waiting = [t for t in wf.get_tasks(state=TaskState.WAITING) if _is_conditional(t.task_spec)]
    starts = _conditional_starts(wf)
    if not waiting and not starts:
        return False
    current: dict = {}
    for task in wf.get_tasks(state=ACTIVE):
        if visible(task):
            current.update(task.data)
    fired = _start_event_subprocesses(wf, starts, current)
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


def _conditional_starts(wf: BpmnWorkflow) -> list:
    """(event sub-process name, its conditional start event) of the process's event sub-processes that are
    not running now."""
    running = {sub.spec.name for sub in wf.subprocesses.values() if not sub.is_completed()}
    found = []
    for name in getattr(wf.spec.start, "trigger_specs", ()):
        sub_spec = wf.subprocess_specs.get(name)
        if sub_spec is None or sub_spec.name in running:
            continue
        found.extend((name, start) for start in sub_spec.bpmn_start_events if _is_conditional(start))
    return found


def _start_event_subprocesses(wf: BpmnWorkflow, starts: list, current: dict) -> bool:
    """Start each event sub-process whose start condition holds now (not one already running: a condition
    that stays true starts it once), its start event given the instance's variables; whether any did."""
    fired = False
    for name, start in starts:
        try:
            holds = wf.script_engine.environment.evaluate(start.event_definition.expression, dict(current))
        except Exception:  # noqa: BLE001 - not evaluable yet is not fired
            holds = False
        if not holds:
            continue
        child_id = wf.spec.start.trigger_wf(wf.task_tree, name)
        for task in wf.subprocesses[child_id].get_tasks(state=TaskState.WAITING):
            if task.task_spec is start:
                task.data.update(current)
                task._ready()
                fired = True
    return fired
