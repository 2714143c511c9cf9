"""Versioned instance state: what `Engine.dump` writes and what `Engine.load` accepts."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest

from app.engine import STATE_VERSION, Engine, StateError
from app.engine.serializer import SERIALIZERS

from ..factories import fixture, shipped


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def deployed(engine):
    """Parse files as one deployment; returns (definition id, model, spec JSON) of its one process."""
    def deploy(*paths):
        [model] = engine.parse([(p.name, p.read_bytes()) for p in paths])
        return f"{model.key}:{model.content_hash}", model, engine.dump_spec(model)
    return deploy


@pytest.fixture
def waiting_state(engine, deployed):
    """A parallel_tasks instance waiting at both of its tasks, dumped; with what it needs to load."""
    definition_id, model, spec_json = deployed(fixture("valid", "parallel_tasks.bpmn"))
    wf = engine.new_workflow(definition_id, model.dialect, spec_json, {"deal": "ACME"})
    engine.runner.advance(wf)
    return definition_id, model, spec_json, engine.dump(model.dialect, wf)


def edited(state: str, edit) -> str:
    envelope = json.loads(state)
    edit(envelope)
    return json.dumps(envelope)


# -- round trip ----------------------------------------------------------------------------------------

def test_a_round_trip_keeps_the_waiting_task_ids_and_data(engine, deployed):
    definition_id, model, spec_json = deployed(fixture("valid", "parallel_tasks.bpmn"))
    data = {"when": dt.date(2026, 11, 24), "amount": decimal.Decimal("1234.50"),
            "at": dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone.utc),
            "nested": {"dates": [dt.date(2026, 1, 1)], "prices": [decimal.Decimal("0.10")]},
            "plain": ["a", 1, 2.5, True, None]}
    wf = engine.new_workflow(definition_id, model.dialect, spec_json, data)
    before = engine.runner.advance(wf)
    assert len(before.open_tasks) == 2

    loaded = engine.load(definition_id, model.dialect, spec_json, engine.dump(model.dialect, wf))

    after = engine.runner.variables(loaded)
    assert after == data
    assert type(after["when"]) is dt.date and type(after["amount"]) is decimal.Decimal
    assert type(after["nested"]["prices"][0]) is decimal.Decimal
    assert engine.runner.open_task_ids(loaded) == {t.id for t in before.open_tasks}


def test_a_loaded_instance_carries_on_where_it_stopped(engine, deployed):
    definition_id, model, spec_json = deployed(shipped("approvals", "discount_approval.bpmn"))
    wf = engine.new_workflow(definition_id, model.dialect, spec_json, {"discount": 20})
    [task] = engine.runner.advance(wf).open_tasks

    loaded = engine.load(definition_id, model.dialect, spec_json, engine.dump(model.dialect, wf))
    outcome = engine.runner.complete(loaded, task.id, {"approved": True})

    assert outcome.status == "completed"
    assert outcome.variables["approval_status"] == "approved"


def test_the_envelope_carries_the_integer_state_version(waiting_state):
    *_, state = waiting_state
    envelope = json.loads(state)
    assert envelope["state_version"] == STATE_VERSION
    assert type(envelope["state_version"]) is int and type(STATE_VERSION) is int
    assert envelope["workflow"]["serializer_version"] == "1.5"


def test_unstorable_task_data_is_refused_at_dump_with_a_state_error(engine, deployed):
    definition_id, model, spec_json = deployed(fixture("valid", "three_tasks.bpmn"))
    wf = engine.new_workflow(definition_id, model.dialect, spec_json, {})
    [task] = engine.runner.advance(wf).open_tasks
    wf.get_task_from_id(uuid.UUID(task.id)).data["handle"] = object()
    with pytest.raises(StateError) as caught:
        engine.dump(model.dialect, wf)
    assert "cannot be stored" in str(caught.value)


# -- refused states ------------------------------------------------------------------------------------

def _set_version(value):
    def edit(envelope):
        envelope["state_version"] = value
    return edit


def _drop_version(envelope):
    del envelope["state_version"]


@pytest.mark.parametrize("edit", [
    _set_version(STATE_VERSION + 1),
    _set_version(99),
    _set_version(0),
    _set_version(-1),
    _set_version(str(STATE_VERSION)),
    _set_version(float(STATE_VERSION)),
    _set_version(None),
    _set_version(True),
    _set_version([STATE_VERSION]),
    _drop_version,
], ids=["next", "far-future", "zero", "negative", "string", "float", "null", "boolean", "list", "missing"])
def test_a_state_version_that_is_not_a_known_integer_is_refused(engine, waiting_state, edit):
    definition_id, model, spec_json, state = waiting_state
    with pytest.raises(StateError) as caught:
        engine.load(definition_id, model.dialect, spec_json, edited(state, edit))
    assert "version" in str(caught.value)


def _set_format(value):
    def edit(envelope):
        envelope["workflow"]["serializer_version"] = value
    return edit


def _drop_format(envelope):
    del envelope["workflow"]["serializer_version"]


@pytest.mark.parametrize("edit", [
    _set_format("1.1"), _set_format("1.4"), _set_format("1.6"), _set_format("2.0"), _set_format(1.5), _drop_format,
], ids=["1.1", "1.4", "1.6", "2.0", "number", "missing"])
def test_a_spiffworkflow_format_other_than_1_5_is_refused(engine, waiting_state, edit):
    definition_id, model, spec_json, state = waiting_state
    with pytest.raises(StateError) as caught:
        engine.load(definition_id, model.dialect, spec_json, edited(state, edit))
    assert "format" in str(caught.value)


def test_the_unedited_state_loads(engine, waiting_state):
    """The refusals above come from the edits, not from the state itself."""
    definition_id, model, spec_json, state = waiting_state
    loaded = engine.load(definition_id, model.dialect, spec_json, edited(state, lambda envelope: None))
    assert len(engine.runner.open_task_ids(loaded)) == 2


# -- the spec is stored once, not in every instance ---------------------------------------------------------

def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_the_state_references_the_spec_instead_of_embedding_it(engine, deployed):
    definition_id, model, spec_json = deployed(
        shipped("blueprints", "enquiry_blueprint.bpmn"),
        shipped("blueprints", "enquiry_new.schema.json"),
        shipped("blueprints", "enquiry_contacted.schema.json"))
    wf = engine.new_workflow(definition_id, model.dialect, spec_json, {})
    engine.runner.advance(wf)

    state = engine.dump(model.dialect, wf)

    keys = set(_keys(json.loads(state)))
    assert "spec" not in keys and "subprocess_specs" not in keys
    assert "stage = 'Qualified'" in spec_json and "stage = 'Qualified'" not in state
    assert len(state) < len(spec_json) / 2


def test_state_cannot_be_loaded_without_its_spec(waiting_state):
    _, model, _, state = waiting_state
    with pytest.raises(StateError):
        SERIALIZERS[model.dialect].load(state, None, {})


# -- the sandbox comes back with the instance ---------------------------------------------------------------

PROBE = "leaked = getattr(getattr(0, '__class__'), '__name__')"


def _wait_then_probe(engine, deployed, script: str | None = None):
    """sandbox_script_after_task saved at its user task; the probe script runs only after a load."""
    definition_id, model, spec_json = deployed(fixture("valid", "sandbox_script_after_task.bpmn"))
    assert json.dumps(PROBE)[1:-1] in spec_json
    if script is not None:  # a stored spec whose script never went through the deploy check
        spec_json = spec_json.replace(json.dumps(PROBE)[1:-1], json.dumps(script)[1:-1])
        definition_id += ":tampered"
    wf = engine.new_workflow(definition_id, model.dialect, spec_json, {})
    [task] = engine.runner.advance(wf).open_tasks
    return definition_id, model, spec_json, engine.dump(model.dialect, wf), task


def test_a_loaded_instance_runs_its_scripts_in_the_sandbox(engine, deployed):
    definition_id, model, spec_json, state, task = _wait_then_probe(engine, deployed)

    loaded = engine.load(definition_id, model.dialect, spec_json, state)
    outcome = engine.runner.complete(loaded, task.id, {})

    assert loaded.script_engine is engine.script_engine
    assert outcome.status == "error"
    assert outcome.incident.element_id == "probe"
    assert "getattr" in outcome.incident.message
    assert "leaked" not in outcome.variables


def test_without_the_sandbox_the_same_probe_would_escape(engine, deployed):
    """Why re-attaching matters: state loaded but not attached runs SpiffWorkflow's own engine."""
    definition_id, model, spec_json, state, task = _wait_then_probe(engine, deployed)
    spec, subprocess_specs = engine.specs(definition_id, model.dialect, spec_json)

    bare = SERIALIZERS[model.dialect].load(state, spec, subprocess_specs)
    outcome = engine.runner.complete(bare, task.id, {})

    assert outcome.status == "completed" and outcome.variables["leaked"] == "int"


def test_a_stored_script_that_imports_is_refused_after_a_load(engine, deployed):
    definition_id, model, spec_json, state, task = _wait_then_probe(
        engine, deployed, "import os\nleaked = os.getcwd()")

    loaded = engine.load(definition_id, model.dialect, spec_json, state)
    outcome = engine.runner.complete(loaded, task.id, {})

    assert outcome.status == "error"
    assert outcome.incident.element_id == "probe"
    assert "import is not allowed" in outcome.incident.message
    assert "leaked" not in outcome.variables
