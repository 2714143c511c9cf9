"""Link events (BPMN 2.0, 10.5.6): a throwing link event goes on at the catching one of the same name in its
process or sub-process; a link nobody catches is refused at deploy with its line."""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="linked" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateThrowEvent id="go" name="To page 2"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:linkEventDefinition id="go_def" name="{thrown}" /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="arrive" name="From page 1"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:linkEventDefinition id="arrive_def" name="page2" /></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="second"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first" />
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="go" />
    <bpmn:sequenceFlow id="f3" sourceRef="arrive" targetRef="second" />
    <bpmn:sequenceFlow id="f4" sourceRef="second" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_the_flow_goes_on_at_the_catching_link_event(start, tmp_path):
    path = tmp_path / "linked.bpmn"
    path.write_text(DIAGRAM.format(thrown="page2"))
    run = start(path)
    run.complete("first")
    assert run.last.status == "running" and run.open_elements() == ["second"]
    entered = [e["element_id"] for e in run.last.events if e["type"] == "element_entered"]
    assert entered[:3] == ["go", "arrive", "second"]  # both events are passed, with their ids
    run.complete("second")
    assert run.last.status == "completed"


def test_a_link_nobody_catches_is_refused_with_its_line():
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("linked.bpmn", DIAGRAM.format(thrown="page9").encode())])
    [problem] = caught.value.problems
    assert (problem.element_id, problem.line) == ("go", 6) and "'page9'" in problem.message
