"""followUp, priority and formKey in the Camunda task DTO, and a Zeebe diagram driven through /engine-rest:
its zeebe:taskDefinition service task is an external task, its zeebe:assignmentDefinition assigns the user task."""
from __future__ import annotations

from config import TestConfig

from ..factories import fixture
from .test_rest import CAMUNDA_TIME, Camunda


def test_the_task_dto_carries_follow_up_priority_and_form_key(app):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "task_extensions.bpmn")))
    instance = rest.start("task_extensions", {"urgency": {"value": 70, "type": "Integer"}})
    [task] = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))
    assert task["priority"] == 70
    assert CAMUNDA_TIME.match(task["followUp"]) and CAMUNDA_TIME.match(task["due"])
    assert task["formKey"] == "embedded:app:forms/review.html"
    assert rest.ok(rest.get(f"/task/{task['id']}")) == task
    [historic] = rest.ok(rest.get(f"/history/task?processInstanceId={instance['id']}"))
    assert (historic["priority"], historic["followUp"], historic["due"]) == (70, task["followUp"], task["due"])


def test_the_task_dto_defaults(app):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "simple_user_task.bpmn")))
    instance = rest.start("simple_user_task")
    [task] = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))
    assert task["priority"] == 50 and task["followUp"] is None and task["formKey"] is None


def test_a_zeebe_diagram_runs_with_an_external_worker_and_its_assignment(app):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "zeebe_tasks.bpmn")))
    instance = rest.start("zeebe_tasks", {"owner": {"value": "carol", "type": "String"}})
    assert rest.ok(rest.get(f"/task?processInstanceId={instance['id']}")) == []

    [external] = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 5, "topics": [{"topicName": "charge-card", "lockDuration": 60_000}]}))
    assert external["activityId"] == "charge" and external["processInstanceId"] == instance["id"]
    rest.ok(rest.post(f"/external-task/{external['id']}/complete", json={"workerId": "w"}), 204)

    [task] = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))
    assert task["taskDefinitionKey"] == "approve"
    assert task["assignee"] == "carol"
    assert task["formKey"] == "camunda-forms:bpmn:approve_form"
    assert task["priority"] == 50
    for query in ("candidateGroup=finance", "candidateGroup=approvers", "candidateUser=bob"):
        # the task is assigned (to carol): candidate queries list it only with includeAssignedTasks, as Camunda's
        assert rest.ok(rest.get(f"/task?{query}&processInstanceId={instance['id']}")) == []
        assert [t["id"] for t in rest.ok(rest.get(
            f"/task?{query}&includeAssignedTasks=true&processInstanceId={instance['id']}"))] == [task["id"]]
