"""What the JUEL and FEEL translations share: the error, the tokenizer, the expression tree and a parser base.

`expressions` parses a modeler expression with the dialect's parser (`juel`,
`feel`) into the tree of nodes below, then writes it out as sandbox Python.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

__all__ = ["Binary", "Call", "Conditional", "Context", "Empty", "Item", "List", "Literal", "Name",
           "Parser", "Token", "TranslationError", "Unary", "first_column", "tokenize"]


class TranslationError(ValueError):
    """An expression cannot be translated; `column` is 1-based in the expression text."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (column {self.column})"


# -- tokens ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "num", "str", "name", "op", "end"
    value: object
    column: int


_OPERATORS = ("**", "==", "!=", "<=", ">=", "&&", "||", "->", "+=",
              "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", "(", ")", "[", "]", ".", ",", "=", ";",
              "{", "}")
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_FEEL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def tokenize(text: str, start: int, dialect: str) -> list[Token]:
    """The tokens of `text` from index `start` on (after `${` or `=`), ending with an "end" token."""
    tokens: list[Token] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        column = i + 1
        number = _NUMBER.match(text, i)
        if ch.isdigit() or (ch == "." and number):
            lexeme = number.group(0)
            value = float(lexeme) if any(c in lexeme for c in ".eE") else int(lexeme)
            if value == float("inf") or len(lexeme) > 100:
                raise TranslationError(f"number {lexeme} is too large", column)
            tokens.append(Token("num", value, column))
            i = number.end()
            continue
        if ch in "'\"":
            if dialect == "feel" and ch == "'":
                raise TranslationError("FEEL strings are written in double quotes", column)
            value, i = _string(text, i, dialect)
            tokens.append(Token("str", value, column))
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(Token("name", name.group(0), column))
            i = name.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is None:
            raise TranslationError(f"unexpected character {ch!r}", column)
        tokens.append(Token("op", op, column))
        i += len(op)
    tokens.append(Token("end", None, len(text) + 1))
    return tokens


def _string(text: str, i: int, dialect: str) -> tuple[str, int]:
    quote, column, out = text[i], i + 1, []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if dialect == "juel" and nxt in "'\"\\":
                out.append(nxt)
            elif dialect == "feel" and nxt in _FEEL_ESCAPES:
                out.append(_FEEL_ESCAPES[nxt])
            elif dialect == "feel" and nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2:i + 6]):
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 4
            else:
                out.append(ch + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise TranslationError("string is not closed", column)


# -- tree ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: object


@dataclass(frozen=True)
class Name:
    name: str
    column: int


@dataclass(frozen=True)
class Item:
    base: object
    key: object


@dataclass(frozen=True)
class Unary:
    op: str  # "not" or "-"
    operand: object


@dataclass(frozen=True)
class Empty:
    operand: object


@dataclass(frozen=True)
class Binary:
    op: str  # a Python operator
    left: object
    right: object


@dataclass(frozen=True)
class List:
    items: tuple


@dataclass(frozen=True)
class Context:
    entries: tuple  # (key, value node) pairs


@dataclass(frozen=True)
class Call:
    function: str  # a key of feel.FEEL_FUNCTIONS
    args: tuple


@dataclass(frozen=True)
class Conditional:
    test: object
    then: object
    otherwise: object


# -- parsing ---------------------------------------------------------------------------

_CAMUNDA_OBJECTS = {"execution", "externalTask", "authenticatedUserId", "connector"}


class Parser:
    """The parts JUEL and FEEL share: token access, errors, names, postfix access and binary levels.

    A dialect's parser adds `expression()` (its precedence levels) and may override `primary`,
    `name`, `index` and `variable_hint`.
    """

    dialect = ""
    reserved: set[str] = set()
    hints: dict[str, str] = {}  # operator -> why it is refused

    def __init__(self, source: str, tokens: list[Token]):
        self.source = source
        self.tokens = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "name") and token.value in values

    def expect(self, value: str) -> Token:
        if not self.at(value):
            raise TranslationError(f"expected {value!r}, found {self.describe(self.peek())}", self.peek().column)
        return self.advance()

    @staticmethod
    def describe(token: Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.value)

    def unexpected(self, token: Token) -> TranslationError:
        if token.kind == "op" and token.value in self.hints:
            return TranslationError(self.hints[token.value], token.column)
        return TranslationError(f"unexpected {self.describe(token)}", token.column)

    # postfix: names, literals, parentheses, `.name` and `[index]`
    def postfix(self):
        node = self.primary()
        while True:
            if self.at("."):
                self.advance()
                name = self.advance()
                if name.kind != "name":
                    raise TranslationError(f"expected a property name after '.', found {self.describe(name)}",
                                           name.column)
                if self.at("("):
                    raise self.call_error(node, name)
                node = Item(node, Literal(name.value))
            elif self.at("["):
                column = self.advance().column + 1
                node = Item(node, self.index(self.expression(), column))
                self.expect("]")
            elif self.at("("):
                raise self.call_error(node, None)
            else:
                return node

    def index(self, node, column: int):
        return node

    def call_error(self, target, method: Token | None) -> TranslationError:
        start = first_column(target)
        if start is None:  # a call on a literal or a parenthesized expression
            start = method.column if method else self.peek().column
            callee = method.value if method else "(...)"
        else:
            callee = self.source[start - 1:self.peek().column - 1].strip()
        argument = self.peek(1)
        if callee == "execution.getVariable" and argument.kind == "str" and self.peek(2).value == ")":
            return TranslationError(
                f"method call {callee}(...) is not supported; read the variable directly: "
                f"write {self.variable_hint(str(argument.value))}", start)
        return TranslationError(
            f"method call {callee}(...) is not supported; compute the value in a script task before "
            "this element and use the variable here", start)

    def variable_hint(self, name: str) -> str:
        return f"${{{name}}}"

    def primary(self):
        token = self.advance()
        if token.kind in ("num", "str"):
            return Literal(token.value)
        if token.kind == "op" and token.value == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "name":
            literal = {"true": True, "false": False, "null": None}
            if token.value in literal:
                return Literal(literal[token.value])
            return self.name(token)
        raise self.unexpected(token)

    def name(self, token: Token):
        name = token.value
        if name in self.reserved:
            raise TranslationError(f"{name!r} is not supported here", token.column)
        if self.at("("):
            raise TranslationError(f"function call {name}(...) is not supported; compute the value in a "
                                   "script task before this element and use the variable here", token.column)
        if name in _CAMUNDA_OBJECTS and not (self.at(".") and self.peek(2).value == "("):  # calls explain themselves
            raise TranslationError(f"{name!r} is a Camunda engine object, which Stagecoach does not have; "
                                   "use process variables", token.column)
        if "$" in name or name.startswith("_"):
            raise TranslationError(f"variable name {name!r} cannot be used: names may not contain '$' "
                                   "or start with '_'", token.column)
        if keyword.iskeyword(name):
            raise TranslationError(f"variable name {name!r} is a reserved word of the script language; "
                                   "rename the variable", token.column)
        return Name(name, token.column)

    def binary_level(self, operators: dict[str, str], operand):
        node = operand()
        while self.peek().kind in ("op", "name") and self.peek().value in operators:
            op = operators[self.advance().value]
            node = Binary(op, node, operand())
        return node


def first_column(node) -> int | None:
    """The column of the variable a `name.key[index]` chain starts with, None for anything else."""
    while True:
        if isinstance(node, Name):
            return node.column
        if isinstance(node, Item):
            node = node.base
            continue
        return None
