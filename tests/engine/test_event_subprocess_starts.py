"""Event sub-processes started by an error or an escalation (BPMN 2.0, 10.5.2 and 10.5.6): they wait for
their event, in both dialects, and run when it is thrown in their scope, not as each instance starts; an
interrupting one cancels the rest of the process (a parallel branch still waiting), a non-interrupting one
runs beside it."""
from __future__ import annotations

import pytest

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {ns} id="d" targetNamespace="t">
<bpmn:error id="E1" errorCode="BAD"/><bpmn:escalation id="X1" escalationCode="LATE"/>
<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
  <bpmn:parallelGateway id="fork"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:outgoing>o1</bpmn:outgoing></bpmn:parallelGateway>
  <bpmn:userTask id="other"><bpmn:incoming>o1</bpmn:incoming><bpmn:outgoing>o2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="other_done"><bpmn:incoming>o2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
  <bpmn:sequenceFlow id="o1" sourceRef="fork" targetRef="other"/>
  <bpmn:sequenceFlow id="o2" sourceRef="other" targetRef="other_done"/>
  <bpmn:userTask id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:exclusiveGateway id="how" default="f_ok"><bpmn:incoming>f2</bpmn:incoming>
    <bpmn:outgoing>f_ok</bpmn:outgoing><bpmn:outgoing>f_throw</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:endEvent id="done"><bpmn:incoming>f_ok</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="thrown"><bpmn:incoming>f_throw</bpmn:incoming>{throw}</bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="work"/>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="how"/>
  <bpmn:sequenceFlow id="f_ok" sourceRef="how" targetRef="done"/>
  <bpmn:sequenceFlow id="f_throw" sourceRef="how" targetRef="thrown">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">fail == True</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:subProcess id="handler" triggeredByEvent="true">
    <bpmn:startEvent id="caught" isInterrupting="{interrupting}"><bpmn:outgoing>g1</bpmn:outgoing>{catch}</bpmn:startEvent>
    <bpmn:userTask id="fix"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fixed"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="caught" targetRef="fix"/>
    <bpmn:sequenceFlow id="g2" sourceRef="fix" targetRef="fixed"/>
  </bpmn:subProcess>
</bpmn:process></bpmn:definitions>"""
DIALECTS = {"camunda": 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
            "spiff": 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'}
EVENTS = {"error": ('<bpmn:errorEventDefinition errorRef="E1"/>', "true"),
          "escalation": ('<bpmn:escalationEventDefinition escalationRef="X1"/>', "true"),
          "escalation, not interrupting": ('<bpmn:escalationEventDefinition escalationRef="X1"/>', "false")}


def diagram(tmp_path, dialect: str, event: str):
    definition, interrupting = EVENTS[event]
    path = tmp_path / "p.bpmn"
    path.write_text(DIAGRAM.format(ns=DIALECTS[dialect], throw=definition, catch=definition,
                                   interrupting=interrupting))
    return path


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("event", list(EVENTS))
def test_the_event_sub_process_waits_for_its_event_and_runs_when_it_is_thrown(start, tmp_path, dialect, event):
    run = start(diagram(tmp_path, dialect, event))
    assert run.open_elements() == ["other", "work"]  # not started with the instance
    run.complete("work", {"fail": True})
    if EVENTS[event][1] == "true":
        assert run.open_elements() == ["fix"]  # the other branch was cancelled
        run.complete("fix")
    else:
        assert run.open_elements() == ["fix", "other"]
        run.complete("fix")
        assert run.last.status == "running"
        run.complete("other")
    assert run.last.status == "completed"


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_an_instance_that_throws_nothing_ends_without_its_error_handler(start, tmp_path, dialect):
    run = start(diagram(tmp_path, dialect, "error"))
    run.complete("work", {"fail": False})
    run.complete("other")
    assert run.last.status == "completed"
    assert "fix" not in {e["element_id"] for e in run.last.events}
