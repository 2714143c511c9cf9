"""Compensation at run time: undoing completed activities, as BPMN 2.0 (10.7, 13.5.5) and Camunda 7 run it.

SpiffWorkflow 3.2 has none of it (it refuses compensation boundary events and runs compensation throw
events as none events), so Stagecoach carries it with three task specs of its own and two hooks:

- `CompensationRegistry`, one per process or sub-process spec that takes part (the parser adds it, never
  connected to any flow): which of the scope's activities have a compensation handler (`handlers`; a
  sub-process's handler may be its compensation event sub-process) and which embedded sub-processes are
  compensated by compensating their own activities (`nested`). It is the input of every handler spec
  of its spec, so that SpiffWorkflow's check that a task has an input holds;
- `IntermediateCompensationThrowEvent` and `CompensationEndEvent`: when one runs it plans, from what
  the instance actually did, the handlers to run: every completed, not yet compensated run of an
  activity of its scope that has a handler (or only of its `activityRef`), last completed first; a
  completed embedded sub-process without a handler of its own contributes its own activities' handlers
  in its place, the same way. Then it waits (STARTED) while the handlers run one after another, each a
  task of the throw event's workflow, added as a triggered child of the one before (the first of the
  throw event itself) with the data the instance has; after the last one the throw event runs again,
  takes the data the handlers left and completes: Camunda always waits for compensation;
- hooks on the specs' `completed_event` (`connect`, called whenever a workflow is created or loaded,
  as SpiffWorkflow reconnects its own loop tasks): a compensable activity that completes gets the
  next number of the instance's completion counter, which is the order compensation reverses; a
  handler that completes starts the next one, or wakes its throw event.

The scope of a throw event is its process or sub-process; inside an event sub-process it is the
scope around it, and inside a compensation event sub-process (run as the compensation handler of
its sub-process) the completed sub-process it undoes. Compensation never climbs out of its scope.

A handler that fails is an incident on it, and a retry runs it again; a throw event whose first handler
cannot start fails itself, and a retry starts that handler afresh.

All of it lives in task internal data, which SpiffWorkflow serializes: a save/restore in the middle
of compensation (a handler waiting for a person) resumes where it was. State stored before this
module existed holds none of it and loads unchanged.
"""
from __future__ import annotations

import copy
import threading
from uuid import UUID

from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.util.task import TaskState

__all__ = ["REGISTRY", "CompensationEndEvent", "CompensationRegistry", "IntermediateCompensationThrowEvent",
           "connect", "resumed"]

REGISTRY = "[compensation]"  # the registry's spec name: not an XML id, so no element of a diagram can have it

_ORDER = "compensation_order"  # of a completed compensable task: its place in the instance's completions
_CLOCK = "compensation_clock"  # of the top workflow's root task: the last place given
_DONE = "compensated"  # of a task whose compensation was planned: it is not compensated twice
_THROW = "compensation"  # of a throw event: {"pending": [step, ...], "done": bool, "waited": bool}
_STEP = "compensation_step"  # of a handler task: {"throw": id, "handler": name, "compensates": id}


class CompensationRegistry(BpmnTaskSpec):
    """What a process or sub-process spec knows of compensation (never a task of its own).

    Attributes:
        handlers: {activity spec name: handler spec name} for this scope's activities with a
            compensation boundary event, and its sub-processes with a compensation event sub-process.
        nested: embedded sub-processes of this scope without a handler of their own whose activities
            (or deeper sub-processes) have one: compensating them compensates those.
    """

    def __init__(self, wf_spec, name, handlers=None, nested=None, **kwargs):
        super().__init__(wf_spec, name, **kwargs)
        self.handlers = dict(handlers or {})
        self.nested = list(nested or [])
        self.connected = False  # hooks are not serialized: `connect` sets them once per loaded spec


