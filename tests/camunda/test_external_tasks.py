"""Camunda external tasks under /engine-rest: workers fetch service tasks by topic, lock, complete or fail them.

The diagram (external_charge.bpmn) charges a card with an external task on topic
"charge-card", then opens the user task "ship"; a BPMN error "card-declined"
leads to the user task "call_customer" instead. The last tests drive the
same process with the camunda-external-task-client-python3 library against
the app served over HTTP (the `engine_rest` fixture of conftest.py).
"""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from app.extensions import db
from app.models import Incident, ProcessInstance
from config import TestConfig

from ..factories import fixture
from .test_rest import CAMUNDA_TIME, Camunda, assert_camunda_error

TOPIC = [{"topicName": "charge-card", "lockDuration": 60_000}]


@pytest.fixture
def rest(app) -> Camunda:
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "external_charge.bpmn")))
    return rest


def fetch(rest, worker="worker-1", max_tasks=10, topics=TOPIC, timeout=0) -> list[dict]:
    return rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": max_tasks, "topics": topics, "asyncResponseTimeout": timeout}))


def instance_status(app, instance_id) -> str:
    with app.app_context():
        status = db.session.get(ProcessInstance, instance_id).status
        db.session.remove()
        return status


def open_task_keys(rest, instance_id) -> list[str]:
    return [t["taskDefinitionKey"] for t in rest.ok(rest.get(f"/task?processInstanceId={instance_id}"))]


def test_an_external_task_is_fetched_locked_and_completed_with_variables(rest):
    instance = rest.start("external_charge", {"amount": {"value": 42, "type": "Integer"}}, business_key="order-7")
    assert open_task_keys(rest, instance["id"]) == []

    [task] = fetch(rest)
    assert task["topicName"] == "charge-card"
    assert task["workerId"] == "worker-1"
    assert CAMUNDA_TIME.match(task["lockExpirationTime"])
    assert task["processInstanceId"] == instance["id"]
    assert task["processDefinitionKey"] == "external_charge"
    assert task["activityId"] == "charge"
    assert task["businessKey"] == "order-7"
    assert task["retries"] is None and task["errorMessage"] is None
    assert task["variables"]["amount"] == {"value": 42, "type": "Integer", "valueInfo": {}}
    assert fetch(rest, worker="worker-2") == []  # locked

    rest.ok(rest.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "worker-1", "variables": {"receipt": {"value": "r-1", "type": "String"}}}), 204)

    assert open_task_keys(rest, instance["id"]) == ["ship"]
    variables = rest.ok(rest.get(f"/process-instance/{instance['id']}/variables"))
    assert variables["receipt"]["value"] == "r-1"
    assert rest.ok(rest.get("/external-task/count?topicName=charge-card")) == {"count": 0}


def test_fetch_returns_only_the_requested_variables(rest):
    rest.start("external_charge", {"amount": {"value": 5, "type": "Integer"}, "card": {"value": "x", "type": "String"}})
    [task] = fetch(rest, topics=[{"topicName": "charge-card", "lockDuration": 1000, "variables": ["card"]}])
    assert set(task["variables"]) == {"card"}


def test_two_workers_never_get_the_same_task(app, rest):
    for _ in range(6):
        rest.start("external_charge")
    results: dict[str, list] = {}

    def work(worker):
        results[worker] = fetch(Camunda(app, "admin", TestConfig.ADMIN_PASSWORD), worker=worker, max_tasks=4)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [t["id"] for tasks in results.values() for t in tasks]
    assert len(ids) == 6
    assert len(set(ids)) == 6


def test_a_worker_that_does_not_hold_the_lock_is_refused(rest):
    rest.start("external_charge")
    [task] = fetch(rest)
    body = assert_camunda_error(rest.post(f"/external-task/{task['id']}/complete", json={"workerId": "intruder"}),
                                400, "BadUserRequestException")
    assert "worker-1" in body["message"]
    assert_camunda_error(rest.post(f"/external-task/{task['id']}/failure",
                                   json={"workerId": "intruder", "retries": 0}), 400, "BadUserRequestException")
    assert_camunda_error(rest.post("/external-task/nope/complete", json={"workerId": "worker-1"}),
                         404, "InvalidRequestException")


