"""The guard functions a sandboxed script calls: its steps, its time, and the size of what it builds.

`sandbox._StagecoachTransformer` rewrites a script so that every operation
that can cost more than its own few bytecodes goes through one of these:

* loops and calls count steps (`step`), with the wall clock checked as they go;
* operations that allocate whatever they are asked for in one C call are
  checked BEFORE they run: `*` and `+` on strings, bytes, lists and tuples,
  `**` and `<<` on integers, `range`, `%` widths, `str.join`, `replace`,
  `ljust` / `rjust` / `center` / `zfill` / `expandtabs` / `translate`,
  `int.to_bytes`, `sum` of lists, unpacking (`[*a, *a]`, `{**d}`) and
  `round` with huge digits;
* operations whose cost follows a value's whole nested content (comparing,
  hashing, turning into text, sorting, calling a registered function) first
  walk that value with `sizes.measure`, capped: a list holding the same list
  twice, sixty levels deep, is refused after `max_items` items instead of being
  compared for ever;
* what the script builds is charged to a per-run allocation budget (an
  estimate: a byte per character, eight per item), so building big values
  again and again in a loop stops too.

A `Guards` object lives for one script run; `env()` is what the script sees
of it. Errors raised here are the sandbox's (`ScriptLimitError` for limits).
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
import operator
import re
import time
from typing import Any, Callable

from RestrictedPython.Guards import full_write_guard, safer_getattr

from .limits import Limits, setting
from .sizes import Oversize, measure

__all__ = ["Guards", "MAX_FORMAT_WIDTH", "MAX_INT_BITS", "ScriptError", "ScriptLimitError", "ScriptSecurityError"]

MAX_INT_BITS = 4_096  # integers a script builds (about 1,233 decimal digits)
MAX_FORMAT_WIDTH = 10_000  # a width or precision in a format specification
MAX_ROUND_DIGITS = 1_000

_TEXT = (str, bytes)
_SEQUENCES = (list, tuple)
_SIZED = frozenset({str, bytes, list, tuple})
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
_HASHED_CONTAINERS = frozenset({tuple, frozenset})
# Values whose methods are guarded; those of the scalars among them (strftime, to_bytes, ...) always build anew.
_WRAPPED = frozenset({str, bytes, list, tuple, dict, set, frozenset, int, float, decimal.Decimal,
                      dt.date, dt.datetime, dt.time, dt.timedelta})
_ITEM = 8  # bytes charged per item of a list, tuple, set or dict
_BLOCKED_METHODS = frozenset({"format", "format_map"})  # their mini-language nests computed widths
_BUILDERS = frozenset({"copy", "union", "intersection", "difference", "symmetric_difference", "fromkeys"})
_SCANNING = frozenset({"count", "index", "remove"})
_COMPARISONS: dict[str, Callable] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
    "is": operator.is_, "is not": operator.is_not,
}
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")


class ScriptError(Exception):
    """A script or expression failed; carries the line when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class ScriptSecurityError(ScriptError):
    """The source uses something the sandbox forbids."""


class ScriptLimitError(ScriptError):
    """The script ran past its step, time or size limit."""


def _limit(message: str, field: str) -> ScriptLimitError:
    return ScriptLimitError(f"{message} ({setting(field)})")


