"""The script engine handed to SpiffWorkflow: every evaluation goes through a sandbox.

Python runs in `Sandbox`; a script or expression marked as JavaScript (`javascript.marker`: the parser
marks scriptFormat="javascript" scripts, listeners, mappings and language="javascript" conditions) runs
in V8 (`javascript.JavaScript`), with the task it runs for as its `execution`.
"""
from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import bounds
from .functions import FunctionRegistry
from .javascript import JavaScript, Marked, unmark
from .limits import Limits, setting
from .sandbox import Sandbox, ScriptError


class ServiceError(Exception):
    """A service task's operation failed or does not exist."""


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, sandbox: Sandbox, javascript: JavaScript):
        super().__init__({})
        self.sandbox = sandbox
        self.javascript = javascript

    def evaluate(self, expression, context, external_context=None, info: dict | None = None):
        data = dict(external_context or {})
        data.update(context)
        marked = unmark(expression)
        if marked is not None:
            return self.javascript.evaluate(marked, data, info)
        return self.sandbox.evaluate(expression, data)

    def execute(self, script, context, external_context=None, info: dict | None = None, value: list | None = None):
        """Run a script over `context`; a JavaScript script's value is appended to `value` when given."""
        marked = unmark(script)

        def run(data):
            if marked is None:
                self.sandbox.execute(script, data)
            else:
                result = self.javascript.execute(marked, data, info)
                if value is not None:
                    value.append(result)

        if external_context:
            merged = dict(external_context)
            merged.update(context)
            run(merged)
            for key in external_context:
                merged.pop(key, None)
            context.clear()
            context.update(merged)
        else:
            run(context)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine backed by `Sandbox` and a `FunctionRegistry`."""

    def __init__(self, registry: FunctionRegistry, max_steps: int | None = None, max_seconds: float | None = None,
                 *, limits: Limits | None = None):
        self.registry = registry
        self.sandbox = Sandbox(registry.safe_globals(), max_steps=max_steps, max_seconds=max_seconds, limits=limits)
        self.javascript = JavaScript(self.sandbox.limits)
        super().__init__(environment=_SandboxEnvironment(self.sandbox, self.javascript))

    def validate(self, expression: str) -> None:
        # SpiffWorkflow's DMN engine probes entries such as `>= 10` with validate() and
        # rewrites them into comparisons when a SyntaxError comes back.
        try:
            self.sandbox.check(expression, "eval")
        except ScriptError as exc:
            raise SyntaxError(str(exc)) from None

    def evaluate(self, task, expression, external_context=None):
        marked = unmark(expression)
        if marked is None:
            return super().evaluate(task, expression, external_context)
        if marked.parameter:  # a camunda:script parameter: a script (it may set variables) giving the value
            value: list = []
            self._execute(task, expression, external_context, value)
            return value[0] if value else None
        try:
            return self.environment.evaluate(expression, task.data, external_context, info=_info(task, marked))
        except ScriptError as err:
            raise WorkflowTaskException(f"Error evaluating expression '{marked.source.strip()}': {err}", task=task,
                                        exception=err, line_number=err.line or 0,
                                        error_line=_line_of(marked.source, err.line)) from None

    def execute(self, task, script, external_context=None):
        return self._execute(task, script, external_context)

    def _execute(self, task, script, external_context=None, value: list | None = None):
        before = dict(task.data)
        marked = unmark(script)
        info = _info(task, marked) if marked is not None else None
        try:
            done = self.environment.execute(script, task.data, external_context or {}, info=info, value=value)
        except ScriptError as err:
            source = marked.source if marked is not None else script
            raise WorkflowTaskException(str(err), task=task, exception=err, line_number=err.line or 0,
                                        error_line=_line_of(source, err.line)) from None
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


def _info(task, marked: Marked) -> dict[str, Any]:
    """What a JavaScript script's `execution` (and `task`) says about where it runs."""
    top = task.workflow.top_workflow
    spec = task.task_spec
    return {
        "activityId": getattr(spec, "bpmn_id", None),
        "activityName": getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None),
        "activityInstanceId": str(task.id),
        "processInstanceId": getattr(top, "instance_id", None),
        "businessKey": getattr(top, "business_key", None),
        "eventName": marked.event,
    }


def _line_of(script: str, line: int | None) -> str:
    if not line:
        return ""
    lines = script.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""
