"""More of Camunda 7's REST API under /engine-rest: delegation, statistics, activity instances, single variables.

Shapes follow Camunda 7's REST reference. A delegation makes the assignee
the task's owner (delegationState PENDING); resolving it gives the task back
to the owner (delegationState RESOLVED, the owner kept).
"""
from __future__ import annotations

import pytest

from config import TestConfig

from ..factories import fixture
from .test_rest import Camunda, assert_camunda_error

DIVISOR_ZERO = {"divisor": {"value": 0, "type": "Integer"}}


@pytest.fixture
def deployed(app) -> Camunda:
    """The admin over /engine-rest with simple_user_task (review, for alice), three_tasks and parallel_tasks."""
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn"),
                        fixture("valid", "parallel_tasks.bpmn")))
    return rest


def _only_task(rest: Camunda, instance_id: str) -> dict:
    [task] = rest.ok(rest.get(f"/task?processInstanceId={instance_id}"))
    return task


# -- delegate and resolve -------------------------------------------------------------------

def test_a_delegated_task_goes_to_the_delegate_and_resolving_gives_it_back_with_variables(app, make, deployed):
    make.user("alice")
    make.user("dave")
    instance = deployed.start("simple_user_task")
    task = _only_task(deployed, instance["id"])
    alice = Camunda(app, "alice")
    alice.ok(alice.post(f"/task/{task['id']}/delegate", json={"userId": "dave"}), 204)
    delegated = alice.ok(alice.get(f"/task/{task['id']}"))
    assert (delegated["assignee"], delegated["owner"], delegated["delegationState"]) == ("dave", "alice", "PENDING")

    dave = Camunda(app, "dave")
    dave.ok(dave.post(f"/task/{task['id']}/resolve",  # the review's form data: its one field, "ok"
                      json={"variables": {"ok": {"value": True, "type": "Boolean"}}}), 204)
    resolved = alice.ok(alice.get(f"/task/{task['id']}"))
    assert (resolved["assignee"], resolved["owner"], resolved["delegationState"]) == ("alice", "alice", "RESOLVED")
    assert_camunda_error(dave.get(f"/task/{task['id']}"), 404, "InvalidRequestException")  # handed back: not his
    assert deployed.ok(deployed.get(f"/process-instance/{instance['id']}/variables/ok")) == {
        "type": "Boolean", "value": True, "valueInfo": {}}
    [historic] = deployed.ok(deployed.get(f"/history/task?processInstanceId={instance['id']}"))
    assert (historic["owner"], historic["assignee"]) == ("alice", "alice")


def test_resolving_a_task_delegated_while_unassigned_gives_it_back_to_its_candidates(app, make, deployed):
    make.user("sam", groups=["staff"])
    instance = deployed.start("three_tasks")
    task = _only_task(deployed, instance["id"])
    assert task["assignee"] is None
    deployed.ok(deployed.post(f"/task/{task['id']}/delegate", json={"userId": "sam"}), 204)
    assert deployed.ok(deployed.get(f"/task/{task['id']}"))["owner"] is None
    sam = Camunda(app, "sam")
    sam.ok(sam.post(f"/task/{task['id']}/resolve", json={}), 204)
    assert deployed.ok(deployed.get(f"/task/{task['id']}"))["assignee"] is None


def test_delegation_refuses_unknown_users_strangers_and_tasks_not_delegated(app, make, deployed):
    make.user("alice")
    make.user("bob")
    instance = deployed.start("simple_user_task")
    task = _only_task(deployed, instance["id"])
    assert_camunda_error(deployed.post(f"/task/{task['id']}/delegate", json={"userId": "ghost"}), 404,
                         "InvalidRequestException")
    assert_camunda_error(deployed.post(f"/task/{task['id']}/delegate", json={}), 400, "InvalidRequestException")
    bob = Camunda(app, "bob")
    assert_camunda_error(bob.post(f"/task/{task['id']}/delegate", json={"userId": "bob"}), 404,
                         "InvalidRequestException")  # not his to read: to him it does not exist
    assert_camunda_error(deployed.post(f"/task/{task['id']}/resolve", json={}), 409, "ProcessEngineException")
    deployed.ok(deployed.post(f"/task/{task['id']}/delegate", json={"userId": "bob"}), 204)
    alice = Camunda(app, "alice")
    assert_camunda_error(alice.post(f"/task/{task['id']}/resolve", json={}), 403, "AuthorizationException")
    assert_camunda_error(bob.post(f"/task/{task['id']}/resolve",
                                  json={"variables": {"n": {"value": "x", "type": "Integer"}}}),
                         400, "InvalidRequestException")
    assert deployed.ok(deployed.get(f"/task/{task['id']}"))["assignee"] == "bob"  # nothing changed
    assert_camunda_error(deployed.post("/task/nope/delegate", json={"userId": "bob"}), 404,
                         "InvalidRequestException")


