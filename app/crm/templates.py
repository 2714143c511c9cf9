"""Email templates (`send_email` subjects and bodies): Jinja in its immutable sandbox, bounded in time and size.

Threat model: a template is written by whoever models a process or a workflow rule and rendered inside
an instance's step, while the instance (and on SQLite the database's write lock) is held. Measured
before these bounds: `{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}`
looped for minutes outside the script time limit; `{{ 'x' * 10**10 }}` or `{{ 'x'|center(10**10) }}`
asks for gigabytes in one expression; `{{ ''.__class__ }}` reaches for Python internals.

What bounds a render:
- Jinja's `ImmutableSandboxedEnvironment`: no attribute starting with `_`, no unsafe callables, no
  mutating methods of lists, dicts or sets (a SecurityError: the template is refused);
- a deadline (`TemplateLimits.max_seconds`): checked on every loop iteration (each `{% for %}`'s iterable
  is wrapped when the template is parsed), every call, attribute lookup, operator and filter, and between
  output chunks (`Template.generate`), so no loop, macro recursion or filter chain runs past it;
- an output limit (`max_output` characters): checked per output chunk and, before the value is built, on
  every string or list a template can grow: `*` (pre-checked), `**` on numbers, `+` and `~`
  (concatenation), `%` and `format` with a field width, and the filters and string methods that take a
  width or repeat their input (center, indent, wordwrap, join, replace, batch, slice; ljust, rjust,
  zfill, expandtabs); every filter's and method's result is checked too. A value can therefore grow to
  at most about twice the limit before the render is stopped;
- `range` is Jinja's sandboxed one (at most 100,000 items), looped under the deadline.

Rejected: rendering with `render()` and checking afterwards (the loop and the allocation have already
happened); running the render in a thread killed at the deadline (Python cannot kill a thread, and the
step would commit what it had queued); a process pool per render (a fork per email, and the record data
would have to cross it).
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import re
import string
import time
import types
from dataclasses import dataclass
from typing import Any, Iterable

from jinja2 import TemplateError, nodes
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace

__all__ = ["TemplateLimitError", "TemplateLimits", "TemplateRefusedError", "render", "template_problem"]


@dataclass(frozen=True)
class TemplateLimits:
    """The settings TEMPLATE_MAX_SECONDS and TEMPLATE_MAX_OUTPUT."""

    max_seconds: float = 1.0
    max_output: int = 200_000


class TemplateLimitError(Exception):
    """A render went past its time or output limit; the message names the limit."""


class TemplateRefusedError(Exception):
    """A template that cannot be rendered: bad syntax, or something the sandbox refuses."""


@dataclass
class _Budget:
    deadline: float
    limits: TemplateLimits
    output: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"the template took longer than its time limit of {self.limits.max_seconds:g} s "
                                     f"(STAGECOACH_TEMPLATE_MAX_SECONDS)")

    def size(self, size: int) -> None:
        if size > self.limits.max_output:
            raise TemplateLimitError(f"the template would produce more than its output limit of "
                                     f"{self.limits.max_output} characters (STAGECOACH_TEMPLATE_MAX_OUTPUT)")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _tick() -> _Budget | None:
    budget = _budget.get()
    if budget is not None:
        budget.tick()
    return budget


def _measure(value) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset, bytes)) else 0


def _checked(value):
    """`value`, once its size is known to be within the output limit."""
    budget = _budget.get()
    if budget is not None:
        budget.size(_measure(value))
    return value


# Width and precision in %-style format strings (%10s, %.5f, %*d); the mapping key is bounded so that
# scanning a hostile format string stays linear.
_PRINTF_SPEC = re.compile(r"%(?:\([^)]{0,200}\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _format_widths(fmt: str, budget: _Budget, braces: bool) -> None:
    """Refuse a format string whose field widths would build a value past the output limit.

    `braces`: a str.format string ({:>10}, {0:{w}}); otherwise a %-style one."""
    widths: list[str] = []
    if braces:
        try:
            fields = list(string.Formatter().parse(fmt))
        except ValueError:
            return  # malformed: formatting it fails on its own
        for _literal, _name, spec, _conversion in fields:
            if spec and "{" in spec:
                widths.append("*")  # a width taken from an argument
            widths.extend(_DIGITS.findall(spec or ""))
    else:
        for match in _PRINTF_SPEC.finditer(fmt):
            widths.extend(g for g in match.groups() if g)
    for width in widths:
        if width == "*":
            raise TemplateRefusedError("a format field width taken from an argument (* or {...}) is not allowed "
                                       "in templates")
        budget.size(int(width))


def _ints(*values) -> None:
    budget = _budget.get()
    for value in values:
        if budget is not None and isinstance(value, int) and not isinstance(value, bool):
            budget.size(value)


def _precheck(name: str, bound: dict[str, Any]) -> None:
    """Refuse a filter or string method call whose result would pass the output limit, before it runs."""
    budget = _budget.get()
    if budget is None:
        return
    value = bound.get("value", bound.get("s", bound.get("self")))
    text_len = _measure(value)
    if name in {"center", "ljust", "rjust", "zfill"}:
        _ints(bound.get("width"))
    elif name == "indent":
        width = bound.get("width", 4)
        per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        lines = (value.count("\n") + 1) if isinstance(value, str) else 1
        budget.size(text_len + per_line * lines)
    elif name == "expandtabs":
        tabsize = bound.get("tabsize", 8)
        tabs = value.count("\t") if isinstance(value, str) else 0
        budget.size(text_len + tabs * (tabsize if isinstance(tabsize, int) else 0))
    elif name == "wordwrap":
        width = bound.get("width", 79)
        wrap = bound.get("wrapstring") or "\n"
        budget.size(text_len + (text_len // max(int(width) if isinstance(width, int) else 1, 1) + 1) * len(str(wrap)))
    elif name == "join":
        items = bound.get("value", bound.get("iterable"))
        separator = bound.get("d", bound.get("self", ""))
        count = _measure(items)
        budget.size(sum(_measure(i) for i in items) + count * _measure(separator) if count else 0)
    elif name == "replace":
        old, new = str(bound.get("old", "")), str(bound.get("new", ""))
        if isinstance(value, str) and len(new) > len(old):
            found = len(value) + 1 if old == "" else value.count(old)
            count = bound.get("count")
            if isinstance(count, int) and count >= 0:
                found = min(found, count)
            budget.size(len(value) + found * (len(new) - len(old)))
    elif name in {"batch", "slice"}:
        _ints(bound.get("linecount"), bound.get("slices"))
    elif name == "format" and "self" not in bound and isinstance(value, str):  # the filter: %-style
        _format_widths(value, budget, braces=False)
    elif name in {"format", "format_map"} and isinstance(value, str):  # str.format
        _format_widths(value, budget, braces=True)


def _bound_arguments(function, args, kwargs) -> dict[str, Any]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: positional arguments by position
        return {f"arg{i}": a for i, a in enumerate(args)}
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return {}
    bound.apply_defaults()
    return dict(bound.arguments)


_STR_METHODS = {"center": ("width",), "ljust": ("width",), "rjust": ("width",), "zfill": ("width",),
                "expandtabs": ("tabsize",), "join": ("iterable",), "replace": ("old", "new", "count"),
                "format": (), "format_map": ()}


def _bounded_filter(name: str, function):
    @functools.wraps(function)
    def bounded(*args, **kwargs):
        _tick()
        if name in {"center", "indent", "wordwrap", "join", "replace", "batch", "slice", "format"}:
            if name == "join" and len(args) > 1 and not isinstance(args[1], (list, tuple, str)):
                args = (args[0], list(args[1]), *args[2:])  # measured before it is joined
            _precheck(name, _bound_arguments(function, args, kwargs))
        return _checked(function(*args, **kwargs))
    return bounded


class _BoundedNamespace(Namespace):
    """`namespace()` whose attributes, set in a loop (`{% set ns.x = ... %}`), stay within the output limit."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _checked(value))


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with a deadline and an output limit on everything a template can loop over or grow."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.globals["namespace"] = _BoundedNamespace

    def _parse(self, source, name, filename):
        """Parse, then route every loop's iterable and every `~` through the bounds."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_iter"), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):
            concat.nodes = [nodes.Call(nodes.EnvironmentAttribute("bounded_concat"), list(concat.nodes), [],
                                       None, None, lineno=concat.lineno)]
        return tree

    @staticmethod
    def bounded_iter(iterable: Iterable) -> Iterable:
        budget = _budget.get()
        if budget is None or isinstance(iterable, Undefined):
            return iterable
        return _deadline_iter(iterable, budget)

    @staticmethod
    def bounded_concat(*parts) -> str:
        texts = [str(p) for p in parts]
        budget = _tick()
        if budget is not None:
            budget.size(sum(len(t) for t in texts))
        return "".join(texts)

    def call_binop(self, context, operator: str, left, right):
        budget = _tick()
        if budget is not None:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                        budget.size(len(seq) * max(times, 0))
            elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
                budget.size(max(right, 0) * abs(left).bit_length() // 3)  # about the digits of the result
            elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                budget.size(len(left) + len(right))
            elif operator == "%" and isinstance(left, str):
                _format_widths(left, budget, braces=False)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature
        budget = _tick()
        if budget is not None:
            method = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
            if isinstance(method, (types.BuiltinMethodType, types.MethodType)) and isinstance(
                    getattr(method, "__self__", None), str) and method.__name__ in _STR_METHODS:
                if method.__name__ == "join" and args and not isinstance(args[0], (list, tuple, str)):
                    args = (list(args[0]), *args[1:])  # measured before it is joined
                bound = {"self": method.__self__, **dict(zip(_STR_METHODS[method.__name__], args)), **kwargs}
                _precheck(method.__name__, bound)
        return _checked(super().call(__context, __obj, *args, **kwargs))

    def unsafe_undefined(self, obj, attribute):
        """Refuse at once: Jinja would otherwise render a reach for `__class__` as an empty string."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def getattr(self, obj, attribute):
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        _tick()
        return super().getitem(obj, argument)