class Guards:
    """The guards of one script run (steps, time, sizes, allocation)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.max_string = limits.script_max_string
        self.max_items = limits.script_max_items
        self.deadline = time.monotonic() + limits.script_max_seconds
        self.steps = 0
        self.allocated = 0

    # -- budgets -----------------------------------------------------------------------
    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.script_max_steps:
            raise _limit(f"script exceeded {self.limits.script_max_steps} steps (runaway loop?)", "script_max_steps")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise _limit("script exceeded its time limit", "script_max_seconds")

    def charge(self, amount: int) -> None:
        self.allocated += amount
        if self.allocated > self.limits.script_max_allocation:
            raise _limit(f"script allocated more than {self.limits.script_max_allocation} bytes in all",
                         "script_max_allocation")

    def check_string(self, length: int) -> None:
        if length > self.max_string:
            raise _limit(f"a string of {length} characters, over {self.max_string}", "script_max_string")

    def check_items(self, count: int) -> None:
        if count > self.max_items:
            raise _limit(f"a value of {count} items, over {self.max_items}", "script_max_items")

    def check_size(self, value: Any, length: int) -> None:
        """Check (and charge) a text or sequence of `length` about to be built like `value`."""
        if isinstance(value, _TEXT):
            self.check_string(length)
            self.charge(length)
        else:
            self.check_items(length)
            self.charge(length * _ITEM)

    def charge_value(self, value: Any) -> Any:
        """Check and charge a value just built by a call whose result is bounded by its inputs."""
        t = type(value)
        if t is str or t is bytes:
            self.check_string(len(value))
            self.charge(len(value))
        elif t in _CONTAINERS:
            self.check_items(len(value))
            self.charge(len(value) * _ITEM)
        return value

    def inspect(self, value: Any, text: bool = False) -> Any:
        """Walk a container before something walks it natively: refuse it past the item, depth
        (or, for `text`, string) limits; the walk is charged."""
        if type(value) not in _CONTAINERS:
            if text and type(value) is str:
                self.check_string(len(value))
            elif text and isinstance(value, decimal.Decimal) and value.is_finite() \
                    and abs(value.adjusted()) > MAX_FORMAT_WIDTH:
                raise _limit(f"a number of more than {MAX_FORMAT_WIDTH} digits", "script_max_string")
            return value
        try:
            _, items = measure(value, max_depth=self.limits.variable_max_depth, max_items=self.max_items,
                               max_size=self.max_string if text else math.inf, strict=False)
        except Oversize as exc:
            if exc.kind == "depth":
                raise _limit(f"a value nested deeper than {self.limits.variable_max_depth} levels",
                             "variable_max_depth") from None
            if exc.kind == "size":
                raise _limit(f"text of more than {self.max_string} characters", "script_max_string") from None
            raise _limit(f"a value of more than {self.max_items} items (nested items counted each time they "
                         "appear)", "script_max_items") from None
        self.charge(items)
        if items > 1_000 and time.monotonic() > self.deadline:  # a long walk: the clock, as a step would
            raise _limit("script exceeded its time limit", "script_max_seconds")
        return value

    def counted(self, iterable):
        """Iterate `iterable`, refusing it past `max_items` items (for iterators of unknown length)."""
        for count, item in enumerate(iterable, 1):
            if count > self.max_items:
                self.check_items(count)
            yield item

    def materialize(self, iterable) -> list | tuple | str | bytes:
        """`iterable` as a sized sequence, checked against `max_items`."""
        if type(iterable) in _SIZED:
            return iterable
        if isinstance(iterable, (range, dict, set, frozenset)):
            self.check_items(len(iterable))
            return list(iterable)
        return list(self.counted(iterable))

    # -- operators -----------------------------------------------------------------------
    def pow(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            if b * max(abs(a).bit_length(), 1) > MAX_INT_BITS:
                raise ScriptLimitError(f"number too large (over {MAX_INT_BITS} bits)")
        return a ** b

    def mul(self, a, b):
        for seq, n in ((a, b), (b, a)):
            if isinstance(n, int) and type(seq) in _SIZED:
                self.check_size(seq, len(seq) * max(n, 0))
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise ScriptLimitError(f"number too large (over {MAX_INT_BITS} bits)")
        return a * b

    def add(self, a, b):
        if type(a) in _SIZED and type(b) in _SIZED:
            self.check_size(a, len(a) + len(b))
        return a + b

    def lshift(self, a, b):
        if isinstance(b, int) and b > MAX_INT_BITS:
            raise ScriptLimitError(f"number too large (over {MAX_INT_BITS} bits)")
        return a << b

    def mod(self, a, b):
        if isinstance(a, _TEXT):
            text = a if isinstance(a, str) else a.decode("latin-1")
            for width, precision in _PERCENT.findall(text):
                for value in (width, precision):
                    if value == "*" or (value and int(value) > MAX_FORMAT_WIDTH):
                        raise ScriptLimitError(f"%-format widths must be literal and at most {MAX_FORMAT_WIDTH}")
            self.inspect(b, text=True)
            return self.charge_value(a % b)
        return a % b

    def compare(self, op: str, a, b):
        """`a op b`, after walking what the comparison walks natively."""
        ta, tb = type(a), type(b)
        if op in ("in", "not in"):
            if ta in _CONTAINERS and (tb is list or tb is tuple):
                self.inspect(a)
                self.inspect(b)
            elif ta in _HASHED_CONTAINERS:
                self.inspect(a)
        elif ta in _CONTAINERS and tb in _CONTAINERS and op not in ("is", "is not"):
            self.inspect(a)
            self.inspect(b)
        return _COMPARISONS[op](a, b)

    def key(self, value):
        """A set member or dict key about to be hashed."""
        if type(value) in _HASHED_CONTAINERS:
            self.inspect(value)
        return value

    def text(self, value):
        """A value an f-string is about to format."""
        return self.inspect(value, text=True)

    def fstring(self, value: str) -> str:
        return self.charge_value(value)

    def spread(self, value):
        """The value of `*value` in a list, tuple or set display."""
        value = self.materialize(value)
        self.check_items(len(value))
        self.charge(len(value) * _ITEM)
        return value

    def spread_keys(self, value):
        """The value of `*value` in a set display: its items are hashed."""
        return self.inspect(self.spread(value))

    def spread_map(self, value):
        """The value of `**value` in a dict display."""
        if isinstance(value, dict):
            self.check_items(len(value))
            self.charge(len(value) * _ITEM)
        return value

    def inplace(self, op: str, a, b):
        operations = {"+=": self.add, "*=": self.mul, "**=": self.pow, "<<=": self.lshift, "%=": self.mod,
                      "-=": operator.sub, "/=": operator.truediv, "//=": operator.floordiv, ">>=": operator.rshift,
                      "&=": operator.and_, "|=": operator.or_, "^=": operator.xor}
        try:
            operation = operations[op]
        except KeyError:
            raise ScriptSecurityError(f"operator {op} is not allowed") from None
        return operation(a, b)

    # -- items and attributes ---------------------------------------------------------------
    def getitem(self, obj, key):
        if type(key) is slice:
            return self.charge_value(obj[key])
        if type(key) in _HASHED_CONTAINERS:
            self.inspect(key)
        return obj[key]

    def write(self, obj):
        # Item assignment on plain containers is what scripts need; anything
        # else goes through RestrictedPython's write guard.
        if type(obj) is dict or type(obj) is list:
            return _Writer(obj, self)
        return full_write_guard(obj)

    def getattr(self, obj, name, default=None):
        if name in _BLOCKED_METHODS:
            raise ScriptSecurityError(f"{type(obj).__name__}.{name} is not allowed in scripts")
        if isinstance(obj, GuardedType):
            return obj.attribute(name)
        value = safer_getattr(obj, name, default)
        if type(obj) in _WRAPPED and callable(value):
            return self.method(obj, name, value)
        return value

    def method(self, obj, name: str, method: Callable) -> Callable:
        """A bound method of a built-in value, with its arguments walked and its result checked."""
        precheck = _PRECHECKS.get(name)
        builds = type(obj) not in _CONTAINERS or name in _BUILDERS

        def call(*args, **kwargs):
            for arg in (*args, *kwargs.values()):
                if type(arg) in _CONTAINERS:
                    self.inspect(arg)
            if (name in _SCANNING and args and type(args[0]) in _CONTAINERS) or name == "sort":
                self.inspect(obj)
            if "key" in kwargs and kwargs["key"] is not None:
                kwargs["key"] = self.inspecting(kwargs["key"])
            if precheck is not None:
                args = precheck(self, obj, args, kwargs)
            result = method(*args, **kwargs)
            return self.charge_value(result) if builds else result
        return call

    def inspecting(self, func: Callable) -> Callable:
        """`func` with its results walked (a sort key compared natively)."""
        def call(*args):
            return self.inspect(func(*args))
        return call


class _Writer:
    """What `_write_` returns for a dict or list: item assignment, with keys and sizes checked."""

    __slots__ = ("_obj", "_guards")

    def __init__(self, obj, guards: Guards):
        self._obj = obj
        self._guards = guards

    def __setitem__(self, key, value):
        if type(key) is slice:
            value = self._guards.materialize(value)
            self._guards.check_items(len(self._obj) + len(value))
            self._guards.charge(len(value) * _ITEM)
        else:
            self._guards.key(key)
        self._obj[key] = value

    def __delitem__(self, key):
        del self._obj[key]


# -- checks before the methods that build values of any size ----------------------------------

def _width(guards: Guards, obj, args, kwargs):
    width = args[0] if args else kwargs.get("width", 0)
    if isinstance(width, int):
        guards.check_size(obj, max(width, len(obj)))
    return args


def _expandtabs(guards: Guards, obj, args, kwargs):
    tabsize = args[0] if args else kwargs.get("tabsize", 8)
    if isinstance(tabsize, int):
        guards.check_size(obj, len(obj) + obj.count("\t" if isinstance(obj, str) else b"\t") * max(tabsize, 0))
    return args


def _replace(guards: Guards, obj, args, kwargs):
    if len(args) >= 2 and type(args[0]) is type(obj) and type(args[1]) is type(obj):
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        occurrences = (obj.count(old) if old else len(obj) + 1)
        if isinstance(count, int) and count >= 0:
            occurrences = min(occurrences, count)
        guards.check_size(obj, len(obj) + occurrences * (len(new) - len(old)))
    return args


def _join(guards: Guards, obj, args, kwargs):
    if args:
        items = guards.materialize(args[0])
        total = sum(len(i) for i in items if isinstance(i, _TEXT)) + len(obj) * max(len(items) - 1, 0)
        guards.check_size(obj, total)
        args = (items, *args[1:])
    return args


def _translate(guards: Guards, obj, args, kwargs):
    table = args[0] if args else None
    if isinstance(obj, str) and isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        guards.check_size(obj, len(obj) * max(longest, 1))
    return args


def _to_bytes(guards: Guards, obj, args, kwargs):
    length = args[0] if args else kwargs.get("length", 1)
    if isinstance(length, int):
        guards.check_string(length)
    return args


def _grow(guards: Guards, obj, args, kwargs):
    if args and type(obj) in (list, set, dict) and not isinstance(args[0], dict):
        items = guards.materialize(args[0])
        args = (items, *args[1:])
        guards.check_items(len(obj) + len(items))
        guards.charge(len(items) * _ITEM)
    return args


_PRECHECKS: dict[str, Callable] = {
    "ljust": _width, "rjust": _width, "center": _width, "zfill": _width, "expandtabs": _expandtabs,
    "replace": _replace, "join": _join, "translate": _translate, "to_bytes": _to_bytes,
    "extend": _grow, "update": _grow,
}


class GuardedType:
    """A built-in type as scripts see it: calling it builds a checked value; `isinstance` works."""

    def __init__(self, real: type, guards: Guards, build: Callable):
        self.real = real
        self._guards = guards
        self._build = build

    def __call__(self, *args, **kwargs):
        return self._build(self._guards, self.real, *args, **kwargs)

    def __instancecheck__(self, value) -> bool:
        return isinstance(value, self.real)

    def attribute(self, name: str):
        """`str.upper`, `dict.fromkeys`, ...: the type's attribute, guarded like a bound method."""
        value = safer_getattr(self.real, name)
        if isinstance(self.real.__dict__.get(name), (classmethod, staticmethod)) or name in ("fromkeys", "maketrans"):
            return self._guards.method(self.real, name, value)
        guards = self._guards

        def unbound(obj, *args, **kwargs):
            if not isinstance(obj, self.real):
                raise TypeError(f"{self.real.__name__}.{name} needs a {self.real.__name__}")
            return guards.getattr(obj, name)(*args, **kwargs)
        return unbound

    def __repr__(self) -> str:
        return f"<class '{self.real.__name__}'>"