def test_a_second_delegation_keeps_the_first_owner_and_tasks_are_found_by_owner_and_delegation(
        app, make, deployed):
    for name in ("alice", "dave", "erin"):
        make.user(name)
    delegated = _only_task(deployed, deployed.start("simple_user_task")["id"])
    kept = _only_task(deployed, deployed.start("simple_user_task")["id"])  # alice's, never delegated
    alice = Camunda(app, "alice")
    alice.ok(alice.post(f"/task/{delegated['id']}/delegate", json={"userId": "dave"}), 204)
    dave = Camunda(app, "dave")
    dave.ok(dave.post(f"/task/{delegated['id']}/delegate", json={"userId": "erin"}), 204)
    task = deployed.ok(deployed.get(f"/task/{delegated['id']}"))
    assert (task["assignee"], task["owner"], task["delegationState"]) == ("erin", "alice", "PENDING")

    def ids(query):
        return [t["id"] for t in deployed.ok(deployed.get(f"/task?{query}"))]

    assert ids("owner=alice") == [delegated["id"]]
    assert ids("delegationState=PENDING") == [delegated["id"]]
    assert ids("delegationState=pending") == [delegated["id"]]
    assert ids("delegationState=RESOLVED") == []
    assert deployed.ok(deployed.post("/task", json={"owner": "alice"}))[0]["id"] == delegated["id"]
    Camunda(app, "erin").ok(Camunda(app, "erin").post(f"/task/{delegated['id']}/resolve", json={}), 204)
    assert ids("delegationState=RESOLVED&owner=alice") == [delegated["id"]]
    assert ids("delegationState=PENDING") == []
    assert kept["id"] not in ids("owner=alice")


def test_a_task_waiting_for_its_delegate_cannot_be_completed_until_resolved(app, make, deployed):
    make.user("alice")
    make.user("dave")
    instance = deployed.start("simple_user_task")
    task = _only_task(deployed, instance["id"])
    alice, dave = Camunda(app, "alice"), Camunda(app, "dave")
    alice.ok(alice.post(f"/task/{task['id']}/delegate", json={"userId": "dave"}), 204)
    done = {"variables": {"ok": {"value": True, "type": "Boolean"}}}
    body = assert_camunda_error(dave.post(f"/task/{task['id']}/complete", json=done), 409, "ProcessEngineException")
    assert "delegated" in body["message"]
    assert _only_task(deployed, instance["id"])["id"] == task["id"]  # still open
    dave.ok(dave.post(f"/task/{task['id']}/resolve", json={}), 204)
    alice.ok(alice.post(f"/task/{task['id']}/complete", json=done), 204)
    assert deployed.get(f"/task/{task['id']}").status_code == 404


