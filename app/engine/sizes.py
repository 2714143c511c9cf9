"""The size of a value as it would be stored, measured without building it.

`measure` walks a value once and adds up its compact JSON size (strings in
characters, escapes not counted), the items of its containers and its
nesting depth, and stops as soon as one goes past its cap. A list that holds
the same list twice is counted twice, as the JSON would hold it: so the walk
of `a = [a, a]` built sixty times over stops after `max_items` items instead of
running for ever, and a cycle stops at `max_depth`. A failing walk raises
`Oversize`, which says where (a path such as `order.lines[3]`) and what.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math

__all__ = ["Oversize", "measure"]


class Oversize(Exception):
    """The walk stopped: `kind` is "size", "items", "depth" or "type"; `path` says where."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(kind)
        self.kind = kind
        self.detail = detail
        self._parts: list[str] = []

    def path(self, root: str = "") -> str:
        """Where the walk stopped, below `root` (a variable name)."""
        tail = "".join(reversed(self._parts))
        if len(tail) > 60:
            tail = tail[:57] + "..."
        if not root:
            return tail.lstrip(".") or "the value"
        return root + tail


def _int_size(value: int) -> int:
    return int(value.bit_length() * 0.30103) + 2


def measure(value, *, max_depth: int, max_size: float = math.inf, max_items: float = math.inf,
            strict: bool = True) -> tuple[int, int]:
    """The JSON size of `value` and the number of items in its containers, nested ones included.

    Args:
        max_depth: containers may nest this deep (1: a flat list or dict).
        max_size / max_items: stop once the size or the item count passes this.
        strict: only what instance data may hold (str keys; str, numbers, booleans, None,
            dates, decimals, lists, tuples, dicts); otherwise sets and frozensets are walked
            too, tuples may be keys and other objects count as small opaque values.

    Raises:
        Oversize: a cap was passed, or (strict) a value cannot be stored.
    """
    counts = [0, 0]  # size, items

    def add(n: int) -> None:
        counts[0] += n
        if counts[0] > max_size:
            raise Oversize("size")

    def enter(n: int, depth: int) -> None:
        if depth >= max_depth:
            raise Oversize("depth")
        counts[1] += n
        if counts[1] > max_items:
            raise Oversize("items")
        add(2 + max(n - 1, 0))

    def walk(v, depth: int) -> None:
        t = type(v)
        if t is str:
            add(len(v) + 2)
        elif t is int:
            add(_int_size(v))
        elif v is None or t is bool:
            add(5)
        elif t is float:
            add(len(repr(v)))
        elif t is dict or (t is not str and isinstance(v, dict)):
            enter(len(v), depth)
            for k, item in v.items():
                if type(k) is str:
                    add(len(k) + 3)
                elif strict:
                    raise Oversize("type", f"has a non-string key {k!r:.40}")
                else:
                    walk(k, depth + 1)
                try:
                    walk(item, depth + 1)
                except Oversize as exc:
                    exc._parts.append(f".{k}")
                    raise
        elif t is list or t is tuple or isinstance(v, (list, tuple)) or \
                (not strict and isinstance(v, (set, frozenset))):
            enter(len(v), depth)
            for i, item in enumerate(v):
                try:
                    walk(item, depth + 1)
                except Oversize as exc:
                    exc._parts.append(f"[{i}]")
                    raise
        elif isinstance(v, str):
            add(len(v) + 2)
        elif isinstance(v, int):  # a bool or int subclass
            add(_int_size(int(v)))
        elif isinstance(v, (dt.date, dt.datetime)):
            add(34)
        elif isinstance(v, decimal.Decimal):
            add(len(str(v)) + 2)
        elif strict:
            raise Oversize("type", f"holds a {type(v).__name__}, which cannot be stored")
        elif isinstance(v, (bytes, bytearray)):
            add(len(v) + 3)
        else:
            add(16)

    walk(value, 0)
    return counts[0], counts[1]
