"""What SpiffWorkflow refuses with its own words (or an unrelated TypeError) is refused with the element, its line,
what is wrong and what to write instead: scripts in other languages, conditions that are prose, XPath or FEEL names
with spaces, timers without a time, multi-instance activities without a collection, call activities whose process is not deployed."""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t"{attrs}>"""


def diagram(*lines: str, attrs: str = "") -> bytes:
    """start -> the lines -> ..., one element a line; the first line of `lines` is line 5."""
    return "\n".join([HEAD.format(attrs=attrs), '  <bpmn:process id="p" isExecutable="true">',
                      '    <bpmn:startEvent id="start" />', *lines, "  </bpmn:process>",
                      "</bpmn:definitions>"]).encode()


def refused(xml: bytes, *more: tuple[str, bytes]) -> list:
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("refused.bpmn", xml), *more])
    return caught.value.problems


def flow(fid, source, target, condition=None, language=None):
    if condition is None:
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}" />'
    lang = f' xsi:type="bpmn:tFormalExpression" language="{language}"' if language else ""
    return (f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"><bpmn:conditionExpression'
            f'{lang}>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')


@pytest.mark.parametrize("attributes, said, advice", [
    ('scriptFormat="groovy"><bpmn:script>println "hi"</bpmn:script>', "scriptFormat 'groovy' is not supported",
     "JavaScript"),
    ('scriptFormat="javascript"><bpmn:script>var d = Java.type("java.util.Date");</bpmn:script>',
     "Java.type cannot run", "plain JavaScript"),
    ('scriptFormat="python" camunda:resource="deployment://x.py">', "camunda:resource='deployment://x.py'", "inline"),
    ('scriptFormat="javascript" camunda:resource="deployment://x.js">', "camunda:resource='deployment://x.js'",
     "inline"),
    ('scriptFormat="python">', "a script task needs a script", "bpmn:script"),
], ids=["groovy", "javascript-with-java", "resource", "javascript-resource", "empty"])
def test_a_script_that_cannot_run_is_refused_with_what_to_write(attributes, said, advice):
    [problem] = refused(diagram(flow("f0", "start", "s"), f'    <bpmn:scriptTask id="s" {attributes}</bpmn:scriptTask>',
                                flow("f1", "s", "end"), '    <bpmn:endEvent id="end" />'))

    assert (problem.element_id, problem.line) == ("s", 6)
    assert said in problem.message
    assert advice in problem.message


def gateway(condition: str, language: str | None = None, attrs: str = "") -> bytes:
    return diagram(flow("f0", "start", "g"), '    <bpmn:exclusiveGateway id="g" default="f2" />',
                   flow("f1", "g", "e1", condition, language), flow("f2", "g", "e2"),
                   '    <bpmn:endEvent id="e1" />', '    <bpmn:endEvent id="e2" />', attrs=attrs)


@pytest.mark.parametrize("condition, language, said", [
    ("Service Level == 'Premium'", None, "is not an expression ('Service Level' is not a variable name): descriptive"),
    ("bpmn:getDataObject('approved')", None, "is XPath (bpmn:getDataObject"),
    ('Vacation Approval = "Approved"', "https://www.omg.org/spec/DMN/20191111/FEEL/",
     "the name 'Vacation Approval' has spaces"),
], ids=["prose", "xpath", "feel-with-spaces"])
def test_a_condition_that_is_not_an_expression_says_what_it_is(condition, language, said):
    [problem] = refused(gateway(condition, language))

    assert (problem.element_id, problem.line) == ("f1", 7)
    assert said in problem.message


def test_an_exclusive_flow_without_condition_is_not_refused_camunda_takes_it_as_true():
    xml = diagram(flow("f0", "start", "g"), '    <bpmn:exclusiveGateway id="g" />', flow("f1", "g", "e1", "x"),
                  flow("f2", "g", "e2"), '    <bpmn:endEvent id="e1" />', '    <bpmn:endEvent id="e2" />')
    [model] = Engine().parse([("taken.bpmn", xml)])  # run: tests/engine/test_standard_reading.py
    assert model.key == "p"


def test_a_timer_without_a_time_definition_is_named_with_the_ways_to_give_it_one():
    xml = diagram(flow("f0", "start", "wait"),
                  '    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition /></bpmn:intermediateCatchEvent>',
                  flow("f1", "wait", "end"), '    <bpmn:endEvent id="end" />')
    [problem] = refused(xml)

    assert (problem.element_id, problem.line) == ("wait", 6)
    assert "timer event 'wait' has no time definition" in problem.message
    assert "timeDuration" in problem.message and "timeCycle" in problem.message


def test_a_multi_instance_without_cardinality_or_collection_says_what_to_set():
    xml = diagram(flow("f0", "start", "t"),
                  '    <bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics /></bpmn:userTask>',
                  flow("f1", "t", "end"), '    <bpmn:endEvent id="end" />')
    [problem] = refused(xml)

    assert (problem.element_id, problem.line) == ("t", 6)
    assert "loopCardinality" in problem.message and "camunda:collection" in problem.message


def test_a_call_activity_whose_process_is_not_deployed_is_named_by_line_and_id():
    xml = diagram(flow("f0", "start", "call"), '    <bpmn:callActivity id="call" calledElement="billing" />',
                  flow("f1", "call", "end"), '    <bpmn:endEvent id="end" />')
    [problem] = refused(xml)

    assert (problem.element_id, problem.line) == ("call", 6)
    assert "calls process 'billing', which is not in this deployment" in problem.message


def test_the_called_process_deployed_in_another_file_of_the_deployment_is_found():
    caller = diagram(flow("f0", "start", "call"), '    <bpmn:callActivity id="call" calledElement="billing" />',
                     flow("f1", "call", "end"), '    <bpmn:endEvent id="end" />')
    called = diagram(flow("f0", "start", "end"), '    <bpmn:endEvent id="end" />').replace(b'id="p"', b'id="billing"')

    models = Engine().parse([("caller.bpmn", caller), ("billing.bpmn", called)])

    assert sorted(m.key for m in models) == ["billing", "p"]