class _CompensationThrow(BpmnSpecMixin):
    """A throw event with a compensateEventDefinition.

    Attributes:
        activity: its activityRef (a spec name), or None.
        hops: how its scope is reached from its own workflow, outwards: "event" for each event
            sub-process it sits in (the scope is around it), "inner" for the compensation event
            sub-process it sits in (the scope is the completed sub-process it undoes).
    """

    def __init__(self, wf_spec, bpmn_id, activity=None, hops=(), **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.activity = activity
        self.hops = list(hops)

    def _run_hook(self, my_task):
        state = my_task.internal_data.get(_THROW)
        if state is None:
            steps = _plan(_scope_of(my_task), self.activity)
            state = {"pending": steps, "done": not steps, "waited": bool(steps)}
            my_task.internal_data[_THROW] = state
        if state["done"]:
            return super()._run_hook(my_task)
        # Start the first handler; run again after it failed to start (a retry), start it afresh.
        for child in my_task.children:
            if child.internal_data.get(_STEP):
                my_task.workflow._remove_task(child.id)
        handler = _start(my_task, my_task, state["pending"][0])
        handler.task_spec._update(handler)
        state["pending"].pop(0)
        return None  # STARTED: waits for its handlers


class IntermediateCompensationThrowEvent(_CompensationThrow):
    """bpmn:intermediateThrowEvent with a compensateEventDefinition."""


class CompensationEndEvent(_CompensationThrow):
    """bpmn:endEvent with a compensateEventDefinition: ends its path once the handlers ran."""


# -- what a throw event compensates ---------------------------------------------------------------------


def _scope_of(task):
    """The workflow whose activities a throw event compensates (see the module docstring)."""
    wf = task.workflow
    top = wf.top_workflow
    for hop in task.task_spec.hops:
        parent = top.get_task_from_id(wf.parent_task_id)
        if hop == "inner":  # a compensation event sub-process runs as a handler: its step names what it undoes
            wf = top.subprocesses[UUID(parent.internal_data[_STEP]["compensates"])]
        else:
            wf = parent.workflow
    return wf


def _order(task) -> tuple:
    return task.internal_data.get(_ORDER, 0), task.last_state_change


def _plan(scope, activity: str | None = None) -> list[dict]:
    """The handlers to run for the completed, not yet compensated activities of `scope` (all of them, or the
    runs of `activity`), last completed first; each planned activity is marked so it is not planned again."""
    registry = scope.spec.task_specs.get(REGISTRY)
    if not isinstance(registry, CompensationRegistry):
        return []
    names = set(registry.handlers) | set(registry.nested)
    if activity is not None:
        names &= {activity}
    done = [t for t in scope.tasks.values() if t.task_spec.name in names and t.has_state(TaskState.COMPLETED)
            and not t.internal_data.get(_DONE)]
    steps: list[dict] = []
    for task in sorted(done, key=_order, reverse=True):
        task.internal_data[_DONE] = True
        handler = registry.handlers.get(task.task_spec.name)
        if handler is not None:
            steps.append({"handler": handler, "compensates": str(task.id)})
            continue
        subprocess = scope.top_workflow.subprocesses.get(task.id)
        if subprocess is not None:
            steps.extend(_plan(subprocess))
    return steps


def _start(throw, parent, step: dict):
    """The task of one planned handler, in the throw event's workflow, after `parent` (still FUTURE: the
    caller updates it, or SpiffWorkflow does when `parent` completes)."""
    spec = throw.workflow.spec.task_specs[step["handler"]]
    task = parent._add_child(spec, TaskState.FUTURE)
    task.triggered = True  # not an output of its parent's spec: SpiffWorkflow must keep it
    task.internal_data[_STEP] = dict(step, throw=str(throw.id))
    return task


# -- hooks ----------------------------------------------------------------------------------------------


_connecting = threading.Lock()  # specs are shared between the threads that run instances


def connect(specs) -> None:
    """Hook compensation into these specs (once per spec object: hooks are not serialized, and a handler
    hooked twice would start the next one twice)."""
    with _connecting:
        for spec in specs:
            registry = spec.task_specs.get(REGISTRY)
            if not isinstance(registry, CompensationRegistry) or registry.connected:
                continue
            for name in {*registry.handlers, *registry.nested}:
                _hook(spec.task_specs.get(name), _stamp)
            for handler in registry.outputs:
                _hook(handler, _advance)
            registry.connected = True


def _hook(task_spec, callback) -> None:
    if task_spec is not None and not task_spec.completed_event.is_connected(callback):
        task_spec.completed_event.connect(callback)


def _stamp(workflow, task) -> None:
    """A compensable activity completed: it takes the next place in the instance's completions."""
    root = task.workflow.top_workflow.task_tree
    place = root.internal_data.get(_CLOCK, 0) + 1
    root.internal_data[_CLOCK] = place
    task.internal_data[_ORDER] = place


def _advance(workflow, task) -> None:
    """A handler completed: start the next one its throw event planned, or wake the throw event."""
    step = task.internal_data.get(_STEP)
    if not step:
        return  # the handler spec's task ran for another reason (it cannot, but be safe)
    throw = task.workflow.tasks.get(UUID(step["throw"]))
    if throw is None:
        return
    state = throw.internal_data[_THROW]
    if state["pending"]:
        _start(throw, task, state["pending"].pop(0))  # SpiffWorkflow updates it as the handler's child
        return
    state["done"] = True
    throw.data.update(copy.deepcopy(task.data))  # what the handlers left, over the data it had
    throw._ready()


# -- what the runner asks ---------------------------------------------------------------------------------


def resumed(task) -> bool:
    """Whether `task` is a throw event whose handlers ran (it is ready again only to complete)."""
    state = task.internal_data.get(_THROW)
    return bool(state and state["done"] and state["waited"])


