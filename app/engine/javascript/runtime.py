"""Running JavaScript in V8 (mini-racer), in child processes holding locked-down contexts, one script at a time.

Threat model
------------
The same as the Python sandbox's (`app.engine.sandbox`): scripts come from anyone allowed to deploy and
must reach the instance's variables and nothing else: no host (V8 alone has no `require`, files, network,
processes or Java), no other script's state, no unbounded time or memory.

How
---
* Isolation: V8 has no host objects; `prelude.LOCKDOWN` takes away what reaches outside its heap or runs
  later, and freezes every reachable object, so a context is the same after a script as before it. Each
  run gets a scope of its own (a Proxy over a fresh variable store) and its own `execution` object. The
  context is then reused: a run costs about 0.5 ms (a round trip to a child process, `process.py`, which
  holds the contexts, `child.py`) instead of about 6 ms in a new, locked-down context (`bench/javascript.py`).
* Process: V8 never runs in the server's process. A script that makes V8 abort its process (a fatal
  out-of-memory, `new Array(1e9).fill(0)`) kills only its child: that is the script's memory limit. One
  whose child does not answer by the time limit and a grace (a builtin that V8's termination does not
  interrupt) has its child killed: that is the script's time limit. A new child takes the place of either.
* Time: each run has the script time limit (STAGECOACH_SCRIPT_MAX_SECONDS); V8 is terminated past it.
  A run is followed by an empty evaluation with the time left: promise callbacks a script left behind
  run then, so one that never ends is caught as the script's own timeout, not the next one's.
* Memory: V8's hard heap limit, the context's own heap plus STAGECOACH_SCRIPT_MAX_ALLOCATION (and room
  for the variables it is given). Typed arrays and WebAssembly, whose memory is outside the heap, are gone.
* Output: the variables come back as one JSON text, refused inside V8 past twice
  STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES, then checked against the variable limits like a Python
  script's.
* A context that hit a limit is closed, never reused. A process that forks starts children of its own.

Rejected approaches
-------------------
* A new context per run: isolation by construction, but more than ten times the cost of a pooled run
  (figures above; about 2.3 ms even without the lockdown), and it needs the capability removal anyway.
* V8's ShadowRealm (a fresh global per run in one context): mini-racer does not enable it ("Not
  supported").
* dukpy (Duktape): an ES5 interpreter without memory limits or a way to interrupt a running script.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any

from .prelude import CHECK_PREFIX, RUN_PREFIX
from ..guards import ScriptError, ScriptLimitError, ScriptSecurityError
from ..limits import Limits, data_problem, setting
from . import lexer
from .marker import Marked
from .process import POOL, Died, Overran

__all__ = ["JavaScript"]

_SUFFIX = "\n//# sourceURL=script.js"
_RUN_PREFIX, _CHECK_PREFIX = RUN_PREFIX, CHECK_PREFIX  # what `run` and `check` accept (prelude)


class _Broken(Exception):
    """The context cannot be reused (a limit terminated it)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"a {type(value).__name__}")


def _as_double(text: str) -> int | float:
    number = int(text)
    return number if abs(number) <= 2**53 else float(number)


