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


CONDITIONAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:userTask id="work" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  <bpmn:subProcess id="on_level" triggeredByEvent="true">
    <bpmn:startEvent id="level_high" isInterrupting="{interrupting}">
      <bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">${{level &gt; 5}}</bpmn:condition>
      </bpmn:conditionalEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="check" />
    <bpmn:endEvent id="checked" />
    <bpmn:sequenceFlow id="g1" sourceRef="level_high" targetRef="check" />
    <bpmn:sequenceFlow id="g2" sourceRef="check" targetRef="checked" />
  </bpmn:subProcess>
</bpmn:process></bpmn:definitions>"""


@pytest.mark.parametrize("interrupting, expected", [("true", ["check"]), ("false", ["check", "work"])])
def test_a_conditional_event_sub_process_starts_when_its_condition_comes_to_hold(start, tmp_path, interrupting,
                                                                                expected):
    path = tmp_path / "p.bpmn"
    path.write_text(CONDITIONAL.format(interrupting=interrupting))
    run = start(path, data={"level": 1})
    assert run.open_elements() == ["work"]
    run.update_variables({"level": 9})
    run.advance()
    assert run.open_elements() == expected
    run.update_variables({"level": 10})  # still true, and it runs: it is not started again
    assert run.advance().status == "running" and run.open_elements() == expected


def test_a_message_event_sub_process_inside_a_sub_process_is_refused_with_its_line():
    from app.engine import BpmnRejected, Engine

    xml = CONDITIONAL.format(interrupting="false").replace(
        '<bpmn:userTask id="work" />',
        '<bpmn:subProcess id="work"><bpmn:startEvent id="w_start" /><bpmn:userTask id="inner" />'
        '<bpmn:endEvent id="w_end" /><bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="inner" />'
        '<bpmn:sequenceFlow id="w2" sourceRef="inner" targetRef="w_end" />'
        '<bpmn:subProcess id="nested" triggeredByEvent="true"><bpmn:startEvent id="nested_start">'
        '<bpmn:messageEventDefinition messageRef="M1" /></bpmn:startEvent></bpmn:subProcess></bpmn:subProcess>'
    ).replace('<bpmn:process id="p"', '<bpmn:message id="M1" name="ping" /><bpmn:process id="p"')
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("p.bpmn", xml.encode())])
    assert [(p.element_id, "process itself" in p.message) for p in caught.value.problems] == [("nested_start", True)]
