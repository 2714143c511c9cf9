"""The script sandbox: where BPMN scripts and expressions run.

Threat model
------------
Scripts, gateway conditions, timer expressions, multi-instance and loop
conditions all come from uploaded diagrams, i.e. from anyone allowed to
deploy. They must be able to read and write instance data and call the
registered safe functions (`app.engine.functions`), and nothing else: no
imports, no dunder attributes (the `().__class__.__base__.__subclasses__()`
walk that reaches `os`), no files, network or processes, and no way to hold a
worker forever or exhaust its memory.

How
---
* Source is compiled with RestrictedPython's `compile_restricted` (policy
  `_StagecoachTransformer` below), which refuses names and attributes that
  start with an underscore, `import`, `exec`/`eval`, and rewrites attribute,
  item, iteration and in-place operations into calls of guard functions that
  we supply. Compiled code is cached per source string.
* The globals are built here from scratch: a small builtin allowlist, the
  guards, and the registered safe functions. There is no `__import__`,
  `open`, `getattr`, `type`, `vars`, `globals`...
* Bounded time and steps: every loop iteration (through the `_getiter_`
  guard), every `while` pass, every function and lambda call counts a step
  (calls inserted by the transformer); past `max_steps` or `max_seconds` the
  script raises `ScriptLimitError`. Operations that can allocate a huge value
  in one C call (`**`, `*` on sequences, `<<`, `range`) are guarded by size.
* Atomicity: a script runs on a deep copy of the task data; only when it
  finishes, and every value it left is storable, is the data replaced.

Rejected approaches
-------------------
* `exec` with a trimmed `__builtins__`: not a sandbox, the subclass walk
  escapes it (demonstrated against SpiffWorkflow's default engine).
* simpleeval: single expressions only, and BPMN scripts are statements.
* A separate process per script: real isolation but ~10 ms per script and a
  pool to run; the guards above meet the threat model at no measurable cost.
"""
from __future__ import annotations

import ast
import copy
import datetime as _dt
import decimal
import functools
import re
import time
import warnings
from typing import Any, Callable, Mapping

from RestrictedPython import compile_restricted
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.transformer import RestrictingNodeTransformer

MAX_SEQUENCE = 1_000_000  # items or characters one operation may produce
MAX_INT_BITS = 4_096
MAX_FORMAT_WIDTH = 10_000


class ScriptError(Exception):
    """A script or expression failed; carries the line when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class ScriptSecurityError(ScriptError):
    """The source uses something the sandbox forbids."""


class ScriptLimitError(ScriptError):
    """The script ran past its step, time or size limit."""


class _StagecoachTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus step counting and size guards."""

    @staticmethod
    def _step_call() -> ast.Expr:
        return ast.Expr(value=ast.Call(func=ast.Name("_step_", ast.Load()), args=[], keywords=[]))

    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, _located(self._step_call(), node.body[0]))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _located(self._step_call(), node.body[0]))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        # `_step_()` returns None, so `None or body` is body.
        node.body = _located(ast.BoolOp(op=ast.Or(), values=[self._step_call().value, node.body]), node.body)
        return node

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        guard = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_", ast.Add: "_add_",
                 ast.Mod: "_mod_"}.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        return _located(call, node)

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) for p in parts):
                self.error(node, "computed format specifications are not allowed in f-strings")
            elif any(int(w) > MAX_FORMAT_WIDTH for p in parts for w in re.findall(r"\d+", str(p.value))):
                self.error(node, f"format widths above {MAX_FORMAT_WIDTH} are not allowed")
        return node

    def visit_Import(self, node):
        self.error(node, "import is not allowed in scripts; use the registered functions")

    visit_ImportFrom = visit_Import

    def visit_AsyncFunctionDef(self, node):
        self.error(node, "async functions are not allowed")

    def visit_ClassDef(self, node):
        self.error(node, "class definitions are not allowed in scripts")

    def visit_Global(self, node):
        self.error(node, "global is not allowed in scripts")

    def visit_Nonlocal(self, node):
        self.error(node, "nonlocal is not allowed in scripts")


def _located(new: ast.AST, old: ast.AST) -> ast.AST:
    ast.copy_location(new, old)
    return ast.fix_missing_locations(new)


class _Budget:
    """Counts steps and watches the clock for one script run."""

    __slots__ = ("max_steps", "deadline", "steps")

    def __init__(self, max_steps: int, max_seconds: float):
        self.max_steps = max_steps
        self.deadline = time.monotonic() + max_seconds
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise ScriptLimitError(f"script exceeded {self.max_steps} steps (runaway loop?)")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise ScriptLimitError("script exceeded its time limit")


