"""Bounded execution over HTTP: deployed content and input that used to take the server down.

Each attack is made as a plain user could make it: mallory may deploy, start, read and update the
processes she wrote (as anyone allowed to deploy may) and works on the staff's tasks. Measured
against a served instance before these limits: a parallel multi-instance of 33,000 created 33,000
tasks in 173 s and made every later completion take 110 s; a script kept a 300 MB variable. Now
each is refused with a status, the proof that nothing was created or grew, and the server answers
the next request. The app runs with its default limits (config.py).

A run-time limit is answered as a failing script is: the instance stops at its last good state
with an incident naming the limit's setting (201/200, status "error"), and an admin who repairs
its variables retries it. Input past a variable limit is refused as 422 `limit-exceeded`, naming
the variable and the setting, and nothing changes.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, ProcessInstance

from ..factories import assert_problem

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_{key}" targetNamespace="t">
  <bpmn:message id="m_more" name="more_{key}" />
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {work}
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="staff"><bpmn:extensionElements><camunda:formData><camunda:formField id="note" label="Note" type="string" /></camunda:formData></bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="wait" name="More"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing><bpmn:messageEventDefinition id="md" messageRef="m_more" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="wait" />
    <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
FLOWS = '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
CARDINALITY = (f'<bpmn:userTask id="work" name="Call" camunda:candidateGroups="staff">{FLOWS}'
               '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>count</bpmn:loopCardinality>'
               '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
COLLECTION = (f'<bpmn:userTask id="work" name="Call" camunda:candidateGroups="staff">{FLOWS}'
              '<bpmn:multiInstanceLoopCharacteristics camunda:collection="contacts" camunda:elementVariable="contact" />'
              '</bpmn:userTask>')
LOOP = (f'<bpmn:scriptTask id="work" name="Spin" scriptFormat="python">{FLOWS}<bpmn:standardLoopCharacteristics>'
        '<bpmn:loopCondition xsi:type="bpmn:tFormalExpression">n &lt; goal</bpmn:loopCondition>'
        '</bpmn:standardLoopCharacteristics><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>')


def script(source: str) -> str:
    return f'<bpmn:scriptTask id="work" name="Work" scriptFormat="python">{FLOWS}<bpmn:script>{source}</bpmn:script></bpmn:scriptTask>'


@pytest.fixture
def mallory(make):
    """A plain user who may deploy, start, read and update the `bounds_*` processes, and works as staff."""
    client = make.client("mallory", groups=["staff"])
    for key in KEYS:
        make.grant(["deploy", "start", "read", "update"], "process", key, user="mallory")
    return client


KEYS = ["bounds_cardinality", "bounds_collection", "bounds_loop", "bounds_script", "bounds_plain"]


def deploy(client, tmp_path: Path, key: str, work: str) -> None:
    path = tmp_path / f"{key}.bpmn"
    path.write_text(PROCESS.format(key=key, work=work))
    client.deploy(path)


def rows(app, instance_id: str) -> dict:
    """What the database holds for an instance: its stored state's size and its human tasks."""
    with app.app_context():
        state = db.session.scalar(select(func.length(ProcessInstance.state)).where(ProcessInstance.id == instance_id))
        tasks = db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.instance_id == instance_id))
        db.session.remove()
    return {"state": state, "tasks": tasks}


def instance_count(app, key: str) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(ProcessInstance)
                                  .where(ProcessInstance.process_key == key))
        db.session.remove()
    return count


def still_serving(client, tmp_path: Path) -> None:
    """The next request, another user's start of an ordinary process, is served as usual."""
    deploy(client, tmp_path, "bounds_plain", script("x = 1"))
    started = client.start("bounds_plain")
    assert started["status"] == "running" and [t["element_id"] for t in started["tasks"]] == ["review"]


def incident(client, started: dict) -> dict:
    assert started["status"] == "error" and started["tasks"] == []
    [open_incident] = client.instance(started["id"])["incidents"]
    return open_incident


# -- tasks a step, a command, an instance may create -------------------------------------------------------

