"""Monitoring and repair over HTTP: suspend, resume, cancel, retry, patch variables, and the instance list."""
from __future__ import annotations

import datetime as dt

import pytest

from ..factories import ApiClient, fixture, assert_problem

INSTANCES = "/api/v1/process-instances"


def repair(api: ApiClient, instance_id: str, action: str, reason: str | None = None):
    body = {"reason": reason} if reason else {}
    return api.post(f"{INSTANCES}/{instance_id}/{action}", json=body)


def patch_variables(api: ApiClient, instance_id: str, variables: dict):
    return api.patch(f"{INSTANCES}/{instance_id}/variables", json={"variables": variables})


def history(api: ApiClient, instance_id: str) -> list[dict]:
    return api.get(f"{INSTANCES}/{instance_id}/history").get_json()["items"]


def listed(api: ApiClient, **query) -> dict:
    response = api.get(INSTANCES, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def waiting(admin):
    """A three_tasks instance waiting at task_a (candidate group staff)."""
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    return admin.start("three_tasks")


@pytest.fixture
def failed(admin):
    """A failing_script instance in error: `result = 100 / divisor` with divisor 0."""
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    return admin.start("failing_script", {"divisor": 0})


# -- suspend and resume ------------------------------------------------------------------

def test_a_suspended_instance_refuses_completion_until_resumed(admin, make, waiting):
    bob = make.client("bob", groups=["staff"])
    task_id = waiting["tasks"][0]["id"]

    suspended = repair(admin, waiting["id"], "suspend", "customer on holiday")
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert admin.instance(waiting["id"])["status"] == "suspended"

    refused = bob.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}})
    body = assert_problem(refused, 409)
    assert body["instance_status"] == "suspended"
    for verb in ("claim", "unclaim"):  # nor claimed or given back while suspended, as Camunda refuses
        assert assert_problem(bob.post(f"/api/v1/tasks/{task_id}/{verb}"), 409)["instance_status"] == "suspended"
    assert bob.get(f"/api/v1/tasks/{task_id}").get_json()["state"] == "open"

    resumed = repair(admin, waiting["id"], "resume", "back")
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "running"

    done = bob.complete(task_id, {"note": "ok"})
    assert [t["element_id"] for t in done["tasks"]] == ["task_b"]
    changes = [(h["data"], h["message"]) for h in history(admin, waiting["id"]) if h["type"] == "status_changed"]
    assert changes == [({"from": "running", "to": "suspended"}, "customer on holiday"),
                       ({"from": "suspended", "to": "running"}, "back")]


# -- cancel -------------------------------------------------------------------------------

def test_cancel_closes_the_open_tasks_and_ends_the_instance(admin, make, waiting):
    bob = make.client("bob", groups=["staff"])
    task_id = waiting["tasks"][0]["id"]

    cancelled = repair(admin, waiting["id"], "cancel", "duplicate enquiry")

    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    instance = admin.instance(waiting["id"])
    assert instance["status"] == "cancelled" and instance["ended_at"] is not None
    assert instance["tasks"] == []
    assert bob.get(f"/api/v1/tasks/{task_id}").get_json()["state"] == "cancelled"  # by id: he was offered it
    assert bob.get("/api/v1/tasks?mine=true").get_json()["total"] == 0
    assert [t["id"] for t in admin.get("/api/v1/tasks?state=cancelled").get_json()["items"]] == [task_id]
    # bob was only a candidate of a task that closed: it is no longer in his lists
    assert bob.get("/api/v1/tasks?state=cancelled").get_json()["items"] == []

    assert_problem(bob.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}}), 409)
    late = admin.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}})
    assert_problem(late, 409)
    assert "task_completed" not in [h["type"] for h in history(admin, waiting["id"])]


def test_cancel_of_a_suspended_instance_closes_its_tasks(admin, waiting):
    repair(admin, waiting["id"], "suspend")

    response = repair(admin, waiting["id"], "cancel")

    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert admin.get(f"/api/v1/tasks/{waiting['tasks'][0]['id']}").get_json()["state"] == "cancelled"


# -- error, patch, retry ---------------------------------------------------------------------

def test_a_failing_script_puts_the_instance_in_error_with_an_incident(admin, failed):
    assert failed["status"] == "error"
    assert failed["tasks"] == []

    instance = admin.instance(failed["id"])

    assert instance["status"] == "error"
    [incident] = instance["incidents"]
    assert incident["element_id"] == "compute"
    assert "ZeroDivisionError" in incident["message"] or "division" in incident["message"]
    assert incident["resolved_at"] is None
    assert listed(admin, status="error")["total"] == 1


