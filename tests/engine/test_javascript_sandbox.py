"""The JavaScript sandbox (`app.engine.javascript`) against scripts that try to get out, hold on or leave
something behind. Each attack runs in V8 as a deployed script would; none gets anything but an error, and
the next script, whoever's, finds the context as it was."""
from __future__ import annotations

import time

import pytest

from app.engine import ScriptError, ScriptLimitError
from app.engine.javascript import JavaScript, mark, unmark
from app.engine.limits import Limits

LIMITS = Limits(script_max_seconds=0.5, script_max_allocation=16 << 20, variable_max_bytes=1 << 20,
                variables_max_bytes=4 << 20)


@pytest.fixture(scope="module")
def js() -> JavaScript:
    return JavaScript(LIMITS)


def run(js: JavaScript, source: str, data: dict | None = None) -> dict:
    data = dict(data or {})
    js.execute(unmark(mark(source)), data)
    return data


def value(js: JavaScript, source: str, data: dict | None = None):
    return js.evaluate(unmark(mark(source)), data or {})


# -- no host ----------------------------------------------------------------------------------------------------

def test_there_is_nothing_of_a_host_to_reach(js):
    names = ["require", "process", "module", "exports", "global", "Java", "Packages", "java", "load", "fetch",
             "XMLHttpRequest", "WebAssembly", "ArrayBuffer", "SharedArrayBuffer", "Atomics", "setTimeout",
             "FinalizationRegistry", "WeakRef", "Uint8Array", "DataView", "importScripts", "Deno", "Bun"]
    source = "[" + ", ".join(f"typeof {name}" for name in names) + "]"
    assert value(js, source) == ["undefined"] * len(names)


@pytest.mark.parametrize("attack", [
    'globalThis["req" + "uire"]("fs")',
    'this.process.exit(1)',
    'globalThis["Ja" + "va"].type("java.lang.Runtime")',
    'Function("return this")().process',
    '[].constructor.constructor("return process")()',
    'Object.getPrototypeOf(async function () {}).constructor("return 1")',
    'Object.getPrototypeOf(function* () {}).constructor("yield 1")',
    'Reflect.construct(Function, ["return 1"])',
    '(0, eval)("1 + 1")',
    'eval("1 + 1")',
], ids=["require", "process", "java", "function-this", "constructor-walk", "async-constructor",
        "generator-constructor", "reflect-construct", "indirect-eval", "eval"])
def test_escapes_fail_as_errors(js, attack):
    with pytest.raises(ScriptError) as caught:
        run(js, f"x = {attack};")
    assert isinstance(caught.value, ScriptError) and not isinstance(caught.value, ScriptLimitError)
    assert "Error" in str(caught.value)


def test_a_dynamic_import_loads_nothing(js):
    data = run(js, 'import("fs").then(function (m) { execution.setVariable("module", Object.keys(m)); });'
                   'asked = 1;')
    assert data == {"asked": 1}
    assert run(js, "after = 1;") == {"after": 1}


def test_code_cannot_be_made_from_strings(js):
    with pytest.raises(ScriptError) as caught:
        run(js, 'x = new Function("a", "return a")(1);')
    assert "code cannot be made from strings" in str(caught.value)


@pytest.mark.parametrize("call", [
    "check('throw eval(\"(function (a) { return a * 2 })\")')",  # sloppy code through the syntax check
    "check('\"use strict\";throw __stagecoach_checked__;' + 'x')",  # even its own source: not during a script
    "run('x = 1 + 1', '{}', {mode: 'script', maxOutput: 1000})",  # a second script, not strict
])
def test_the_harness_runs_no_code_a_script_hands_it(js, call):
    """`run` and `check` live on the global object, which a script can read: called by a script they compile
    nothing (a script reached them by a computed name and ran sloppy code built from strings)."""
    source = ("var check = globalThis['__stagecoach_' + 'check__'], run = globalThis['__stagecoach_' + 'run__'];"
              f"try {{ {call}; out = 'ran'; }} catch (e) {{ out = typeof e === 'function' ? 'ran' : String(e); }}")
    result = run(js, source)["out"]
    assert result != "ran" and ("cannot run or check another" in result or "not a harness source" in result)


