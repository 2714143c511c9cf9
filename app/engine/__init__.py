"""The only door to SpiffWorkflow.

Nothing outside this package imports SpiffWorkflow. It knows no Flask and no
SQLAlchemy: callers pass bytes and strings in and get plain data back.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from .expressions import is_modeler_expression
from .flow import flow_order as _flow_order
from .functions import FunctionRegistry, ScriptFunction, default_registry
from . import migration as _migration
from .loops import connect_loops
from .limits import LimitExceededError, Limits, StateLimitError, TaskLimitError, VariableLimitError
from .parser import MAX_HISTORY_TTL_DAYS, BpmnRejected, DiagramLimits, ProcessModel, parse_deployment, parse_ttl_days
from .resolvers import (priority_of, resolve_assignment, resolve_candidates, resolve_due_date, resolve_external_task,
                        resolve_priority)
from .migration import MigrationRefused, Refusal
from .modification import Instruction, ModificationError
from .rule_diagrams import rule_bpmn
from .outcome import (NO_EFFECTS, Incident, OpenTask, Outcome, TaskCompletionError, TaskEffects, TaskNotReadyError,
                      active_elements)
from .runner import Runner
from .sandbox import Sandbox, ScriptError, ScriptLimitError, ScriptSecurityError
from .scripting import SandboxScriptEngine
from .serializer import SERIALIZERS, STATE_VERSION, StateError
from .workflow import RunSettings, StagecoachWorkflow
from .xml import Problem

__all__ = [
    "Instruction", "MigrationRefused", "ModificationError", "Refusal",
    "BpmnRejected", "DiagramLimits", "Engine", "NO_EFFECTS", "TaskEffects", "iso_duration", "FunctionRegistry", "Incident", "OpenTask", "Outcome", "Problem",
    "LimitExceededError", "Limits", "StateLimitError", "TaskLimitError", "VariableLimitError",
    "MAX_HISTORY_TTL_DAYS", "parse_ttl_days", "ProcessModel", "RunSettings", "STATE_VERSION", "Sandbox", "ScriptError", "ScriptFunction", "ScriptLimitError",
    "ScriptSecurityError", "StagecoachWorkflow", "StateError", "TaskCompletionError", "TaskNotReadyError", "default_registry", "is_modeler_expression",
    "resolve_assignment", "resolve_candidates",
    "resolve_due_date",
    "resolve_priority", "resolve_external_task", "priority_of",
    "rule_bpmn", "element_types",
]


def element_types() -> frozenset[str]:
    """The name of every task spec class loaded (what an activity row's `element_type` holds:
    `type(spec).__name__`): a filter by kind picks its types from these instead of asking the database
    which types its rows hold."""
    from SpiffWorkflow.specs.base import TaskSpec

    found, stack = set(), [TaskSpec]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return frozenset(cls.__name__ for cls in found)


def iso_duration(value: str, start):
    """An ISO 8601 duration (PT5M, P1D) as a timedelta from `start`."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    return TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(value), start)


