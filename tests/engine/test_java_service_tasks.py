"""Service tasks Camunda 7 ran in Java (or through a connector) become external tasks, as the Camunda 7 to 8
migration tooling converts them: a worker fetches each by a topic named after the code it replaces.

camunda:class -> the class name; camunda:delegateExpression `${loggerDelegate}` -> `loggerDelegate`;
camunda:expression -> run in the engine when it translates to sandbox Python (storing camunda:resultVariable),
else an external task whose topic is the expression text; camunda:connector -> its connectorId. The same holds
for send tasks, business rule tasks without camunda:decisionRef, and message throw and end events whose
messageEventDefinition names Java code. A service task with no implementation at all is refused by id and line
with what to set. Every run goes straight through and again with a save/restore round trip before each step.
"""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
HEAD = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}" id="d" targetNamespace="t">"""


def diagram(task: str, after: str = "", namespace: str = CAMUNDA) -> bytes:
    """start -> `task` (id "work") -> [after ->] end, one element a line."""
    lines = [HEAD.replace(CAMUNDA, namespace), '  <bpmn:process id="p" isExecutable="true">',
             '    <bpmn:startEvent id="start" />',
             '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />',
             "    " + task]
    if after:
        lines += ["    " + after, '    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="next" />',
                  '    <bpmn:sequenceFlow id="f3" sourceRef="next" targetRef="end" />']
    else:
        lines.append('    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />')
    lines += ['    <bpmn:endEvent id="end" />', "  </bpmn:process>", "</bpmn:definitions>"]
    return "\n".join(lines).encode()


def parse(xml: bytes):
    [model] = Engine().parse([("java.bpmn", xml)])
    return model


def refused(xml: bytes) -> list:
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("java.bpmn", xml)])
    return caught.value.problems


class Run:
    """One instance with its external tasks held for a worker, saved and restored before each step when asked."""

    def __init__(self, xml: bytes, roundtrip: bool, data: dict | None = None):
        self.engine = Engine()
        [self.model] = self.engine.parse([("java.bpmn", xml)])
        self.roundtrip = roundtrip
        self.external = {eid: e["external"] for eid, e in self.model.elements.items() if e.get("external")}
        self.spec_json = self.engine.dump_spec(self.model)
        self.wf = self.engine.new_workflow("p:1", self.model.dialect, self.spec_json, data)
        self.engine.runner.hold(self.wf, set(self.external))
        self.outcome = self.engine.runner.advance(self.wf)

    def _restore(self):
        if self.roundtrip:
            state = self.engine.dump(self.model.dialect, self.wf)
            self.wf = self.engine.load("p:1", self.model.dialect, self.spec_json, state)
            self.engine.runner.hold(self.wf, set(self.external))

    def held(self) -> list[str]:
        return sorted(self.outcome.held.values())

    def work(self, element_id: str, variables: dict):
        """Complete the held task of `element_id` as a worker would."""
        [task_id] = [tid for tid, eid in self.outcome.held.items() if eid == element_id]
        self._restore()
        self.outcome = self.engine.runner.complete_held(self.wf, task_id, variables)
        return self.outcome


@pytest.fixture(params=[False, True], ids=["straight", "save-restore"])
def roundtrip(request) -> bool:
    return request.param


@pytest.mark.parametrize("attributes, implementation, topic", [
    ('camunda:class="org.example.LoggerDelegate"', "camunda:class", "org.example.LoggerDelegate"),
    ('camunda:delegateExpression="${loggerDelegate}"', "camunda:delegateExpression", "loggerDelegate"),
    ('camunda:delegateExpression="#{ beans.logger }"', "camunda:delegateExpression", "beans.logger"),
    ('camunda:expression="${mailer.send(customer)}"', "camunda:expression", "mailer.send(customer)"),
], ids=["class", "delegate-bean", "delegate-expression", "method-expression"])
def test_java_code_names_the_topic_of_an_external_task(attributes, implementation, topic):
    model = parse(diagram(f'<bpmn:serviceTask id="work" name="Log it" {attributes} />'))

    assert model.elements["work"]["external"] == {"topic": topic, "implementation": implementation}
    assert model.elements["work"]["name"] == "Log it"
    assert type(model.spec.task_specs["work"]).__name__ == "ExternalTask"


def test_a_connector_is_an_external_task_fetched_by_its_connector_id():
    task = ('<bpmn:serviceTask id="work"><bpmn:extensionElements><camunda:connector>'
            '<camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>'
            '</bpmn:extensionElements></bpmn:serviceTask>')
    model = parse(diagram(task))

    assert model.elements["work"]["external"] == {"topic": "http-connector", "implementation": "camunda:connector"}


def test_camunda_type_external_keeps_its_own_topic():
    model = parse(diagram('<bpmn:serviceTask id="work" camunda:type="external" camunda:topic="invoice" />'))

    assert model.elements["work"]["external"] == {"topic": "invoice"}


def test_a_task_run_by_a_java_delegate_waits_for_its_worker_and_carries_on_with_its_variables(roundtrip):
    xml = diagram('<bpmn:serviceTask id="work" camunda:delegateExpression="${scoreDelegate}" />',
                  after='<bpmn:scriptTask id="next"><bpmn:script>doubled = score * 2</bpmn:script></bpmn:scriptTask>')
    run = Run(xml, roundtrip)

    waiting = run.outcome
    done = run.work("work", {"score": 21})

    assert waiting.status == "running" and run.external["work"]["topic"] == "scoreDelegate"
    assert sorted(waiting.held.values()) == ["work"] and waiting.open_tasks == []
    assert done.status == "completed"
    assert done.variables["doubled"] == 42


