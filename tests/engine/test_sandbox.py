"""The script sandbox: what BPMN scripts may do, what they may not, and what stops runaway work."""
from __future__ import annotations

import datetime as dt
import decimal

import pytest

from app.engine import Engine, FunctionRegistry, ScriptError, ScriptLimitError, ScriptSecurityError, default_registry
from app.engine.limits import Limits
from app.engine.sandbox import Sandbox

MAX_SEQUENCE = Limits().script_max_string  # the default string (and item) limit


@pytest.fixture
def sandbox() -> Sandbox:
    """The sandbox exactly as the engine builds it (default functions and limits)."""
    return Engine().script_engine.sandbox


def make_sandbox(*, privileged: dict | None = None, **limits) -> Sandbox:
    registry = default_registry()
    for name, func in (privileged or {}).items():
        registry.register(name, func, safe=False)
    return Engine(registry, **{f"script_{k}": v for k, v in limits.items()}).script_engine.sandbox


# -- reading and writing data ----------------------------------------------------------

def test_a_script_reads_variables_and_writes_new_ones(sandbox):
    data = {"amount": 200, "rate": 0.1, "customer": {"name": "Ada"}}
    sandbox.execute("fee = amount * rate\ngreeting = 'Hello ' + customer['name']", data)
    assert data == {"amount": 200, "rate": 0.1, "customer": {"name": "Ada"}, "fee": 20.0, "greeting": "Hello Ada"}


def test_a_script_changes_nested_containers_and_loops_within_its_budget(sandbox):
    data = {"items": [1, 2, 3], "totals": {}}
    sandbox.execute("for i in items:\n    totals[str(i)] = i * i\nitems.append(4)\nn = 0\nwhile n < 10:\n    n += 1",
                    data)
    assert data == {"items": [1, 2, 3, 4], "totals": {"1": 1, "2": 4, "3": 9}, "n": 10, "i": 3}


def test_a_script_may_store_dates_datetimes_and_decimals(sandbox):
    data = {"price": decimal.Decimal("9.99")}
    sandbox.execute("total = price * 2\nstart = parse_date('2026-01-31')\nfollow_up = add_days(start, 1)", data)
    assert data["total"] == decimal.Decimal("19.98")
    assert data["start"] == dt.date(2026, 1, 31) and data["follow_up"] == dt.date(2026, 2, 1)


def test_del_removes_a_variable(sandbox):
    data = {"keep": 1, "drop": 2}
    sandbox.execute("del drop", data)
    assert data == {"keep": 1}


def test_functions_a_script_defines_are_used_but_not_stored(sandbox):
    data = {"n": 5}
    sandbox.execute("def double(x):\n    return 2 * x\nsquare = lambda x: x * x\nresult = double(n) + square(n)",
                    data)
    assert data == {"n": 5, "result": 35}


@pytest.mark.parametrize("script, variable", [
    ("tags = {'a', 'b'}", "tags"),
    ("handlers = [lambda: 1]", "handlers[0]"),
    ("nested = {'ok': 1, 'bad': {1, 2}}", "nested.bad"),
    ("weird = {1: 'one'}", "weird"),
], ids=["set", "function-in-list", "nested-set", "non-string-key"])
def test_a_value_that_cannot_be_stored_fails_the_script_and_names_the_variable(sandbox, script, variable):
    data = {"before": True}
    with pytest.raises(ScriptError) as caught:
        sandbox.execute(script, data)
    assert variable in str(caught.value)
    assert data == {"before": True}


def test_print_is_harmless_and_writes_nothing(sandbox, capsys):
    data = {}
    sandbox.execute("print('secret')\nx = 1", data)
    assert data == {"x": 1}
    assert capsys.readouterr().out == ""


def test_an_expression_reads_data_without_changing_it(sandbox):
    data = {"discount": 20, "items": [1, 2]}
    assert sandbox.evaluate("discount > 12 and len(items) == 2", data) is True
    assert data == {"discount": 20, "items": [1, 2]}


def test_an_expression_naming_an_unknown_variable_says_so(sandbox):
    with pytest.raises(ScriptError) as caught:
        sandbox.evaluate("approved", {})
    assert "approved" in str(caught.value) and "not a variable of this instance" in str(caught.value)