def test_failures_count_retries_down_to_an_incident(app, clock, rest):
    instance = rest.start("external_charge")
    for retries in (2, 1):
        [task] = fetch(rest)
        rest.ok(rest.post(f"/external-task/{task['id']}/failure", json={
            "workerId": "worker-1", "errorMessage": "gateway down", "errorDetails": "trace",
            "retries": retries, "retryTimeout": 10_000}), 204)
        assert fetch(rest) == []  # not before the retry timeout
        clock.shift(dt.timedelta(seconds=11))
    [task] = fetch(rest)
    assert task["retries"] == 1
    assert task["errorMessage"] == "gateway down"
    rest.ok(rest.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "worker-1", "errorMessage": "card service gone", "retries": 0}), 204)
    clock.shift(dt.timedelta(minutes=5))
    assert fetch(rest) == []

    assert instance_status(app, instance["id"]) == "error"
    [incident] = rest.ok(rest.get(f"/incident?processInstanceId={instance['id']}"))
    assert incident["incidentType"] == "failedExternalTask"
    assert incident["activityId"] == "charge"
    assert incident["incidentMessage"] == "card service gone"
    [listed] = rest.ok(rest.get("/external-task?topicName=charge-card"))
    assert listed["retries"] == 0


def test_an_instance_retried_after_the_incident_gives_the_task_to_workers_again(app, admin, rest):
    instance = rest.start("external_charge")
    [task] = fetch(rest)
    rest.ok(rest.post(f"/external-task/{task['id']}/failure", json={"workerId": "worker-1", "retries": 0}), 204)
    response = admin.post(f"/api/v1/process-instances/{instance['id']}/retry")
    assert response.status_code == 200, response.get_json()
    [again] = fetch(rest)
    assert again["id"] == task["id"]
    with app.app_context():
        assert db.session.query(Incident).filter(Incident.resolved_at.is_(None)).count() == 0
        db.session.remove()


def test_extend_lock_and_unlock(clock, rest):
    rest.start("external_charge")
    [task] = fetch(rest, topics=[{"topicName": "charge-card", "lockDuration": 1000}])
    rest.ok(rest.post(f"/external-task/{task['id']}/extendLock",
                      json={"workerId": "worker-1", "newDuration": 60_000}), 204)
    clock.shift(dt.timedelta(seconds=30))
    assert fetch(rest, worker="worker-2") == []  # still locked by the extension
    assert_camunda_error(rest.post(f"/external-task/{task['id']}/extendLock",
                                   json={"workerId": "worker-2", "newDuration": 1000}),
                         400, "BadUserRequestException")
    rest.ok(rest.post(f"/external-task/{task['id']}/unlock"), 204)
    [again] = fetch(rest, worker="worker-2")
    assert again["id"] == task["id"] and again["workerId"] == "worker-2"
    clock.shift(dt.timedelta(minutes=2))
    [expired] = fetch(rest, worker="worker-3")  # a lock that expired frees the task
    assert expired["workerId"] == "worker-3"


def test_a_bpmn_error_goes_to_the_error_boundary_event(rest):
    instance = rest.start("external_charge")
    [task] = fetch(rest)
    rest.ok(rest.post(f"/external-task/{task['id']}/bpmnError", json={
        "workerId": "worker-1", "errorCode": "card-declined", "errorMessage": "insufficient funds",
        "variables": {"reason": {"value": "funds", "type": "String"}}}), 204)
    assert open_task_keys(rest, instance["id"]) == ["call_customer"]
    assert rest.ok(rest.get(f"/process-instance/{instance['id']}/variables"))["reason"]["value"] == "funds"
    assert rest.ok(rest.get("/external-task/count")) == {"count": 0}


def test_a_bpmn_errors_code_and_message_go_to_the_variables_its_boundary_event_names(app, tmp_path):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    path = tmp_path / "external_charge.bpmn"
    path.write_text(fixture("valid", "external_charge.bpmn").read_text().replace(
        '<bpmn:errorEventDefinition id="declined_definition" errorRef="error_declined" />',
        '<bpmn:errorEventDefinition id="declined_definition" errorRef="error_declined" '
        'camunda:errorCodeVariable="code" camunda:errorMessageVariable="why" />'))
    rest.ok(rest.deploy(path))
    instance = rest.start("external_charge")
    [task] = fetch(rest)
    rest.ok(rest.post(f"/external-task/{task['id']}/bpmnError", json={
        "workerId": "worker-1", "errorCode": "card-declined", "errorMessage": "insufficient funds"}), 204)
    variables = rest.ok(rest.get(f"/process-instance/{instance['id']}/variables"))
    assert (variables["code"]["value"], variables["why"]["value"]) == ("card-declined", "insufficient funds")


def test_a_bpmn_error_nothing_catches_is_refused(rest):
    rest.start("external_charge")
    [task] = fetch(rest)
    assert_camunda_error(rest.post(f"/external-task/{task['id']}/bpmnError",
                                   json={"workerId": "worker-1", "errorCode": "other"}), 409,
                         "ProcessEngineException")
    assert rest.ok(rest.get("/external-task/count")) == {"count": 1}


def test_cancelling_the_instance_removes_its_external_task(rest):
    instance = rest.start("external_charge")
    rest.ok(rest.delete(f"/process-instance/{instance['id']}"), 204)
    assert rest.ok(rest.get("/external-task/count")) == {"count": 0}


