"""An admin completes a task on behalf of its assignee or a candidate: POST /api/v1/tasks/{id}/complete with
`on_behalf_of` and `reason`.

As Camunda's user operation log names the user who performed an operation, `completed_by` (and the
`task_completed` event) name the admin; the task's assignee is the user it was done for; a
`task_completed_on_behalf` event right after it keeps who, for whom and why. Everyone but admins gets 403.
"""
from __future__ import annotations

import pytest

from ..factories import assert_problem, fixture


@pytest.fixture
def review(admin, make):
    """simple_user_task's `review`, assigned to alice (field `ok`, a required boolean)."""
    make.user("alice")
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    started = admin.start("simple_user_task")
    return {"instance_id": started["id"], "task_id": started["tasks"][0]["id"]}


@pytest.fixture
def staff_task(admin, make):
    """three_tasks' first task, offered to the group staff (sam is in it, olga is not), unclaimed."""
    make.user("sam", groups=["staff"])
    make.user("olga", groups=["sales"])
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")
    return {"instance_id": started["id"], "task_id": started["tasks"][0]["id"]}


def on_behalf(api, task_id: str, **body):
    return api.post(f"/api/v1/tasks/{task_id}/complete", json=body)


def history(api, instance_id: str) -> list[dict]:
    return api.get(f"/api/v1/process-instances/{instance_id}/history").get_json()["items"]


def test_an_admin_completes_the_assignees_task_and_the_history_says_who_for_whom_and_why(server, make):
    admin = server.login()
    make.user("alice")
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    started = admin.start("simple_user_task")
    task_id = started["tasks"][0]["id"]
    server.restart()  # the instance is read back from the database, as after a restart
    admin = server.admin

    done = on_behalf(admin, task_id, variables={"ok": True}, on_behalf_of="alice", reason="alice is on leave")

    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "completed"
    task = admin.get(f"/api/v1/tasks/{task_id}").get_json()
    assert (task["state"], task["completed_by"], task["assignee"]) == ("completed", "admin", "alice")
    events = history(admin, started["id"])
    types = [e["type"] for e in events]
    at = types.index("task_completed")
    assert types[at + 1] == "task_completed_on_behalf"
    assert events[at]["user"] == "admin" and events[at]["data"] == {"ok": True}
    audit = events[at + 1]
    assert audit["user"] == "admin" and audit["message"] == "alice is on leave"
    assert audit["data"] == {"task_id": task_id, "on_behalf_of": "alice", "completed_by": "admin"}
    assert audit["element_id"] == "review"
    assert admin.instance(started["id"])["variables"]["ok"] is True


def test_an_unassigned_task_is_completed_for_a_member_of_a_candidate_group(admin, staff_task):
    done = on_behalf(admin, staff_task["task_id"], on_behalf_of="sam", reason="sam phoned it in")

    assert done.status_code == 200, done.get_json()
    task = admin.get(f"/api/v1/tasks/{staff_task['task_id']}").get_json()
    assert (task["completed_by"], task["assignee"]) == ("admin", "sam")


@pytest.mark.parametrize("body, field, message", [
    ({"on_behalf_of": "olga", "reason": "x"}, "on_behalf_of", "olga is not a candidate of this task"),
    ({"on_behalf_of": "nobody", "reason": "x"}, "on_behalf_of", "no user nobody"),
    ({"on_behalf_of": "sam"}, "reason", "required"),
    ({"on_behalf_of": "sam", "reason": "  "}, "reason", "required"),
], ids=["not-a-candidate", "no-such-user", "no-reason", "blank-reason"])
def test_a_user_the_task_is_not_for_or_no_reason_is_refused_per_field(admin, staff_task, body, field, message):
    refused = on_behalf(admin, staff_task["task_id"], **body)

    problem = assert_problem(refused, 400)
    assert problem["errors"][field] == [message]
    assert admin.get(f"/api/v1/tasks/{staff_task['task_id']}").get_json()["state"] == "open"
    assert "task_completed" not in [e["type"] for e in history(admin, staff_task["instance_id"])]


def test_an_assigned_task_is_completed_only_for_its_assignee(admin, review, make):
    make.user("bob")

    refused = on_behalf(admin, review["task_id"], variables={"ok": True}, on_behalf_of="bob", reason="x")

    assert assert_problem(refused, 400)["errors"] == {"on_behalf_of": ["the task is assigned to alice"]}
    assert admin.get(f"/api/v1/tasks/{review['task_id']}").get_json()["state"] == "open"


def test_a_claim_by_another_candidate_before_the_completion_is_refused_for_the_first(admin, staff_task, make):
    make.user("sue", groups=["staff"])
    admin.post(f"/api/v1/tasks/{staff_task['task_id']}/delegate", json={"user": "sue"})

    refused = on_behalf(admin, staff_task["task_id"], on_behalf_of="sam", reason="x")

    assert assert_problem(refused, 400)["errors"] == {"on_behalf_of": ["the task is assigned to sue"]}


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_anyone_but_an_admin_gets_403_even_the_assignee(app, admin, review, make, who):
    from ..factories import ApiClient

    if who == "sam":
        make.user("sam", groups=["staff"])
    caller = ApiClient.login(app, who, "secret")

    refused = on_behalf(caller, review["task_id"], variables={"ok": True}, on_behalf_of="alice", reason="me")

    assert assert_problem(refused, 403)["detail"] == "only an admin may complete a task on behalf of another user"
    assert admin.get(f"/api/v1/tasks/{review['task_id']}").get_json()["state"] == "open"


def test_the_form_is_checked_as_for_any_completion(admin, review):
    refused = on_behalf(admin, review["task_id"], variables={"ok": "yes", "extra": 1}, on_behalf_of="alice",
                        reason="x")

    problem = assert_problem(refused, 400)
    assert problem["type"] == "/problems/invalid-form-data" and set(problem["errors"]) == {"ok", "extra"}
    assert admin.get(f"/api/v1/tasks/{review['task_id']}").get_json()["state"] == "open"


def test_a_reason_without_on_behalf_of_is_a_400_and_a_completed_task_a_409(admin, review):
    alone = on_behalf(admin, review["task_id"], variables={"ok": True}, reason="why not")
    assert "reason" in assert_problem(alone, 400)["errors"]

    assert on_behalf(admin, review["task_id"], variables={"ok": True}, on_behalf_of="alice", reason="x").status_code == 200
    again = on_behalf(admin, review["task_id"], variables={"ok": True}, on_behalf_of="alice", reason="x")
    assert assert_problem(again, 409)["task_state"] == "completed"


def test_a_disabled_assignee_may_be_the_one_it_is_done_for(admin, review):
    """They do nothing themselves: a task stuck with someone who left can still be completed for them."""
    assert admin.patch("/api/v1/users/alice", json={"disabled": True}).status_code == 200

    done = on_behalf(admin, review["task_id"], variables={"ok": False}, on_behalf_of="alice", reason="alice left")

    assert done.status_code == 200, done.get_json()
    assert admin.get(f"/api/v1/tasks/{review['task_id']}").get_json()["assignee"] == "alice"
