"""FEEL unary tests: the input entries of a DMN decision table, as Camunda 7 evaluates them (DMN 1.3, 8.3.3
and 10.3.2.9; Camunda's FEEL engine).

An input entry tests the input value against:

- `-` or nothing: anything matches;
- an endpoint (`"EU"`, `42`, `true`, `null`, a variable name, `date("2026-06-01")`, any FEEL expression):
  the value equals it;
- a comparison: `< 10`, `<= 10`, `> 10`, `>= 10`;
- an interval: `[1..10]` (both ends in), `]1..10[` or `(1..10)` (both out), `[1..10[`, `(1..10]`, ...;
- a list of those, any of which matches: `"EU","UK"`, `1,2,3`, `[1..5],[10..20]`;
- `not(...)` of a list: none of them matches;
- an expression over `?`, the input value: `starts with(?, "ab")`, `? > 10 and ? < 20`.

`compile_entry` turns an entry into a Python expression over `dmninputexpr` (the input value) for the
sandbox, or None when it is not FEEL (SpiffWorkflow's own reading, Python comparisons such as
`50 <= ? < 500` or `in ['a', 'b']`, applies then). Endpoints are translated as FEEL expressions
(`expressions.translate`); `date("...")` and `date and time("...")` are their ISO text, and a date input
value is compared as its ISO text too, so ISO dates and date-times order as they should.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from .expression_syntax import TranslationError

__all__ = ["INPUT", "compile_entry", "input_python", "input_value"]

INPUT = "dmninputexpr"  # the name the input value goes by in a compiled entry (SpiffWorkflow's, for `?`)
_QUESTION = re.compile(r"\?(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)")  # a `?` outside double quotes
_DATE = re.compile(r'\b(date and time|date|time)\s*\(\s*("(?:[^"\\]|\\.)*")\s*\)')
_COMPARISON = re.compile(r"^(<=|>=|<|>)(.*)$", re.S)


_PATH = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*(\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)+\s*$")


@lru_cache(maxsize=1024)
def input_python(expression: str) -> str:
    """An input expression as the sandbox reads it: a FEEL path (`customer.age`, a key of a variable that
    is an object) as the key it names; anything else as it is written."""
    if expression and _PATH.match(expression):
        try:
            return _expression(expression)
        except TranslationError:
            return expression
    return expression


def input_value(value):
    """The input value as an entry compares it: a date or date-time as its ISO text."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


@lru_cache(maxsize=4096)
def compile_entry(text: str) -> str | None:
    """A Python boolean expression over `INPUT` for the input entry `text`, or None if it is not FEEL."""
    source = text.strip()
    if source in ("", "-"):
        return "True"
    try:
        negated = _negation(source)
        if negated is not None:
            inner = _tests(negated)
            return f"not ({inner})"
        return _tests(source)
    except TranslationError:
        return None


def _negation(source: str) -> str | None:
    """The list inside `not(...)` when the whole entry is one, else None."""
    if not source.startswith("not"):
        return None
    rest = source[3:].lstrip()
    if not rest.startswith("(") or _closing(rest, 0) != len(rest) - 1:
        return None
    return rest[1:-1]


def _tests(source: str) -> str:
    parts = _split(source)
    if not parts or any(not p.strip() for p in parts):
        raise TranslationError("an empty test in the list", 1)
    compiled = [_test(p.strip()) for p in parts]
    return compiled[0] if len(compiled) == 1 else " or ".join(f"({c})" for c in compiled)


def _test(test: str) -> str:
    if _QUESTION.search(test):  # an expression over the input value
        return f"bool({_expression(_QUESTION.sub(INPUT, test))})"
    interval = _interval(test)
    if interval is not None:
        return interval
    comparison = _COMPARISON.match(test)
    if comparison:
        operator, endpoint = comparison.groups()
        if not endpoint.strip() or endpoint.lstrip().startswith("="):
            raise TranslationError("a comparison needs a value", 1)
        return f"({INPUT} is not None and {INPUT} {operator} ({_expression(endpoint)}))"
    if test == "null":
        return f"{INPUT} is None"
    return f"{INPUT} == ({_expression(test)})"


def _interval(test: str) -> str | None:
    if test[0] not in "[](" or test[-1] not in "[])":
        return None
    body = test[1:-1]
    middle = _top_level(body, "..")
    if middle is None:
        return None
    low, high = body[:middle], body[middle + 2:]
    if not low.strip() or not high.strip():
        raise TranslationError("an interval needs both ends", 1)
    above = ">=" if test[0] == "[" else ">"
    below = "<=" if test[-1] == "]" else "<"
    return (f"({INPUT} is not None and {INPUT} {above} ({_expression(low)}) "
            f"and {INPUT} {below} ({_expression(high)}))")


def _expression(text: str) -> str:
    from .expressions import translate

    return translate("= " + _DATE.sub(lambda m: m.group(2), text.strip()))


def _split(source: str) -> list[str]:
    """`source` split at its top-level commas (not inside quotes, parentheses, brackets or an interval, whose
    brackets may face either way: `]0..1[`)."""
    parts, stack, start, i = [], [], 0, 0
    while i < len(source):
        ch = source[i]
        if ch == '"':
            i = _string_end(source, i)
        elif ch == "(" and not (not stack and _opens_interval(source, i)):
            stack.append("(")
        elif not stack and ch in "[](" and _opens_interval(source, i):
            stack.append("interval")
        elif stack and stack[-1] == "interval" and ch in "[])" and _closes_interval(source, i):
            stack.pop()
        elif ch == "[":
            stack.append("[")
        elif ch == "]" and stack and stack[-1] == "[":
            stack.pop()
        elif ch == ")" and stack and stack[-1] == "(":
            stack.pop()
        elif ch == "," and not stack:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


def _opens_interval(source: str, i: int) -> bool:
    before = source[:i].rstrip()
    return not before or before.endswith(",")


def _closes_interval(source: str, i: int) -> bool:
    after = source[i + 1:].lstrip()
    return not after or after.startswith(",")


def _top_level(body: str, needle: str) -> int | None:
    depth, i = 0, 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            i = _string_end(body, i)
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and body.startswith(needle, i):
            return i
        i += 1
    return None


def _closing(text: str, start: int) -> int | None:
    """The index of the parenthesis closing the one at `start`."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    raise TranslationError("an unclosed string", start + 1)