@pytest.fixture
def worker(make, engine_rest):
    """A worker of camunda-external-task-client-python3, talking HTTP to the app served in a thread.

    It signs in as a plain user of the `workers` group, which may work every topic (the default grant).
    """
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    make.user("billing-worker", groups=["workers"])
    return ExternalTaskWorker(
        worker_id="py-worker", base_url=engine_rest,
        config={"auth_basic": {"username": "billing-worker", "password": "secret"}, "maxTasks": 1,
                "lockDuration": 10_000, "asyncResponseTimeout": 200, "sleepSeconds": 0})


def work_until(worker, handler, done) -> None:
    """Run the library's fetch-and-execute loop until `done()` (at most 20 s)."""
    deadline = time.monotonic() + 20
    while not done() and time.monotonic() < deadline:
        worker.fetch_and_execute("charge-card", handler)


def test_a_worker_of_the_camunda_client_library_completes_the_task_over_http(rest, worker):
    instance = rest.start("external_charge", {"amount": {"value": 42, "type": "Integer"}})
    seen = []

    def charge(task):
        seen.append(task.get_variable("amount"))
        return task.complete({"receipt": f"r-{task.get_variable('amount')}"})

    work_until(worker, charge, lambda: seen)

    assert seen == [42]
    assert open_task_keys(rest, instance["id"]) == ["ship"]
    assert rest.ok(rest.get(f"/process-instance/{instance['id']}/variables"))["receipt"]["value"] == "r-42"


def test_a_worker_of_the_camunda_client_library_fails_until_the_incident(app, rest, worker):
    instance = rest.start("external_charge")
    attempts = []

    def charge(task):
        attempts.append(task.get_task_id())
        return task.failure("card service down", "stack trace", max_retries=2, retry_timeout=0)

    work_until(worker, charge, lambda: instance_status(app, instance["id"]) == "error")

    assert len(attempts) == 3  # retries 2, then 1, then 0
    [incident] = rest.ok(rest.get(f"/incident?processInstanceId={instance['id']}"))
    assert incident["incidentType"] == "failedExternalTask"
    assert incident["incidentMessage"] == "card service down"


def test_an_external_task_without_a_topic_is_refused_at_deploy_time(app):
    from app.engine import BpmnRejected, Engine

    content = fixture("valid", "external_charge.bpmn").read_bytes().replace(b' camunda:topic="charge-card"', b"")
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("external_charge.bpmn", content)])
    [problem] = caught.value.problems
    assert problem.element_id == "charge"
    assert "camunda:topic" in problem.message


def test_the_external_task_of_a_suspended_instance_says_suspended_and_is_not_fetched(rest):
    held, other = rest.start("external_charge"), rest.start("external_charge")
    rest.ok(rest.put(f"/process-instance/{held['id']}/suspended", json={"suspended": True}), 204)

    listed = {t["processInstanceId"]: t for t in rest.ok(rest.get("/external-task?topicName=charge-card"))}
    assert {i: t["suspended"] for i, t in listed.items()} == {held["id"]: True, other["id"]: False}
    assert rest.ok(rest.get(f"/external-task/{listed[held['id']]['id']}"))["suspended"] is True
    assert [t["processInstanceId"] for t in fetch(rest)] == [other["id"]]
    rest.ok(rest.put(f"/process-instance/{held['id']}/suspended", json={"suspended": False}), 204)
    assert rest.ok(rest.get(f"/external-task/{listed[held['id']]['id']}"))["suspended"] is False


MULTI_SCORE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="multi_score" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="check" camunda:type="external" camunda:topic="score-check">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${scores}" camunda:elementVariable="score" />
    </bpmn:serviceTask>
    <bpmn:userTask id="review" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_each_instance_of_a_multi_instance_external_task_gets_its_own_item(app, tmp_path):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    path = tmp_path / "multi_score.bpmn"
    path.write_text(MULTI_SCORE)
    rest.ok(rest.deploy(path))
    instance = rest.start("multi_score", {"scores": {"value": "[3, 8, 6]", "type": "Json"}})
    topics = [{"topicName": "score-check", "lockDuration": 60_000, "variables": ["score", "loopCounter", "scores"]}]
    locked = fetch(rest, topics=topics)
    assert sorted((t["variables"]["score"]["value"], t["variables"]["loopCounter"]["value"]) for t in locked) == [
        (3, 0), (6, 2), (8, 1)]
    assert all(t["variables"]["scores"]["value"] == "[3, 8, 6]" for t in locked)
    for task in locked:
        rest.ok(rest.post(f"/external-task/{task['id']}/complete", json={"workerId": "worker-1"}), 204)
    variables = rest.ok(rest.get(f"/process-instance/{instance['id']}/variables"))
    assert "score" not in variables and "loopCounter" not in variables  # each instance's own
