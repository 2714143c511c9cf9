"""Constructs BPMN 2.0 allows and SpiffWorkflow does not parse, read as BPMN defines them.

Several outgoing flows of a task are a fork (parallel, or inclusive when a flow has a condition); a sub-process
without start or end events starts at its first nodes and ends at its last; a QName reference
(`messageRef="bpmn:Message_1"`) names the element with that id; a nameless message is known by its id; receive
and send tasks of Camunda diagrams carry the message definition SpiffWorkflow's Camunda serializer stores. Each
scenario runs straight and with a save/restore round trip before each step.
"""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

SPIFF_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">"""
CAMUNDA_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">"""


def diagram(*lines: str, head: str = SPIFF_HEAD, before: str = "") -> bytes:
    return "\n".join(line for line in [head, before, '  <bpmn:process id="p" isExecutable="true">', *lines,
                                        "  </bpmn:process>", "</bpmn:definitions>"] if line).encode()


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}" />'
    return (f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
            f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>")


def script(sid: str, code: str) -> str:
    return f'    <bpmn:scriptTask id="{sid}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


class Run:
    def __init__(self, xml: bytes, roundtrip: bool, data: dict | None = None):
        self.engine = Engine()
        [self.model] = self.engine.parse([("lenient.bpmn", xml)])
        self.roundtrip = roundtrip
        self.spec_json = self.engine.dump_spec(self.model)
        self.wf = self.engine.new_workflow("p:1", self.model.dialect, self.spec_json, data)
        self.outcome = self.engine.runner.advance(self.wf)
        self.events = list(self.outcome.events)

    def _restore(self):
        if self.roundtrip:
            state = self.engine.dump(self.model.dialect, self.wf)
            self.wf = self.engine.load("p:1", self.model.dialect, self.spec_json, state)

    def complete(self, element_id: str, data: dict | None = None):
        [task] = [t for t in self.outcome.open_tasks if t.element_id == element_id]
        self._restore()
        self.outcome = self.engine.runner.complete(self.wf, task.id, data or {})
        self.events += self.outcome.events
        return self.outcome

    def deliver(self, name: str, variables: dict):
        self._restore()
        self.outcome = self.engine.runner.deliver(self.wf, "message", name, variables)
        self.events += self.outcome.events
        return self.outcome

    def ran(self) -> set[str]:
        return {e["element_id"] for e in self.events if e["type"] == "element_left"}


@pytest.fixture(params=[False, True], ids=["straight", "save-restore"])
def roundtrip(request) -> bool:
    return request.param


# -- forks drawn without a gateway ------------------------------------------------------------------------------------

def test_several_unconditioned_flows_out_of_a_task_run_in_parallel_and_join_after(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "review"),
                  '    <bpmn:userTask id="review" />', flow("f1", "review", "left"), flow("f2", "review", "right"),
                  script("left", "a = 1"), script("right", "b = 2"),
                  flow("f3", "left", "join"), flow("f4", "right", "join"),
                  '    <bpmn:parallelGateway id="join" />', flow("f5", "join", "end"), '    <bpmn:endEvent id="end" />')
    run = Run(xml, roundtrip)

    done = run.complete("review")

    assert run.model.elements["review_fork"]["type"] == "parallelGateway"
    assert done.status == "completed"
    assert {"left", "right"} <= run.ran()
    assert (done.variables["a"], done.variables["b"]) == (1, 2)


@pytest.mark.parametrize("amount, expected", [(5, {"small", "always"}), (500, {"big", "always"})])
def test_conditioned_flows_out_of_a_task_are_taken_when_true_and_unconditioned_ones_always(roundtrip, amount, expected):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "check"),
                  script("check", "checked = True"),
                  flow("f1", "check", "small", "amount &lt; 100"), flow("f2", "check", "big", "amount &gt;= 100"),
                  flow("f3", "check", "always"),
                  script("small", "s = 1"), script("big", "s = 2"), script("always", "x = 1"),
                  flow("f4", "small", "e1"), flow("f5", "big", "e2"), flow("f6", "always", "e3"),
                  '    <bpmn:endEvent id="e1" />', '    <bpmn:endEvent id="e2" />', '    <bpmn:endEvent id="e3" />')
    run = Run(xml, roundtrip, {"amount": amount})

    assert run.model.elements["check_fork"]["type"] == "inclusiveGateway"
    assert run.outcome.status == "completed"
    assert run.ran() & {"small", "big", "always"} == expected


def test_the_default_flow_of_a_task_is_taken_when_no_condition_holds(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "check"),
                  '    <bpmn:scriptTask id="check" default="f2"><bpmn:script>c = 1</bpmn:script></bpmn:scriptTask>',
                  flow("f1", "check", "special", "amount &gt; 1000"), flow("f2", "check", "usual"),
                  script("special", "s = 1"), script("usual", "u = 1"),
                  flow("f3", "special", "e1"), flow("f4", "usual", "e2"),
                  '    <bpmn:endEvent id="e1" />', '    <bpmn:endEvent id="e2" />')
    run = Run(xml, roundtrip, {"amount": 5})

    assert run.outcome.status == "completed"
    assert run.ran() & {"special", "usual"} == {"usual"}


