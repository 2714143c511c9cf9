"""The script engine handed to SpiffWorkflow: every evaluation goes through the sandbox."""
from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import bounds
from .functions import FunctionRegistry
from .limits import Limits, setting
from .sandbox import Sandbox, ScriptError


class ServiceError(Exception):
    """A service task's operation failed or does not exist."""


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, sandbox: Sandbox):
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression, context, external_context=None):
        data = dict(external_context or {})
        data.update(context)
        return self.sandbox.evaluate(expression, data)

    def execute(self, script, context, external_context=None):
        if external_context:
            merged = dict(external_context)
            merged.update(context)
            self.sandbox.execute(script, merged)
            for key in external_context:
                merged.pop(key, None)
            context.clear()
            context.update(merged)
        else:
            self.sandbox.execute(script, context)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine backed by `Sandbox` and a `FunctionRegistry`."""

    def __init__(self, registry: FunctionRegistry, max_steps: int | None = None, max_seconds: float | None = None,
                 *, limits: Limits | None = None):
        self.registry = registry
        self.sandbox = Sandbox(registry.safe_globals(), max_steps=max_steps, max_seconds=max_seconds, limits=limits)
        super().__init__(environment=_SandboxEnvironment(self.sandbox))

    def validate(self, expression: str) -> None:
        # SpiffWorkflow's DMN engine probes entries such as `>= 10` with validate() and
        # rewrites them into comparisons when a SyntaxError comes back.
        try:
            self.sandbox.check(expression, "eval")
        except ScriptError as exc:
            raise SyntaxError(str(exc)) from None

    def execute(self, task, script, external_context=None):
        before = dict(task.data)
        try:
            done = self.environment.execute(script, task.data, external_context or {})
        except ScriptError as err:
            raise WorkflowTaskException(str(err), task=task, exception=err, line_number=err.line or 0,
                                        error_line=_line_of(script, err.line)) from None
        try:
            bounds.charge_data(task, bounds.changed_size(before, task.data))
        except WorkflowTaskException:
            task.data.clear()  # the script's work is not kept, as when it fails
            task.data.update(before)
            raise
        return done

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs) -> str:
        func = self.registry.service(operation_name or "")
        if func is None:
            raise WorkflowTaskException(f"unknown service operation {operation_name!r}", task=task)
        params = {k: v["value"] if isinstance(v, dict) and "value" in v else v
                  for k, v in (operation_params or {}).items()}
        try:
            result: Any = func(**params)
        except Exception as err:  # the operation's own failure becomes the task's error
            raise WorkflowTaskException(f"service {operation_name} failed: {type(err).__name__}: {err}",
                                        task=task, exception=err) from None
        text = json.dumps(result, default=str)
        limit = self.sandbox.limits.variable_max_bytes
        if len(text) > limit:
            raise WorkflowTaskException(f"service {operation_name} returned {len(text)} bytes as JSON, more than a "
                                        f"variable may hold ({limit}, {setting('variable_max_bytes')})", task=task)
        return text


def _line_of(script: str, line: int | None) -> str:
    if not line:
        return ""
    lines = script.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""