@pytest.mark.parametrize("key, work, variables", [
    ("bounds_cardinality", CARDINALITY, {"count": 33_000}),
    ("bounds_collection", COLLECTION, {"contacts": [f"c{i}" for i in range(33_000)]}),
], ids=["cardinality", "collection"])
def test_a_multi_instance_of_33000_creates_nothing_and_stops_with_an_incident(app, mallory, tmp_path, key, work,
                                                                              variables):
    deploy(mallory, tmp_path, key, work)

    started = mallory.start(key, variables)

    found = incident(mallory, started)
    assert found["element_id"] == "work" and "would create 33000 instances" in found["message"]
    assert "STAGECOACH_ENGINE_MAX_TASKS_PER_STEP" in found["message"]
    stored = rows(app, started["id"])
    assert stored["tasks"] == 0 and stored["state"] < 2_000_000  # the collection itself, and no task
    assert mallory.get("/api/v1/tasks").get_json()["total"] == 0
    still_serving(mallory, tmp_path)


def test_an_admin_repairs_the_variables_and_the_retry_creates_the_instances(app, admin, mallory, tmp_path):
    deploy(mallory, tmp_path, "bounds_cardinality", CARDINALITY)
    started = mallory.start("bounds_cardinality", {"count": 33_000})

    repaired = admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"count": 2}})
    retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry")

    assert repaired.status_code == 200 and retried.status_code == 200
    assert retried.get_json()["status"] == "running"
    assert [t["element_id"] for t in retried.get_json()["tasks"]] == ["work", "work"]
    assert rows(app, started["id"])["tasks"] == 2


def test_a_loop_that_never_ends_stops_within_one_command(app, mallory, tmp_path):
    deploy(mallory, tmp_path, "bounds_loop", LOOP)

    started = mallory.start("bounds_loop", {"n": 0, "goal": 10**9})

    found = incident(mallory, started)  # one task and one engine step per pass: either limit stops it
    assert "STAGECOACH_ENGINE_MAX_STEPS" in found["message"] or "STAGECOACH_ENGINE_MAX_TASKS_PER_RUN" in found["message"]
    assert 0 < mallory.instance(started["id"])["variables"]["n"] <= 1_000
    still_serving(mallory, tmp_path)


# -- scripts: refused before they allocate, their variables bounded ---------------------------------------

@pytest.mark.parametrize("source, setting", [
    ("blob = 'x' * 300000000", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("blob = [0] * 10**9", "STAGECOACH_SCRIPT_MAX_ITEMS"),
    ("blob = list(range(10**9))", "STAGECOACH_SCRIPT_MAX_ITEMS"),
    ("blob = 10**10**8", "bits"),
    ("blob = 'x' * 999999 + 'y' * 999999", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("blob = ['x' * 999999, 'y' * 999999]", "STAGECOACH_VARIABLE_MAX_BYTES"),
    ("blob = 'x'\nfor i in range(40):\n    blob = f'{blob}{blob}'", "STAGECOACH_SCRIPT_MAX_STRING"),
    ("blob = [0]\nfor i in range(80):\n    blob = [blob, blob]", "STAGECOACH_VARIABLE_MAX_DEPTH"),
    ("a = [0]\nb = [0]\nfor i in range(80):\n    a = [a, a]\n    b = [b, b]\nsame = a == b",
     "STAGECOACH_VARIABLE_MAX_DEPTH"),
    ("blob = [[0] * 99999 for i in range(1000)]", "STAGECOACH_SCRIPT_MAX_ALLOCATION"),
    ("blob = round(5, -10**8)", "round"),
], ids=["300-MB-string", "huge-list", "list-of-range", "huge-power", "string-concatenation", "two-large-strings",
        "f-string-doubling", "shared-nesting", "comparing-shared-data", "lists-in-a-loop", "round"])
def test_a_script_that_would_exhaust_memory_or_time_stops_with_an_incident_naming_the_limit(app, mallory, tmp_path,
                                                                                            source, setting):
    deploy(mallory, tmp_path, "bounds_script", script(source))

    started = mallory.start("bounds_script", {"keep": 1})

    found = incident(mallory, started)
    assert found["element_id"] == "work" and setting in found["message"]
    assert mallory.instance(started["id"])["variables"] == {"keep": 1}
    assert rows(app, started["id"])["state"] < 100_000
    still_serving(mallory, tmp_path)


# -- input past a variable limit: 422, nothing changed -------------------------------------------------

BIG = "b" * (1024 * 1024 + 1)


def deep(levels: int):
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("variables, setting, variable", [
    ({"blob": BIG}, "STAGECOACH_VARIABLE_MAX_BYTES", "blob"),
    ({f"part{i}": "p" * 900_000 for i in range(5)}, "STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES", None),
    ({"tree": deep(40)}, "STAGECOACH_VARIABLE_MAX_DEPTH", "tree"),
], ids=["one-variable", "all-variables", "nesting"])
def test_start_variables_past_a_limit_are_refused_and_no_instance_is_created(app, mallory, tmp_path, variables,
                                                                             setting, variable):
    deploy(mallory, tmp_path, "bounds_script", script("x = 1"))

    response = mallory.post("/api/v1/process-definitions/key/bounds_script/start", json={"variables": variables})

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/limit-exceeded" and body["limit"] == setting
    assert body.get("variable") == variable and setting in body["detail"]
    assert instance_count(app, "bounds_script") == 0
    still_serving(mallory, tmp_path)


@pytest.fixture
def waiting(mallory, tmp_path):
    """An instance of mallory's at its review task."""
    deploy(mallory, tmp_path, "bounds_script", script("x = 1"))
    started = mallory.start("bounds_script", {"keep": 1})
    assert [t["element_id"] for t in started["tasks"]] == ["review"]
    return started


def test_completion_data_past_a_limit_is_refused_and_the_task_stays_open(app, mallory, waiting, tmp_path):
    before = rows(app, waiting["id"])
    task_id = waiting["tasks"][0]["id"]

    response = mallory.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"note": BIG}})

    body = assert_problem(response, 422)
    assert body["limit"] == "STAGECOACH_VARIABLE_MAX_BYTES" and body["variable"] == "note"
    assert mallory.get(f"/api/v1/tasks/{task_id}").get_json()["state"] == "open"
    assert mallory.instance(waiting["id"])["variables"] == {"keep": 1, "x": 1}
    assert rows(app, waiting["id"]) == before
    assert mallory.complete(task_id, {"note": "fine"})["status"] == "running"


