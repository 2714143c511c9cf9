"""Functions that BPMN scripts and expressions may call.

Each is a registered `ScriptFunction`. A function is privileged unless it is
registered with `safe=True`; only safe functions are put in the sandbox's
globals. Privileged functions (anything that reaches the database, the
network or the clock of another system) are offered to service tasks only,
through `FunctionRegistry.service`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from .. import clock


@dataclass(frozen=True)
class ScriptFunction:
    name: str
    func: Callable
    safe: bool = False
    doc: str = ""


class FunctionRegistry:
    """Names a BPMN diagram may call, with their trust level."""

    def __init__(self) -> None:
        self._functions: dict[str, ScriptFunction] = {}

    def register(self, name: str, func: Callable, *, safe: bool = False, doc: str = "") -> None:
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"invalid function name {name!r}")
        self._functions[name] = ScriptFunction(name, func, safe, doc or (func.__doc__ or "").strip())

    def function(self, *, safe: bool = False, name: str | None = None):
        """Decorator form of `register`."""
        def wrap(func):
            self.register(name or func.__name__, func, safe=safe)
            return func
        return wrap

    def safe_globals(self) -> dict[str, Callable]:
        """What the sandbox exposes to scripts and expressions."""
        return {f.name: f.func for f in self._functions.values() if f.safe}

    def service(self, name: str) -> Callable | None:
        """A function a service task may call by operator name (safe or privileged)."""
        entry = self._functions.get(name)
        return entry.func if entry else None

    def describe(self) -> list[dict]:
        return [{"name": f.name, "safe": f.safe, "doc": f.doc} for f in sorted(self._functions.values(), key=lambda f: f.name)]


def _now() -> dt.datetime:
    """The current time (UTC, timezone-aware)."""
    return clock.utcnow()


def _today() -> dt.date:
    """Today's date (UTC)."""
    return clock.today()


def _parse_date(value: str) -> dt.date:
    """Parse an ISO 8601 date, e.g. '2026-11-24'."""
    return dt.date.fromisoformat(value)


def _parse_datetime(value: str) -> dt.datetime:
    """Parse an ISO 8601 date-time, e.g. '2026-11-24T10:00:00+00:00'."""
    return dt.datetime.fromisoformat(value)


def _add_days(value, days: int):
    """A date or date-time moved by a number of days (negative goes back)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    return value + dt.timedelta(days=days)


def _days_between(start, end) -> int:
    """Whole days from `start` to `end` (dates or ISO strings)."""
    def as_date(v):
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v) if "T" in v else dt.date.fromisoformat(v)
        return v.date() if isinstance(v, dt.datetime) else v
    return (as_date(end) - as_date(start)).days


def _percent(part, whole) -> float:
    """`part` as a percentage of `whole` (0 when whole is 0)."""
    return 0.0 if not whole else round(100.0 * part / whole, 2)


def default_registry() -> FunctionRegistry:
    """The functions every Stagecoach script can call."""
    registry = FunctionRegistry()
    for name, func in {
        "now": _now,
        "today": _today,
        "parse_date": _parse_date,
        "parse_datetime": _parse_datetime,
        "add_days": _add_days,
        "days_between": _days_between,
        "percent": _percent,
    }.items():
        registry.register(name, func, safe=True)
    return registry