def test_a_translatable_expression_runs_in_the_engine_and_stores_its_result_variable(roundtrip):
    xml = diagram('<bpmn:serviceTask id="work" name="Total" camunda:expression="${price * quantity}" '
                  'camunda:resultVariable="total" />')
    run = Run(xml, roundtrip, {"price": 5, "quantity": 3})

    assert run.external == {}
    assert run.outcome.status == "completed"
    assert run.outcome.variables["total"] == 15
    assert [e["element_type"] for e in run.outcome.events if e.get("element_id") == "work"][0] == "ScriptTask"


def test_a_translatable_expression_without_result_variable_runs_and_stores_nothing(roundtrip):
    run = Run(diagram('<bpmn:serviceTask id="work" camunda:expression="${price > 3}" />'), roundtrip, {"price": 5})

    assert run.outcome.status == "completed"
    assert set(run.outcome.variables) == {"price"}


def test_a_failing_in_process_expression_is_an_incident_at_the_service_task():
    run = Run(diagram('<bpmn:serviceTask id="work" camunda:expression="${missing + 1}" camunda:resultVariable="x" />'),
              False)

    assert run.outcome.status == "error"
    assert run.outcome.incident.element_id == "work"


def test_a_result_variable_that_is_not_a_name_is_refused_by_line_and_id():
    xml = diagram('<bpmn:serviceTask id="work" camunda:expression="${1 + 1}" camunda:resultVariable="a-b" />')
    [problem] = refused(xml)

    assert (problem.element_id, problem.line) == ("work", 6)
    assert "resultVariable 'a-b'" in problem.message


@pytest.mark.parametrize("task", [
    '<bpmn:sendTask id="work" camunda:class="org.example.SendMail" />',
    '<bpmn:businessRuleTask id="work" camunda:class="org.example.SendMail" />',
], ids=["send-task", "business-rule-task"])
def test_send_and_business_rule_tasks_run_by_java_are_external_tasks(task, roundtrip):
    run = Run(diagram(task), roundtrip)

    assert run.external["work"]["topic"] == "org.example.SendMail"
    assert run.held() == ["work"]
    assert run.work("work", {"sent": True}).status == "completed"


def test_a_message_throw_event_sent_by_java_code_is_an_external_task(roundtrip):
    xml = diagram('<bpmn:intermediateThrowEvent id="work"><bpmn:messageEventDefinition id="m" '
                  'camunda:delegateExpression="${notifier}" /></bpmn:intermediateThrowEvent>')
    run = Run(xml, roundtrip)

    assert run.external["work"] == {"topic": "notifier", "implementation": "camunda:delegateExpression"}
    assert run.held() == ["work"]
    assert run.work("work", {}).status == "completed"


def test_a_message_end_event_sent_by_java_code_is_an_external_task(roundtrip):
    xml = "\n".join([HEAD, '  <bpmn:process id="p" isExecutable="true">', '    <bpmn:startEvent id="start" />',
                     '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="done" />',
                     '    <bpmn:endEvent id="done"><bpmn:messageEventDefinition id="m" '
                     'camunda:class="org.example.Notify" /></bpmn:endEvent>',
                     "  </bpmn:process>", "</bpmn:definitions>"]).encode()
    run = Run(xml, roundtrip)

    assert run.held() == ["done"]
    assert run.work("done", {}).status == "completed"


def test_a_plain_send_task_still_throws_its_message():
    model = parse(diagram('<bpmn:sendTask id="work" />'))

    assert "external" not in model.elements["work"]
    assert type(model.spec.task_specs["work"]).__name__ == "SendTask"


@pytest.mark.parametrize("namespace", [CAMUNDA, "http://activiti.org/bpmn"], ids=["camunda", "activiti"])
def test_the_older_activiti_namespace_is_read_as_camunda(namespace):
    model = parse(diagram('<bpmn:serviceTask id="work" camunda:delegateExpression="#{archiveService}" />',
                          namespace=namespace))

    assert model.dialect == "camunda"
    assert model.elements["work"]["external"]["topic"] == "archiveService"


@pytest.mark.parametrize("head", [HEAD, HEAD.replace(f' xmlns:camunda="{CAMUNDA}"', "")], ids=["camunda", "spiff"])
def test_a_service_task_without_implementation_is_refused_with_what_to_set(head):
    xml = diagram('<bpmn:serviceTask id="work" name="Archive" />').replace(HEAD.encode(), head.encode())
    [problem] = refused(xml)

    assert (problem.element_id, problem.line) == ("work", 6)
    assert "has no implementation" in problem.message
    assert 'camunda:type="external"' in problem.message and "script task" in problem.message


def test_a_translatable_expression_on_a_message_throw_event_stays_its_payload():
    xml = diagram('<bpmn:intermediateThrowEvent id="work"><bpmn:messageEventDefinition id="m" '
                  'camunda:expression="${order}" /></bpmn:intermediateThrowEvent>')
    model = parse(xml)

    assert "external" not in model.elements["work"]
    assert type(model.spec.task_specs["work"]).__name__ == "IntermediateThrowEvent"