# -- escapes -------------------------------------------------------------------------------

ESCAPES = [
    ("import os", "import"),
    ("from os import path", "from-import"),
    ("m = __import__('os')", "dunder-import"),
    ("classes = ().__class__.__base__.__subclasses__()", "subclasses-walk"),
    ("bases = (1).__class__.__mro__[-1].__subclasses__()", "mro-walk"),
    ("cls = getattr(1, '__class__')", "getattr"),
    ("secret = open('/etc/passwd').read()", "open"),
    ("x = eval('1 + 1')", "eval"),
    ("exec('x = 1')", "exec"),
    ("code = compile('1', 'f', 'eval')", "compile"),
    ("g = globals()", "globals"),
    ("v = vars()", "vars"),
    ("t = type(1)", "type"),
    ("leak = '{0.__class__}'.format(1)", "str-format"),
    ("leak = str.format('{0.__class__}', 1)", "str-format-unbound"),
    ("f = lambda: 1\ng = f.__globals__", "lambda-globals"),
    ("def f():\n    pass\ng = f.__globals__", "function-globals"),
    ("gen = (i for i in [1])\nframe = gen.gi_frame", "generator-frame"),
    ("leak = f'{(1).__class__}'", "f-string-dunder"),
    ("class A:\n    pass", "class"),
    ("def f():\n    global x\n    x = 1\nf()", "global"),
]


@pytest.mark.parametrize("script", [s for s, _ in ESCAPES], ids=[i for _, i in ESCAPES])
def test_every_escape_attempt_is_refused(sandbox, script):
    data = {"amount": 1}
    with pytest.raises(ScriptError) as caught:
        sandbox.execute(script, data)
    # ScriptSecurityError or plain ScriptError (e.g. NameError for a builtin that is not there),
    # never a limit error and never anything that escaped the sandbox's own exception types.
    assert not isinstance(caught.value, ScriptLimitError)
    assert data == {"amount": 1}


@pytest.mark.parametrize("script", [
    "import os",
    "from os import path",
    "m = __import__('os')",
    "classes = ().__class__.__base__.__subclasses__()",
    "x = eval('1')",
    "class A:\n    pass",
], ids=["import", "from-import", "dunder-import", "subclasses-walk", "eval", "class"])
def test_policy_violations_are_caught_at_compile_time_as_security_errors(sandbox, script):
    with pytest.raises(ScriptSecurityError) as caught:
        sandbox.check(script)
    assert caught.value.line == 1
    assert "not allowed" in str(caught.value) or "invalid" in str(caught.value)


@pytest.mark.parametrize("expression", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "open('/etc/passwd')",
    "'{0.__class__}'.format(1)",
], ids=["subclasses-walk", "dunder-import", "open", "str-format"])
def test_expressions_are_sandboxed_like_scripts(sandbox, expression):
    with pytest.raises(ScriptError):
        sandbox.evaluate(expression, {})


# -- runaway work -------------------------------------------------------------------------

RUNAWAYS = [
    ("while True:\n    pass", "while-true"),
    ("for i in range(10**12):\n    pass", "huge-range"),
    ("n = 0\nfor i in range(MAX):\n    n += 1", "long-for-loop"),
    ("pairs = [i * j for i in range(100000) for j in range(100000)]", "nested-comprehension"),
    ("def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(40)", "exponential-recursion-def"),
    ("f = lambda n: f(n - 1) + f(n - 1) if n else 1\nx = f(40)", "exponential-recursion-lambda"),
    ("def f(n):\n    return f(n + 1)\nx = f(0)", "deep-recursion"),
    ("x = 9**9**9", "power-tower"),
    ("s = 'a' * 10**9", "string-repeat"),
    ("l = [0] * 10**9", "list-repeat"),
    ("x = 1 << 10**9", "left-shift"),
    ("x = 10\nx **= 10**6", "augmented-power"),
    ("s = 'a'\ns *= 10**9", "augmented-repeat"),
    ("x = 1\nx <<= 10**9", "augmented-shift"),
    ("pad = str.ljust('a', 10**9)", "str-ljust-unbound"),
    ("pad = 'a'.ljust(10**9)", "str-ljust"),
    ("pad = 'a'.center(10**9)", "str-center"),
]


