"""Bounded execution in the engine: tasks a step, a command and an instance may create, the size and
nesting of variables however they are set, the size of the stored state, and scripts refused before
they allocate.

Run-time scenarios run straight through and with the instance saved and loaded before every step
(`roundtrip`), as the server runs them between requests.
"""
from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path

import pytest

from app.engine import Engine, Limits, ScriptError, ScriptLimitError, StateLimitError, VariableLimitError
from app.engine.bounds import task_count

from ..factories import fixture
from .test_runner import roundtrip, start  # noqa: F401 - fixtures

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
  <bpmn:process id="bounded" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {work}
    <bpmn:userTask id="after" name="After"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="after" />
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
FLOWS = '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
PARALLEL = {
    "cardinality": f'<bpmn:userTask id="work" name="Review">{FLOWS}<bpmn:multiInstanceLoopCharacteristics>'
                   '<bpmn:loopCardinality>count</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
                   '</bpmn:userTask>',
    "collection": f'<bpmn:userTask id="work" name="Review">{FLOWS}<bpmn:multiInstanceLoopCharacteristics '
                  'camunda:collection="items" camunda:elementVariable="item" /></bpmn:userTask>',
}
SEQUENTIAL = (f'<bpmn:userTask id="work" name="Call">{FLOWS}'
              '<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>count'
              '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
LOOP = (f'<bpmn:scriptTask id="work" name="Spin" scriptFormat="python">{FLOWS}<bpmn:standardLoopCharacteristics>'
        '<bpmn:loopCondition xsi:type="bpmn:tFormalExpression">n &lt; goal</bpmn:loopCondition>'
        '</bpmn:standardLoopCharacteristics><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>')


def script(source: str) -> str:
    return f'<bpmn:scriptTask id="work" name="Work" scriptFormat="python">{FLOWS}<bpmn:script>{source}</bpmn:script></bpmn:scriptTask>'


TWO_SCRIPTS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="two_scripts" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="first" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>a = 'a' * size</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="second" scriptFormat="python"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>b = 'b' * size</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="after"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first" />
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second" />
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="after" />
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def diagram(tmp_path: Path, work: str, template: str = DIAGRAM) -> Path:
    path = tmp_path / "bounded.bpmn"
    path.write_text(template.format(work=work))
    return path


def engine(**limits) -> Engine:
    return Engine(limits=Limits(**limits))


def elements(run) -> list[str]:
    return run.open_elements()


# -- multi-instances: counted before any instance exists -------------------------------------------------

@pytest.mark.parametrize("kind", list(PARALLEL))
def test_a_parallel_multi_instance_over_the_step_limit_creates_nothing_and_stops_with_an_incident(start, tmp_path,
                                                                                                   kind):
    run = start(diagram(tmp_path, PARALLEL[kind]), data={"count": 7, "items": list(range(7))},
                engine=engine(tasks_per_step=5))

    assert run.last.status == "error" and run.last.open_tasks == []
    incident = run.last.incident
    assert incident.element_id == "work"
    assert "would create 7 instances" in incident.message
    assert "STAGECOACH_ENGINE_MAX_TASKS_PER_STEP" in incident.message and "at most 5 tasks" in incident.message
    assert task_count(run.wf) < 10  # not one instance was created
    assert run.variables()["count"] == 7


@pytest.mark.parametrize("kind", list(PARALLEL))
def test_after_the_variables_are_repaired_a_retry_creates_the_instances(start, tmp_path, kind):
    run = start(diagram(tmp_path, PARALLEL[kind]), data={"count": 7, "items": list(range(7))},
                engine=engine(tasks_per_step=5))

    run.update_variables({"count": 3, "items": [10, 20, 30]})
    retried = run.retry()

    assert retried.status == "running" and retried.incident is None
    assert elements(run) == ["work", "work", "work"]
    for task in list(run.last.open_tasks):
        run.complete_id(task.id)
    assert elements(run) == ["after"]


@pytest.mark.parametrize("kind", list(PARALLEL))
def test_a_multi_instance_at_the_limit_runs(start, tmp_path, kind):
    run = start(diagram(tmp_path, PARALLEL[kind]), data={"count": 5, "items": list(range(5))},
                engine=engine(tasks_per_step=5))

    assert run.last.status == "running" and elements(run) == ["work"] * 5


def test_a_multi_instance_is_counted_against_what_the_command_may_still_create(start, tmp_path):
    run = start(diagram(tmp_path, PARALLEL["cardinality"]), data={"count": 12},
                engine=engine(tasks_per_step=100, tasks_per_run=10))

    assert run.last.status == "error"
    assert "STAGECOACH_ENGINE_MAX_TASKS_PER_RUN" in run.last.incident.message
    assert task_count(run.wf) < 10


def test_a_sequential_multi_instance_the_instance_cannot_hold_is_refused_before_its_first_instance(start,
                                                                                                   tmp_path):
    run = start(diagram(tmp_path, SEQUENTIAL), data={"count": 100}, engine=engine(instance_max_tasks=50))

    assert run.last.status == "error" and run.last.incident.element_id == "work"
    assert "would create 100 instances" in run.last.incident.message
    assert "STAGECOACH_INSTANCE_MAX_TASKS" in run.last.incident.message
    assert run.last.open_tasks == []


def test_a_sequential_multi_instance_within_the_limits_runs(start, tmp_path):
    run = start(diagram(tmp_path, SEQUENTIAL), data={"count": 3}, engine=engine(instance_max_tasks=50))

    for _ in range(3):
        assert elements(run) == ["work"]
        run.complete("work")
    assert elements(run) == ["after"]


# -- loops: stopped by the tasks one command may create -------------------------------------------------

def test_a_loop_stops_at_the_tasks_one_command_may_create_and_a_retry_goes_on(start, tmp_path):
    run = start(diagram(tmp_path, LOOP), data={"n": 0, "goal": 10**6}, engine=engine(tasks_per_run=30))

    assert run.last.status == "error"
    assert "STAGECOACH_ENGINE_MAX_TASKS_PER_RUN" in run.last.incident.message
    first = run.variables()["n"]
    assert 0 < first <= 30

    run.update_variables({"goal": first + 5})
    assert run.retry().status == "running"
    assert run.variables()["n"] == first + 5 and elements(run) == ["after"]


def test_an_instance_stops_growing_at_the_tasks_it_may_hold(start, tmp_path):
    run = start(diagram(tmp_path, LOOP), data={"n": 0, "goal": 10**6},
                engine=engine(tasks_per_run=1_000, instance_max_tasks=40))

    assert run.last.status == "error"
    assert "STAGECOACH_INSTANCE_MAX_TASKS" in run.last.incident.message
    assert task_count(run.wf) <= 41
    assert run.retry().status == "error"  # retrying cannot shrink the tree


# -- variables a script writes ------------------------------------------------------------------------

@pytest.mark.parametrize("source, setting, variable", [
    ("blob = 'x' * 2000", "STAGECOACH_VARIABLE_MAX_BYTES", "blob"),
    ("a = 'x' * 700\nb = 'y' * 700", "STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES", None),
    ("deep = []\nfor i in range(40):\n    deep = [deep]", "STAGECOACH_VARIABLE_MAX_DEPTH", "deep"),
    ("shared = [0]\nfor i in range(60):\n    shared = [shared, shared]", "STAGECOACH_VARIABLE_MAX_DEPTH", "shared"),
    ("wide = [0]\nfor i in range(3):\n    wide = [wide] * 100", "STAGECOACH_VARIABLE_MAX_BYTES", "wide"),
], ids=["one-variable", "all-variables", "nesting", "shared-nesting", "shared-width"])
def test_a_script_that_leaves_variables_past_a_limit_fails_with_an_incident_naming_it(start, tmp_path, source,
                                                                                      setting, variable):
    run = start(diagram(tmp_path, script(source)), data={"keep": 1},
                engine=engine(variable_max_bytes=1_000, variables_max_bytes=1_200))

    assert run.last.status == "error" and run.last.incident.element_id == "work"
    assert setting in run.last.incident.message
    if variable:
        assert f"variable {variable}" in run.last.incident.message
    assert run.variables() == {"keep": 1}  # nothing the script wrote was kept


def test_a_script_fixed_by_its_variables_runs_on_retry(start, tmp_path):
    run = start(diagram(tmp_path, script("blob = 'x' * size")), data={"size": 2_000},
                engine=engine(variable_max_bytes=1_000))
    assert run.last.status == "error"

    run.update_variables({"size": 10})
    assert run.retry().status == "running"
    assert run.variables()["blob"] == "x" * 10


def test_what_the_scripts_of_one_command_change_in_all_is_bounded_by_the_state_limit(start, tmp_path):
    run = start(diagram(tmp_path, "", TWO_SCRIPTS), data={"size": 30_000},
                engine=engine(variable_max_bytes=40_000, variables_max_bytes=100_000, state_max_bytes=50_000))

    assert run.last.status == "error" and run.last.incident.element_id == "second"
    assert "STAGECOACH_INSTANCE_MAX_STATE_BYTES" in run.last.incident.message
    assert "a" in run.variables() and "b" not in run.variables()


# -- variables set from outside: refused, nothing changed -----------------------------------------------

def test_start_variables_past_a_limit_are_refused_naming_the_variable(tmp_path):
    eng = engine(variable_max_bytes=1_000)
    [model] = eng.parse([("b.bpmn", diagram(tmp_path, script("x = 1")).read_bytes())])

    with pytest.raises(VariableLimitError) as caught:
        eng.new_workflow("d", model.dialect, eng.dump_spec(model), {"note": "n" * 2_000})

    assert caught.value.variable == "note" and caught.value.setting == "STAGECOACH_VARIABLE_MAX_BYTES"
    assert "variable note" in str(caught.value) and "1000 bytes" in str(caught.value)


@pytest.mark.parametrize("data, setting", [
    ({"comment": "c" * 2_000}, "STAGECOACH_VARIABLE_MAX_BYTES"),
    ({"a": "a" * 900, "b": "b" * 900}, "STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES"),
    ({"nested": {"a": {"b": {"c": {"d": 1}}}}}, "STAGECOACH_VARIABLE_MAX_DEPTH"),
], ids=["one-variable", "all-variables", "nesting"])
def test_completion_data_past_a_limit_is_refused_and_the_task_stays_open(start, tmp_path, data, setting):
    run = start(diagram(tmp_path, script("x = 1")), data={"keep": "k" * 200},
                engine=engine(variable_max_bytes=1_000, variables_max_bytes=1_500, variable_max_depth=3))
    task = run.task("after")

    with pytest.raises(VariableLimitError) as caught:
        run.complete("after", data)

    assert caught.value.setting == setting
    assert run.task("after").id == task.id and set(run.variables()) == {"keep", "x"}
    assert run.complete("after", {"comment": "fine"}).status == "completed"


def test_a_variables_patch_past_a_limit_is_refused_and_changes_nothing(start, tmp_path):
    run = start(diagram(tmp_path, script("x = 1")), data={"keep": 1}, engine=engine(variable_max_bytes=1_000))

    with pytest.raises(VariableLimitError) as caught:
        run.update_variables({"x": 2, "blob": "b" * 2_000})

    assert caught.value.variable == "blob"
    assert run.variables() == {"keep": 1, "x": 1}


def test_a_message_whose_payload_is_past_a_limit_is_refused_and_the_instance_still_waits(start):
    run = start(fixture("events", "wait_for_reply.bpmn"), engine=engine(variable_max_bytes=1_000))
    runner = run.engine.runner

    with pytest.raises(VariableLimitError):
        runner.deliver(run.wf, "message", "reply", {"body": "b" * 2_000})
    run.advance()  # the save and load between requests, when `roundtrip`
    delivered = runner.deliver(run.wf, "message", "reply", {"body": "short"})

    assert delivered.status == "completed" and delivered.variables["outcome"] == "replied"


def test_a_state_past_its_limit_is_not_written(start, tmp_path):
    run = start(diagram(tmp_path, script("x = 1")), data={"text": "t" * 20_000},
                engine=engine(variable_max_bytes=50_000))
    small = run.engine.dump(run.model.dialect, run.wf)
    tight = Engine(limits=Limits(variable_max_bytes=50_000, state_max_bytes=len(small) - 1))

    with pytest.raises(StateLimitError) as caught:
        tight.dump(run.model.dialect, run.wf)

    assert caught.value.setting == "STAGECOACH_INSTANCE_MAX_STATE_BYTES"


def test_the_default_limits_let_the_usual_data_through(start, tmp_path):
    data = {"deal": {"lines": [{"sku": f"S{i}", "qty": i, "price": 9.5} for i in range(500)]}, "note": "n" * 50_000}
    run = start(diagram(tmp_path, script("total = sum(l['qty'] for l in deal['lines'])")), data=data)

    assert run.last.status == "running" and run.variables()["total"] == sum(range(500))


# -- scripts: refused BEFORE they allocate --------------------------------------------------------------

ALLOCATIONS = [
    ("x = 'x' * 10**9", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = [0] * 10**9", "STAGECOACH_SCRIPT_MAX_ITEMS"),
    ("x = list(range(10**9))", "STAGECOACH_SCRIPT_MAX_ITEMS"),
    ("x = 10**10**8", "bits"),
    ("x = '1'.zfill(10**9)", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = 'a'.ljust(10**9)", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = str.center('a', 10**9)", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = 'a\\tb'.expandtabs(10**9)", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = '%(a)999999999s' % {'a': 1}", "at most 10000"),
    ("x = (1).to_bytes(10**9, 'big')", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = ('a' * 100000).translate({97: 'b' * 100000})", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = ('b' * 100000).join(['a'] * 10000)", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = 'x'\nfor i in range(40):\n    x = f'{x}{x}'", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("x = [0]\nfor i in range(40):\n    x = [*x, *x]", "STAGECOACH_SCRIPT_MAX_ITEMS"),
    ("x = sum([[0] * 999] * 999, [])", "STAGECOACH_SCRIPT_MAX_ITEMS"),
    ("x = round(5, -10**8)", "round"),
    ("x = [[0] * 99999 for i in range(200)]", "STAGECOACH_SCRIPT_MAX_ALLOCATION"),
    ("s = 'x' * 999999\nx = [s.upper() for i in range(200)]", "STAGECOACH_SCRIPT_MAX_ALLOCATION"),
]


@pytest.mark.parametrize("source, named", ALLOCATIONS, ids=[s.split("\n")[-1].strip()[:40] for s, _ in ALLOCATIONS])
def test_a_script_is_refused_before_it_allocates_what_it_asks_for(source, named):
    sandbox = Engine().script_engine.sandbox
    tracemalloc.start()
    try:
        with pytest.raises(ScriptLimitError) as caught:
            sandbox.execute(source, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert named in str(caught.value)
    assert peak < 64 * 1024 * 1024 + 16 * 1024 * 1024  # at most its allocation budget, never the gigabytes asked


def test_a_date_formatted_into_text_past_the_string_limit_is_refused():
    data = {"when": dt.date.today()}
    with pytest.raises(ScriptLimitError) as caught:
        Engine().script_engine.sandbox.execute("x = [when.strftime('%c' * 400000) for i in range(100)]", data)
    assert "STAGECOACH_SCRIPT_MAX_STRING" in str(caught.value) and set(data) == {"when"}


SHARED = "a = [0]\nb = [0]\nfor i in range(60):\n    a = [a, a]\n    b = [b, b]\n"
WIDE = "a = [0]\nb = [1]\nfor i in range(4):\n    a = [a] * 1000\n    b = [b] * 1000\n"
TUPLES = "t = (0,)\nfor i in range(40):\n    t = (t, t)\n"


@pytest.mark.parametrize("source", [
    SHARED + "x = a == b", WIDE + "x = a == b", WIDE + "x = b in [a]", WIDE + "x = sorted([a, b])",
    WIDE + "x = max(a, b)", WIDE + "x = str(a)", WIDE + "x = f'{a}'", WIDE + "x = '%s' % (a,)",
    SHARED + "l = [a, b]\nl.sort()", TUPLES + "s = {t}", TUPLES + "d = {t: 1}", TUPLES + "d = {}\nd[t] = 1",
    TUPLES + "s = {t for i in range(1)}", WIDE + "x = len(str(a))",
], ids=["compare-shared", "compare-wide", "in", "sorted", "max", "str", "f-string", "percent", "sort", "set",
        "dict", "setitem", "set-comprehension", "str-in-call"])
def test_data_shared_with_itself_is_refused_before_a_native_walk_runs_for_ever(source):
    """`a = [a, a]` sixty times is sixty small lists, but 2**60 items to compare, hash or print: the
    sandbox walks such a value, capped, before handing it to an operation that walks it natively."""
    with pytest.raises(ScriptLimitError) as caught:
        Engine().script_engine.sandbox.execute(source, {})
    assert "STAGECOACH_SCRIPT_MAX_ITEMS" in str(caught.value) or "STAGECOACH_VARIABLE_MAX_DEPTH" in str(caught.value) \
        or "STAGECOACH_SCRIPT_MAX_STRING" in str(caught.value)


@pytest.mark.parametrize("source", ["x = bytes(10**9)", "x = bytearray(10**9)", "x = pow(10, 10**8)",
                                    "x = '{:>999999999}'.format(1)"])
def test_builtins_that_allocate_without_a_guard_are_not_there(source):
    with pytest.raises(ScriptError) as caught:
        Engine().script_engine.sandbox.execute(source, {})
    assert not isinstance(caught.value, ScriptLimitError)


@pytest.mark.parametrize("source, expected", [
    ("x = '%5d|%-3s' % (42, 'a')", "   42|a  "),
    ("x = 'ab'.ljust(4, '.') + 'cd'.center(6) + '7'.zfill(3)", "ab..  cd  007"),
    ("x = [1, 2] == [1, 2] and (1, 2) in {(1, 2): 3} and [3] in [[1], [3]]", True),
    ("x = sorted([[2], [1]]) + sum([[1], [2]], [])", [[1], [2], 1, 2]),
    ("x = f\"{[1, 2]}-{ {'a': 1} }-{3:>4}\"", "[1, 2]-{'a': 1}-   3"),
    ("x = isinstance([], list) and isinstance({}, (list, dict)) and not isinstance(1, str)", True),
    ("x = dict.fromkeys(['a', 'b'], 0)", {"a": 0, "b": 0}),
    ("x = [str.upper('a'), int('12'), round(2.567, 2), max([3, 1]), min(4, 2)]", ["A", 12, 2.57, 3, 2]),
    ("a = [1]\nb = [2]\nd = {'k': 1}\nx = [[*a, *b], {**d, 'z': 2}, sorted({*a, *b})]", [[1, 2], {"k": 1, "z": 2}, [1, 2]]),
    ("x = list(range(5)) + list(tuple('ab')) + sorted(set([3, 3, 1]))", [0, 1, 2, 3, 4, "a", "b", 1, 3]),
    ("l = [3, 1, 2]\nl.sort(key=lambda v: -v)\nl.extend([0])\nx = l", [3, 2, 1, 0]),
    ("d = {}\nd[(1, 2)] = 'pair'\nd['k'] = [1]\nx = d[(1, 2)] + str(len(d))\ndel d", "pair2"),
])
def test_ordinary_scripts_work_as_in_python(source, expected):
    data: dict = {}
    Engine().script_engine.sandbox.execute(source, data)
    assert data["x"] == expected


def test_an_expression_cannot_hand_back_data_shared_with_itself():
    sandbox = Engine().script_engine.sandbox
    with pytest.raises(ScriptLimitError):
        sandbox.evaluate("[[[[[0] * 100] * 100] * 100] * 100]", {})


def test_the_sandbox_limits_are_the_configured_ones():
    sandbox = engine(script_max_string=100, script_max_items=10).script_engine.sandbox
    sandbox.execute("x = 'a' * 100\ny = [0] * 10", {})
    with pytest.raises(ScriptLimitError) as long_string:
        sandbox.execute("x = 'a' * 101", {})
    with pytest.raises(ScriptLimitError) as many_items:
        sandbox.execute("x = list(range(11))", {})
    assert "STAGECOACH_SCRIPT_MAX_STRING" in str(long_string.value) and "101" in str(long_string.value)
    assert "STAGECOACH_SCRIPT_MAX_ITEMS" in str(many_items.value)