# -- sub-processes without start or end events ----------------------------------------------------------------------------

def test_a_sub_process_without_start_and_end_events_runs_its_first_nodes_and_ends_at_its_last(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "sub"),
                  '    <bpmn:subProcess id="sub">', script("one", "one = 1"), script("two", "two = 2"),
                  flow("s1", "one", "three"), script("three", "three = 3"), "    </bpmn:subProcess>",
                  flow("f1", "sub", "end"), '    <bpmn:endEvent id="end" />')
    run = Run(xml, roundtrip)

    assert run.outcome.status == "completed"
    assert {"one", "two", "three", "sub"} <= run.ran()
    assert run.outcome.variables["three"] == 3


def test_an_empty_sub_process_completes_at_once(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "sub"),
                  '    <bpmn:subProcess id="sub" />', flow("f1", "sub", "end"), '    <bpmn:endEvent id="end" />')
    run = Run(xml, roundtrip)

    assert run.outcome.status == "completed" and "sub" in run.ran()


# -- messages --------------------------------------------------------------------------------------------------------------

def test_a_camunda_receive_task_waits_for_its_message_and_a_send_task_deploys(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "notify"),
                  '    <bpmn:sendTask id="notify" messageRef="m_sent" />', flow("f1", "notify", "wait"),
                  '    <bpmn:receiveTask id="wait" messageRef="m_answer" />', flow("f2", "wait", "end"),
                  '    <bpmn:endEvent id="end" />', head=CAMUNDA_HEAD,
                  before='  <bpmn:message id="m_answer" name="answer" />\n  <bpmn:message id="m_sent" name="sent" />')
    run = Run(xml, roundtrip)
    waits = run.outcome.waits

    done = run.deliver("answer", {"reply": "yes"})

    assert run.model.dialect == "camunda"
    assert [(w["kind"], w["name"], w["element_id"]) for w in waits] == [("message", "answer", "wait")]
    assert done.status == "completed" and done.variables["reply"] == "yes"


@pytest.mark.parametrize("reference", ["bpmn:m_answer", "m_answer"], ids=["qname", "id"])
def test_a_message_reference_written_as_a_qname_names_the_message_with_that_id(reference):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "wait"),
                  '    <bpmn:intermediateCatchEvent id="wait">'
                  f'<bpmn:messageEventDefinition messageRef="{reference}" /></bpmn:intermediateCatchEvent>',
                  flow("f1", "wait", "end"), '    <bpmn:endEvent id="end" />',
                  before='  <bpmn:message id="m_answer" name="answer" />')
    run = Run(xml, False)

    assert [w["name"] for w in run.outcome.waits] == ["answer"]


def test_a_message_without_a_name_is_known_by_its_id(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "wait"),
                  '    <bpmn:intermediateCatchEvent id="wait">'
                  '<bpmn:messageEventDefinition messageRef="Message_7" /></bpmn:intermediateCatchEvent>',
                  flow("f1", "wait", "end"), '    <bpmn:endEvent id="end" />',
                  before='  <bpmn:message id="Message_7" />')
    run = Run(xml, roundtrip)
    waits = [w["name"] for w in run.outcome.waits]

    assert waits == ["Message_7"]
    assert run.deliver("Message_7", {}).status == "completed"


def test_a_reference_to_no_message_is_refused_by_line_and_element():
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "wait"),
                  '    <bpmn:intermediateCatchEvent id="wait">'
                  '<bpmn:messageEventDefinition messageRef="nowhere" /></bpmn:intermediateCatchEvent>',
                  flow("f1", "wait", "end"), '    <bpmn:endEvent id="end" />')
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("lenient.bpmn", xml)])

    [problem] = caught.value.problems
    assert (problem.element_id, problem.line) == ("wait", 6)
    assert "messageRef 'nowhere' names no bpmn:message of this file" in problem.message


def test_a_camunda_message_thrown_without_a_payload_expression_is_thrown(roundtrip):
    xml = diagram('    <bpmn:startEvent id="start" />', flow("f0", "start", "tell"),
                  '    <bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition messageRef="m" />'
                  '</bpmn:intermediateThrowEvent>', flow("f1", "tell", "end"),
                  '    <bpmn:endEvent id="end"><bpmn:messageEventDefinition messageRef="m" /></bpmn:endEvent>',
                  head=CAMUNDA_HEAD, before='  <bpmn:message id="m" name="told" />')
    run = Run(xml, roundtrip)

    assert run.outcome.status == "completed", run.outcome.incident
    assert {"tell", "end"} <= run.ran()