def _size_of(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def _guarded_pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b * max(abs(a).bit_length(), 1) > MAX_INT_BITS:
            raise ScriptLimitError("number too large")
    return a**b


def _check_int(a, b) -> None:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ScriptLimitError("number too large")


def _check_size(n: int) -> None:
    if n > MAX_SEQUENCE:
        raise ScriptLimitError(f"value larger than {MAX_SEQUENCE} items or characters")


def _guarded_mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(n, int) and not isinstance(seq, int):
            _check_size(_size_of(seq) * max(n, 0))
    _check_int(a, b)
    return a * b


def _guarded_add(a, b):
    if isinstance(a, (str, bytes, list, tuple)) and isinstance(b, (str, bytes, list, tuple)):
        _check_size(len(a) + len(b))
    return a + b


_PERCENT_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)(?:\.(\*|\d+))?")


def _guarded_mod(a, b):
    if isinstance(a, (str, bytes)):
        text = a if isinstance(a, str) else a.decode("latin-1")
        for width, precision in _PERCENT_WIDTH.findall(text):
            for value in (width, precision):
                if value == "*" or (value and int(value) > MAX_FORMAT_WIDTH):
                    raise ScriptLimitError("%-format widths must be literal and at most "
                                           f"{MAX_FORMAT_WIDTH}")
    return a % b


def _safe_replace(obj):
    def replace(old, new, count=-1):
        occurrences = obj.count(old) if count < 0 else min(obj.count(old), count)
        _check_size(len(obj) + occurrences * (len(new) - len(old)))
        return obj.replace(old, new, count)
    return replace


def _safe_join(obj):
    def join(iterable):
        items = list(iterable)
        _check_size(sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(obj) * max(len(items) - 1, 0))
        return obj.join(items)
    return join


def _safe_extend(obj):
    def extend(iterable):
        items = list(iterable)
        _check_size(len(obj) + len(items))
        obj.extend(items)
    return extend


# Methods that can build a value of any size in one call, wrapped with a size check.
_SIZED_METHODS = {(str, "replace"): _safe_replace, (bytes, "replace"): _safe_replace,
                  (str, "join"): _safe_join, (bytes, "join"): _safe_join, (list, "extend"): _safe_extend}


def _guarded_lshift(a, b):
    if isinstance(b, int) and b > MAX_INT_BITS:
        raise ScriptLimitError("number too large")
    return a << b


def _guarded_range(*args):
    r = range(*args)
    if len(r) > MAX_SEQUENCE:
        raise ScriptLimitError(f"range larger than {MAX_SEQUENCE}")
    return r


_BLOCKED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "format", "format_map"})


def _guarded_getattr(obj, name, default=None):
    # These str methods allocate whatever size they are asked for.
    if name in _BLOCKED_METHODS:
        raise ScriptSecurityError(f"{type(obj).__name__}.{name} is not allowed in scripts")
    wrapper = _SIZED_METHODS.get((type(obj), name))
    if wrapper is not None:
        return wrapper(obj)
    return safer_getattr(obj, name, default)


def _guarded_write(obj):
    # Item assignment on plain containers is what scripts need; anything
    # else goes through RestrictedPython's write guard.
    if isinstance(obj, (dict, list)):
        return obj
    return full_write_guard(obj)


_INPLACE = {
    "+=": _guarded_add,
    "-=": lambda a, b: a - b,
    "*=": _guarded_mul,
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    "%=": _guarded_mod,
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    ">>=": lambda a, b: a >> b,
    "&=": lambda a, b: a & b,
    "|=": lambda a, b: a | b,
    "^=": lambda a, b: a ^ b,
}


def _inplacevar(op, a, b):
    try:
        return _INPLACE[op](a, b)
    except KeyError:
        raise ScriptSecurityError(f"operator {op} is not allowed") from None


_SAFE_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float",
        "int", "isinstance", "len", "list", "map", "max", "min", "reversed", "round",
        "set", "sorted", "str", "sum", "tuple", "zip", "ValueError", "KeyError",
        "TypeError", "Exception",
    )
}
_SAFE_BUILTINS.update({"None": None, "True": True, "False": False, "range": _guarded_range})

STORABLE_SCALARS = (str, int, float, bool, type(None), _dt.date, _dt.datetime, decimal.Decimal)


