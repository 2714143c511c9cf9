"""Process variables as Camunda 7 keeps them: what a task on one path sets is seen at once by the tasks
waiting on the other paths, a gateway there decides on it, and a join does not put a stale copy back;
a called process's variables are its own until its call activity hands them back (here all of them:
no mappings drawn, as the engine runs it without the server's)."""
from __future__ import annotations

from app.engine import Engine

from .test_runner import Scenario, roundtrip, start  # noqa: F401 - fixtures

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' id="d" targetNamespace="t">')

PARALLEL = HEAD + """<bpmn:process id="par" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:parallelGateway id="fork" />
  <bpmn:userTask id="ua" />
  <bpmn:scriptTask id="mark" scriptFormat="python"><bpmn:script>marked = True</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="ub" />
  <bpmn:exclusiveGateway id="decide" default="to_no" />
  <bpmn:userTask id="yes" />
  <bpmn:userTask id="no" />
  <bpmn:exclusiveGateway id="merge" />
  <bpmn:parallelGateway id="join" />
  <bpmn:userTask id="after" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="ua" />
  <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="mark" />
  <bpmn:sequenceFlow id="f4" sourceRef="mark" targetRef="ub" />
  <bpmn:sequenceFlow id="f5" sourceRef="ub" targetRef="decide" />
  <bpmn:sequenceFlow id="to_yes" sourceRef="decide" targetRef="yes">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${approved}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_no" sourceRef="decide" targetRef="no" />
  <bpmn:sequenceFlow id="f6" sourceRef="ua" targetRef="join" />
  <bpmn:sequenceFlow id="f7" sourceRef="yes" targetRef="merge" />
  <bpmn:sequenceFlow id="f8" sourceRef="no" targetRef="merge" />
  <bpmn:sequenceFlow id="f11" sourceRef="merge" targetRef="join" />
  <bpmn:sequenceFlow id="f9" sourceRef="join" targetRef="after" />
  <bpmn:sequenceFlow id="f10" sourceRef="after" targetRef="end" />
</bpmn:process></bpmn:definitions>"""

CALLING = HEAD + """<bpmn:process id="parent" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:callActivity id="call" calledElement="child" />
  <bpmn:userTask id="after" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
  <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="after" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
</bpmn:process>
<bpmn:process id="child" isExecutable="true">
  <bpmn:startEvent id="c_start" />
  <bpmn:scriptTask id="double" scriptFormat="python"><bpmn:script>doubled = amount * 2</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="c_wait" />
  <bpmn:endEvent id="c_end" />
  <bpmn:sequenceFlow id="g1" sourceRef="c_start" targetRef="double" />
  <bpmn:sequenceFlow id="g2" sourceRef="double" targetRef="c_wait" />
  <bpmn:sequenceFlow id="g3" sourceRef="c_wait" targetRef="c_end" />
</bpmn:process></bpmn:definitions>"""


def diagram(tmp_path, text: str, name: str):
    path = tmp_path / f"{name}.bpmn"
    path.write_text(text)
    return path


def test_a_variable_set_on_one_branch_decides_a_gateway_on_the_other(start, tmp_path):
    run = start(diagram(tmp_path, PARALLEL, "par"), data={"approved": False})
    assert run.open_elements() == ["ua", "ub"]
    assert run.task("ua").data["marked"] is True  # the other branch's script, seen at once
    run.complete("ua", {"approved": True})
    assert run.variables()["approved"] is True and run.task("ub").data["approved"] is True
    run.complete("ub")
    assert run.open_elements() == ["yes"]


def test_the_join_keeps_what_each_branch_set(start, tmp_path):
    run = start(diagram(tmp_path, PARALLEL, "par"), data={"approved": False, "notes": 0})
    run.complete("ua", {"notes": 1})  # the first branch sets notes, then waits at the join
    run.complete("ub", {"by_b": "x"})  # the second branch's copy of notes was 0 before it
    run.complete("no")
    variables = run.variables()
    assert run.open_elements() == ["after"] and variables["notes"] == 1 and variables["by_b"] == "x"


def test_a_called_process_keeps_its_variables_until_they_are_mapped_back(roundtrip):
    engine = Engine()
    [model] = [m for m in engine.parse([("parent.bpmn", CALLING.encode())]) if m.key == "parent"]
    run = Scenario(engine, model, roundtrip, {"amount": 21, "secret": "s"})
    run.advance()
    assert run.open_elements() == ["c_wait"]
    variables = run.variables()  # the caller's own, while the called process waits
    assert variables["amount"] == 21 and variables["secret"] == "s"
    assert "doubled" not in variables  # set by the called process: not the caller's yet
    run.complete("c_wait")
    assert run.open_elements() == ["after"] and run.variables()["doubled"] == 42
