"""Running workflows: until they wait, completing human tasks, retrying after errors.

The runner works on one loaded `StagecoachWorkflow` at a time and never touches
storage; callers hold the instance lock and persist what it returns. Each call
returns an `Outcome` (see `outcome`): the new status, what happened (for the
audit trail), the incident if a step failed, and the projections the server
keeps in its own tables (open human tasks, active activities, variables).

Its collaborators: `outcome` (results and describing tasks), `trail` (when each
element was entered and left), `holding` (tasks held for a job or a worker),
`conditions` (waiting conditional events),
`variables` (reading and patching the instance's data) and `iomapping`.
"""
from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Callable
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..clock import utcnow

from . import bounds, compensation, holding, iomapping, migration, modification
from .conditions import fire_conditions, has_conditions
from .depth import MAX_TREE_DEPTH, too_deep
from .errors_caught import most_specific
from .event_subprocesses import interrupt
from .scope import spread
from .outcome import (NO_EFFECTS, Incident, OpenTask, Outcome, StepLimitError, TaskCompletionError, TaskEffects,
                      TaskNotReadyError, before, definitions, describe, errored_tasks, event_kind,
                      event_subprocess_starts, incident_of, open_task_ids, report, waits_of)
from .limits import Limits, TaskLimitError, data_problem, setting
from .sandbox import ScriptError
from .scripting import SandboxScriptEngine
from .trail import Trail
from .variables import ACTIVE, visible
from .variables import update_variables as patch_variables, variables as read_variables
from .workflow import RunSettings, StagecoachWorkflow

__all__ = ["MAX_TREE_DEPTH", "NO_EFFECTS", "Incident", "OpenTask", "Outcome", "RunSettings", "Runner",
           "StepLimitError", "TaskCompletionError", "TaskEffects", "TaskNotReadyError", "waits_of"]

# A loop drawn with a gateway deepens the task tree on every pass: `too_deep` stops an
# instance whose tree grows MAX_TREE_DEPTH levels beyond its diagram's size (see `depth`).


def _engine_steps(wf: StagecoachWorkflow, before, after) -> None:
    """SpiffWorkflow's do_engine_steps, except that held asynchronous tasks are left ready."""

    def update(workflow) -> int:
        count = 0
        for task in workflow.get_tasks(state=TaskState.READY):
            # still ready: a task run before it in this pass may have cancelled it (a multi-instance's
            # completion condition, an interrupting event)
            if task.has_state(TaskState.READY) and holding.is_runnable(wf, task):
                before(task)
                iomapping.ensure_inputs(task)
                data = dict(task.data)
                task.run()
                spread(wf, task, data)  # what it set is the process's, on every path at once
                count += 1
                after(task)
        return count

    def settle() -> None:
        while True:
            interrupt(wf)  # an interrupting event sub-process that started ends the rest of its scope
            active = wf.get_active_subprocesses()
            for subprocess in sorted(active, key=lambda v: v.depth, reverse=True):
                count = None
                while count is None or count > 0:
                    count = update(subprocess)
                if subprocess.parent_task_id is not None:
                    parent = wf.get_task_from_id(subprocess.parent_task_id)
                    parent.task_spec._update(parent)
            if not (update(wf) > 0 or len(wf.get_active_subprocesses()) > len(active) or interrupt(wf)):
                break

    settle()
    if wf.has_conditional_events and fire_conditions(wf):
        settle()  # once: a condition that stays true fires once per command, not in a loop
    if wf.io_mappings:
        for task in wf.get_tasks(state=TaskState.READY):  # offered to a person or a worker: inputs first
            iomapping.ensure_inputs(task)
    wf.refresh_timers()


# SpiffWorkflow's Camunda message events also store a caught payload as one variable (`<event id>_Response`
# unless named); Camunda sets only the message's process variables, which `deliver` merges itself. The
# payload is caught under this name and removed once the catching task has run.
_MESSAGE_PAYLOAD = "stagecoach_message_payload"