def _deadline_iter(iterable: Iterable, budget: _Budget):
    for item in iterable:
        budget.tick()
        yield item


_environment = _BoundedEnvironment()


def _private_names(tree: nodes.Template) -> list[str]:
    names = [n.attr for n in tree.find_all(nodes.Getattr) if n.attr.startswith("_")]
    names += [n.arg.value for n in tree.find_all(nodes.Getitem)
              if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str) and n.arg.value.startswith("_")]
    return names


def template_problem(text: str) -> str | None:
    """Why `text` cannot be a template (syntax, or a reach for private attributes), or None."""
    try:
        tree = _environment.parse(text)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"not a valid template: {exc.message}" + (f" (line {line})" if line else "")
    private = _private_names(tree)
    if private:
        return f"not a valid template: it reaches for {private[0]!r}, and names starting with _ are not accessible"
    return None


def render(template: str, scope: dict, limits: TemplateLimits) -> str:
    """`template` rendered over `scope`, within `limits`.

    Raises:
        TemplateLimitError: past the time or output limit (the message names the setting).
        TemplateRefusedError: bad syntax, or something the sandbox refuses.
    """
    budget = _Budget(time.monotonic() + limits.max_seconds, limits)
    token = _budget.set(budget)
    try:
        compiled = _environment.from_string(str(template))
        parts: list[str] = []
        for chunk in compiled.generate(**scope):
            budget.output += len(chunk)
            budget.size(budget.output)
            budget.tick()
            parts.append(chunk)
        return "".join(parts)
    except TemplateLimitError:
        raise
    except SecurityError as exc:
        raise TemplateRefusedError(f"the template was refused by the sandbox: {exc}") from None
    except RecursionError:
        raise TemplateRefusedError("the template calls its macros too deeply") from None
    except TemplateRefusedError:
        raise
    except Exception as exc:  # syntax, undefined operations, a filter's own error
        raise TemplateRefusedError(f"the template cannot be rendered: {type(exc).__name__}: {exc}") from None
    finally:
        _budget.reset(token)
