"""Errors caught as Camunda 7 catches them: of the boundary events of an activity, the one naming the error's
code catches it, a catch-all only when none does; `camunda:errorCodeVariable` and `errorMessageVariable`
receive the code and the message."""
from __future__ import annotations

import pytest

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
  <bpmn:error id="Err1" name="Payment failed" errorCode="PAY_FAIL" camunda:errorMessage="card declined" />
  <bpmn:error id="Err2" name="Out of stock" errorCode="NO_STOCK" />
  <bpmn:process id="pay" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:subProcess id="charge">
      <bpmn:startEvent id="c_start" />
      <bpmn:exclusiveGateway id="which" default="to_stock" />
      <bpmn:endEvent id="pay_failed"><bpmn:errorEventDefinition errorRef="Err1" /></bpmn:endEvent>
      <bpmn:endEvent id="no_stock"><bpmn:errorEventDefinition errorRef="Err2" /></bpmn:endEvent>
      <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="which" />
      <bpmn:sequenceFlow id="to_pay" sourceRef="which" targetRef="pay_failed">
        <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${kind == "pay"}</bpmn:conditionExpression>
      </bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="to_stock" sourceRef="which" targetRef="no_stock" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="on_pay" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="Err1" camunda:errorCodeVariable="code" camunda:errorMessageVariable="why" />
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="on_any" attachedToRef="charge">
      <bpmn:errorEventDefinition camunda:errorCodeVariable="any_code" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="handle_pay" />
    <bpmn:userTask id="handle_any" />
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="end_pay" />
    <bpmn:endEvent id="end_any" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="on_pay" targetRef="handle_pay" />
    <bpmn:sequenceFlow id="f4" sourceRef="on_any" targetRef="handle_any" />
    <bpmn:sequenceFlow id="f5" sourceRef="handle_pay" targetRef="end_pay" />
    <bpmn:sequenceFlow id="f6" sourceRef="handle_any" targetRef="end_any" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("kind, handler, variables", [
    ("pay", "handle_pay", {"code": "PAY_FAIL"}),
    ("stock", "handle_any", {"any_code": "NO_STOCK"}),
])
def test_the_boundary_event_naming_the_code_catches_it_alone(start, tmp_path, kind, handler, variables):
    path = tmp_path / "pay.bpmn"
    path.write_text(DIAGRAM)
    run = start(path, data={"kind": kind})
    assert run.open_elements() == [handler]  # not both
    data = run.task(handler).data
    assert {name: data.get(name) for name in variables} == variables


ESP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:error id="Err1" name="Failed" errorCode="E1" />
  <bpmn:process id="esp" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="Err1" /></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fail" />
    <bpmn:subProcess id="esp_all" triggeredByEvent="true">
      <bpmn:startEvent id="all_start"><bpmn:errorEventDefinition camunda:errorCodeVariable="any_code" /></bpmn:startEvent>
      <bpmn:userTask id="ua" />
      <bpmn:endEvent id="all_end" />
      <bpmn:sequenceFlow id="a1" sourceRef="all_start" targetRef="ua" />
      <bpmn:sequenceFlow id="a2" sourceRef="ua" targetRef="all_end" />
    </bpmn:subProcess>
    <bpmn:subProcess id="esp_one" triggeredByEvent="true">
      <bpmn:startEvent id="one_start"><bpmn:errorEventDefinition errorRef="Err1" camunda:errorCodeVariable="code" /></bpmn:startEvent>
      <bpmn:userTask id="ub" />
      <bpmn:endEvent id="one_end" />
      <bpmn:sequenceFlow id="b1" sourceRef="one_start" targetRef="ub" />
      <bpmn:sequenceFlow id="b2" sourceRef="ub" targetRef="one_end" />
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>
"""


def test_of_two_error_event_sub_processes_the_one_naming_the_code_runs(start, tmp_path):
    """(Both ran before, each interrupting the other, and the instance ended with nothing done.)"""
    path = tmp_path / "esp.bpmn"
    path.write_text(ESP)
    run = start(path)
    assert run.last.status == "running" and run.open_elements() == ["ub"]
    assert run.task("ub").data["code"] == "E1"
    run.complete("ub")
    assert run.last.status == "completed"
