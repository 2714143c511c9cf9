"""Elements SpiffWorkflow 3.2 cannot execute are refused at deploy, each by line and element id.

Checked against SpiffWorkflow itself: a complex gateway makes it raise "There is no support
implemented for this task type"; a process's conditional start event has no instance to evaluate it
(intermediate and boundary conditional events run: see test_conditional_events.py); an ad-hoc
sub-process fails with a TypeError when run; global tasks and choreographies are never executed.
(Compensation runs: test_compensation.py; what of it cannot run is refused, see test_compensation_refusals.py.)
(Data stores are not among them: they are ignored at run time, as Camunda ignores them.) So each is
named, with what to model instead, and every one of them is listed in the same refusal.
"""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="t">"""


def diagram(body: str, before: str = "", after: str = "") -> bytes:
    """A one-process diagram, one element a line; `before`/`after` are root elements around the process."""
    lines = [HEAD, before, '  <bpmn:process id="p" isExecutable="true">', body,
             "  </bpmn:process>", after, "</bpmn:definitions>"]
    return "\n".join(line for line in lines if line).encode()


def line_of(xml: bytes, element_id: str) -> int:
    [line] = [n for n, text in enumerate(xml.decode().splitlines(), 1) if f'id="{element_id}"' in text]
    return line


def refused(xml: bytes) -> list:
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("unsupported.bpmn", xml)])
    return caught.value.problems


def flow(fid: str, source: str, target: str) -> str:
    return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}" />'


START_TO = lambda target: '    <bpmn:startEvent id="start" />\n' + flow("f_start", "start", target)  # noqa: E731
TO_END = lambda source: flow("f_end", source, "end") + '\n    <bpmn:endEvent id="end" />'  # noqa: E731

CONDITION = '<bpmn:conditionalEventDefinition id="{id}_def"><bpmn:condition>x == 1</bpmn:condition>' \
            '</bpmn:conditionalEventDefinition>'

CASES = {
    "complex gateway": (diagram("\n".join([
        START_TO("gw"),
        '    <bpmn:complexGateway id="gw" default="f_end" />',
        TO_END("gw")])), "gw", "complexGateway", "complex gateway"),
    "conditional start event": (diagram("\n".join([
        f'    <bpmn:startEvent id="cond_start">{CONDITION.format(id="cond_start")}</bpmn:startEvent>',
        TO_END("cond_start")])), "cond_start", "startEvent", "conditional start event"),
    "ad-hoc sub-process": (diagram("\n".join([
        START_TO("adhoc"),
        '    <bpmn:adHocSubProcess id="adhoc"><bpmn:userTask id="call" /><bpmn:userTask id="mail" />'
        '</bpmn:adHocSubProcess>',
        TO_END("adhoc")])), "adhoc", "adHocSubProcess", "ad-hoc sub-process"),
    "global task": (diagram("\n".join([
        START_TO("call_global"),
        '    <bpmn:callActivity id="call_global" calledElement="shared_check" />',
        TO_END("call_global")]),
        before='  <bpmn:globalTask id="shared_check" name="Shared check" />'), "shared_check", "globalTask",
        "global task"),
    "choreography": (diagram("\n".join([START_TO("end"), '    <bpmn:endEvent id="end" />']),
                             after='  <bpmn:choreography id="exchange" />'), "exchange", "choreography",
                     "choreograph"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_unsupported_element_is_refused_by_line_and_id(case):
    xml, element_id, element_type, words = CASES[case]
    [problem] = refused(xml)
    assert problem.file == "unsupported.bpmn"
    assert problem.element_id == element_id
    assert problem.element_type == element_type
    assert problem.line == line_of(xml, element_id)
    assert words in problem.message
    assert "; " in problem.message  # and what to model instead


def test_data_stores_are_not_refused_they_are_ignored_at_run_time():
    xml = diagram("\n".join([START_TO("end"), '    <bpmn:endEvent id="end" />',
                              '    <bpmn:dataStoreReference id="crm_db" dataStoreRef="ledger" />']),
                  before='  <bpmn:dataStore id="ledger" name="Ledger" />')
    [model] = Engine().parse([("stores.bpmn", xml)])
    assert "crm_db" not in model.elements


def test_two_different_unsupported_elements_are_listed_together():
    xml = diagram("\n".join([
        START_TO("gw"),
        '    <bpmn:complexGateway id="gw" default="f_wait" />',
        flow("f_wait", "gw", "wait"),
        '    <bpmn:adHocSubProcess id="wait"><bpmn:userTask id="call" /></bpmn:adHocSubProcess>',
        TO_END("wait")]))
    problems = refused(xml)
    assert [(p.element_id, p.element_type, p.line) for p in problems] == [
        ("gw", "complexGateway", line_of(xml, "gw")), ("wait", "adHocSubProcess", line_of(xml, "wait"))]


def test_unsupported_elements_are_listed_with_the_other_problems_of_the_deployment():
    xml = diagram("\n".join([
        START_TO("gw"),
        '    <bpmn:complexGateway id="gw" default="f_script" />',
        flow("f_script", "gw", "calc"),
        '    <bpmn:scriptTask id="calc"><bpmn:script>total = (</bpmn:script></bpmn:scriptTask>',
        TO_END("calc")]))
    problems = refused(xml)
    assert {p.element_id for p in problems} == {"gw", "calc"}


def test_camunda_diagrams_are_checked_too():
    xml = diagram("\n".join([
        START_TO("gw"),
        '    <bpmn:complexGateway id="gw" default="f_end" camunda:asyncBefore="false" />',
        TO_END("gw")])).replace(b'targetNamespace="t"',
                                b'targetNamespace="t" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')
    [problem] = refused(xml)
    assert (problem.element_id, problem.line) == ("gw", line_of(xml, "gw"))


def test_supported_neighbours_still_deploy_and_run():
    """Data objects, isForCompensation="false" and an inclusive gateway are not refused."""
    xml = diagram("\n".join([
        START_TO("gw"),
        '    <bpmn:inclusiveGateway id="gw" default="f_calc" />',
        flow("f_calc", "gw", "calc"),
        '    <bpmn:scriptTask id="calc" isForCompensation="false"><bpmn:script>total = 2</bpmn:script></bpmn:scriptTask>',
        TO_END("calc"),
        '    <bpmn:dataObject id="order_data" />',
        '    <bpmn:dataObjectReference id="order_ref" dataObjectRef="order_data" />']))
    engine = Engine()
    [model] = engine.parse([("supported.bpmn", xml)])
    wf = engine.new_workflow("p:1", model.dialect, engine.dump_spec(model), {})
    outcome = engine.runner.advance(wf)
    assert outcome.status == "completed"
    assert engine.runner.variables(wf)["total"] == 2
