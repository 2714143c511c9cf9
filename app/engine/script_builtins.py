"""The built-in names a sandboxed script may use.

An allowlist: no `__import__`, `open`, `getattr`, `type`, `vars`, `globals`,
`bytes`, `bytearray`, `pow` or `format`. The builtins that can build or walk a
value of any size in one C call (`str`, `list`, `tuple`, `set`, `dict`,
`sorted`, `min`, `max`, `sum`, `round`, `int`, `range`) are wrapped, per script
run, by the run's `Guards`; the types stay usable with `isinstance`.
"""
from __future__ import annotations

import builtins
import decimal
from typing import Any

from .guards import MAX_INT_BITS, MAX_ROUND_DIGITS, GuardedType, Guards, ScriptLimitError

__all__ = ["script_builtins"]

_PLAIN: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "divmod", "enumerate", "filter", "float", "isinstance", "len", "map",
        "reversed", "zip", "ValueError", "KeyError", "TypeError", "Exception",
    )
}
_PLAIN.update({"None": None, "True": True, "False": False})
_INT_DIGITS = int(MAX_INT_BITS * 0.30103)


def _str(guards: Guards, real, *args, **kwargs):
    if args:
        guards.inspect(args[0], text=True)
    return guards.charge_value(real(*args, **kwargs))


def _sequence(guards: Guards, real, *args, **kwargs):
    if args:
        args = (guards.materialize(args[0]), *args[1:])
    return guards.charge_value(real(*args, **kwargs))


def _hashed(guards: Guards, real, *args, **kwargs):
    """set(...) and dict(...): their keys are hashed."""
    if args and not (real is dict and isinstance(args[0], dict)):
        args = (guards.inspect(guards.materialize(args[0])), *args[1:])
    return guards.charge_value(real(*args, **kwargs))


def _int(guards: Guards, real, *args, **kwargs):
    if args and isinstance(args[0], decimal.Decimal) and args[0].is_finite() and args[0].adjusted() > _INT_DIGITS:
        raise ScriptLimitError(f"number too large (over {MAX_INT_BITS} bits)")
    return real(*args, **kwargs)


def script_builtins(guards: Guards) -> dict[str, Any]:
    """The `__builtins__` of one script run."""

    def sorted_(iterable, *, key=None, reverse=False):
        items = guards.inspect(guards.materialize(iterable))
        return guards.charge_value(sorted(items, key=guards.inspecting(key) if key else None, reverse=reverse))

    def extreme(function):
        def call(*args, **kwargs):
            if len(args) == 1:
                args = (guards.inspect(guards.materialize(args[0])),)
            else:
                guards.inspect(args)
            if kwargs.get("key") is not None:
                kwargs["key"] = guards.inspecting(kwargs["key"])
            return function(*args, **kwargs)
        call.__name__ = function.__name__
        return call

    def sum_(iterable, /, start=0):
        if type(start) is list or type(start) is tuple:  # adding up sequences: linear, checked as it goes
            total = list(start)
            for item in guards.counted(iterable):
                if type(item) is not type(start):
                    raise TypeError(f'can only concatenate {type(start).__name__} (not "{type(item).__name__}")')
                guards.check_items(len(total) + len(item))
                total.extend(item)
            guards.charge_value(total)
            return total if type(start) is list else tuple(total)
        return sum(guards.counted(iterable), start)

    def round_(number, ndigits=None):
        if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
            raise ScriptLimitError(f"round() to more than {MAX_ROUND_DIGITS} digits")
        return round(number, ndigits)

    def range_(*args):
        r = range(*args)
        guards.check_items(len(r))
        return r

    names = dict(_PLAIN)
    names.update({
        "str": GuardedType(str, guards, _str), "list": GuardedType(list, guards, _sequence),
        "tuple": GuardedType(tuple, guards, _sequence), "set": GuardedType(set, guards, _hashed),
        "dict": GuardedType(dict, guards, _hashed), "int": GuardedType(int, guards, _int),
        "sorted": sorted_, "min": extreme(min), "max": extreme(max), "sum": sum_, "round": round_, "range": range_,
    })
    return names
