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
  ... see `_FEEL_FUNCTIONS`) become it.

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

import keyword
import re
from dataclasses import dataclass

__all__ = ["TranslationError", "is_modeler_expression", "property_path", "translate"]


class TranslationError(ValueError):
    """An expression cannot be translated; `column` is 1-based in the expression text."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (column {self.column})"


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
        if isinstance(node, _Name):
            return [node.name, *reversed(path)]
        if isinstance(node, _Item) and isinstance(node.key, _Literal) and isinstance(node.key.value, (str, int)) \
                and not isinstance(node.key.value, bool):
            path.append(node.key.value)
            node = node.base
            continue
        return None


# -- tokens ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "str", "name", "op", "end"
    value: object
    column: int


_OPERATORS = ("**", "==", "!=", "<=", ">=", "&&", "||", "->", "+=",
              "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", "(", ")", "[", "]", ".", ",", "=", ";",
              "{", "}")
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_FEEL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _tokenize(text: str, start: int, dialect: str) -> list[_Token]:
    tokens: list[_Token] = []
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
            tokens.append(_Token("num", value, column))
            i = number.end()
            continue
        if ch in "'\"":
            if dialect == "feel" and ch == "'":
                raise TranslationError("FEEL strings are written in double quotes", column)
            value, i = _string(text, i, dialect)
            tokens.append(_Token("str", value, column))
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(_Token("name", name.group(0), column))
            i = name.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is None:
            raise TranslationError(f"unexpected character {ch!r}", column)
        tokens.append(_Token("op", op, column))
        i += len(op)
    tokens.append(_Token("end", None, len(text) + 1))
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
class _Literal:
    value: object


@dataclass(frozen=True)
class _Name:
    name: str
    column: int


@dataclass(frozen=True)
class _Item:
    base: object
    key: object


@dataclass(frozen=True)
class _Unary:
    op: str  # "not" or "-"
    operand: object


@dataclass(frozen=True)
class _Empty:
    operand: object


@dataclass(frozen=True)
class _Binary:
    op: str  # a Python operator
    left: object
    right: object


@dataclass(frozen=True)
class _List:
    items: tuple


@dataclass(frozen=True)
class _Context:
    entries: tuple  # (key, value node) pairs


@dataclass(frozen=True)
class _Call:
    function: str  # a key of _FEEL_FUNCTIONS
    args: tuple


@dataclass(frozen=True)
class _Conditional:
    test: object
    then: object
    otherwise: object


# -- parsing ---------------------------------------------------------------------------

_JUEL_RESERVED = {"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "true", "false", "null",
                  "instanceof", "empty", "div", "mod"}
_FEEL_RESERVED = {"and", "or", "true", "false", "null", "if", "then", "else", "in", "between", "instance",
                  "of", "for", "some", "every", "return", "satisfies", "function"}
_CAMUNDA_OBJECTS = {"execution", "externalTask", "authenticatedUserId", "connector"}
_JUEL_COMPARISONS = {"==": "==", "eq": "==", "!=": "!=", "ne": "!="}
_JUEL_RELATIONS = {"<": "<", "lt": "<", ">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="}
_JUEL_MULTIPLY = {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"}
_FEEL_COMPARISONS = {"=": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


def _parse(text: str):
    source = text.strip()
    if source.startswith(("${", "#{")):
        parser = _JuelParser(source, _tokenize(source, 2, "juel"))
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
        parser = _FeelParser(source, _tokenize(source, 1, "feel"))
        if parser.peek().kind == "end":
            raise TranslationError("empty FEEL expression after '='", parser.peek().column)
        node = parser.expression()
        if parser.peek().kind != "end":
            raise parser.unexpected(parser.peek())
        return node
    raise TranslationError("not a JUEL (${...}, #{...}) or FEEL (= ...) expression", 1)


class _Parser:
    dialect = ""
    reserved: set[str] = set()

    def __init__(self, source: str, tokens: list[_Token]):
        self.source = source
        self.tokens = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.pos += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "name") and token.value in values

    def expect(self, value: str) -> _Token:
        if not self.at(value):
            raise TranslationError(f"expected {value!r}, found {self.describe(self.peek())}", self.peek().column)
        return self.advance()

    @staticmethod
    def describe(token: _Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.value)

    def unexpected(self, token: _Token) -> TranslationError:
        hints = {
            "->": "lambda expressions are not supported",
            "=": "assignment is not supported; compare with '=='",
            "+=": "string concatenation with '+=' is not supported",
            ";": "several expressions separated by ';' are not supported",
            "{": "map and set literals are not supported",
            ",": "lists are not supported",
        }
        if self.dialect == "feel":
            hints = {"!": "FEEL negates with not(...)", "==": "FEEL compares with '='", "&&": "FEEL writes 'and'",
                     "||": "FEEL writes 'or'"}
        if token.kind == "op" and token.value in hints:
            return TranslationError(hints[token.value], token.column)
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
                node = _Item(node, _Literal(name.value))
            elif self.at("["):
                column = self.advance().column + 1
                node = _Item(node, self.index(self.expression(), column))
                self.expect("]")
            elif self.at("("):
                raise self.call_error(node, None)
            else:
                return node

    def index(self, node, column: int):
        return node

    def call_error(self, target, method: _Token | None) -> TranslationError:
        start = _first_column(target)
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
            return _Literal(token.value)
        if token.kind == "op" and token.value == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "name":
            literal = {"true": True, "false": False, "null": None}
            if token.value in literal:
                return _Literal(literal[token.value])
            return self.name(token)
        raise self.unexpected(token)

    def name(self, token: _Token):
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
        return _Name(name, token.column)

    def binary_level(self, operators: dict[str, str], operand):
        node = operand()
        while self.peek().kind in ("op", "name") and self.peek().value in operators:
            op = operators[self.advance().value]
            node = _Binary(op, node, operand())
        return node


class _JuelParser(_Parser):
    """JUEL: ternary < or < and < equality < relational < additive < multiplicative < unary < postfix."""

    dialect = "juel"
    reserved = _JUEL_RESERVED

    def expression(self):
        test = self.disjunction()
        if not self.at("?"):
            return test
        self.advance()
        then = self.expression()
        self.expect(":")
        return _Conditional(test, then, self.expression())

    def disjunction(self):
        return self.binary_level({"||": "or", "or": "or"}, self.conjunction)

    def conjunction(self):
        return self.binary_level({"&&": "and", "and": "and"}, self.equality)

    def equality(self):
        return self.binary_level(_JUEL_COMPARISONS, self.relational)

    def relational(self):
        return self.binary_level(_JUEL_RELATIONS, self.additive)

    def additive(self):
        return self.binary_level({"+": "+", "-": "-"}, self.multiplicative)

    def multiplicative(self):
        return self.binary_level(_JUEL_MULTIPLY, self.unary)

    def unary(self):
        if self.at("!", "not"):
            self.advance()
            return _Unary("not", self.unary())
        if self.at("-"):
            self.advance()
            return _Unary("-", self.unary())
        if self.at("empty"):
            self.advance()
            return _Empty(self.unary())
        return self.postfix()


class _FeelParser(_Parser):
    """FEEL: if-then-else < or < and < comparison < additive < multiplicative < power < negation < path."""

    dialect = "feel"
    reserved = _FEEL_RESERVED

    def expression(self):
        if self.at("if"):
            self.advance()
            test = self.expression()
            self.expect("then")
            then = self.expression()
            self.expect("else")
            return _Conditional(test, then, self.expression())
        for word in ("for", "some", "every"):
            if self.at(word):
                raise TranslationError(f"FEEL '{word}' expressions are not supported", self.peek().column)
        return self.disjunction()

    def disjunction(self):
        return self.binary_level({"or": "or"}, self.conjunction)

    def conjunction(self):
        return self.binary_level({"and": "and"}, self.comparison)

    def comparison(self):
        node = self.additive()
        token = self.peek()
        if token.kind == "op" and token.value in {"==", "&&", "||", "!"}:
            raise self.unexpected(token)
        if token.kind == "name" and token.value in {"in", "between", "instance"}:
            raise TranslationError(f"FEEL '{token.value}' tests are not supported", token.column)
        if token.kind == "op" and token.value in _FEEL_COMPARISONS:
            self.advance()
            node = _Binary(_FEEL_COMPARISONS[token.value], node, self.additive())
        return node

    def additive(self):
        return self.binary_level({"+": "+", "-": "-"}, self.multiplicative)

    def multiplicative(self):
        return self.binary_level({"*": "*", "/": "/"}, self.power)

    def power(self):
        node = self.negation()
        if self.at("**"):
            self.advance()
            node = _Binary("**", node, self.power())
        return node

    def negation(self):
        if self.at("-"):
            self.advance()
            return _Unary("-", self.negation())
        return self.postfix()

    def primary(self):
        # FEEL list `[a, "b"]` and context `{total: x, "due date": y}` literals
        if self.at("["):
            self.advance()
            items = []
            while not self.at("]"):
                items.append(self.expression())
                if not self.at("]"):
                    self.expect(",")
            self.advance()
            return _List(tuple(items))
        if self.at("{"):
            self.advance()
            entries = []
            while not self.at("}"):
                key = self.advance()
                if key.kind not in ("name", "str"):
                    raise TranslationError(f"expected a context key, found {self.describe(key)}", key.column)
                self.expect(":")
                entries.append((str(key.value), self.expression()))
                if not self.at("}"):
                    self.expect(",")
            self.advance()
            return _Context(tuple(entries))
        return super().primary()

    def name(self, token: _Token):
        call = self.builtin_call(token)
        if call is not None:
            return call
        if token.value == "not" and self.at("("):
            self.advance()
            operand = self.expression()
            self.expect(")")
            return _Unary("not", operand)
        if token.value == "not":
            raise TranslationError("FEEL negates with not(...)", token.column)
        if self.at("("):
            raise TranslationError(f"FEEL function {token.value}() is not supported; the built-ins that are: "
                                   f"{', '.join(sorted(_FEEL_FUNCTIONS))}", token.column)
        return super().name(token)

    def builtin_call(self, token: _Token):
        """A FEEL built-in function call (`count(items)`, `string join(names, ", ")`), or None."""
        words = [token.value]
        while self.peek(len(words) - 1).kind == "name" and len(words) < 3:
            words.append(self.peek(len(words) - 1).value)
        for size in range(len(words), 0, -1):
            name = " ".join(words[:size])
            if name in _FEEL_FUNCTIONS and self.peek(size - 1).kind == "op" and self.peek(size - 1).value == "(":
                break
        else:
            return None
        for _ in range(size - 1):
            self.advance()
        self.expect("(")
        args = []
        while not self.at(")"):
            args.append(self.expression())
            if not self.at(")"):
                self.expect(",")
        self.advance()
        low, high, _ = _FEEL_FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = str(low) if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise TranslationError(f"FEEL function {name}() takes {wanted} argument(s), not {len(args)}",
                                   token.column)
        return _Call(name, tuple(args))

    def index(self, node, column: int):
        # FEEL lists count from 1 and from -1 at the end; filters (`items[x > 1]`) are not supported.
        if isinstance(node, _Literal) and isinstance(node.value, int) and not isinstance(node.value, bool):
            if node.value == 0:
                raise TranslationError("FEEL list indexes start at 1", column)
            return _Literal(node.value - 1 if node.value > 0 else node.value)
        if isinstance(node, _Unary) and node.op == "-" and isinstance(node.operand, _Literal) \
                and isinstance(node.operand.value, int):
            return _Literal(-node.operand.value)
        if isinstance(node, _Literal) and isinstance(node.value, str):
            return node
        raise TranslationError("FEEL filters and computed list indexes are not supported; use a number",
                               column)

    def variable_hint(self, name: str) -> str:
        return f"= {name}"


def _substring(a: list[str]) -> str:
    start = f"({a[1]}) - 1"  # FEEL positions count from 1
    return f"{a[0]}[{start}:]" if len(a) == 2 else f"{a[0]}[{start}:({start}) + ({a[2]})]"


# FEEL built-in functions (DMN 1.3, 10.3.4) with a direct sandbox equivalent: name -> (fewest arguments,
# most arguments or None, Python written from the arguments' Python).
_FEEL_FUNCTIONS = {
    "count": (1, 1, lambda a: f"len({a[0]})"),
    "sum": (1, 1, lambda a: f"sum({a[0]})"),
    "mean": (1, 1, lambda a: f"(sum({a[0]}) / len({a[0]}))"),
    "min": (1, None, lambda a: f"min({', '.join(a)})"),
    "max": (1, None, lambda a: f"max({', '.join(a)})"),
    "all": (1, 1, lambda a: f"all({a[0]})"),
    "any": (1, 1, lambda a: f"any({a[0]})"),
    "list contains": (2, 2, lambda a: f"({a[1]} in {a[0]})"),
    "append": (2, None, lambda a: f"({a[0]} + [{', '.join(a[1:])}])"),
    "concatenate": (1, None, lambda a: "(" + " + ".join(a) + ")"),
    "reverse": (1, 1, lambda a: f"{a[0]}[::-1]"),
    "string join": (1, 2, lambda a: f"{a[1] if len(a) > 1 else repr('')}.join({a[0]})"),
    "string length": (1, 1, lambda a: f"len({a[0]})"),
    "upper case": (1, 1, lambda a: f"{a[0]}.upper()"),
    "lower case": (1, 1, lambda a: f"{a[0]}.lower()"),
    "contains": (2, 2, lambda a: f"({a[1]} in {a[0]})"),
    "starts with": (2, 2, lambda a: f"{a[0]}.startswith({a[1]})"),
    "ends with": (2, 2, lambda a: f"{a[0]}.endswith({a[1]})"),
    "substring": (2, 3, _substring),
    "string": (1, 1, lambda a: f"str({a[0]})"),
    "number": (1, 1, lambda a: f"float({a[0]})"),
    "abs": (1, 1, lambda a: f"abs({a[0]})"),
    "floor": (1, 1, lambda a: f"int(({a[0]}) // 1)"),
    "ceiling": (1, 1, lambda a: f"-int(-({a[0]}) // 1)"),
    "decimal": (2, 2, lambda a: f"round({a[0]}, {a[1]})"),
}


def _first_column(node) -> int | None:
    while True:
        if isinstance(node, _Name):
            return node.column
        if isinstance(node, _Item):
            node = node.base
            continue
        return None


# -- emitting --------------------------------------------------------------------------

def _emit(node, top: bool = False) -> str:
    if isinstance(node, _Literal):
        return repr(node.value)
    if isinstance(node, _Name):
        return node.name
    if isinstance(node, _Item):
        return f"{_emit(node.base)}[{_emit(node.key)}]"
    if isinstance(node, _List):
        return "[" + ", ".join(_emit(item, top=True) for item in node.items) + "]"
    if isinstance(node, _Call):
        return _FEEL_FUNCTIONS[node.function][2]([_emit(arg, top=True) for arg in node.args])
    if isinstance(node, _Context):
        return "{" + ", ".join(f"{key!r}: {_emit(value, top=True)}" for key, value in node.entries) + "}"
    if isinstance(node, _Unary):
        text = f"not {_emit(node.operand)}" if node.op == "not" else f"-{_emit(node.operand)}"
    elif isinstance(node, _Empty):
        text = f"{_emit(node.operand)} in (None, '', [], {{}})"
    elif isinstance(node, _Binary):
        text = f"{_emit(node.left)} {node.op} {_emit(node.right)}"
    elif isinstance(node, _Conditional):
        text = f"{_emit(node.then)} if {_emit(node.test)} else {_emit(node.otherwise)}"
    else:  # pragma: no cover - the parser builds no other node
        raise TypeError(type(node).__name__)
    return text if top else f"({text})"