def _doubles(value: Any) -> Any:
    """`value` with its integers past 2**53 as the doubles they are in JavaScript (to compare)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)
    if isinstance(value, list):
        return [_doubles(v) for v in value]
    if isinstance(value, dict):
        return {k: _doubles(v) for k, v in value.items()}
    return value


class JavaScript:
    """Checks and runs JavaScript scripts, conditions and expressions within `limits`."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()

    # -- deploy ----------------------------------------------------------------------------
    def check(self, source: str, *, task_listener: bool = False) -> None:
        """Raise ScriptError (with the line) if `source` does not compile, ScriptSecurityError if it uses
        what cannot run here (`lexer.problems`)."""
        self._check_syntax(source)
        found = lexer.problems(source, task_listener=task_listener)
        if found:
            line, message = found[0]
            raise ScriptSecurityError(message, line)

    def _check_syntax(self, source: str) -> None:
        code = f"__stagecoach_check__({json.dumps(_CHECK_PREFIX + source + _SUFFIX)})"
        answer = self._call({"code": code, "seconds": self.limits.script_max_seconds})
        if "broken" in answer:
            raise self._limit_error(answer["broken"])
        text = answer.get("thrown", "")  # the check always throws: what it threw says how it went
        if "__stagecoach_compiled__" in text:
            return
        match = re.match(r"[^\n:]*:(\d+): (SyntaxError: [^\n]*)", text)
        if match:  # an unexpected end of input is found on the line of the suffix: say the script's last
            raise ScriptError(match.group(2), min(int(match.group(1)), source.count("\n") + 1))
        raise ScriptError(text.splitlines()[0] if text else "the script cannot be compiled")

    # -- run -------------------------------------------------------------------------------
    def execute(self, script: Marked, data: dict[str, Any], info: dict[str, Any] | None = None) -> Any:
        """Run a script over `data`; on success write back what it changed, and its value to its result
        variable if it has one. A variable it removed goes; one it left holding a function keeps its
        former value. Returns the script's value (its last expression's, as JSON data; None when it is a
        function) when it has a result variable or is a parameter's script, else None.

        Raises:
            ScriptLimitError: past a limit, while it ran or by what it left (naming the setting).
            ScriptError: it failed, or left something that cannot be stored.
        """
        payload, originals = self._encode(data)
        meta = {"mode": "script", "result": script.result, "taskListener": script.task_listener,
                "wantValue": bool(script.result or script.parameter)}
        out = self._run(script.source, payload, meta, info)
        values = out["vars"]
        changed = {k: v for k, v in values.items()
                   if k not in originals or (originals[k] != v and originals[k] != _doubles(v))}
        kept = set(out.get("skipped", ()))
        removed = [k for k in data if k not in values and k not in kept]
        if script.result and "value" in out:
            changed[script.result] = out["value"]
        others = {k: v for k, v in data.items() if k not in changed and k not in removed}
        problem = data_problem(changed, self.limits, others)
        if problem is not None:
            if problem.field is None:
                raise ScriptError(problem.message)
            raise ScriptLimitError(f"{problem.message} ({setting(problem.field)})")
        for key in removed:
            del data[key]
        data.update(changed)
        return out.get("value")

    def evaluate(self, expression: Marked, data: dict[str, Any], info: dict[str, Any] | None = None) -> Any:
        """The value of an expression (a condition's: True or False) over `data`, which it may not change."""
        payload, _ = self._encode(data)
        meta = {"mode": "condition" if expression.condition else "expression",
                "taskListener": expression.task_listener}
        return self._run(expression.source, payload, meta, info)["value"]

    def _encode(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            payload = json.dumps(data, default=_jsonable, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ScriptError(f"the variables cannot be given to a JavaScript script: {exc}") from None
        # As the script sees them (a JavaScript number is a double), so that a variable it did not change
        # compares equal and keeps its exact value (an integer past 2**53, a date, a decimal).
        return payload, json.loads(payload, parse_int=_as_double)

    def _run(self, source: str, payload: str, meta: dict, info: dict | None) -> dict:
        limits = self.limits
        meta = dict(meta, info=info or {}, typeofNames=lexer.typeof_names(source),
                    maxOutput=2 * limits.variables_max_bytes)
        code = (f"__stagecoach_run__({json.dumps(_RUN_PREFIX + source + _SUFFIX)}, {json.dumps(payload)}, "
                f"{json.dumps(meta, default=str)})")
        try:
            try:
                text = self._eval(code, payload, fresh=False)
            except _Broken as exc:
                # V8 checks its heap limit after every collection, also the quick ones that leave the garbage
                # of earlier runs in place: a pooled context may fail a script another would run. Once more,
                # then, in a new context (a script has no effect outside its variables).
                if str(exc) != "memory":
                    raise
                text = self._eval(code, payload, fresh=True)
        except _Broken as exc:
            raise self._limit_error(str(exc)) from None
        out = json.loads(text)
        if not out.get("ok"):
            error = out.get("error") or {}
            message = str(error.get("message") or "the script failed")
            if error.get("kind") == "size":
                raise ScriptLimitError(f"{message}, more than {2 * limits.variables_max_bytes} "
                                       f"({setting('variables_max_bytes')})")
            raise ScriptError(message, error.get("line"))
        return out

    def _eval(self, code: str, payload: str, fresh: bool) -> str:
        answer = self._call({"code": code, "seconds": self.limits.script_max_seconds, "fresh": fresh,
                             "drain": True, "heap": _heap_limit(self.limits, payload)})
        if "text" not in answer:
            raise _Broken(answer.get("broken") or "error: no answer")
        return answer["text"]

    def _call(self, request: dict) -> dict:
        """`request` answered by a child process (`process.py`); its death or overrun is the script's limit."""
        try:
            answer = POOL.call(request, self.limits.script_max_seconds)
        except Overran:
            raise self._limit_error("time") from None
        except Died:  # V8 aborts its process when it cannot grow a table: past any sane allocation
            raise self._limit_error("memory") from None
        except OSError as exc:  # the child could not be started
            raise ScriptError(f"the JavaScript engine failed (it could not start: {exc})") from None
        return answer

    def _limit_error(self, why: str) -> ScriptError:
        limits = self.limits
        if why == "time":
            return ScriptLimitError(f"the script ran longer than {limits.script_max_seconds:g} s "
                                    f"({setting('script_max_seconds')})")
        if why == "memory":
            return ScriptLimitError(f"the script needed more than {limits.script_max_allocation} bytes of memory "
                                    f"({setting('script_max_allocation')})")
        return ScriptError(f"the JavaScript engine failed ({why})")


def _heap_limit(limits: Limits, payload: str) -> int:
    """V8's hard heap limit for one run: the context's own heap (a few MB), the allocation limit, and room
    for the variables it is given (parsed objects take several times their JSON size)."""
    return (8 << 20) + limits.script_max_allocation + 8 * len(payload)