def test_patch_variables_then_retry_repairs_the_failed_instance(admin, make, failed):
    patched = patch_variables(admin, failed["id"], {"divisor": 4})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["variables"]["divisor"] == 4
    assert admin.instance(failed["id"])["status"] == "error"

    retried = admin.post(f"{INSTANCES}/{failed['id']}/retry")

    assert retried.status_code == 200, retried.get_json()
    body = retried.get_json()
    assert body["status"] == "running"
    assert [t["element_id"] for t in body["tasks"]] == ["after"]
    instance = admin.instance(failed["id"])
    assert instance["status"] == "running"
    [incident] = instance["incidents"]
    assert incident["resolved_at"] is not None and incident["resolution"] == "retried"
    assert [t["element_id"] for t in instance["tasks"]] == ["after"]
    assert instance["variables"]["result"] == 25.0
    staff = make.client("sam", groups=["staff"])
    assert [t["element_id"] for t in staff.get("/api/v1/tasks?mine=true").get_json()["items"]] == ["after"]
    types = [h["type"] for h in history(admin, failed["id"])]
    assert "variables_updated" in types and "retried" in types


def test_retry_without_a_fix_fails_again_with_a_new_incident(admin, failed):
    retried = admin.post(f"{INSTANCES}/{failed['id']}/retry")

    assert retried.status_code == 200 and retried.get_json()["status"] == "error"
    incidents = admin.instance(failed["id"])["incidents"]
    assert len(incidents) == 2
    assert incidents[0]["resolved_at"] is not None and incidents[1]["resolved_at"] is None


def test_patch_variables_merges_and_null_removes(admin, waiting):
    patch_variables(admin, waiting["id"], {"priority": "high", "owner": "bob"})

    response = patch_variables(admin, waiting["id"], {"owner": None, "region": "north"})

    assert response.status_code == 200
    assert response.get_json()["variables"] == {"priority": "high", "region": "north"}
    assert admin.instance(waiting["id"])["variables"] == {"priority": "high", "region": "north"}


def test_patch_variables_without_changes_is_a_400(admin, waiting):
    assert_problem(patch_variables(admin, waiting["id"], {}), 400)
    assert_problem(admin.patch(f"{INSTANCES}/{waiting['id']}/variables", json={}), 400)


# -- permissions and wrong transitions ---------------------------------------------------------

REPAIRS = [
    ("post", "suspend", {"reason": "x"}),
    ("post", "resume", {}),
    ("post", "cancel", {"reason": "x"}),
    ("post", "retry", None),
    ("patch", "variables", {"variables": {"divisor": 4}}),
]


@pytest.mark.parametrize("method, action, body", REPAIRS, ids=[r[1] for r in REPAIRS])
def test_repair_calls_are_for_admins_only(admin, make, failed, method, action, body):
    # An instance that does not concern a staff member is not hers to see, let alone repair.
    staff = make.client("sam", groups=["staff"])
    before = admin.instance(failed["id"])

    response = getattr(staff, method)(f"{INSTANCES}/{failed['id']}/{action}", json=body)

    assert_problem(response, 404)
    after = admin.instance(failed["id"])
    assert (after["status"], after["variables"], after["incidents"]) == (
        before["status"], before["variables"], before["incidents"])


def _running(admin):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    return admin.start("three_tasks")["id"]


def _completed(admin):
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    started = admin.start("simple_user_task")
    admin.complete(started["tasks"][0]["id"], {"ok": True})
    return started["id"]


def _cancelled(admin):
    instance_id = _running(admin)
    assert repair(admin, instance_id, "cancel").status_code == 200
    return instance_id


def _suspended(admin):
    instance_id = _running(admin)
    assert repair(admin, instance_id, "suspend").status_code == 200
    return instance_id


WRONG = [
    (_running, "resume", "running"),
    (_running, "retry", "running"),
    (_completed, "cancel", "completed"),
    (_completed, "suspend", "completed"),
    (_completed, "retry", "completed"),
    (_cancelled, "cancel", "cancelled"),
    (_cancelled, "resume", "cancelled"),
    (_suspended, "suspend", "suspended"),
    (_suspended, "retry", "suspended"),
]


@pytest.mark.parametrize("make_instance, action, status", WRONG,
                         ids=[f"{action}-{status}" for _, action, status in WRONG])