# -- nothing outlives a script ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pollution, check", [
    ("Object.prototype.isAdmin = true", "({}).isAdmin"),
    ("Array.prototype.push = function () { return 0; }", "[].push === undefined"),
    ("JSON.parse = function () { return {}; }", "JSON.parse('1') !== 1"),
    ("globalThis.leak = 'secret'", "globalThis.leak"),
    ("Object.defineProperty(globalThis, 'leak', {value: 1})", "globalThis.leak"),
    ("Object.getPrototypeOf([].values()).next = null", "Object.getPrototypeOf([].values()).next === null"),
    ("Object.getOwnPropertyDescriptor(new Error('x'), 'stack').get.leak = 1",
     "Object.getOwnPropertyDescriptor(new Error('y'), 'stack').get.leak"),
    ("Math.random = function () { return 4; }", "Math.random() === 4"),
    ("Error.prepareStackTrace = function () { return 'leak'; }", "Error.prepareStackTrace"),
], ids=["object-prototype", "array-prototype", "json", "global", "define-global", "hidden-iterator",
        "stack-accessor", "math", "prepare-stack-trace"])
def test_prototype_pollution_fails_and_the_next_script_finds_nothing(js, pollution, check):
    with pytest.raises(ScriptError) as caught:
        run(js, f"{pollution};")
    assert "TypeError" in str(caught.value)
    for _ in range(3):  # whichever pooled context the next script gets
        assert not value(js, f"!!({check})")


def test_no_reachable_object_can_be_changed(js):
    """Walk everything a script reaches: the globals, and the prototypes of every kind of value syntax can
    make. All of it is frozen, so no script can leave anything for the next one."""
    walker = """
var gen = function* () {}, agen = async function* () {}, plain = function () {};
var g = gen(), ag = agen();
var seeds = [globalThis, plain, gen, agen, async function () {}, () => {}, g, ag, Promise.resolve(1), [].values(),
  ''[Symbol.iterator](), new Map().entries(), new Set().values(), 'a'.matchAll(/a/g),
  [].values().map(function (x) { return x; }), Iterator.from({ next: function () { return { done: true }; } }),
  new Error('x'), /x/, new Date(0), new Intl.Segmenter().segment('a'),
  new Intl.Segmenter().segment('a')[Symbol.iterator](), new WeakMap(), (function () { return arguments; })(),
  Object(Symbol('s')), Object(1n), execution];
// made for this walk: the seeds, the prototypes of the functions among them, their generators' prototypes
var fresh = new Set(seeds.concat([plain.prototype, gen.prototype, agen.prototype]));
var seen = new Set(), open = [], queue = seeds.map(function (s) { return [s, 'seed']; });
while (queue.length) {
  var pair = queue.pop(), obj = pair[0], path = pair[1];
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function') || seen.has(obj)) continue;
  seen.add(obj);
  if (!fresh.has(obj) && !Object.isFrozen(obj)) open.push(path);
  queue.push([Object.getPrototypeOf(obj), path + '.__proto__']);
  Reflect.ownKeys(obj).forEach(function (key) {
    var d = Object.getOwnPropertyDescriptor(obj, key);
    var name = path + '.' + String(key);
    if ('value' in d) queue.push([d.value, name]);
    else { queue.push([d.get, name + '<get>']); queue.push([d.set, name + '<set>']); }
  });
}
open.length ? open : seen.size
"""
    reached = value(js, walker)
    assert isinstance(reached, int) and reached > 500  # the walk went everywhere, and found nothing open


def test_a_scripts_variables_are_not_the_next_scripts(js):
    assert run(js, "secret = 'mine'; var hidden = 1;", {"user": "a"}) == {"user": "a", "secret": "mine"}
    assert value(js, 'typeof secret + " " + typeof hidden + " " + typeof user') == "undefined undefined undefined"


