"""The bounds on what running an instance may cost, and the errors that name them.

Deployed content runs on the server: a script, a multi-instance over a huge
collection or a loop must not be able to take a worker's memory or time.
Every bound is one field of `Limits`, set from the app config (`config.py`
documents each setting and its default), and every refusal names the bound's
setting, so whoever reads an incident or a problem response knows what to
raise, or what to fix.

Sizes of data are JSON sizes (`sizes.measure`): strings counted in characters,
a value shared twice counted twice, as it would be stored.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from .sizes import Oversize, measure

__all__ = ["DataProblem", "LimitExceededError", "Limits", "StateLimitError", "TaskLimitError", "VariableLimitError",
           "data_problem", "setting"]


@dataclass(frozen=True)
class Limits:
    """Every run-time bound of the engine (defaults as in `config.py`)."""

    engine_max_steps: int = 1_000  # engine steps one command may run
    script_max_steps: int = 100_000  # loop passes and calls of one script run
    script_max_seconds: float = 2.0  # wall time of one script run
    script_max_string: int = 1_000_000  # characters of one string (or bytes) a script builds
    script_max_items: int = 100_000  # items of one list, tuple, set, dict or range a script builds or inspects
    script_max_allocation: int = 64 << 20  # bytes (estimated) that one script run's operations allocate in all
    variable_max_bytes: int = 1 << 20  # JSON size of one variable
    variables_max_bytes: int = 4 << 20  # JSON size of all of an instance's variables
    variable_max_depth: int = 32  # nesting of lists and dicts in one value
    state_max_bytes: int = 16 << 20  # an instance's stored state
    tasks_per_step: int = 500  # tasks one engine step may create (a parallel multi-instance's instances)
    tasks_per_run: int = 1_000  # tasks one command may create in all
    instance_max_tasks: int = 3_000  # tasks in one instance's task tree

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits named in an app config (`config.py`'s attribute names); missing ones keep their default."""
        values = {f: config[key] for f, key in _CONFIG_KEYS.items() if config.get(key) is not None}
        return cls(**values)

    def replace(self, **changes) -> Limits:
        """A copy with some limits changed (None keeps the current value)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


# field -> the app config key; the environment variable is STAGECOACH_ + the key.
_CONFIG_KEYS = {
    "engine_max_steps": "ENGINE_MAX_STEPS",
    "script_max_steps": "SCRIPT_MAX_STEPS",
    "script_max_seconds": "SCRIPT_MAX_SECONDS",
    "script_max_string": "SCRIPT_MAX_STRING",
    "script_max_items": "SCRIPT_MAX_ITEMS",
    "script_max_allocation": "SCRIPT_MAX_ALLOCATION",
    "variable_max_bytes": "VARIABLE_MAX_BYTES",
    "variables_max_bytes": "INSTANCE_MAX_VARIABLES_BYTES",
    "variable_max_depth": "VARIABLE_MAX_DEPTH",
    "state_max_bytes": "INSTANCE_MAX_STATE_BYTES",
    "tasks_per_step": "ENGINE_MAX_TASKS_PER_STEP",
    "tasks_per_run": "ENGINE_MAX_TASKS_PER_RUN",
    "instance_max_tasks": "INSTANCE_MAX_TASKS",
}


def setting(field: str) -> str:
    """The environment variable that sets the limit `field` of `Limits`."""
    return f"STAGECOACH_{_CONFIG_KEYS[field]}"


class LimitExceededError(Exception):
    """Input or a run went past one of the `Limits`.

    Attributes:
        setting: the environment variable of the limit.
        limit: its value.
        variable: the variable concerned, when there is one.
    """

    def __init__(self, message: str, *, field: str, limit: int | float, variable: str | None = None):
        super().__init__(f"{message} ({setting(field)})")
        self.setting = setting(field)
        self.limit = limit
        self.variable = variable


class VariableLimitError(LimitExceededError):
    """A variable, or all of an instance's variables, would be too large or too deeply nested."""


class StateLimitError(LimitExceededError):
    """An instance's state would be larger than may be stored."""


class TaskLimitError(LimitExceededError):
    """A step or a command would create more tasks than it may, or the instance would hold too many."""


@dataclass(frozen=True)
class DataProblem:
    """Why values may not become instance data: a limit (`field` names it) or a value that cannot be stored."""

    message: str
    variable: str | None
    field: str | None = None  # the `Limits` field passed; None: the value cannot be stored at all
    limit: int | None = None

    def error(self) -> VariableLimitError:
        return VariableLimitError(self.message, field=self.field, limit=self.limit, variable=self.variable)


def data_problem(values: Mapping[str, Any], limits: Limits, others: Mapping[str, Any] | None = None) -> DataProblem | None:
    """What is wrong with setting `values` as variables, if anything: a value that cannot be stored,
    one too large or too deeply nested, or all of them with the instance's `others` too large."""
    total = 0
    for name, value in values.items():
        if not isinstance(name, str):
            return DataProblem(f"variable names must be strings, not {name!r:.40}", None)
        try:
            size, _ = measure(value, max_depth=limits.variable_max_depth, max_size=limits.variable_max_bytes)
        except Oversize as exc:
            return _problem(exc, name, limits)
        total += size + len(name) + 4
    if total > limits.variables_max_bytes:
        return _too_many_bytes(limits)
    for name, value in (others or {}).items():
        if name in values:
            continue
        try:  # already stored: only their size counts (they met the limits in force then)
            size, _ = measure(value, max_depth=_STORED_DEPTH, max_size=limits.variables_max_bytes - total, strict=False)
        except Oversize:
            return _too_many_bytes(limits)
        total += size + len(str(name)) + 4
        if total > limits.variables_max_bytes:
            return _too_many_bytes(limits)
    return None


_STORED_DEPTH = 256


def _too_many_bytes(limits: Limits) -> DataProblem:
    return DataProblem(f"the instance's variables would be larger than {limits.variables_max_bytes} bytes as JSON",
                       None, "variables_max_bytes", limits.variables_max_bytes)


def _problem(exc: Oversize, name: str, limits: Limits) -> DataProblem:
    where = exc.path(name)
    if exc.kind == "depth":
        return DataProblem(f"variable {where} is nested deeper than {limits.variable_max_depth} levels", name,
                           "variable_max_depth", limits.variable_max_depth)
    if exc.kind == "type":
        return DataProblem(f"variable {where} {exc.detail}", name)
    return DataProblem(f"variable {name} is larger than {limits.variable_max_bytes} bytes as JSON", name,
                       "variable_max_bytes", limits.variable_max_bytes)
