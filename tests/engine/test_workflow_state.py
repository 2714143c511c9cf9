"""The run-time state a workflow carries (`StagecoachWorkflow`): set by the runner, never serialized, set
again after a load; read from sub-process workflows through their top workflow."""
from __future__ import annotations

import json

import pytest

from app.engine import Engine, RunSettings, StagecoachWorkflow
from app.engine.serializer import SERIALIZERS

from ..factories import fixture

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NESTED_IO = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="d" targetNamespace="t">
  <bpmn:process id="nested" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub" />
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="sub_start" />
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="double" />
      <bpmn:scriptTask id="double" scriptFormat="python">
        <bpmn:extensionElements>
          <camunda:inputOutput>
            <camunda:inputParameter name="x">${{order.total}}</camunda:inputParameter>
            <camunda:outputParameter name="doubled">${{y}}</camunda:outputParameter>
          </camunda:inputOutput>
        </bpmn:extensionElements>
        <bpmn:script>y = x * 2</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:sequenceFlow id="s2" sourceRef="double" targetRef="sub_end" />
      <bpmn:endEvent id="sub_end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def engine() -> Engine:
    return Engine()


def deploy(engine: Engine, name: str, xml: bytes):
    [model] = engine.parse([(name, xml)])
    return model, f"{model.key}:{model.content_hash}", engine.dump_spec(model)


def test_a_new_workflow_is_a_stagecoach_workflow_with_empty_run_time_state(engine):
    path = fixture("valid", "parallel_tasks.bpmn")
    model, definition_id, spec_json = deploy(engine, path.name, path.read_bytes())

    wf = engine.new_workflow(definition_id, model.dialect, spec_json, {"deal": "ACME"})

    assert isinstance(wf, StagecoachWorkflow)
    assert (wf.hold_before, wf.hold_after, wf.released, wf.io_mappings) == (set(), set(), set(), {})
    assert wf.has_conditional_events is False


def test_run_time_state_is_not_stored_and_is_set_again_after_a_load(engine):
    path = fixture("valid", "external_charge.bpmn")
    model, definition_id, spec_json = deploy(engine, path.name, path.read_bytes())
    settings = RunSettings.from_elements(model.elements)
    assert settings.hold_before  # the external task is held for a worker
    wf = engine.runner.prepare(engine.new_workflow(definition_id, model.dialect, spec_json, {}), settings)
    before = engine.runner.advance(wf)
    assert before.held and wf.hold_before == set(settings.hold_before)

    state = engine.dump(model.dialect, wf)
    assert json.loads(state)["workflow"]["typename"] == "BpmnWorkflow"  # SpiffWorkflow's own form
    for field in ("hold_before", "hold_after", "released", "io_mappings", "has_conditional_events"):
        assert field not in state

    loaded = engine.load(definition_id, model.dialect, spec_json, state)
    assert isinstance(loaded, StagecoachWorkflow) and loaded.hold_before == set()
    engine.runner.prepare(loaded, settings)
    assert engine.runner.held(loaded) == before.held


def test_state_written_from_a_plain_bpmn_workflow_loads_as_a_stagecoach_workflow(engine):
    path = fixture("valid", "parallel_tasks.bpmn")
    model, definition_id, spec_json = deploy(engine, path.name, path.read_bytes())
    spec, subprocess_specs = engine.specs(definition_id, model.dialect, spec_json)
    [bpmn_workflow] = StagecoachWorkflow.__bases__  # SpiffWorkflow's BpmnWorkflow (tests import no SpiffWorkflow)
    plain = bpmn_workflow(spec, subprocess_specs, script_engine=engine.script_engine)
    assert not isinstance(plain, StagecoachWorkflow)
    plain.task_tree.data["deal"] = "ACME"
    engine.runner.attach(plain)  # adopted: run as a StagecoachWorkflow
    assert isinstance(plain, StagecoachWorkflow)
    engine.runner.advance(plain)

    loaded = engine.load(definition_id, model.dialect, spec_json, SERIALIZERS[model.dialect].dump(plain))

    assert isinstance(loaded, StagecoachWorkflow)
    assert engine.runner.variables(loaded)["deal"] == "ACME"
    assert len(engine.runner.open_task_ids(loaded)) == 2


@pytest.mark.parametrize("roundtrip", [False, True], ids=["straight", "save-restore"])
def test_tasks_of_a_sub_process_read_the_mappings_of_their_top_workflow(engine, roundtrip):
    model, definition_id, spec_json = deploy(engine, "nested.bpmn", NESTED_IO.encode())
    settings = RunSettings.from_elements(model.elements)
    assert "double" in settings.io
    wf = engine.runner.prepare(engine.new_workflow(definition_id, model.dialect, spec_json,
                                                   {"order": {"total": 10}}), settings)
    if roundtrip:
        state = engine.dump(model.dialect, wf)
        wf = engine.runner.prepare(engine.load(definition_id, model.dialect, spec_json, state), settings)

    outcome = engine.runner.advance(wf)

    assert outcome.status == "completed", outcome.incident
    assert outcome.variables["doubled"] == 20
    assert "x" not in outcome.variables  # the input stayed local to the task
    assert wf.subprocesses and all(not isinstance(sp, StagecoachWorkflow) for sp in wf.subprocesses.values())