def test_the_last_regular_expression_match_is_not_shown_to_the_next_script(js):
    run(js, "m = /(s3cr3t)/.exec('the s3cr3t')[1];")
    assert value(js, "[typeof RegExp.$1, typeof RegExp.lastMatch, typeof RegExp.input]") == ["undefined"] * 3


def test_callbacks_left_behind_find_the_script_gone(js):
    """A promise callback runs after the variables were taken: what it does changes nothing, and it cannot
    read or write the variables of the script that follows."""
    data = run(js, "const E = execution; const P = Promise; P.resolve().then(function () { E.setVariable('late', 1); });"
                   "on_time = 1;")
    assert data == {"on_time": 1}
    assert value(js, "typeof late") == "undefined"


# -- bounded time, memory and output ---------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "while (true) {}",
    "for (;;) { try { while (true) {} } catch (e) {} }",
    "function f() { try { f(); } catch (e) { f(); } } f();",
    "const P = Promise; (function again() { P.resolve().then(again); })(); done = 1;",
    "const P = Promise; P.resolve().then(function () { while (true) {} }); done = 1;",
], ids=["loop", "catching-loop", "recursion-retry", "promise-loop", "callback-loop"])
def test_a_script_that_does_not_end_is_stopped_at_the_time_limit(js, source):
    started = time.monotonic()
    with pytest.raises(ScriptLimitError) as caught:
        run(js, source)
    assert "STAGECOACH_SCRIPT_MAX_SECONDS" in str(caught.value)
    assert time.monotonic() - started < 5 * LIMITS.script_max_seconds
    assert run(js, "after = 1;") == {"after": 1}  # and the next script runs


@pytest.mark.parametrize("source", [
    "var a = []; for (;;) a.push(new Array(1e6).fill(1.5));",
    "var a = []; for (;;) a.push('x'.repeat(1e5) + Math.random());",
    "var m = new Map(); for (var i = 0; ; i++) m.set(i, {i: i});",
], ids=["arrays", "strings", "map"])
def test_a_script_that_takes_too_much_memory_is_stopped(js, source):
    with pytest.raises(ScriptLimitError) as caught:
        run(js, source)
    assert "STAGECOACH_SCRIPT_MAX_ALLOCATION" in str(caught.value) or "STAGECOACH_SCRIPT_MAX_SECONDS" in str(caught.value)
    assert run(js, "after = 1;") == {"after": 1}


def test_memory_outside_the_heap_cannot_be_had(js):
    with pytest.raises(ScriptError) as caught:
        run(js, "buffers = []; for (var i = 0; i < 64; i++) buffers.push(new ArrayBuffer(1 << 28));")
    assert "ArrayBuffer is not defined" in str(caught.value)


def test_a_variable_too_large_to_store_fails_naming_it(js):
    with pytest.raises(ScriptLimitError) as caught:
        run(js, "huge = 'x'.repeat(2 * 1024 * 1024);")
    assert "variable huge" in str(caught.value) and "STAGECOACH_VARIABLE_MAX_BYTES" in str(caught.value)


def test_output_past_the_instances_variables_limit_never_leaves_v8(js):
    with pytest.raises(ScriptLimitError) as caught:
        run(js, "for (var i = 0; i < 12; i++) execution.setVariable('v' + i, 'x'.repeat(900 * 1024));")
    assert "STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES" in str(caught.value)


def test_variables_a_script_did_not_change_keep_their_exact_python_values(js):
    import datetime as dt
    import decimal

    data = {"big": 2**60 + 1, "when": dt.date(2030, 1, 2), "price": decimal.Decimal("19.99"), "n": 1}
    js.execute(unmark(mark("n = n + 1; seen = [typeof big, when, price];")), data)
    assert data == {"big": 2**60 + 1, "when": dt.date(2030, 1, 2), "price": decimal.Decimal("19.99"), "n": 2,
                    "seen": ["number", "2030-01-02", 19.99]}


def test_a_failed_script_changes_nothing(js):
    data = {"amount": 1}
    with pytest.raises(ScriptError):
        js.execute(unmark(mark("amount = 2; execution.setVariable('x', 1); throw new Error('late');")), data)
    assert data == {"amount": 1}