def test_a_transition_the_status_does_not_allow_is_a_409(admin, make_instance, action, status):
    instance_id = make_instance(admin)
    assert admin.instance(instance_id)["status"] == status

    response = repair(admin, instance_id, action)

    body = assert_problem(response, 409)
    assert body["instance_status"] == status
    assert admin.instance(instance_id)["status"] == status


@pytest.mark.parametrize("make_instance", [_completed, _cancelled], ids=["completed", "cancelled"])
def test_variables_of_an_ended_instance_cannot_be_patched(admin, make_instance):
    instance_id = make_instance(admin)
    before = admin.instance(instance_id)["variables"]

    response = patch_variables(admin, instance_id, {"late": True})

    assert_problem(response, 409)
    assert admin.instance(instance_id)["variables"] == before


def test_repairing_an_unknown_instance_is_a_404(admin):
    for action in ("suspend", "resume", "cancel", "retry"):
        assert_problem(repair(admin, "nope", action), 404)
    assert_problem(patch_variables(admin, "nope", {"a": 1}), 404)


# -- the instance list ------------------------------------------------------------------------

@pytest.fixture
def population(admin):
    """Four instances, started in this order:
    B-1 three_tasks at task_b; B-2 three_tasks cancelled; B-3 three_tasks at task_a; S-1 simple_user_task at review.
    """
    admin.deploy(fixture("valid", "three_tasks.bpmn"), fixture("valid", "simple_user_task.bpmn"))
    b1 = admin.start("three_tasks", business_key="B-1")
    admin.complete(b1["tasks"][0]["id"])
    b2 = admin.start("three_tasks", business_key="B-2")
    repair(admin, b2["id"], "cancel")
    b3 = admin.start("three_tasks", business_key="B-3")
    s1 = admin.start("simple_user_task", business_key="S-1")
    return {"B-1": b1["id"], "B-2": b2["id"], "B-3": b3["id"], "S-1": s1["id"]}


def _keys(page: dict, population: dict) -> list[str]:
    by_id = {v: k for k, v in population.items()}
    return [by_id[item["id"]] for item in page["items"]]


def test_the_instance_list_is_newest_first(admin, population):
    page = listed(admin)

    assert (page["total"], page["page"], page["per_page"]) == (4, 1, 20)
    assert _keys(page, population) == ["S-1", "B-3", "B-2", "B-1"]


def test_the_instance_list_is_paginated(admin, population):
    second = listed(admin, per_page=3, page=2)

    assert second["total"] == 4 and _keys(second, population) == ["B-1"]


@pytest.mark.parametrize("query, expected", [
    ({"status": "running"}, ["S-1", "B-3", "B-1"]),
    ({"status": "cancelled"}, ["B-2"]),
    ({"status": "completed"}, []),
    ({"key": "simple_user_task"}, ["S-1"]),
    ({"key": "three_tasks"}, ["B-3", "B-2", "B-1"]),
    ({"business_key": "B-2"}, ["B-2"]),
    ({"business_key_like": "B-%"}, ["B-3", "B-2", "B-1"]),
    ({"business_key_like": "%-1"}, ["S-1", "B-1"]),
    ({"business_key_like": "_-3"}, ["B-3"]),
    ({"business_key_like": "b-%"}, []),
    ({"activity": "task_b"}, ["B-1"]),
    ({"activity": "task_a"}, ["B-3"]),
    ({"activity": "review"}, ["S-1"]),
    ({"key": "three_tasks", "status": "running"}, ["B-3", "B-1"]),
], ids=["status-running", "status-cancelled", "status-completed", "key-simple", "key-three", "business-key",
        "business-key-prefix", "business-key-suffix", "business-key-one-character", "business-key-case-counts",
        "activity-task-b", "activity-task-a", "activity-review", "key-and-status"])
def test_instance_list_filters_narrow_the_results(admin, population, query, expected):
    page = listed(admin, **query)

    assert _keys(page, population) == expected
    assert page["total"] == len(expected)


def test_instance_list_filters_by_start_time(admin, population):
    b3_started = admin.instance(population["B-3"])["started_at"]
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()

    assert listed(admin, started_after=tomorrow)["total"] == 0
    assert _keys(listed(admin, started_before=tomorrow), population) == ["S-1", "B-3", "B-2", "B-1"]
    assert _keys(listed(admin, started_after=b3_started), population) == ["S-1", "B-3"]
    assert _keys(listed(admin, started_before=b3_started), population) == ["B-2", "B-1"]


def test_an_unknown_status_filter_is_a_400_problem(admin):
    body = assert_problem(admin.get(f"{INSTANCES}?status=sleeping"), 400)
    assert "status" in body["errors"]