def check_storable(value: Any, path: str = "") -> None:
    """Raise ScriptError unless `value` can be stored as instance data."""
    if isinstance(value, STORABLE_SCALARS):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_storable(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise ScriptError(f"variable {path or '?'} has a non-string key {k!r}")
            check_storable(item, f"{path}.{k}" if path else k)
        return
    raise ScriptError(f"variable {path} holds a {type(value).__name__}, which cannot be stored")


class Sandbox:
    """Compiles and runs restricted Python against a data dictionary."""

    def __init__(self, functions: Mapping[str, Callable] | None = None,
                 max_steps: int = 100_000, max_seconds: float = 2.0):
        self.functions = dict(functions or {})
        self.max_steps = max_steps
        self.max_seconds = max_seconds

    # -- compilation -------------------------------------------------------
    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def _compile(source: str, mode: str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            return compile_restricted(source, filename="<script>", mode=mode, policy=_StagecoachTransformer)

    def check(self, source: str, mode: str = "exec") -> None:
        """Compile `source`, raising ScriptSecurityError or ScriptError if it cannot run."""
        try:
            self._compile(source, mode)
        except SyntaxError as exc:
            # RestrictedPython reports every policy violation as one SyntaxError
            # whose message is a tuple of "Line N: ..." strings.
            messages = exc.msg if isinstance(exc.msg, (tuple, list)) else (str(exc.msg),)
            line = None
            cleaned = []
            for message in messages:
                match = re.match(r"Line (\d+): (.*)", message, re.S)
                if match:
                    line = line or int(match.group(1))
                    message = match.group(2)
                cleaned.append(message)
            text = "; ".join(cleaned)
            cls = ScriptSecurityError if _is_policy_message(text) else ScriptError
            raise cls(text, line or getattr(exc, "lineno", None)) from None

    # -- running -----------------------------------------------------------
    def _globals(self, budget: _Budget) -> dict[str, Any]:
        def getiter(obj):
            for item in iter(obj):
                budget.step()
                yield item

        env = {
            "__builtins__": _SAFE_BUILTINS,
            "__name__": "script",
            "_getattr_": _guarded_getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": getiter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": _guarded_write,
            "_inplacevar_": _inplacevar,
            "_step_": budget.step,
            "_pow_": _guarded_pow,
            "_mul_": _guarded_mul,
            "_lshift_": _guarded_lshift,
            "_add_": _guarded_add,
            "_mod_": _guarded_mod,
            "_print_": _NoPrint,
            "_apply_": lambda f, *a, **kw: f(*a, **kw),
        }
        env.update(self.functions)
        return env

    def evaluate(self, expression: str, data: Mapping[str, Any]) -> Any:
        """Evaluate an expression against `data` (not modified)."""
        self.check(expression, "eval")
        code = self._compile(expression, "eval")
        budget = _Budget(self.max_steps, self.max_seconds)
        env = self._globals(budget)
        env.update(data)
        try:
            return eval(code, env)  # noqa: S307 - restricted code, guarded globals
        except ScriptError as exc:
            exc.line = exc.line or _script_line(exc)
            raise
        except RecursionError:
            raise ScriptLimitError("recursion too deep") from None
        except NameError as exc:
            raise ScriptError(f"{exc} (not a variable of this instance)") from None
        except Exception as exc:  # the expression's own error, e.g. ZeroDivisionError
            raise ScriptError(f"{type(exc).__name__}: {exc}") from None

    def execute(self, script: str, data: dict[str, Any]) -> None:
        """Run a script; on success replace `data` with what it left."""
        self.check(script, "exec")
        code = self._compile(script, "exec")
        budget = _Budget(self.max_steps, self.max_seconds)
        env = self._globals(budget)
        reserved = set(env)
        work = copy.deepcopy(dict(data))
        env.update(work)
        try:
            exec(code, env)  # noqa: S102 - restricted code, guarded globals
        except ScriptError as exc:
            exc.line = exc.line or _script_line(exc)
            raise
        except RecursionError:
            raise ScriptLimitError("recursion too deep") from None
        except Exception as exc:
            raise ScriptError(f"{type(exc).__name__}: {exc}", _script_line(exc)) from None
        result = {}
        for key, value in env.items():
            if key in reserved and key not in work:
                continue
            if key.startswith("_") or callable(value):
                continue
            check_storable(value, key)
            result[key] = value
        data.clear()
        data.update(result)


class _NoPrint:
    """`print` in a script writes nothing anywhere."""

    def __init__(self, _getattr_=None):
        pass

    def write(self, text):
        pass

    def __call__(self):
        return ""

    def _call_print(self, *objects, **kwargs):
        pass


def _is_policy_message(message: str) -> bool:
    markers = ("not allowed", "invalid variable name", "invalid attribute name")
    return any(m in message for m in markers)


def _script_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<script>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
