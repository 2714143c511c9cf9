"""JUEL (`${...}`, `#{...}`): the Camunda 7 expressions, parsed into the shared expression tree.

`null`/`true`/`false`, `eq ne lt gt le ge`, `&& || !`, `div mod`, `a ? b : c` and
`empty x` (null or an empty string or collection) are read as JUEL defines them;
method calls, lambdas, assignments and collection literals are refused with a hint.
"""
from __future__ import annotations

from .expression_syntax import Conditional, Empty, Parser, Unary

__all__ = ["JuelParser"]

_JUEL_RESERVED = {"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "true", "false", "null",
                  "instanceof", "empty", "div", "mod"}
_JUEL_COMPARISONS = {"==": "==", "eq": "==", "!=": "!=", "ne": "!="}
_JUEL_RELATIONS = {"<": "<", "lt": "<", ">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="}
_JUEL_MULTIPLY = {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"}


class JuelParser(Parser):
    """JUEL: ternary < or < and < equality < relational < additive < multiplicative < unary < postfix."""

    dialect = "juel"
    reserved = _JUEL_RESERVED
    hints = {
        "->": "lambda expressions are not supported",
        "=": "assignment is not supported; compare with '=='",
        "+=": "string concatenation with '+=' is not supported",
        ";": "several expressions separated by ';' are not supported",
        "{": "map and set literals are not supported",
        ",": "lists are not supported",
    }

    def expression(self):
        test = self.disjunction()
        if not self.at("?"):
            return test
        self.advance()
        then = self.expression()
        self.expect(":")
        return Conditional(test, then, self.expression())

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
            return Unary("not", self.unary())
        if self.at("-"):
            self.advance()
            return Unary("-", self.unary())
        if self.at("empty"):
            self.advance()
            return Empty(self.unary())
        return self.postfix()

