"""Element metadata (names, triggers, assignment, forms, mappings) is read once per element, as SpiffWorkflow's
parser builds it, and a refusal still names the problems of elements SpiffWorkflow never reached."""
from __future__ import annotations

from collections import Counter

import pytest

from app.engine import BpmnRejected, Engine
from app.engine.parser import metadata

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def diagram(body: str, lanes: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="t">
  <bpmn:message id="m1" name="Paid" />
  <bpmn:process id="p" isExecutable="true">
{lanes}{body}
  </bpmn:process>
</bpmn:definitions>""".encode()


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    body = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">{body}</bpmn:sequenceFlow>'


LOOPING = diagram("\n".join([
    '    <bpmn:startEvent id="start" />',
    flow("f1", "start", "review"),
    '    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="sales" />',
    '    <bpmn:boundaryEvent id="late" attachedToRef="review" cancelActivity="false">'
    '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
    '</bpmn:boundaryEvent>',
    flow("f_late", "late", "remind"),
    '    <bpmn:scriptTask id="remind" scriptFormat="python"><bpmn:script>reminded = True</bpmn:script></bpmn:scriptTask>',
    flow("f_r", "remind", "reminded_end"),
    '    <bpmn:endEvent id="reminded_end" />',
    flow("f2", "review", "ok"),
    '    <bpmn:exclusiveGateway id="ok" default="f_again" />',
    flow("f_again", "ok", "review"),
    flow("f_done", "ok", "sub", "approved == True"),
    '    <bpmn:subProcess id="sub">',
    '      <bpmn:startEvent id="sub_start" />',
    flow("s1", "sub_start", "wait"),
    '      <bpmn:receiveTask id="wait" messageRef="m1" />',
    flow("s2", "wait", "sign"),
    '      <bpmn:userTask id="sign" camunda:assignee="${owner}" />',
    flow("s3", "sign", "sub_end"),
    '      <bpmn:endEvent id="sub_end" />',
    '    </bpmn:subProcess>',
    flow("f3", "sub", "end"),
    '    <bpmn:endEvent id="end" />',
]), lanes='    <bpmn:laneSet id="ls"><bpmn:lane id="lane_sales" name="Sales">'
          '<bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>\n')


@pytest.fixture
def reads(monkeypatch) -> Counter:
    counted: Counter = Counter()
    real = metadata._element_info

    def counting(f, el, *args, **kwargs):
        counted[el.get("id")] += 1
        return real(f, el, *args, **kwargs)

    monkeypatch.setattr(metadata, "_element_info", counting)
    return counted


def test_each_flow_node_is_read_once_through_loops_boundaries_and_sub_processes(reads):
    [model] = Engine().parse([("looping.bpmn", LOOPING)])
    nodes = {"start", "review", "late", "remind", "reminded_end", "ok", "sub", "sub_start", "wait", "sign",
             "sub_end", "end"}
    assert set(model.elements) == nodes
    assert set(reads) == nodes and set(reads.values()) == {1}
    assert model.elements["review"]["candidate_groups"] == ["sales", "Sales"]
    assert model.elements["sign"]["assignee"] == "${owner}"
    assert model.elements["wait"]["trigger"] == {"kind": "message", "name": "Paid"}
    assert model.elements["late"]["trigger"]["kind"] == "timer"
    assert model.elements["ok"]["type"] == "exclusiveGateway"
    assert not any(kind in {"sequenceFlow", "laneSet", "lane"} for kind in (i["type"] for i in model.elements.values()))


def test_the_metadata_is_read_while_spiffworkflow_parses_the_node(monkeypatch):
    """Every reachable node is read from a SpiffWorkflow process parser's parse_node, before its task spec
    exists; nothing is left for the sweep over unreached nodes."""
    from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser

    first: dict[str, tuple[bool, bool]] = {}
    real = metadata.ElementReader.read

    def spying(self, node, filename):
        import inspect
        caller = inspect.stack()[1].frame.f_locals.get("self")
        from_parser = isinstance(caller, ProcessParser)
        first.setdefault(node.get("id"), (from_parser, from_parser and node.get("id") in caller.spec.task_specs))
        return real(self, node, filename)

    monkeypatch.setattr(metadata.ElementReader, "read", spying)
    Engine().parse([("looping.bpmn", LOOPING)])
    assert len(first) == 12
    assert all(from_parser and not had_spec for from_parser, had_spec in first.values()), first


def test_an_element_no_path_reaches_is_still_read_and_its_problems_named():
    xml = diagram("\n".join([
        '    <bpmn:startEvent id="start" />', flow("f1", "start", "end"), '    <bpmn:endEvent id="end" />',
        '    <bpmn:userTask id="island" camunda:assignee="${owner.}" />',
    ]))
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("island.bpmn", xml)])
    [problem] = [p for p in caught.value.problems if p.element_id == "island"]
    [line] = [n for n, text in enumerate(xml.decode().splitlines(), 1) if 'id="island"' in text]
    assert "assignment expression" in problem.message and problem.line == line


def test_a_refused_file_names_the_problems_of_elements_past_the_one_it_stopped_at():
    xml = diagram("\n".join([
        '    <bpmn:startEvent id="start" />', flow("f1", "start", "gate"),
        '    <bpmn:complexGateway id="gate" />', flow("f2", "gate", "approve"),
        '    <bpmn:userTask id="approve" camunda:candidateUsers="${a b}" />', flow("f3", "approve", "end"),
        '    <bpmn:endEvent id="end" />',
    ]))
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("refused.bpmn", xml)])
    by_element = {p.element_id: p.message for p in caught.value.problems}
    assert "gate" in by_element
    assert "assignment expression" in by_element["approve"]
