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
* The globals are built here from scratch: the builtin allowlist
  (`script_builtins`), the guards, and the registered safe functions.
* Bounded time and steps: every loop iteration (through the `_getiter_`
  guard), every `while` pass, every function and lambda call counts a step
  (calls inserted by the transformer); past the step or time limit the
  script raises `ScriptLimitError`.
* Bounded memory (`guards`): operations that can allocate a huge value in one
  C call (`*`, `+`, `**`, `<<`, `%`, f-strings, `range`, unpacking, `join`,
  `replace`, padding...) are checked against the string and item limits
  before they run; comparing, hashing or formatting a value first walks it,
  capped, so data shared with itself (`a = [a, a]` in a loop) cannot make one
  C call run for ever; and all a run builds is charged to an allocation budget.
* Atomicity: a script runs on a deep copy of the task data; only when it
  finishes, and every value it left is storable and within the variable
  limits (`limits.data_problem`), is the data replaced.

Rejected approaches
-------------------
* `exec` with a trimmed `__builtins__`: not a sandbox, the subclass walk
  escapes it (demonstrated against SpiffWorkflow's default engine).
* simpleeval: single expressions only, and BPMN scripts are statements.
* A separate process per script: real isolation but ~10 ms per script and a
  pool to run; the guards above meet the threat model at no measurable cost.
* A memory limit on the process (`resource.RLIMIT_AS`): it is per process, not
  per script, and a `MemoryError` can surface anywhere in the server.
"""
from __future__ import annotations

import ast
import copy
import functools
import re
import warnings
from typing import Any, Callable, Mapping

from RestrictedPython import compile_restricted
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer

from .guards import MAX_FORMAT_WIDTH, MAX_INT_BITS, Guards, ScriptError, ScriptLimitError, ScriptSecurityError
from .limits import Limits, data_problem, setting
from .script_builtins import script_builtins
from .sizes import Oversize, measure

__all__ = ["MAX_FORMAT_WIDTH", "MAX_INT_BITS", "Sandbox", "ScriptError", "ScriptLimitError", "ScriptSecurityError",
           "check_storable"]

_COMPARE_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


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

    # -- values whose native handling walks or builds them: through the size guards ------------
    def visit_Compare(self, node):
        node = super().visit_Compare(node)
        operands = [node.left, *node.comparators]
        if any(isinstance(o, ast.Constant) for o in operands) and len(node.ops) == 1:
            return node  # against a constant: nothing to walk
        if len(node.ops) == 1:
            op = _COMPARE_OPS[type(node.ops[0])]
            return node if op in ("is", "is not") else _call("_compare_", ast.Constant(op), *operands, at=node)
        node.left = _inspected(node.left)
        node.comparators = [_inspected(c) for c in node.comparators]
        return node

    def visit_JoinedStr(self, node):
        node.values = [self._formatted(v) if isinstance(v, ast.FormattedValue) else self.visit(v)
                       for v in node.values]
        return _call("_fstring_", node, at=node)

    def _formatted(self, node: ast.FormattedValue) -> ast.FormattedValue:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) for p in parts):
                self.error(node, "computed format specifications are not allowed in f-strings")
            elif any(int(w) > MAX_FORMAT_WIDTH for p in parts for w in re.findall(r"\d+", str(p.value))):
                self.error(node, f"format widths above {MAX_FORMAT_WIDTH} are not allowed")
        node.value = _call("_text_", self.visit(node.value), at=node.value)
        return node

    def visit_List(self, node):
        node = super().visit_List(node)
        if isinstance(node.ctx, ast.Load):
            node.elts = [_spread(e, "_spread_") for e in node.elts]
        return node

    visit_Tuple = visit_List

    def visit_Set(self, node):
        node = super().visit_Set(node)
        node.elts = [_spread(e, "_spread_keys_") if isinstance(e, ast.Starred) else _key(e) for e in node.elts]
        return node

    def visit_Dict(self, node):
        node = super().visit_Dict(node)
        node.keys = [None if k is None else _key(k) for k in node.keys]
        node.values = [_call("_spread_map_", v, at=v) if k is None else v for k, v in zip(node.keys, node.values)]
        return node

    def visit_SetComp(self, node):
        node = super().visit_SetComp(node)
        node.elt = _key(node.elt)
        return node

    def visit_DictComp(self, node):
        node = super().visit_DictComp(node)
        node.key = _key(node.key)
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


def _call(guard: str, *args: ast.expr, at: ast.AST) -> ast.Call:
    return _located(ast.Call(func=ast.Name(guard, ast.Load()), args=list(args), keywords=[]), at)


def _inspected(node: ast.expr) -> ast.expr:
    return node if isinstance(node, ast.Constant) else _call("_inspect_", node, at=node)


def _key(node: ast.expr) -> ast.expr:
    return node if isinstance(node, ast.Constant) else _call("_key_", node, at=node)


def _spread(node: ast.expr, guard: str) -> ast.expr:
    if isinstance(node, ast.Starred):
        node.value = _call(guard, node.value, at=node.value)
    return node


def check_storable(value: Any, path: str = "") -> None:
    """Raise ScriptError unless `value` can be stored as instance data (whatever its size)."""
    try:
        measure(value, max_depth=256)
    except Oversize as exc:
        if exc.kind == "type":
            raise ScriptError(f"variable {exc.path(path)} {exc.detail}") from None
        raise ScriptError(f"variable {exc.path(path)} is nested too deeply to be stored") from None


class Sandbox:
    """Compiles and runs restricted Python against a data dictionary.

    Args:
        functions: the registered safe functions scripts may call.
        max_steps / max_seconds: shorthands for the script step and time limits.
        limits: every limit (`Limits`); the shorthands, when given, override its own.
    """

    def __init__(self, functions: Mapping[str, Callable] | None = None, max_steps: int | None = None,
                 max_seconds: float | None = None, *, limits: Limits | None = None):
        self.functions = dict(functions or {})
        self.limits = (limits or Limits()).replace(script_max_steps=max_steps, script_max_seconds=max_seconds)

    @property
    def max_steps(self) -> int:
        return self.limits.script_max_steps

    @property
    def max_seconds(self) -> float:
        return self.limits.script_max_seconds

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
    def _globals(self, guards: Guards) -> dict[str, Any]:
        def getiter(obj):
            for item in iter(obj):
                guards.step()
                yield item

        def apply(f, *args, **kwargs):
            return f(*args, **kwargs)

        env = {
            "__builtins__": script_builtins(guards),
            "__name__": "script",
            "_getattr_": guards.getattr,
            "_getitem_": guards.getitem,
            "_getiter_": getiter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": guards.write,
            "_inplacevar_": guards.inplace,
            "_step_": guards.step,
            "_pow_": guards.pow,
            "_mul_": guards.mul,
            "_lshift_": guards.lshift,
            "_add_": guards.add,
            "_mod_": guards.mod,
            "_compare_": guards.compare,
            "_inspect_": guards.inspect,
            "_key_": guards.key,
            "_text_": guards.text,
            "_fstring_": guards.fstring,
            "_spread_": guards.spread,
            "_spread_keys_": guards.spread_keys,
            "_spread_map_": guards.spread_map,
            "_print_": _NoPrint,
            "_apply_": apply,
        }
        env.update({name: _checked_arguments(guards, f) for name, f in self.functions.items()})
        return env

    @staticmethod
    def _run(code, env: dict, expression: bool):
        try:
            return eval(code, env)  # noqa: S307 - restricted code, guarded globals (exec code gives None)
        except ScriptError as exc:
            exc.line = exc.line or _script_line(exc)
            raise
        except RecursionError:
            raise ScriptLimitError("recursion too deep") from None
        except MemoryError:
            raise ScriptLimitError("script ran out of memory") from None
        except NameError as exc:
            if not expression:
                raise ScriptError(f"NameError: {exc}", _script_line(exc)) from None
            raise ScriptError(f"{exc} (not a variable of this instance)") from None
        except Exception as exc:  # the script's own error, e.g. ZeroDivisionError
            raise ScriptError(f"{type(exc).__name__}: {exc}", _script_line(exc)) from None

    def evaluate(self, expression: str, data: Mapping[str, Any]) -> Any:
        """Evaluate an expression against `data` (not modified)."""
        self.check(expression, "eval")
        code = self._compile(expression, "eval")
        guards = Guards(self.limits)
        env = self._globals(guards)
        env.update(_readable(data))
        value = self._run(code, env, expression=True)
        return guards.inspect(value)  # what an expression returns may become data, or be compared natively

    def execute(self, script: str, data: dict[str, Any]) -> None:
        """Run a script; on success replace `data` with what it left.

        Raises:
            ScriptLimitError: a limit was passed, while it ran or by what it left (naming the variable).
            ScriptError: it failed, or left something that cannot be stored.
        """
        self.check(script, "exec")
        code = self._compile(script, "exec")
        guards = Guards(self.limits)
        env = self._globals(guards)
        reserved = set(env)
        work = copy.deepcopy(_readable(data))
        env.update(work)
        self._run(code, env, expression=False)
        result = {}
        for key, value in env.items():
            if key in reserved and key not in work:
                continue
            if key.startswith("_") or callable(value):
                continue
            result[key] = value
        problem = data_problem(result, self.limits)
        if problem is not None:
            if problem.field is None:
                raise ScriptError(problem.message)
            raise ScriptLimitError(f"{problem.message} ({setting(problem.field)})")
        kept = {key: value for key, value in data.items() if key.startswith("_")}  # never the script's
        data.clear()
        data.update(result)
        data.update(kept)


def _checked_arguments(guards: Guards, function: Callable) -> Callable:
    """A registered function whose container arguments are walked first (it may copy or serialize them)."""
    def call(*args, **kwargs):
        for arg in (*args, *kwargs.values()):
            guards.inspect(arg)
        return function(*args, **kwargs)
    return call


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


def _readable(data: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a script sees: none whose name starts with `_`, the sandbox's own (`_getattr_`,
    `__builtins__`, ...): stored data must never replace the guards a script runs under."""
    return {key: value for key, value in data.items() if not (isinstance(key, str) and key.startswith("_"))}
