"""A Camunda 7 diagram whose service task names a Java bean deploys, and a worker does the bean's work through
/engine-rest/external-task, fetching it by the bean's name (as the Camunda 7 to 8 migration tooling converts it)."""
from __future__ import annotations

import pytest

from config import TestConfig

from ..camunda.test_rest import Camunda
from ..factories import fixture

TOPIC = [{"topicName": "calculateInterestService", "lockDuration": 60_000}]


@pytest.fixture
def rest(app) -> Camunda:
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "java_interest.bpmn")))
    return rest


def test_a_worker_fetches_the_delegate_by_its_bean_name_and_the_process_carries_on(rest):
    instance = rest.start("java_interest", {"amount": {"value": 1000, "type": "Integer"}})

    [task] = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 5, "topics": TOPIC}))
    waiting_tasks = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))
    rest.ok(rest.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "w", "variables": {"interest": {"value": 50, "type": "Integer"}}}), 204)
    [approve] = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))
    variables = rest.ok(rest.get(f"/process-instance/{instance['id']}/variables"))

    assert task["topicName"] == "calculateInterestService" and task["activityId"] == "interest"
    assert task["variables"]["amount"]["value"] == 1000
    assert waiting_tasks == []
    assert approve["taskDefinitionKey"] == "approve"
    assert variables["total"]["value"] == 1050


def test_no_worker_no_progress(rest):
    instance = rest.start("java_interest", {"amount": {"value": 1, "type": "Integer"}})

    other_topic = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 5, "topics": [{"topicName": "org.example.Other", "lockDuration": 1000}]}))
    count = rest.ok(rest.get("/external-task/count?topicName=calculateInterestService"))

    assert other_topic == []
    assert count == {"count": 1}
    assert rest.ok(rest.get(f"/task?processInstanceId={instance['id']}")) == []


def test_a_deployment_names_the_external_tasks_its_workers_must_serve(admin):
    expected = [{"element_id": "interest", "name": "Calculate interest", "topic": "calculateInterestService",
                 "implementation": "camunda:delegateExpression"}]
    path = fixture("valid", "java_interest.bpmn")
    dry = admin.post("/api/v1/deployments?dry_run=true", data={"files": (open(path, "rb"), path.name)},
                     content_type="multipart/form-data").get_json()
    assert dry["definitions"][0]["external_tasks"] == expected  # "total" translates: it runs in the engine

    deployed = admin.deploy(path)
    assert deployed["definitions"][0]["external_tasks"] == expected
    definition = admin.get(f"/api/v1/process-definitions/{deployed['definitions'][0]['id']}").get_json()
    assert definition["external_tasks"] == expected
