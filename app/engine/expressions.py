"""Translate the expressions modelers write (JUEL `${...}` / `#{...}`, FEEL `= ...`) into sandbox Python.

Camunda Modeler diagrams carry conditions, assignees and timers as JUEL
(`${amount > 1000}`, `${customer.region == 'EU'}`) or, for Camunda 8, as FEEL
(`= amount > 1000`). The sandbox runs restricted Python, so at deploy time each
such expression is tokenized, parsed by a small recursive-descent parser into a
tree, and written back out as a Python expression:

* dot access becomes item access (`customer.region` → `customer['region']`),
  because instance data is plain dictionaries;
* `null`/`true`/`false` → `None`/`True`/`False`; `eq ne lt gt le ge` → `== != < > <= >=`;
  `&& || !` → `and or not`; `div mod` → `/ %`; `a ? b : c` → `(b if a else c)`;
  `empty x` → `(x in (None, '', [], {}))` (JUEL: null or an empty string or collection);
* FEEL: `=` is equality, `not(x)` is negation, `if a then b else c`, list
  indexes count from 1 (`items[1]` → `items[0]`), and list (`["a", b]`) and
  context (`{total: x}`) literals become Python lists and dictionaries; the
  built-in functions with a direct equivalent (`count`, `sum`, `min`, `max`,
  `string join`, `upper case`, `contains`, `starts with`, `substring`, `floor`,
  ... see `feel.FEEL_FUNCTIONS`) become it.

Every binary and unary operation is parenthesized in the output, so Python's
comparison chaining and `not` precedence cannot change what JUEL meant.

Anything outside this subset (method calls such as
`${execution.getVariable('x')}` or `${myBean.check()}`, lambdas, assignments,
JUEL collection literals, other FEEL functions, filters) raises `TranslationError`
with the 1-based column of the offending token and what to write instead. A
regular expression cannot do this: strings may contain `}` or operators, and
precedence decides where parentheses go.
"""
from __future__ import annotations

from .expression_syntax import (Binary, Call, Conditional, Context, Empty, Item, List, Literal, Name, TranslationError,
                                Unary, tokenize)
from .feel import FEEL_FUNCTIONS, FeelParser
from .juel import JuelParser

__all__ = ["TranslationError", "is_modeler_expression", "property_path", "translate"]


def is_modeler_expression(text: str | None) -> bool:
    """Whether `text` is written as JUEL (`${...}`, `#{...}`) or FEEL (`= ...`)."""
    return (text or "").strip().startswith(("${", "#{", "="))


def translate(text: str) -> str:
    """Translate a JUEL or FEEL expression into a Python expression the sandbox accepts.

    Args:
        text: the whole expression as written, e.g. `${amount > 1000}` or `= amount > 1000`.

    Returns:
        The Python expression, e.g. `amount > 1000`.

    Raises:
        TranslationError: the expression is outside the supported subset.
    """
    return _emit(_parse(text), top=True)


def property_path(text: str) -> list[str | int] | None:
    """The variable path of `${a.b[0]}`-style expressions (`['a', 'b', 0]`), None for anything else.

    Raises:
        TranslationError: the expression is outside the supported subset.
    """
    node = _parse(text)
    path: list[str | int] = []
    while True:
        if isinstance(node, Name):
            return [node.name, *reversed(path)]
        if isinstance(node, Item) and isinstance(node.key, Literal) and isinstance(node.key.value, (str, int)) \
                and not isinstance(node.key.value, bool):
            path.append(node.key.value)
            node = node.base
            continue
        return None


# -- parsing: the dialect decides the parser -------------------------------------------

def _parse(text: str):
    source = text.strip()
    if source.startswith(("${", "#{")):
        parser = JuelParser(source, tokenize(source, 2, "juel"))
        node = parser.expression()
        closing = parser.peek()
        if not (closing.kind == "op" and closing.value == "}"):
            if closing.kind == "end":
                raise TranslationError(f"missing '}}' to close {source[:2]}", closing.column)
            raise parser.unexpected(closing)
        parser.advance()
        rest = parser.peek()
        if rest.kind != "end":
            raise TranslationError("text after the closing '}': write the whole expression inside one "
                                   f"{source[:2]}...}}", rest.column)
        return node
    if source.startswith("="):
        parser = FeelParser(source, tokenize(source, 1, "feel"))
        if parser.peek().kind == "end":
            raise TranslationError("empty FEEL expression after '='", parser.peek().column)
        node = parser.expression()
        if parser.peek().kind != "end":
            raise parser.unexpected(parser.peek())
        return node
    raise TranslationError("not a JUEL (${...}, #{...}) or FEEL (= ...) expression", 1)


# -- emitting --------------------------------------------------------------------------

def _emit(node, top: bool = False) -> str:
    if isinstance(node, Literal):
        return repr(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Item):
        return f"{_emit(node.base)}[{_emit(node.key)}]"
    if isinstance(node, List):
        return "[" + ", ".join(_emit(item, top=True) for item in node.items) + "]"
    if isinstance(node, Call):
        return FEEL_FUNCTIONS[node.function][2]([_emit(arg, top=True) for arg in node.args])
    if isinstance(node, Context):
        return "{" + ", ".join(f"{key!r}: {_emit(value, top=True)}" for key, value in node.entries) + "}"
    if isinstance(node, Unary):
        text = f"not {_emit(node.operand)}" if node.op == "not" else f"-{_emit(node.operand)}"
    elif isinstance(node, Empty):
        text = f"{_emit(node.operand)} in (None, '', [], {{}})"
    elif isinstance(node, Binary):
        text = f"{_emit(node.left)} {node.op} {_emit(node.right)}"
    elif isinstance(node, Conditional):
        text = f"{_emit(node.then)} if {_emit(node.test)} else {_emit(node.otherwise)}"
    else:  # pragma: no cover - the parser builds no other node
        raise TypeError(type(node).__name__)
    return text if top else f"({text})"