@pytest.mark.parametrize("script", [s for s, _ in RUNAWAYS], ids=[i for _, i in RUNAWAYS])
def test_runaway_work_is_stopped_with_a_limit_error(sandbox, script):
    data = {"MAX": MAX_SEQUENCE}
    with pytest.raises(ScriptLimitError):
        sandbox.execute(script, data)
    assert data == {"MAX": MAX_SEQUENCE}


def test_the_step_limit_is_the_configured_one():
    small = make_sandbox(max_steps=10)
    small.execute("for i in range(5):\n    pass", {})
    with pytest.raises(ScriptLimitError) as caught:
        small.execute("for i in range(20):\n    pass", {})
    assert "10 steps" in str(caught.value)


def test_a_runaway_expression_is_stopped_too(sandbox):
    with pytest.raises(ScriptLimitError):
        sandbox.evaluate("sum(i for i in range(10**6) for j in range(10**6))", {})


def test_catching_the_limit_error_in_the_script_does_not_buy_more_steps():
    small = make_sandbox(max_steps=50)
    script = ("while True:\n"
              "    try:\n"
              "        while True:\n"
              "            pass\n"
              "    except Exception:\n"
              "        pass")
    with pytest.raises(ScriptLimitError):
        small.execute(script, {})


OVERSIZED = [
    ("pad = f'{1:>{SIZE}}'", "f-string-width"),
    ("pad = '%*d' % (SIZE, 1)", "percent-width"),
    ("s = 'a' * 1000000\ns = s + s", "string-concatenation"),
    ("s = 'a' * 1000000\ns += s", "augmented-concatenation"),
    ("s = ('a' * 1000).replace('a', 'b' * 10000)", "str-replace"),
    ("s = ('b' * 10000).join(['a'] * 1000)", "str-join"),
    ("x = 3**2000\nfor i in range(3):\n    x = x * x", "integer-squaring"),
]


@pytest.mark.parametrize("script", [s for s, _ in OVERSIZED], ids=[i for _, i in OVERSIZED])
def test_values_beyond_the_size_limits_are_refused_however_they_are_built(sandbox, script):
    """The sandbox blocks `ljust(10**9)`, `'a' * 10**9` and `1 << 10**9` because one C call would
    allocate whatever it is asked for; these build values of the same kind past MAX_SEQUENCE
    characters or MAX_INT_BITS bits (here only 2-10x past, so a failure costs nothing)."""
    data = {"SIZE": 2 * MAX_SEQUENCE}
    with pytest.raises((ScriptLimitError, ScriptSecurityError)):
        sandbox.execute(script, data)
    assert data == {"SIZE": 2 * MAX_SEQUENCE}


# -- atomicity and error reports --------------------------------------------------------------

@pytest.mark.parametrize("script", [
    "total = 1\ncount = 2\nitems.append(3)\nmissing_name",
    "total = 1\nitems.append(3)\nx = 1 / 0",
    "total = 1\nitems.append(3)\nwhile True:\n    pass",
    "total = 1\nitems.append(3)\ndel customer\nbad = {1, 2}",
    "items.append(3)\ncustomer['name'] = 'Eve'\nimport_like = open('x')",
], ids=["name-error", "zero-division", "limit", "unstorable-result", "forbidden-builtin"])
def test_a_failing_script_leaves_the_data_unchanged(sandbox, script):
    data = {"items": [1, 2], "customer": {"name": "Ada"}}
    with pytest.raises(ScriptError):
        sandbox.execute(script, data)
    assert data == {"items": [1, 2], "customer": {"name": "Ada"}}


@pytest.mark.parametrize("script, line", [
    ("a = 1\nb = a / 0", 2),
    ("a = 1\n\nb = not_defined", 3),
    ("a = 1\nb = 2\nc = [a, b][5]", 3),
    ("a = 1\nraise ValueError('bad input')", 2),
    ("def f(x):\n    return x / 0\n\ny = f(1)", 2),
], ids=["zero-division", "name-error", "index-error", "raise", "inside-function"])
def test_a_runtime_error_reports_the_script_line(sandbox, script, line):
    with pytest.raises(ScriptError) as caught:
        sandbox.execute(script, {})
    assert caught.value.line == line


