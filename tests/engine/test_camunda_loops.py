"""Multi-instance activities of the Camunda dialect run as Camunda 7 runs them: the collection is read and
never written, the element variable and `loopCounter` belong to each instance, `completionCondition` sees
`nrOfInstances`, `nrOfActiveInstances` and `nrOfCompletedInstances`, what an instance sets is the
process's; a sequential loop goes on after its state was stored and loaded by another server process."""
from __future__ import annotations

import pytest

from app.engine import Engine

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:process id="loop" isExecutable="true">')
TAIL = ('<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="after" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />'
        '</bpmn:process></bpmn:definitions>')
AFTER = '<bpmn:userTask id="after"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>'


def diagram(tmp_path, work: str, after: str = AFTER):
    path = tmp_path / "loop.bpmn"
    path.write_text(HEAD + '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
                    + work + after + TAIL)
    return path


def user_loop(loop: str) -> str:
    return ('<bpmn:userTask id="work" camunda:assignee="${approver}"><bpmn:incoming>f1</bpmn:incoming>'
            f'<bpmn:outgoing>f2</bpmn:outgoing>{loop}</bpmn:userTask>')


def over(sequential: bool, condition: str = "") -> str:
    inner = f"<bpmn:completionCondition>{condition}</bpmn:completionCondition>" if condition else ""
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}" '
            f'camunda:collection="${{approvers}}" camunda:elementVariable="approver">{inner}'
            '</bpmn:multiInstanceLoopCharacteristics>')


def work_tasks(run) -> list:
    return [t for t in run.last.open_tasks if t.element_id == "work"]


def test_a_sequential_loop_runs_once_per_item_in_order_and_leaves_the_collection_as_it_was(start, tmp_path):
    run = start(diagram(tmp_path, user_loop(over(True))), data={"approvers": ["ann", "bob", "cid"]})
    seen = []
    while work_tasks(run):
        [task] = work_tasks(run)
        seen.append((task.data["approver"], task.data["loopCounter"]))
        assert "approver" not in run.variables() and "loopCounter" not in run.variables()
        run.complete_id(task.id, {f"ok_{task.data['approver']}": True})
    assert seen == [("ann", 0), ("bob", 1), ("cid", 2)]
    assert run.open_elements() == ["after"]
    variables = run.variables()
    assert variables["approvers"] == ["ann", "bob", "cid"]  # read, never written back
    assert {k for k in variables if k.startswith("ok_")} == {"ok_ann", "ok_bob", "ok_cid"}  # the process's
    assert "approver" not in variables and "loopCounter" not in variables  # each instance's own


def test_a_parallel_loop_gives_each_instance_its_own_item_and_keeps_what_each_changed(start, tmp_path):
    run = start(diagram(tmp_path, user_loop(over(False))), data={"approvers": ["ann", "bob"], "notes": 0})
    tasks = {t.data["approver"]: t for t in work_tasks(run)}
    assert sorted((t.data["approver"], t.data["loopCounter"]) for t in tasks.values()) == [("ann", 0), ("bob", 1)]
    run.complete_id(tasks["ann"].id, {"notes": 1, "by_ann": "yes"})
    run.complete_id(tasks["bob"].id, {})  # bob's copy of notes (0) is inherited, not set: ann's 1 stays
    variables = run.variables()
    assert variables["notes"] == 1 and variables["by_ann"] == "yes"
    assert variables["approvers"] == ["ann", "bob"] and "approver" not in variables


@pytest.mark.parametrize("condition, completed", [("${nrOfCompletedInstances >= 2}", 2),
                                                   ("${nrOfCompletedInstances / nrOfInstances > 0.5}", 2),
                                                   ("${nrOfActiveInstances == 0}", 3)])
def test_a_parallel_loop_ends_when_its_completion_condition_holds_over_the_loop_variables(start, tmp_path,
                                                                                          condition, completed):
    run = start(diagram(tmp_path, user_loop(over(False, condition))), data={"approvers": ["ann", "bob", "cid"]})
    for done in range(completed):
        assert len(work_tasks(run)) == 3 - done
        run.complete_id(work_tasks(run)[0].id)
    assert work_tasks(run) == [] and run.open_elements() == ["after"]  # the rest were cancelled


def test_a_sequential_loop_stops_at_the_instance_whose_condition_holds(start, tmp_path):
    run = start(diagram(tmp_path, user_loop(over(True, "${rejected || approver == 'bob'}"))),
                data={"approvers": ["ann", "bob", "cid"], "rejected": False})
    run.complete_id(work_tasks(run)[0].id)  # ann: neither holds
    [task] = work_tasks(run)
    assert task.data["approver"] == "bob"
    run.complete_id(task.id)  # the condition reads bob's own element variable
    assert run.open_elements() == ["after"]


def test_a_sequential_loop_goes_on_in_another_server_process(tmp_path):
    """The state stored after the first instance, loaded by a new engine (a restarted worker)."""
    path = diagram(tmp_path, user_loop(over(True)))
    first = Engine()
    [model] = first.parse([(path.name, path.read_bytes())])
    spec_json = first.dump_spec(model)
    definition = f"{model.key}:{model.content_hash}"
    wf = first.new_workflow(definition, model.dialect, spec_json, {"approvers": ["ann", "bob"]})
    outcome = first.runner.advance(wf)
    [task] = outcome.open_tasks
    state = first.dump(model.dialect, wf)

    for name in ("ann", "bob"):
        engine = Engine()  # nothing shared with the engine that stored the state
        wf = engine.load(definition, model.dialect, spec_json, state)
        assert task.data["approver"] == name
        outcome = engine.runner.complete(wf, task.id, {}, "tester")
        state = engine.dump(model.dialect, wf)
        task = next((t for t in outcome.open_tasks if t.element_id == "work"), None)
    assert task is None and [t.element_id for t in outcome.open_tasks] == ["after"]


def test_a_script_task_loops_by_cardinality_and_over_a_collection(start, tmp_path):
    script = ('<bpmn:scriptTask id="work" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>'
              '<bpmn:outgoing>f2</bpmn:outgoing>{loop}<bpmn:script>seen = seen + [{what}]</bpmn:script>'
              '</bpmn:scriptTask>')
    by_count = script.format(loop='<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>'
                                  '3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>',
                             what="loopCounter")
    run = start(diagram(tmp_path, by_count), data={"seen": []})
    assert run.variables()["seen"] == [0, 1, 2] and run.open_elements() == ["after"]

    by_item = script.format(loop='<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection='
                                 '"items" camunda:elementVariable="item" />', what="item")
    run = start(diagram(tmp_path, by_item), data={"seen": [], "items": ["x", "y"]})
    assert run.variables()["seen"] == ["x", "y"] and run.variables()["items"] == ["x", "y"]


def test_a_sub_process_per_item_keeps_the_item_its_own_inside(start, tmp_path):
    sub = ('<bpmn:subProcess id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
           '<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="approvers" '
           'camunda:elementVariable="approver" />'
           '<bpmn:startEvent id="s_start" /><bpmn:userTask id="inner" camunda:assignee="${approver}" />'
           '<bpmn:endEvent id="s_end" /><bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="inner" />'
           '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="s_end" /></bpmn:subProcess>')
    run = start(diagram(tmp_path, sub), data={"approvers": ["ann", "bob"], "approver": "the process's own"})
    for name in ("ann", "bob"):
        assert run.task("inner").data["approver"] == name
        assert run.variables()["approver"] == "the process's own"  # the item is the instance's, inside too
        run.complete("inner")
    assert run.open_elements() == ["after"] and run.variables()["approver"] == "the process's own"