def _drop_message_payload(wf: StagecoachWorkflow) -> None:
    for task in wf.get_tasks():
        task.data.pop(_MESSAGE_PAYLOAD, None)


def _identify(wf: StagecoachWorkflow, effects: TaskEffects) -> None:
    """Tell the workflow which instance it runs as, for the scripts that ask."""
    wf.instance_id, wf.business_key = effects.instance_id, effects.business_key


class Runner:
    """Drives workflows with the sandboxed script engine, within the engine's `Limits`.

    Args:
        max_steps: shorthand for the engine step limit (overrides `limits`' own).
        limits: every limit; by default the script engine's sandbox's.
    """

    def __init__(self, script_engine: SandboxScriptEngine, max_steps: int | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, *, limits: Limits | None = None):
        self.script_engine = script_engine
        self.limits = (limits or script_engine.sandbox.limits).replace(engine_max_steps=max_steps)
        self.clock = clock

    @property
    def max_steps(self) -> int:
        return self.limits.engine_max_steps

    def check_input(self, values: dict, current: dict | None = None) -> None:
        """Check variables about to be set from outside (a start, a form, a message, an API call),
        with the instance's `current` ones, against the variable limits.

        Raises:
            VariableLimitError: a variable, or all of them, would be too large or too deeply nested.
            ScriptError: a value cannot be stored at all.
        """
        problem = data_problem(values, self.limits, current)
        if problem is None:
            return
        if problem.field is None:
            raise ScriptError(problem.message)
        raise problem.error()

    # -- life cycle ---------------------------------------------------------
    def create(self, spec, subprocess_specs: dict, data: dict | None = None) -> StagecoachWorkflow:
        """A new workflow with `data` as its initial variables; nothing has run yet."""
        if data:
            self.check_input(data)
        compensation.connect([spec, *subprocess_specs.values()])
        wf = StagecoachWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        wf.has_conditional_events = has_conditions(wf)
        bounds.instrument(wf)
        if data:
            wf.task_tree.data.update(data)
        return wf

    def attach(self, wf: BpmnWorkflow) -> StagecoachWorkflow:
        """Re-attach the script engine to a loaded workflow (it is not serialized)."""
        wf = StagecoachWorkflow.adopt(wf)
        compensation.connect([wf.spec, *wf.subprocess_specs.values()])
        wf.script_engine = self.script_engine
        wf.has_conditional_events = has_conditions(wf)
        bounds.instrument(wf)
        return wf

    def advance(self, wf: StagecoachWorkflow, effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Run every ready engine task until all paths wait or end."""
        events: list[dict] = []
        start = before(wf)
        trail = Trail(wf, events, self.clock, start.tasks)
        incident = self._run(wf, trail, effects)
        return report(wf, events, incident, trail, start, self.clock())

    def complete(self, wf: StagecoachWorkflow, task_id: str, data: dict, user: str | None = None,
                 effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Complete a ready human task with `data`, then advance.

        Raises:
            TaskNotReadyError: no ready human task has this id.
            TaskCompletionError: the task's own completion failed (as in Camunda, the caller's
                transaction is to be rolled back: the task stays open).
        """
        task = self.human_task(wf, task_id)
        self.check_input(data, task.data)
        events = [dict(describe(task), type="task_completed", at=self.clock(), user=user, data=dict(data), task_id=task.id)]
        start = before(wf)
        trail = Trail(wf, events, self.clock, start.tasks)
        inherited = dict(task.data)
        task.data.update(data)
        _identify(wf, effects)
        try:
            task.run()
        except Exception as exc:  # the task's own output mapping, end listener or post-script failed
            raise TaskCompletionError(incident_of(wf, exc)) from None
        spread(wf, task, inherited)
        trail.ran(task)
        incident = self._run(wf, trail, effects)
        outcome = report(wf, events, incident, trail, start, self.clock())
        outcome.closed_tasks.discard(str(task.id))  # completed, not withdrawn
        return outcome

    @staticmethod
    def hold(wf: StagecoachWorkflow, before, after=()) -> None:
        """Hold the tasks of the `before` elements when they become ready, and the tasks that follow
        the `after` elements (camunda:asyncAfter): a job (or a worker) runs them (`release`)."""
        holding.hold(wf, before, after)

    def prepare(self, wf: StagecoachWorkflow, settings: RunSettings) -> StagecoachWorkflow:
        """Hold the asynchronous and external tasks and apply the mappings of the workflow's definition."""
        self.hold(wf, settings.hold_before, settings.hold_after)
        if settings.io:
            self.map_io(wf, settings.io)
        return wf

    @staticmethod
    def map_io(wf: StagecoachWorkflow, mappings: dict[str, dict]) -> None:
        """Apply these input/output mappings ({element id: mapping}, see `iomapping`) in `wf`."""
        iomapping.attach(wf, mappings)

    def release(self, wf: StagecoachWorkflow, effects: TaskEffects = NO_EFFECTS,
                task_ids: set[str] | None = None) -> Outcome:
        """Run held tasks that are ready (all of them, or those of `task_ids`), then advance."""
        wf.released = {t.id for t in holding.held_tasks(wf) if task_ids is None or str(t.id) in task_ids}
        try:
            return self.advance(wf, effects)
        finally:
            wf.released = set()

    def held(self, wf: StagecoachWorkflow) -> dict[str, str]:
        """The held tasks that are ready: {task id: the element whose job or worker runs it}."""
        return holding.held_map(wf)

    def complete_held(self, wf: StagecoachWorkflow, task_id: str, data: dict,
                      effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Complete one held task (an external task a worker finished) with `data`, then advance.

        Raises:
            TaskNotReadyError: no held task has this id.
            TaskCompletionError: the task's own completion failed (to be rolled back: it stays held).
        """
        task = self._held_task(wf, task_id)
        self.check_input(data, task.data)
        inherited = dict(task.data)
        task.data.update(data)
        spread(wf, task, inherited)
        outcome = self.release(wf, effects, {str(task.id)})
        if task.has_state(TaskState.ERROR) and outcome.incident is not None:
            raise TaskCompletionError(outcome.incident)  # its own output mapping or end listener failed
        return outcome

    def throw_error(self, wf: StagecoachWorkflow, task_id: str, code: str, data: dict,
                    effects: TaskEffects = NO_EFFECTS, message: str | None = None) -> Outcome:
        """Throw a BPMN error with `code` (and the worker's `message`) from one held task to its error boundary
        event (the one naming the code, else one catching every error), then advance.

        Raises:
            TaskNotReadyError: no held task has this id, or no boundary event of it catches `code`.
        """
        task = self._held_task(wf, task_id)
        self.check_input(data, task.data)
        catching = [t for t in (task.parent.children if task.parent else [])
                    if t.has_state(TaskState.WAITING)
                    and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
                    and t.task_spec.event_definition.code in (None, code)]
        if not catching:
            raise TaskNotReadyError(f"no error boundary event on {task.task_spec.bpmn_id} catches error code {code!r}")
        catching = most_specific(catching, code)
        events = [dict(describe(task), type="bpmn_error", at=self.clock(), data={"code": code, **data})]
        start = before(wf)
        trail = Trail(wf, events, self.clock, start.tasks)
        task.data.update(data)
        event = BpmnEvent(ErrorEventDefinition(code, code=code), dict(data), target=task.workflow)
        event.message = message  # for camunda:errorMessageVariable (errors_caught)
        wf.catch(event)
        for caught in catching:
            caught.data.update(data)
        incident = self._run(wf, trail, effects)
        return report(wf, events, incident, trail, start, self.clock())

    @staticmethod
    def _held_task(wf: StagecoachWorkflow, task_id: str):
        task = next((t for t in holding.held_tasks(wf) if str(t.id) == str(task_id)), None)
        if task is None:
            raise TaskNotReadyError(task_id)
        return task

    def fire_timers(self, wf: StagecoachWorkflow, effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Let every timer that is due fire, then advance."""
        wf.refresh_timers()
        return self.advance(wf, effects)

    def deliver(self, wf: StagecoachWorkflow, kind: str, name: str, variables: dict,
                effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Deliver a message or signal to the tasks waiting for it, then advance.

        The variables are merged into the catching tasks' data before they
        catch, whatever the dialect's payload convention.

        Raises:
            TaskNotReadyError: nothing in this workflow waits for it.
        """
        self.check_input(variables, read_variables(wf))
        waiting = [(t, d) for t in wf.get_tasks(state=TaskState.WAITING) for d in definitions(t)
                   if event_kind(d) == kind and d.name == name]
        # an event sub-process started by it (a message one only when no task waits for the message)
        triggers = [s for s in event_subprocess_starts(wf) if event_kind(s.event_definition) == kind
                    and s.event_definition.name == name] if kind == "signal" or not waiting else []
        if not waiting and not triggers:
            raise TaskNotReadyError(f"nothing waits for {kind} {name!r}")
        current = read_variables(wf) if triggers else {}
        # what the instance is at before it catches: a waiting event or gateway that catches is left, not entered anew
        events: list[dict] = []
        start = before(wf)
        trail = Trail(wf, events, self.clock, start.tasks)
        inherited = {id(task): dict(task.data) for task, _ in waiting}
        for task, _ in waiting:
            task.data.update(variables)
        definition = copy.copy(waiting[0][1] if waiting else triggers[0].event_definition)
        payload = dict(variables)
        camunda = type(definition).__module__.startswith("SpiffWorkflow.camunda")
        if camunda:
            payload = {"payload": dict(variables), "result_var": _MESSAGE_PAYLOAD}
        wf.send_event(BpmnEvent(definition, payload))
        for task, _ in waiting:  # catching copied the parent's data over the task's: put them back
            if task.has_state(TaskState.READY):
                task.data.update(variables)
                spread(wf, task, inherited[id(task)])  # the message's variables are the process's
        started = {s.name for s in triggers}
        for task in wf.get_tasks(state=TaskState.READY):  # an event sub-process starts with the process's data now
            if task.task_spec.name in started and task.workflow is not wf:
                task.data.update({**current, **variables})
        incident = self._run(wf, trail, effects)
        if camunda:
            _drop_message_payload(wf)
        return report(wf, events, incident, trail, start, self.clock())

    def retry(self, wf: StagecoachWorkflow, effects: TaskEffects = NO_EFFECTS) -> Outcome:
        """Put failed tasks back to ready and advance again."""
        for task in errored_tasks(wf):
            task._set_state(TaskState.READY)
        return self.advance(wf, effects)

    def migrate(self, wf: StagecoachWorkflow, registry, source: tuple, target: tuple, mapping: dict[str, str],
                settings: RunSettings, same_ids: bool = True) -> Outcome:
        """Move `wf` onto the target definition's specs ((spec, subprocess specs)) without running it.

        Raises:
            MigrationRefused: an active element cannot move (nothing changed).
        """
        events: list[dict] = []
        start = before(wf)
        trail = Trail(wf, events, self.clock, start.tasks)
        removed = migration.migrate(registry, wf, source, target, mapping, same_ids)
        self.prepare(self.attach(wf), settings)
        events += [{"type": "boundary_event_removed", "element_id": element, "at": self.clock()} for element in removed]
        return report(wf, events, None, trail, start, self.clock())

    def modify(self, wf: StagecoachWorkflow, instructions: list, effects: TaskEffects = NO_EFFECTS
               ) -> tuple[Outcome, list[dict]]:
        """Apply modification instructions (`modification.Instruction`), then advance; returns the outcome and
        one audit entry per instruction. An instance left with no active token is cancelled (status
        "cancelled"), as Camunda ends an instance that a modification emptied.

        Raises:
            ModificationError: an instruction cannot apply (the workflow is to be discarded).
        """
        events: list[dict] = []
        start = before(wf)
        trail = Trail(wf, events, self.clock, start.tasks)
        done = modification.apply(wf, instructions)
        if not modification.active_tokens(wf):  # SpiffWorkflow calls that completed; nothing reached an end
            outcome = self.cancel(wf)
            outcome.closed_tasks = set(start.human)
            return outcome, done
        incident = self._run(wf, trail, effects)
        return report(wf, events, incident, trail, start, self.clock()), done

    def cancel(self, wf: StagecoachWorkflow) -> Outcome:
        """Cancel every unfinished task."""
        closed = self.open_task_ids(wf)
        wf.cancel()
        return Outcome(status="cancelled", variables=self.variables(wf), closed_tasks=closed)

    # -- data -----------------------------------------------------------------
    def human_task(self, wf: BpmnWorkflow, task_id: str):
        """The ready human task with this id.

        Raises:
            TaskNotReadyError: no ready human task has it.
        """
        try:
            task = wf.get_task_from_id(UUID(str(task_id)))
        except (ValueError, KeyError, SpiffWorkflowException):
            task = None
        if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
            raise TaskNotReadyError(task_id)
        return task

    @staticmethod
    def variables(wf: BpmnWorkflow) -> dict:
        """The instance's current business data."""
        return read_variables(wf)

    def update_variables(self, wf: BpmnWorkflow, changes: dict[str, Any]) -> dict:
        """Merge-patch the data of every waiting task (None deletes); return the new variables.

        Raises:
            VariableLimitError: the variables would pass a variable limit (nothing changed).
        """
        current = {k: v for k, v in read_variables(wf).items() if k not in changes}
        self.check_input({k: v for k, v in changes.items() if v is not None}, current)
        return patch_variables(wf, changes)

    @staticmethod
    def open_task_ids(wf: BpmnWorkflow) -> set[str]:
        """Ids of the open (ready) human tasks."""
        return open_task_ids(wf)

    # -- internals --------------------------------------------------------------
    def _run(self, wf: StagecoachWorkflow, trail: Trail, effects: TaskEffects = NO_EFFECTS) -> Incident | None:
        steps = 0
        bounds.start(wf, self.limits)
        _identify(wf, effects)

        def before(task):
            nonlocal steps
            steps += 1
            if steps > self.max_steps:
                raise StepLimitError(f"more than {self.max_steps} engine steps in one go; does the diagram loop "
                                     f"forever? ({setting('engine_max_steps')})")
            why = too_deep(task)
            if why:
                raise StepLimitError(why)
            bounds.check_tasks(wf)
            effects.task_started()

        def after(task):
            effects.task_finished(True)
            if visible(task):
                trail.ran(task)

        try:
            try:
                _engine_steps(wf, before, after)
            except BaseException:
                effects.task_finished(False)  # the failed task's effects go with it
                raise
        except (StepLimitError, TaskLimitError) as exc:
            ready = [t for t in wf.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
            task = ready[0] if ready else None
            return Incident(task.task_spec.bpmn_id if task else None,
                            (task.task_spec.bpmn_name if task else None), str(exc))
        except Exception as exc:
            return incident_of(wf, exc)
        active = wf.get_tasks(state=ACTIVE)  # walked once: these checks, then the trail and the report
        deep = next((t for t in active if too_deep(t)), None)
        if deep is not None:
            return Incident(deep.task_spec.bpmn_id, deep.task_spec.bpmn_name, too_deep(deep))
        trail.settled = active
        return self._oversized(wf, active)

    def _oversized(self, wf: StagecoachWorkflow, active: list) -> Incident | None:
        """An incident if the run left variables past a variable limit, however they were written
        (a service task's result, a multi-instance's output collection, a call activity's outputs)."""
        problem = data_problem(read_variables(wf, active), self.limits)
        if problem is None or problem.field is None:  # what cannot be stored is the serializer's to refuse
            return None
        shown = [t for t in active if visible(t)]
        task = shown[0] if shown else None
        return Incident(task.task_spec.bpmn_id if task else None, task.task_spec.bpmn_name if task else None,
                        str(problem.error()))