@pytest.mark.parametrize("script, line", [
    ("a = 1\nb = 'a' * 10**9", 2),
    ("a = 1\nb = 'x'.format(a)", 2),
    ("a = 1\n\nwhile True:\n    a = 2", 4),
], ids=["size-limit", "blocked-method", "step-limit"])
def test_a_limit_or_security_error_at_run_time_reports_the_script_line(sandbox, script, line):
    with pytest.raises(ScriptError) as caught:
        sandbox.execute(script, {})
    assert caught.value.line == line


def test_a_compile_error_reports_its_line(sandbox):
    with pytest.raises(ScriptError) as caught:
        sandbox.check("a = 1\nb = = 2")
    assert caught.value.line == 2
    assert not isinstance(caught.value, ScriptSecurityError)


# -- registered functions ------------------------------------------------------------------------

def test_the_registered_safe_functions_are_callable_from_scripts(sandbox):
    data = {}
    sandbox.execute(
        "stamp = now()\n"
        "day = today()\n"
        "start = parse_date('2026-03-01')\n"
        "later = add_days(start, 30)\n"
        "gap = days_between('2026-03-01', later)\n"
        "share = percent(1, 8)\n"
        "none = percent(1, 0)", data)
    assert isinstance(data["stamp"], dt.datetime) and data["stamp"].tzinfo is not None
    assert isinstance(data["day"], dt.date)
    assert data["start"] == dt.date(2026, 3, 1) and data["later"] == dt.date(2026, 3, 31)
    assert data["gap"] == 30
    assert data["share"] == 12.5 and data["none"] == 0.0


def test_safe_functions_are_callable_from_expressions(sandbox):
    assert sandbox.evaluate("days_between(start, add_days(start, 7)) == 7", {"start": dt.date(2026, 1, 1)}) is True


def test_privileged_functions_are_not_visible_to_scripts():
    calls = []
    box = make_sandbox(privileged={"send_email": lambda *a: calls.append(a)})
    with pytest.raises(ScriptError) as caught:
        box.execute("send_email('boss@example.com')", {})
    assert "send_email" in str(caught.value)
    assert calls == []
    with pytest.raises(ScriptError):
        box.evaluate("send_email('x')", {})
    assert calls == []


def test_the_registry_offers_privileged_functions_to_service_tasks_only():
    registry = FunctionRegistry()
    registry.register("lookup", lambda: 1, safe=False)
    registry.register("double", lambda x: 2 * x, safe=True)
    assert set(registry.safe_globals()) == {"double"}
    assert registry.service("lookup") is not None and registry.service("double") is not None


def test_a_variable_may_shadow_a_function_name_without_breaking_other_instances(sandbox):
    data = {"percent": 5}
    sandbox.execute("doubled = percent * 2", data)
    assert data == {"percent": 5, "doubled": 10}
    fresh = {}
    sandbox.execute("share = percent(1, 4)", fresh)
    assert fresh == {"share": 25.0}


@pytest.mark.parametrize("name", ["_getattr_", "_getiter_", "_write_", "__builtins__", "_step_"])
def test_stored_data_never_replaces_the_guards_a_script_runs_under(sandbox, name):
    """A variable named as one of the sandbox's own hooks (stored before names were checked, or by a
    JavaScript script) is not seen by a Python script: the guards stay, the script runs, the value is kept."""
    data = {name: 1, "items": [3, 1, 2]}
    sandbox.execute("ordered = sorted(items)\ncount = len(items)", data)
    assert data == {name: 1, "items": [3, 1, 2], "ordered": [1, 2, 3], "count": 3}
    assert sandbox.evaluate("len(items) == 3", {name: {}, "items": [1, 2, 3]}) is True
    with pytest.raises(ScriptError):
        sandbox.evaluate(name, {name: 1})  # not a name a script can read
