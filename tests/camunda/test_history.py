"""The Camunda 7 history and incident resources under /engine-rest.

`/history/process-instance`, `/history/activity-instance` and `/history/task`
include ended instances and finished tasks (unlike the runtime resources);
`/incident` lists open incidents. Shapes follow Camunda 7's REST reference.
"""
from __future__ import annotations

import pytest

from config import TestConfig

from ..factories import fixture
from .test_rest import CAMUNDA_TIME, Camunda, assert_camunda_error

DIVISOR_ZERO = {"divisor": {"value": 0, "type": "Integer"}}


@pytest.fixture
def deployed(app) -> Camunda:
    """The admin over /engine-rest with simple_user_task (review, for alice) and three_tasks deployed."""
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn")))
    return rest


@pytest.fixture
def failing(deployed):
    """deployed, plus failing_script (compute: 100 / divisor, then user task "after")."""
    deployed.ok(deployed.deploy(fixture("valid", "failing_script.bpmn")))
    return deployed


def _complete_next(rest: Camunda, instance_id: str) -> dict:
    task = rest.ok(rest.get(f"/task?processInstanceId={instance_id}"))[0]
    rest.ok(rest.post(f"/task/{task['id']}/complete", json={}), 204)
    return task


def _finish_three_tasks(rest: Camunda, **start) -> str:
    instance = rest.start("three_tasks", **start)
    for _ in range(3):
        _complete_next(rest, instance["id"])
    return instance["id"]


# -- historic process instances -------------------------------------------------------------

def test_historic_instances_include_ended_ones_in_camunda_shape(deployed):
    done = _finish_three_tasks(deployed, business_key="order-1")
    running = deployed.start("three_tasks", business_key="order-2")["id"]
    body = deployed.ok(deployed.get("/history/process-instance?processDefinitionKey=three_tasks"))
    by_id = {row["id"]: row for row in body}
    assert set(by_id) == {done, running}
    finished = by_id[done]
    assert finished["state"] == "COMPLETED"
    assert finished["businessKey"] == "order-1"
    assert finished["processDefinitionKey"] == "three_tasks"
    assert finished["processDefinitionVersion"] == 1
    assert isinstance(finished["processDefinitionId"], str)
    assert finished["startUserId"] == "admin"
    assert CAMUNDA_TIME.match(finished["startTime"]) and CAMUNDA_TIME.match(finished["endTime"])
    assert isinstance(finished["durationInMillis"], int) and finished["durationInMillis"] >= 0
    active = by_id[running]
    assert active["state"] == "ACTIVE"
    assert active["endTime"] is None and active["durationInMillis"] is None


def test_historic_instance_states_cover_suspended_cancelled_and_failed(failing):
    suspended = failing.start("three_tasks")["id"]
    failing.ok(failing.put(f"/process-instance/{suspended}/suspended", json={"suspended": True}), 204)
    cancelled = failing.start("three_tasks")["id"]
    failing.ok(failing.delete(f"/process-instance/{cancelled}"), 204)
    failed = failing.start("failing_script", variables=DIVISOR_ZERO)["id"]
    states = {row["id"]: row["state"] for row in failing.ok(failing.get("/history/process-instance"))}
    assert states == {suspended: "SUSPENDED", cancelled: "EXTERNALLY_TERMINATED", failed: "ACTIVE"}


def test_historic_instances_filter_by_id_business_key_and_finished(deployed):
    done = _finish_three_tasks(deployed, business_key="a")
    running = deployed.start("three_tasks", business_key="b")["id"]

    def ids(query):
        return [row["id"] for row in deployed.ok(deployed.get(f"/history/process-instance?{query}"))]

    assert ids(f"processInstanceId={running}") == [running]
    assert ids("businessKey=a") == [done]
    assert ids("processInstanceBusinessKey=b") == [running]
    assert ids("finished=true") == [done]
    assert ids("unfinished=true") == [running]
    assert ids("processDefinitionKey=simple_user_task") == []
    assert deployed.ok(deployed.get("/history/process-instance/count")) == {"count": 2}
    assert deployed.ok(deployed.get("/history/process-instance/count?finished=true")) == {"count": 1}
    assert len(deployed.ok(deployed.get("/history/process-instance?firstResult=1&maxResults=5"))) == 1