def test_a_variables_patch_past_a_limit_is_refused_and_changes_nothing(app, mallory, waiting):
    before = rows(app, waiting["id"])

    response = mallory.patch(f"/api/v1/process-instances/{waiting['id']}/variables",
                             json={"variables": {"x": 2, "tree": deep(40)}})

    body = assert_problem(response, 422)
    assert body["limit"] == "STAGECOACH_VARIABLE_MAX_DEPTH" and body["variable"] == "tree"
    assert mallory.instance(waiting["id"])["variables"] == {"keep": 1, "x": 1}
    assert rows(app, waiting["id"]) == before


def test_growing_an_instance_patch_by_patch_stops_at_its_variables_limit(app, mallory, waiting):
    url = f"/api/v1/process-instances/{waiting['id']}/variables"
    statuses = [mallory.patch(url, json={"variables": {f"part{i}": "p" * 900_000}}).status_code for i in range(6)]

    assert statuses[:4] == [200] * 4 and statuses[4:] == [422, 422]
    assert len(json.dumps(mallory.instance(waiting["id"])["variables"])) < 4 * 1024 * 1024
    assert rows(app, waiting["id"])["state"] < 5 * 1024 * 1024


def test_a_message_past_a_limit_is_refused_and_the_instance_still_waits(app, mallory, waiting):
    mallory.complete(waiting["tasks"][0]["id"])
    before = rows(app, waiting["id"])
    message = {"name": "more_bounds_script", "process_instance_id": waiting["id"]}

    refused = mallory.post("/api/v1/messages", json={**message, "variables": {"body": BIG}})

    body = assert_problem(refused, 422)
    assert body["limit"] == "STAGECOACH_VARIABLE_MAX_BYTES" and body["variable"] == "body"
    assert rows(app, waiting["id"]) == before
    assert mallory.instance(waiting["id"])["status"] == "running"
    delivered = mallory.post("/api/v1/messages", json={**message, "variables": {"body": "short"}})
    assert delivered.status_code == 200 and mallory.instance(waiting["id"])["status"] == "completed"


def test_the_camunda_api_refuses_the_same_input(app, mallory, waiting):
    task_id = waiting["tasks"][0]["id"]

    response = mallory.post(f"/engine-rest/task/{task_id}/complete",
                            json={"variables": {"note": {"value": BIG, "type": "String"}}})

    assert response.status_code == 422
    assert "STAGECOACH_VARIABLE_MAX_BYTES" in response.get_json()["message"]
    assert mallory.get(f"/api/v1/tasks/{task_id}").get_json()["state"] == "open"
