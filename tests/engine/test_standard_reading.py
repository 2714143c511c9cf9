"""What modelers draw, run as BPMN 2.0 and Camunda 7 define it where SpiffWorkflow 3.2 reads it otherwise.

Ids that are SpiffWorkflow's own task names, a loop through a timer without a gateway, an event sub-process
without an end event, an exclusive gateway's flow without a condition, data stores, vendor attributes that
share a BPMN attribute's name, and diagrams that mix the Camunda and SpiffWorkflow dialects. Each scenario
runs straight and with a save/restore round trip before each step.
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from app.engine import BpmnRejected, Engine

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {namespaces} id="d" targetNamespace="t">
{before}  <bpmn:process id="p" isExecutable="{executable}">
{body}
  </bpmn:process>
</bpmn:definitions>
"""
CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
VENDOR = 'xmlns:acme="urn:acme:modeler"'


def diagram(*lines: str, namespaces: str = CAMUNDA, before: str = "", executable: str = "true") -> str:
    return HEAD.format(namespaces=namespaces, before=before, executable=executable, body="\n".join(lines))


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}" />'
    return (f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
            f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>")


def write(tmp_path, text: str, name: str = "drawn.bpmn"):
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(text: str, name: str = "drawn.bpmn", *others) -> list:
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([(name, text.encode()), *others])
    return caught.value.problems


def left(run_outcomes) -> list[str]:
    return [e["element_id"] for o in run_outcomes for e in o.events if e["type"] == "element_left"]


# -- ids that are SpiffWorkflow's own task names -------------------------------------------------------------------

RESERVED = diagram('    <bpmn:startEvent id="Start" />', flow("f1", "Start", "Root"),
                   '    <bpmn:userTask id="Root" name="Check" />', flow("f2", "Root", "p.EndJoin"),
                   '    <bpmn:scriptTask id="p.EndJoin"><bpmn:script>checked = True</bpmn:script></bpmn:scriptTask>',
                   flow("f3", "p.EndJoin", "End"), '    <bpmn:endEvent id="End" />')


def test_elements_named_like_spiffworkflows_own_tasks_run_and_keep_their_ids(start, tmp_path):
    run = start(write(tmp_path, RESERVED))
    started = run.last
    assert run.open_elements() == ["Root"]

    done = run.complete("Root")

    assert done.status == "completed" and done.variables["checked"] is True
    assert left([started, done]) == ["Start", "Root", "p.EndJoin", "End"]
    assert set(run.model.elements) >= {"Start", "Root", "p.EndJoin", "End"}


def test_a_problem_on_a_renamed_element_names_the_modelers_id():
    text = RESERVED.replace("checked = True", "checked = = True")
    [problem] = refusal(text)
    assert problem.element_id == "p.EndJoin" and problem.line == 8


# -- a loop through a timer, without a gateway ---------------------------------------------------------------------

LOOP = diagram('    <bpmn:startEvent id="s" />', flow("f1", "s", "call"),
               '    <bpmn:userTask id="call" name="Call the customer" />', flow("f2", "call", "wait"),
               '    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
               '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
               flow("f3", "wait", "call"))


def test_a_task_timer_loop_without_a_gateway_runs_round_after_round(start, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with time_machine.travel(now, tick=False) as clock:
        run = start(write(tmp_path, LOOP))
        for round_ in range(1, 6):
            assert run.open_elements() == ["call"], round_
            waiting = run.complete("call")
            assert waiting.status == "running" and waiting.open_tasks == []
            assert [w["element_id"] for w in waiting.waits] == ["wait"]
            clock.shift(dt.timedelta(hours=1, seconds=1))
            run._restore()
            run.last = run.engine.runner.fire_timers(run.wf)
        assert run.open_elements() == ["call"]


# -- an event sub-process without an end event ---------------------------------------------------------------------

EVENT_SUB = diagram(
    '    <bpmn:startEvent id="s" />', flow("f1", "s", "work"), '    <bpmn:userTask id="work" />',
    flow("f2", "work", "e"), '    <bpmn:endEvent id="e" />',
    '    <bpmn:subProcess id="reminder" triggeredByEvent="true">',
    '      <bpmn:startEvent id="after_a_day" isInterrupting="false"><bpmn:timerEventDefinition>'
    '<bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>',
    '      <bpmn:scriptTask id="remind"><bpmn:script>reminded = True</bpmn:script></bpmn:scriptTask>',
    '      <bpmn:sequenceFlow id="r1" sourceRef="after_a_day" targetRef="remind" />',
    '    </bpmn:subProcess>')


def test_an_event_subprocess_without_an_end_event_runs_and_ends_where_its_flows_end(start, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with time_machine.travel(now, tick=False) as clock:
        run = start(write(tmp_path, EVENT_SUB))
        assert run.open_elements() == ["work"]
        clock.shift(dt.timedelta(days=1, seconds=1))
        run._restore()
        reminded = run.engine.runner.fire_timers(run.wf)
        run.last = reminded
        assert "remind" in left([reminded]) and run.open_elements() == ["work"]

        done = run.complete("work")

    assert done.status == "completed" and done.variables["reminded"] is True


# -- exclusive gateways: a flow without a condition, as Camunda takes it -------------------------------------------

def gateway(*outgoing: str, default: str | None = None) -> str:
    attrs = f' default="{default}"' if default else ""
    return diagram('    <bpmn:startEvent id="s" />', flow("f0", "s", "g"),
                   f'    <bpmn:exclusiveGateway id="g"{attrs} />', *outgoing,
                   *[f'    <bpmn:scriptTask id="{t}"><bpmn:script>route = "{t}"</bpmn:script></bpmn:scriptTask>'
                     for t in ("big", "small", "other")],
                   flow("e1", "big", "e"), flow("e2", "small", "e"), flow("e3", "other", "e"),
                   '    <bpmn:endEvent id="e" />')


@pytest.mark.parametrize(("amount", "route"), [(5000, "big"), (10, "small")])
def test_a_flow_without_a_condition_is_taken_when_no_earlier_condition_holds(start, tmp_path, amount, route):
    text = gateway(flow("to_big", "g", "big", "${amount > 1000}"), flow("to_small", "g", "small"))
    run = start(write(tmp_path, text), data={"amount": amount})
    assert run.last.status == "completed" and run.last.variables["route"] == route


def test_flows_are_taken_in_the_order_they_are_written_not_by_their_drawn_height(start, tmp_path):
    # The unconditioned flow comes first: Camunda takes it whatever the later condition says.
    text = gateway(flow("to_small", "g", "small"), flow("to_big", "g", "big", "${amount > 1000}"))
    run = start(write(tmp_path, text), data={"amount": 5000})
    assert run.last.variables["route"] == "small"


def test_the_default_flow_stays_the_else_branch(start, tmp_path):
    text = gateway(flow("to_big", "g", "big", "${amount > 1000}"), flow("to_small", "g", "small", "${amount &lt; 100}"),
                   flow("to_other", "g", "other"), default="to_other")
    run = start(write(tmp_path, text), data={"amount": 500})
    assert run.last.variables["route"] == "other"


def test_a_vendor_attribute_named_default_is_not_the_gateways_default(start, tmp_path):
    text = gateway(flow("to_big", "g", "big", "${amount > 1000}"), flow("to_small", "g", "small", "${amount &lt;= 1000}"))
    text = text.replace('<bpmn:exclusiveGateway id="g" />', '<bpmn:exclusiveGateway id="g" acme:default="to_big" />')
    text = text.replace(CAMUNDA, f"{CAMUNDA} {VENDOR}")
    run = start(write(tmp_path, text), data={"amount": 10})
    assert run.last.variables["route"] == "small"


def test_a_default_attribute_of_a_vendor_element_is_not_read_as_a_flow_reference(start, tmp_path):
    text = gateway(flow("to_big", "g", "big", "${amount > 1000}"), flow("to_small", "g", "small"))
    text = text.replace('<bpmn:exclusiveGateway id="g" />', '<bpmn:exclusiveGateway id="g"><bpmn:extensionElements>'
                        '<acme:hint default="nowhere" isForCompensation="true" /></bpmn:extensionElements>'
                        '</bpmn:exclusiveGateway>')
    run = start(write(tmp_path, text.replace(CAMUNDA, f"{CAMUNDA} {VENDOR}")), data={"amount": 10})
    assert run.last.variables["route"] == "small"


# -- data stores -----------------------------------------------------------------------------------------------------

STORE = ('    <bpmn:dataStoreReference id="crm_ref" dataStoreRef="crm" />',
         '    <bpmn:association id="note" sourceRef="crm_ref" targetRef="s" />')


def test_data_stores_are_ignored_at_run_time(start, tmp_path):
    text = diagram('    <bpmn:startEvent id="s" />', flow("f1", "s", "save"),
                   '    <bpmn:scriptTask id="save"><bpmn:dataOutputAssociation id="out"><bpmn:targetRef>crm_ref'
                   '</bpmn:targetRef></bpmn:dataOutputAssociation><bpmn:script>saved = 1</bpmn:script></bpmn:scriptTask>',
                   flow("f2", "save", "e"), '    <bpmn:endEvent id="e" />', *STORE,
                   before='  <bpmn:dataStore id="crm" name="CRM database" />\n')
    run = start(write(tmp_path, text))
    assert run.last.status == "completed" and run.last.variables["saved"] == 1


def test_a_non_executable_model_with_a_data_store_is_refused_for_being_non_executable():
    text = diagram('    <bpmn:startEvent id="s" />', *STORE, executable="false",
                   before='  <bpmn:dataStore id="crm" name="CRM database" />\n')
    [problem] = refusal(text)
    assert "is not executable" in problem.message and problem.element_id == "p"


# -- dialects -------------------------------------------------------------------------------------------------------

SPIFF_TASK = ('    <bpmn:userTask id="review"><bpmn:extensionElements><spiffworkflow:preScript>prepared = True'
              '</spiffworkflow:preScript></bpmn:extensionElements></bpmn:userTask>')


def test_a_declared_but_unused_camunda_namespace_keeps_spiffworkflow_extensions(start, tmp_path):
    text = diagram('    <bpmn:startEvent id="s" />', flow("f1", "s", "review"), SPIFF_TASK, flow("f2", "review", "e"),
                   '    <bpmn:endEvent id="e" />', namespaces=f"{CAMUNDA} {SPIFF}")
    run = start(write(tmp_path, text))
    assert run.model.dialect == "spiff"
    assert run.task("review").data["prepared"] is True


def test_a_diagram_mixing_dialects_is_refused_naming_the_line_that_forces_the_choice():
    text = diagram('    <bpmn:startEvent id="s" />', flow("f1", "s", "review"), SPIFF_TASK, flow("f2", "review", "call"),
                   '    <bpmn:userTask id="call" camunda:assignee="olga" />', flow("f3", "call", "e"),
                   '    <bpmn:endEvent id="e" />', namespaces=f"{CAMUNDA} {SPIFF}")
    [problem] = refusal(text)
    assert (problem.line, problem.element_id) == (8, "call")
    assert "mixes dialects" in problem.message and "camunda:assignee" in problem.message
    assert "spiffworkflow:preScript (line 6)" in problem.message