def test_history_queries_reject_bad_paging_with_camunda_400(deployed):
    for path in ("/history/process-instance", "/history/activity-instance", "/history/task", "/incident"):
        assert_camunda_error(deployed.get(f"{path}?maxResults=-1"), 400, "InvalidRequestException")


# -- historic activity instances ------------------------------------------------------------

def test_activity_instances_pair_entered_and_left_in_order(deployed):
    instance = deployed.start("three_tasks")["id"]
    _complete_next(deployed, instance)
    body = deployed.ok(deployed.get(f"/history/activity-instance?processInstanceId={instance}"))
    assert [(a["activityId"], a["activityType"], a["endTime"] is not None) for a in body] == [
        ("start", "startEvent", True), ("task_a", "userTask", True), ("task_b", "userTask", False)]
    task_a = body[1]
    assert task_a["activityName"] == "Task A"
    assert task_a["processInstanceId"] == instance
    assert CAMUNDA_TIME.match(task_a["startTime"]) and CAMUNDA_TIME.match(task_a["endTime"])
    assert isinstance(task_a["durationInMillis"], int)
    assert task_a["canceled"] is False and task_a["completeScope"] is False
    assert body[2]["durationInMillis"] is None
    assert len({a["id"] for a in body}) == 3
    assert deployed.ok(deployed.get(f"/history/activity-instance/count?processInstanceId={instance}")) == {"count": 3}


def test_activity_instances_mark_the_end_event_and_cancelled_activities(deployed):
    done = _finish_three_tasks(deployed)
    end = deployed.ok(deployed.get(f"/history/activity-instance?processInstanceId={done}&activityId=end"))
    assert [(a["activityType"], a["completeScope"]) for a in end] == [("endEvent", True)]
    cancelled = deployed.start("three_tasks")["id"]
    deployed.ok(deployed.delete(f"/process-instance/{cancelled}"), 204)
    waiting = deployed.ok(deployed.get(f"/history/activity-instance?processInstanceId={cancelled}&activityId=task_a"))
    assert len(waiting) == 1
    assert waiting[0]["canceled"] is True and waiting[0]["endTime"] is not None


def test_activity_instances_filter_by_activity_id_across_instances(deployed):
    first = deployed.start("three_tasks")["id"]
    second = deployed.start("three_tasks")["id"]
    rows = deployed.ok(deployed.get("/history/activity-instance?activityId=task_a"))
    assert sorted(r["processInstanceId"] for r in rows) == sorted([first, second])
    assert deployed.ok(deployed.get("/history/activity-instance/count?activityId=task_a")) == {"count": 2}
    assert len(deployed.ok(deployed.get("/history/activity-instance?activityId=task_a&maxResults=1"))) == 1
    assert deployed.ok(deployed.get("/history/activity-instance?activityId=nope")) == []


def test_activity_types_are_camunda_camel_case_names(failing):
    instance = failing.start("failing_script", variables={"divisor": {"value": 4, "type": "Integer"}})["id"]
    types = {a["activityId"]: a["activityType"]
             for a in failing.ok(failing.get(f"/history/activity-instance?processInstanceId={instance}"))}
    assert types == {"start": "startEvent", "compute": "scriptTask", "after": "userTask"}


# -- historic tasks --------------------------------------------------------------------------

def test_historic_tasks_include_completed_and_cancelled_ones(deployed):
    instance = deployed.start("three_tasks")["id"]
    completed = _complete_next(deployed, instance)
    deployed.ok(deployed.delete(f"/process-instance/{instance}"), 204)
    body = deployed.ok(deployed.get(f"/history/task?processInstanceId={instance}"))
    by_key = {t["taskDefinitionKey"]: t for t in body}
    assert set(by_key) == {"task_a", "task_b"}
    done = by_key["task_a"]
    assert done["id"] == completed["id"]
    assert done["name"] == "Task A"
    assert done["deleteReason"] == "completed"
    assert done["processInstanceId"] == instance
    assert isinstance(done["processDefinitionId"], str)
    assert CAMUNDA_TIME.match(done["startTime"]) and CAMUNDA_TIME.match(done["endTime"])
    assert isinstance(done["duration"], int)
    assert by_key["task_b"]["deleteReason"] == "deleted"