def test_an_api_v1_delegation_is_a_plain_handover_without_owner(app, make, deployed):
    alice = make.client("alice")
    make.user("dave")
    instance = deployed.start("simple_user_task")
    task = _only_task(deployed, instance["id"])
    response = alice.post(f"/api/v1/tasks/{task['id']}/delegate", json={"user": "dave"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["assignee"], body["owner"], body["delegation_state"]) == ("dave", None, None)
    handed = deployed.ok(deployed.get(f"/task/{task['id']}"))
    assert (handed["assignee"], handed["owner"], handed["delegationState"]) == ("dave", None, None)
    Camunda(app, "alice").ok(Camunda(app, "alice").post(f"/task/{task['id']}/delegate", json={"userId": "alice"}),
                             404)  # alice no longer holds it, nor may she read it


# -- process definition statistics ------------------------------------------------------------

def test_definition_statistics_count_running_instances_per_active_activity(deployed):
    first = deployed.start("three_tasks")["id"]
    deployed.start("three_tasks")
    deployed.ok(deployed.post(f"/task/{_only_task(deployed, first)['id']}/complete", json={}), 204)
    ended = deployed.start("three_tasks")["id"]
    deployed.ok(deployed.delete(f"/process-instance/{ended}"), 204)
    definition_id = deployed.ok(deployed.get("/process-definition/key/three_tasks"))["id"]
    stats = deployed.ok(deployed.get(f"/process-definition/{definition_id}/statistics"))
    assert sorted((s["id"], s["instances"], s["failedJobs"], s["incidents"]) for s in stats) == [
        ("task_a", 1, 0, []), ("task_b", 1, 0, [])]


def test_definition_statistics_list_open_incidents_by_type(deployed):
    deployed.ok(deployed.deploy(fixture("valid", "failing_script.bpmn")))
    deployed.start("failing_script", DIVISOR_ZERO)
    definition_id = deployed.ok(deployed.get("/process-definition/key/failing_script"))["id"]
    [stat] = deployed.ok(deployed.get(f"/process-definition/{definition_id}/statistics"))
    assert stat["id"] == "compute"
    assert stat["instances"] == 1
    assert stat["incidents"] == [{"incidentType": "failedJob", "incidentCount": 1}]


def test_statistics_of_an_unknown_definition_answer_404(deployed):
    assert_camunda_error(deployed.get("/process-definition/nope/statistics"), 404, "InvalidRequestException")


# -- activity instance tree -------------------------------------------------------------------

def test_the_activity_instance_tree_has_the_instance_as_root_and_waiting_activities_as_children(deployed):
    instance = deployed.start("parallel_tasks")
    tree = deployed.ok(deployed.get(f"/process-instance/{instance['id']}/activity-instances"))
    assert tree["id"] == instance["id"]
    assert tree["activityId"] == instance["definitionId"]
    assert tree["activityName"] == "Parallel tasks"
    assert tree["activityType"] == "processDefinition"
    assert tree["processInstanceId"] == instance["id"]
    assert tree["processDefinitionId"] == instance["definitionId"]
    assert tree["childTransitionInstances"] == []
    children = sorted(tree["childActivityInstances"], key=lambda child: child["activityId"])
    assert [(c["activityId"], c["activityName"], c["activityType"]) for c in children] == [
        ("left", "Left", "userTask"), ("right", "Right", "userTask")]
    for child in children:
        assert child["processInstanceId"] == instance["id"]
        assert child["processDefinitionId"] == instance["definitionId"]
        assert child["childActivityInstances"] == [] and child["childTransitionInstances"] == []
        assert child["id"].startswith(child["activityId"] + ":")
    assert len({child["id"] for child in children}) == 2


def test_ended_or_unknown_instances_have_no_activity_instance_tree(deployed):
    instance = deployed.start("simple_user_task")["id"]
    deployed.ok(deployed.delete(f"/process-instance/{instance}"), 204)
    for path in (f"/process-instance/{instance}/activity-instances", "/process-instance/nope/activity-instances"):
        assert_camunda_error(deployed.get(path), 404, "InvalidRequestException")


# -- single variables -------------------------------------------------------------------------

def test_one_variable_is_set_read_and_removed(deployed):
    instance = deployed.start("simple_user_task", {"note": {"value": "old", "type": "String"}})
    path = f"/process-instance/{instance['id']}/variables"
    deployed.ok(deployed.put(f"{path}/amount", json={"value": 7, "type": "Long"}), 204)
    deployed.ok(deployed.put(f"{path}/note", json={"value": "new", "type": "String"}), 204)
    deployed.ok(deployed.put(f"{path}/tags", json={"value": '["a"]', "type": "Json"}), 204)
    assert deployed.ok(deployed.get(f"{path}/amount")) == {"type": "Integer", "value": 7, "valueInfo": {}}
    assert deployed.ok(deployed.get(f"{path}/note"))["value"] == "new"
    assert deployed.ok(deployed.get(f"{path}/tags")) == {"type": "Json", "value": '["a"]', "valueInfo": {}}
    deployed.ok(deployed.delete(f"{path}/note"), 204)
    assert_camunda_error(deployed.get(f"{path}/note"), 404, "InvalidRequestException")
    deployed.ok(deployed.delete(f"{path}/never-there"), 204)
    assert set(deployed.ok(deployed.get(path))) == {"amount", "tags"}


def test_setting_or_removing_one_variable_is_for_admins_with_well_typed_values(app, make, deployed):
    instance = deployed.start("simple_user_task", {"note": {"value": "old", "type": "String"}})
    path = f"/process-instance/{instance['id']}/variables"
    make.user("bob")
    make.grant("read", "process", "simple_user_task", user="bob")
    bob = Camunda(app, "bob")
    assert_camunda_error(bob.put(f"{path}/note", json={"value": "x", "type": "String"}), 403,
                         "AuthorizationException")
    assert_camunda_error(bob.delete(f"{path}/note"), 403, "AuthorizationException")
    assert_camunda_error(deployed.put(f"{path}/n", json={"value": "x", "type": "Integer"}), 400,
                         "InvalidRequestException")
    assert_camunda_error(deployed.put("/process-instance/nope/variables/n", json={"value": 1, "type": "Integer"}),
                         404, "InvalidRequestException")
    assert_camunda_error(deployed.delete("/process-instance/nope/variables/n"), 404, "InvalidRequestException")
    assert deployed.ok(deployed.get(path)) == {"note": {"type": "String", "value": "old", "valueInfo": {}}}
