"""FEEL (`= ...`): the Camunda 8 expressions, parsed into the shared expression tree.

`=` is equality, `not(x)` negation, `if a then b else c` a conditional, list
indexes count from 1 (`items[1]` is the first item), list (`["a", b]`) and
context (`{total: x}`) literals are read, and the built-in functions with a
direct sandbox equivalent (`FEEL_FUNCTIONS`) become it. `for`/`some`/`every`,
`in`/`between`/`instance of` tests, filters and other functions are refused.
"""
from __future__ import annotations

from .expression_syntax import (Binary, Call, Conditional, Context, List, Literal, Parser, Token, TranslationError,
                                Unary)

__all__ = ["FEEL_FUNCTIONS", "FeelParser"]

_FEEL_RESERVED = {"and", "or", "true", "false", "null", "if", "then", "else", "in", "between", "instance",
                  "of", "for", "some", "every", "return", "satisfies", "function"}
_FEEL_COMPARISONS = {"=": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


class FeelParser(Parser):
    """FEEL: if-then-else < or < and < comparison < additive < multiplicative < power < negation < path."""

    dialect = "feel"
    reserved = _FEEL_RESERVED
    hints = {"!": "FEEL negates with not(...)", "==": "FEEL compares with '='", "&&": "FEEL writes 'and'",
             "||": "FEEL writes 'or'"}

    def expression(self):
        if self.at("if"):
            self.advance()
            test = self.expression()
            self.expect("then")
            then = self.expression()
            self.expect("else")
            return Conditional(test, then, self.expression())
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
            node = Binary(_FEEL_COMPARISONS[token.value], node, self.additive())
        return node

    def additive(self):
        return self.binary_level({"+": "+", "-": "-"}, self.multiplicative)

    def multiplicative(self):
        return self.binary_level({"*": "*", "/": "/"}, self.power)

    def power(self):
        node = self.negation()
        if self.at("**"):
            self.advance()
            node = Binary("**", node, self.power())
        return node

    def negation(self):
        if self.at("-"):
            self.advance()
            return Unary("-", self.negation())
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
            return List(tuple(items))
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
            return Context(tuple(entries))
        return super().primary()

    def name(self, token: Token):
        call = self.builtin_call(token)
        if call is not None:
            return call
        if token.value == "not" and self.at("("):
            self.advance()
            operand = self.expression()
            self.expect(")")
            return Unary("not", operand)
        if token.value == "not":
            raise TranslationError("FEEL negates with not(...)", token.column)
        if self.at("("):
            raise TranslationError(f"FEEL function {token.value}() is not supported; the built-ins that are: "
                                   f"{', '.join(sorted(FEEL_FUNCTIONS))}", token.column)
        return super().name(token)

    def builtin_call(self, token: Token):
        """A FEEL built-in function call (`count(items)`, `string join(names, ", ")`), or None."""
        words = [token.value]
        while self.peek(len(words) - 1).kind == "name" and len(words) < 3:
            words.append(self.peek(len(words) - 1).value)
        for size in range(len(words), 0, -1):
            name = " ".join(words[:size])
            if name in FEEL_FUNCTIONS and self.peek(size - 1).kind == "op" and self.peek(size - 1).value == "(":
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
        low, high, _ = FEEL_FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = str(low) if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise TranslationError(f"FEEL function {name}() takes {wanted} argument(s), not {len(args)}",
                                   token.column)
        return Call(name, tuple(args))

    def index(self, node, column: int):
        # FEEL lists count from 1 and from -1 at the end; filters (`items[x > 1]`) are not supported.
        if isinstance(node, Literal) and isinstance(node.value, int) and not isinstance(node.value, bool):
            if node.value == 0:
                raise TranslationError("FEEL list indexes start at 1", column)
            return Literal(node.value - 1 if node.value > 0 else node.value)
        if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Literal) \
                and isinstance(node.operand.value, int):
            return Literal(-node.operand.value)
        if isinstance(node, Literal) and isinstance(node.value, str):
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
FEEL_FUNCTIONS = {
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