def test_historic_tasks_filter_by_assignee_and_finished(deployed):
    instance = deployed.start("three_tasks")["id"]
    _complete_next(deployed, instance)
    review = deployed.start("simple_user_task")["id"]  # assigned to alice

    def keys(query):
        return sorted(t["taskDefinitionKey"] for t in deployed.ok(deployed.get(f"/history/task?{query}")))

    assert keys("finished=true") == ["task_a"]
    assert keys(f"unfinished=true&processInstanceId={instance}") == ["task_b"]
    alices = deployed.ok(deployed.get("/history/task?taskAssignee=alice"))
    assert [t["processInstanceId"] for t in alices] == [review]
    assert alices[0]["deleteReason"] is None and alices[0]["endTime"] is None and alices[0]["duration"] is None
    assert deployed.ok(deployed.get("/history/task/count")) == {"count": 3}
    assert deployed.ok(deployed.get("/history/task/count?unfinished=true")) == {"count": 2}


# -- incidents -------------------------------------------------------------------------------

def test_a_failing_script_opens_an_incident_in_camunda_shape(failing):
    instance = failing.start("failing_script", variables=DIVISOR_ZERO)["id"]
    failing.start("three_tasks")
    body = failing.ok(failing.get("/incident"))
    assert len(body) == 1
    incident = body[0]
    assert incident["processInstanceId"] == instance
    assert incident["activityId"] == "compute"
    assert incident["incidentType"] == "failedJob"
    assert "ZeroDivisionError" in incident["incidentMessage"]
    assert isinstance(incident["id"], str) and isinstance(incident["processDefinitionId"], str)
    assert CAMUNDA_TIME.match(incident["incidentTimestamp"])
    assert failing.ok(failing.get(f"/incident?processInstanceId={instance}")) == body
    assert failing.ok(failing.get("/incident?processInstanceId=other")) == []
    assert failing.ok(failing.get("/incident/count")) == {"count": 1}
    assert failing.ok(failing.get(f"/incident/count?processInstanceId={instance}")) == {"count": 1}


def test_resolved_incidents_are_not_listed(failing):
    instance = failing.start("failing_script", variables=DIVISOR_ZERO)["id"]
    failing.ok(failing.delete(f"/process-instance/{instance}"), 204)
    assert failing.ok(failing.get("/incident")) == []
    assert failing.ok(failing.get("/incident/count")) == {"count": 0}


def test_history_and_incidents_require_basic_credentials(client):
    for path in ("/history/process-instance", "/history/activity-instance", "/history/task", "/incident"):
        assert_camunda_error(client.get(f"/engine-rest{path}"), 401, "AuthenticationException")


# -- paging: the pages of a history list are the list, and its count counts it -----------------------------------

def _paged(rest: Camunda, path: str, size: int) -> list[dict]:
    joiner = "&" if "?" in path else "?"
    rows, first = [], 0
    while True:
        page = rest.ok(rest.get(f"{path}{joiner}firstResult={first}&maxResults={size}"))
        rows += page
        if len(page) < size:
            return rows
        first += size


@pytest.mark.parametrize("path", ["/history/activity-instance", "/history/activity-instance?finished=true",
                                  "/history/activity-instance?activityType=userTask",
                                  "/history/task", "/history/task?finished=true", "/history/task?processInstanceBusinessKey=B",
                                  "/history/process-instance", "/history/process-instance?processDefinitionNameLike=Three%25"])
def test_the_pages_of_a_history_list_are_the_whole_list_and_its_count_counts_it(app, deployed, make, path):
    done = _finish_three_tasks(deployed, businessKey="B")
    running = deployed.start("three_tasks", businessKey="B")
    _complete_next(deployed, running["id"])
    deployed.start("simple_user_task")
    whole = deployed.ok(deployed.get(path))
    assert whole, path

    for size in (1, 2, 5):
        assert _paged(deployed, path, size) == whole
    base, _, query = path.partition("?")
    assert deployed.ok(deployed.get(f"{base}/count?{query}")) == {"count": len(whole)}
    if base == "/history/activity-instance":  # in the order each instance entered them
        of_done = [row["activityId"] for row in whole if row["processInstanceId"] == done]
        assert of_done == [e for e in ["start", "task_a", "task_b", "task_c", "end"] if e in of_done]
    # a user reads the rows of the instances that concern them only: a page of theirs is a page of those
    make.user("sue", groups=["staff"])
    sue = Camunda(app, "sue")
    theirs = sue.ok(sue.get(path))
    assert {row.get("processInstanceId", row["id"]) for row in theirs} <= {running["id"]}
    assert _paged(sue, path, 1) == theirs
