"""What a JavaScript script uses that cannot run here, read from its tokens at deploy.

Camunda 7 ran JavaScript on Nashorn or GraalJS, inside the JVM: scripts could reach Java classes
(`Java.type`, `Packages.`, `java.util...`, `JavaImporter`), Camunda Spin on Java objects (`S(...)`,
`JSON(...)`, `XML(...)`), other files (`load(...)`) and the Java API of `execution` and `task`. None of
that exists in Stagecoach's V8 sandbox, so `problems` names each such use with its line, and what to write
instead, before the diagram is deployed. Promises and async functions are refused too: what they do
happens after the script's variables are taken.

The tokenizer knows strings, template literals (with `${}` nesting), comments, regular expression literals
(told from a division by the token before, as JavaScript tools do) and names; that is all these checks
need. It is a helper for precise messages, not the security boundary: the sandbox
(`prelude`) refuses all of this at run time whatever the checks missed.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["EXECUTION_METHODS", "TASK_METHODS", "Token", "problems", "tokens", "typeof_names"]


@dataclass(frozen=True)
class Token:
    kind: str  # name, punct, string, template, number, regex
    value: str
    line: int


_NAME = re.compile(r"[A-Za-z_$\u00a0-\uffff][\w$\u00a0-\uffff]*")
_NUMBER = re.compile(r"(?:0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)n?")
_PUNCT = re.compile(r">>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|\?\?=|&&=|\|\|=|=>|==|!=|<=|>=|&&|\|\||\?\?|\?\.|"
                    r"\+\+|--|\+=|-=|\*=|/=|%=|&=|\|=|\^=|\*\*|<<|>>|[{}()\[\];,<>+\-*/%&|^!~?:=.@#]")
# After these a `/` starts a regular expression, not a division.
_BEFORE_REGEX_NAMES = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do",
                       "else", "yield", "await"}


def _regex_allowed(previous: Token | None) -> bool:
    if previous is None:
        return True
    if previous.kind == "name":
        return previous.value in _BEFORE_REGEX_NAMES
    if previous.kind == "punct":
        return previous.value not in (")", "]", "}")
    return False


@functools.lru_cache(maxsize=1024)
def tokens(source: str) -> tuple[Token, ...]:
    """The tokens of `source`, comments left out; an unterminated string or comment ends the list."""
    out: list[Token] = []
    i, line, n = 0, 1, len(source)
    braces: list[int] = []  # for each open `${` of a template: the brace depth at which it closes
    depth = 0
    previous: Token | None = None

    def add(kind: str, value: str, at_line: int) -> None:
        nonlocal previous
        previous = Token(kind, value, at_line)
        out.append(previous)

    def template(start: int) -> int:
        """Scan template text from `start` (after "`" or "}"); returns the index after it ends or opens `${`."""
        nonlocal line
        j = start
        while j < n:
            ch = source[j]
            if ch == "\\":
                j += 2
                continue
            if ch == "\n":
                line += 1
            if ch == "`":
                return j + 1
            if ch == "$" and source.startswith("${", j):
                braces.append(depth)
                return j + 2
            j += 1
        return n

    while i < n:
        ch = source[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch in " \t\r\f\v\ufeff\u2028\u2029":
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += source.count("\n", i, end)
            i = end
        elif ch in "'\"":
            start, j = line, i + 1
            while j < n and source[j] != ch and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            add("string", source[i + 1:j], start)
            i = j + 1
        elif ch == "`":
            start = line
            i = template(i + 1)
            add("template", "`", start)
        elif ch == "}" and braces and braces[-1] == depth:
            braces.pop()
            start = line
            i = template(i + 1)
            add("template", "}", start)
        elif ch == "/" and _regex_allowed(previous):
            j, in_class = i + 1, False
            while j < n and source[j] != "\n":
                c = source[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "[":
                    in_class = True
                elif c == "]":
                    in_class = False
                elif c == "/" and not in_class:
                    break
                j += 1
            j += 1
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
            add("regex", source[i:j], line)
            i = j
        elif (match := _NAME.match(source, i)) is not None:
            add("name", match.group(), line)
            i = match.end()
        elif (match := _NUMBER.match(source, i)) is not None and match.group():
            add("number", match.group(), line)
            i = match.end()
        elif (match := _PUNCT.match(source, i)) is not None:
            value = match.group()
            depth += value == "{"
            depth -= value == "}"
            add("punct", value, line)
            i = match.end()
        else:
            i += 1  # a character JavaScript would refuse: the syntax check reports it
    return tuple(out)


def typeof_names(source: str) -> list[str]:
    """Names the script tests with `typeof` (`typeof x`, `typeof (x)`): reading one that is not set gives undefined."""
    toks = tokens(source)
    names = []
    for i, tok in enumerate(toks):
        if tok.kind == "name" and tok.value == "typeof":
            j = i + 1
            while j < len(toks) and toks[j].value == "(":
                j += 1
            if j < len(toks) and toks[j].kind == "name":
                names.append(toks[j].value)
    return sorted(set(names))


EXECUTION_METHODS = ("getVariable", "setVariable", "hasVariable", "removeVariable", "getVariables",
                     "getVariableNames", "hasVariables", "getId", "getProcessInstanceId", "getProcessBusinessKey",
                     "getBusinessKey", "getCurrentActivityId", "getCurrentActivityName",
                     "getActivityInstanceId", "getEventName")
TASK_METHODS = ("getVariable", "setVariable", "hasVariable", "removeVariable", "getVariables", "getVariableNames",
                "hasVariables", "getId", "getName", "getTaskDefinitionKey", "getProcessInstanceId", "getEventName",
                "getExecution")

_JAVA = ("cannot run: Java classes do not exist here (Stagecoach runs JavaScript in V8, without Nashorn's or "
         "GraalJS's Java bridge); compute the value with plain JavaScript, or do the work in an external task "
         "(camunda:type=\"external\") whose worker has the library")
_SPIN = ("cannot run: Camunda Spin wraps Java objects, which do not exist here; variables are plain JSON values: "
         "read and write them directly (execution.getVariable(\"order\").items), and parse text with JSON.parse")
_LOCAL = ("cannot run: write execution.setVariable / getVariable; an activity's local variables are its "
          "camunda:inputParameter mappings, which the script reads and writes like any variable")
_TASK_PROPERTY = ("cannot run: a user task's assignee, candidates, due date and priority come from the diagram; "
                  "set a variable here (task.setVariable(\"approver\", ...)) and name it there "
                  "(camunda:assignee=\"${approver}\")")


def _declared(toks: tuple[Token, ...]) -> set[str]:
    """Names the script itself declares (`function S(...)`, `var load = ...`): calling them is fine."""
    names = set()
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "name" and tok.value in ("function", "var", "let", "const", "class") and \
                toks[i + 1].kind == "name":
            names.add(toks[i + 1].value)
    return names


def problems(source: str, *, task_listener: bool = False) -> list[tuple[int, str]]:
    """Every use in `source` of what cannot run in Stagecoach's JavaScript, as (line, message)."""
    toks = tokens(source)
    declared = _declared(toks)
    found: list[tuple[int, str]] = []

    def at(i: int) -> Token | None:
        return toks[i] if 0 <= i < len(toks) else None

    for i, tok in enumerate(toks):
        if tok.kind != "name":
            continue
        before, after = at(i - 1), at(i + 1)
        if before is not None and before.kind == "punct" and before.value in (".", "?."):
            continue  # a property (order.load(), x.java): not the global of that name
        followed_by = after.value if after is not None and after.kind == "punct" else None
        name = tok.value
        if name in declared:
            continue
        if name in ("Java", "Packages", "JavaImporter", "importPackage", "importClass") or (
                name in ("java", "javax") and followed_by == "."):
            what = f"{name}.{toks[i + 2].value}" if followed_by == "." and at(i + 2) is not None else name
            found.append((tok.line, f"{what} {_JAVA}"))
        elif name in ("S", "XML", "JSON") and followed_by == "(":
            found.append((tok.line, f"{name}(...) {_SPIN}"))
        elif name in ("load", "loadWithNewGlobal") and followed_by == "(":
            found.append((tok.line, f"{name}(...) cannot run: a script cannot load other scripts; write the code "
                                    f"inline (a script task's bpmn:script)"))
        elif name == "import" and followed_by in ("(", "."):
            found.append((tok.line, "import(...) cannot run: scripts have no modules, no files and no network; "
                                    "write the code inline"))
        elif name == "require" and followed_by == "(":
            found.append((tok.line, "require(...) cannot run: scripts have no modules, no files and no network; "
                                    "write the code inline, or do the work in an external task"))
        elif name in ("async", "await", "Promise"):
            found.append((tok.line, f"{name} cannot run: a script runs to its end at once, and what a promise or "
                                    f"an async function does later is lost; write it synchronously"))
        elif name in ("execution", "task") and followed_by == "." and at(i + 2) is not None:
            if name == "task" and not task_listener:
                continue  # a variable of that name
            method = toks[i + 2].value
            offered = EXECUTION_METHODS if name == "execution" else TASK_METHODS
            if method not in offered:
                found.append((tok.line, _method_problem(name, method, offered)))
    return found


def _method_problem(name: str, method: str, offered: tuple[str, ...]) -> str:
    if "Typed" in method:
        return (f"{name}.{method} cannot run: variables are plain JSON values here, not Camunda's typed values; "
                f"read one with {name}.getVariable(\"name\") and write it with {name}.setVariable")
    if method.endswith("Local") or "VariableLocal" in method or method.endswith("sLocal"):
        return f"{name}.{method} {_LOCAL}"
    if name == "task" and method.startswith(("set", "add", "delete", "complete")):
        return f"task.{method} {_TASK_PROPERTY}"
    return (f"{name}.{method} cannot run: {name} offers {', '.join(offered)} (Camunda's Java API beyond them does "
            f"not exist here)")