class Engine:
    """Parser, sandboxed runner and versioned serializer, with a cache of parsed specs.

    `limits` bounds what running instances may cost (`Limits`); `max_engine_steps`,
    `script_max_steps` and `script_max_seconds`, when given, override its own.
    """

    def __init__(self, registry: FunctionRegistry | None = None, *, limits: Limits | None = None,
                 max_engine_steps: int | None = None, script_max_steps: int | None = None,
                 script_max_seconds: float | None = None, spec_cache_size: int = 512,
                 diagram_limits: DiagramLimits | None = None):
        self.registry = registry or default_registry()
        self.diagram_limits = diagram_limits or DiagramLimits()
        self.limits = (limits or Limits()).replace(engine_max_steps=max_engine_steps,
                                                   script_max_steps=script_max_steps,
                                                   script_max_seconds=script_max_seconds)
        self.script_engine = SandboxScriptEngine(self.registry, limits=self.limits)
        self.runner = Runner(self.script_engine, limits=self.limits)
        self._specs: OrderedDict[str, tuple] = OrderedDict()
        self._cache_size = spec_cache_size
        self._lock = threading.Lock()

    # deploy ----------------------------------------------------------------
    def parse(self, files: list[tuple[str, bytes]]) -> list[ProcessModel]:
        """Validate a deployment; raises BpmnRejected listing every problem."""
        return parse_deployment(files, self.script_engine.sandbox, self.diagram_limits)

    def dump_spec(self, model: ProcessModel) -> str:
        return SERIALIZERS[model.dialect].dump_spec(model.spec, model.subprocess_specs)

    # run -------------------------------------------------------------------
    def specs(self, definition_id: str, dialect: str, spec_json: str) -> tuple:
        """The parsed spec of a definition version, restored once per process."""
        with self._lock:
            cached = self._specs.get(definition_id)
            if cached is not None:
                self._specs.move_to_end(definition_id)
                return cached
        loaded = SERIALIZERS[dialect].load_spec(spec_json)
        connect_loops(loaded[0], *loaded[1].values())
        with self._lock:
            self._specs[definition_id] = loaded
            while len(self._specs) > self._cache_size:
                self._specs.popitem(last=False)
        return loaded

    def flow_order(self, definition_id: str, dialect: str, spec_json: str) -> list[str]:
        """The ids of the definition's elements reachable from its start, in flow order (see `flow`)."""
        spec, _subprocess_specs = self.specs(definition_id, dialect, spec_json)
        return _flow_order(spec)

    def new_workflow(self, definition_id: str, dialect: str, spec_json: str,
                     data: dict | None) -> StagecoachWorkflow:
        spec, subprocess_specs = self.specs(definition_id, dialect, spec_json)
        return self.runner.create(spec, subprocess_specs, data)

    def load(self, definition_id: str, dialect: str, spec_json: str, state: str) -> StagecoachWorkflow:
        spec, subprocess_specs = self.specs(definition_id, dialect, spec_json)
        wf = SERIALIZERS[dialect].load(state, spec, subprocess_specs)
        return self.runner.attach(wf)

    @staticmethod
    def active_elements(workflow) -> list[dict]:
        """The elements the workflow is at, as an outcome's `active` lists them."""
        return active_elements(workflow)

    def dump(self, dialect: str, workflow) -> str:
        """The workflow's state, to store.

        Raises:
            StateLimitError: it is larger than an instance's state may be (nothing is to be stored).
            StateError: its data holds something that cannot be stored.
        """
        state = SERIALIZERS[dialect].dump(workflow)
        limit = self.limits.state_max_bytes
        if len(state) > limit:
            raise StateLimitError(f"the instance's state would take {len(state)} bytes, more than {limit}",
                                  field="state_max_bytes", limit=limit)
        return state

    # migration: a definition is referred to as (definition id, dialect, spec json) ----------
    def _migration_specs(self, source: tuple, target: tuple):
        if source[1] != target[1]:
            raise ValueError(f"a {source[1]} diagram's instances cannot move onto a {target[1]} diagram")
        return SERIALIZERS[source[1]].registry, self.specs(*source), self.specs(*target)

    def migration_plan_problems(self, source: tuple, target: tuple, mapping: dict[str, str]) -> dict[str, list[str]]:
        """Per source element of `mapping`, what is wrong with it whatever the instance (unknown ids, a
        changed type or multi-instance). Raises ValueError when the dialects differ."""
        registry, before, after = self._migration_specs(source, target)
        return _migration.plan_problems(registry, before, after, mapping)

    def migration_generate(self, source: tuple, target: tuple) -> dict[str, str]:
        """The elements of the same id and type in both definitions (Camunda's generated plan)."""
        _, before, after = self._migration_specs(source, target)
        return _migration.generate(before, after)

    def migration_compare(self, source: tuple, target: tuple) -> dict:
        """The elements added, removed and changed from one definition to the other."""
        registry, before, after = self._migration_specs(source, target)
        return _migration.compare(registry, before, after)

    def migration_refusals(self, wf, source: tuple, target: tuple, mapping: dict[str, str],
                           same_ids: bool = True) -> list[Refusal]:
        """Why this workflow cannot move onto `target` (empty: it can)."""
        registry, before, after = self._migration_specs(source, target)
        return _migration.refusals(registry, wf, before, after, mapping, same_ids)

    def migrate(self, wf, source: tuple, target: tuple, mapping: dict[str, str], settings: RunSettings,
                same_ids: bool = True) -> Outcome:
        """Move a loaded workflow of `source` onto `target`, held and mapped as `settings` say (see
        `migration.migrate` for `mapping` and `same_ids`).

        Raises:
            MigrationRefused: an active element cannot move (the workflow is unchanged).
        """
        registry, before, after = self._migration_specs(source, target)
        return self.runner.migrate(wf, registry, before, after, mapping, settings, same_ids)

    # expressions (the sandbox's, with the registry's functions) ---------------
    def check_expression(self, expression: str) -> None:
        """Compile a sandbox expression without running it.

        Raises:
            ScriptError: it cannot run (ScriptSecurityError when the sandbox forbids what it does).
        """
        self.script_engine.sandbox.check(expression, "eval")

    def evaluate_expression(self, expression: str, data: dict):
        """The value of a sandbox expression over `data` (which is not modified).

        Raises:
            ScriptError: it cannot run or failed (ScriptLimitError past the step or time limit).
        """
        return self.script_engine.sandbox.evaluate(expression, data)
