"""POST /api/v1/process-instances/batch: one operation on many instances, each through its own use case.

Every instance named (or matched by the filter) gets an outcome: done, with its status now, or refused
with the problem its own call would have answered; a refusal neither stops nor undoes the others. More
instances than a batch takes is a 400 with the count before anything changes.
"""
from __future__ import annotations

import pytest

from ..factories import assert_problem, fixture

BATCH = "/api/v1/process-instances/batch"


@pytest.fixture
def failing(admin):
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    return admin


def batch(client, expect: int = 200, **body):
    response = client.post(BATCH, json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def outcomes(result) -> dict:
    return {item["instance_id"]: item for item in result["items"]}


def history_messages(client, instance_id: str, type_: str) -> list:
    events = client.get(f"/api/v1/process-instances/{instance_id}/history").get_json()["items"]
    return [e["message"] for e in events if e["type"] == type_]


def test_each_named_instance_gets_its_own_outcome_and_a_refusal_stops_nothing(failing):
    first, done, second = (failing.start("failing_script", {"divisor": 5})["id"] for _ in range(3))
    [task] = failing.instance(done)["tasks"]
    failing.complete(task["id"])

    result = batch(failing, operation="cancel", instance_ids=[first, done, second, first], reason="duplicates")

    assert (result["operation"], result["matched"], result["succeeded"], result["refused"]) == ("cancel", 3, 2, 1)
    assert [item["instance_id"] for item in result["items"]] == [first, done, second]  # as given, each once
    items = outcomes(result)
    assert items[first] == {"instance_id": first, "ok": True, "instance_status": "cancelled", "problem": None}
    refused = items[done]
    assert (refused["ok"], refused["instance_status"]) == (False, None)
    assert refused["problem"]["status"] == 409 and refused["problem"]["instance_status"] == "completed"
    assert refused["problem"]["type"] == "/problems/conflict"
    assert "cannot cancel an instance that is completed" in refused["problem"]["detail"]
    assert [failing.instance(i)["status"] for i in (first, done, second)] == ["cancelled", "completed", "cancelled"]
    assert history_messages(failing, second, "status_changed") == ["duplicates"]


def test_retry_runs_each_failed_step_again_and_reports_the_status_it_reached(app, failing):
    from app.extensions import db
    from app.services import instances
    from app.services.core import SYSTEM

    fixed, broken = (failing.start("failing_script", {"divisor": 0})["id"] for _ in range(2))
    running = failing.start("failing_script", {"divisor": 5})["id"]
    with app.app_context():
        instances.change_variables(fixed, {"divisor": 4}, SYSTEM)
        db.session.remove()

    items = outcomes(batch(failing, operation="retry", instance_ids=[fixed, broken, running], reason="fixed data"))

    assert (items[fixed]["ok"], items[fixed]["instance_status"]) == (True, "running")
    assert (items[broken]["ok"], items[broken]["instance_status"]) == (True, "error")  # retried, failed again
    assert (items[running]["ok"], items[running]["problem"]["status"]) == (False, 409)
    assert history_messages(failing, fixed, "retried") == ["fixed data"]


def test_suspend_and_resume_by_filter_select_what_the_instance_list_selects(failing):
    running = [failing.start("failing_script", {"divisor": 5})["id"] for _ in range(2)]
    failed = failing.start("failing_script", {"divisor": 0})["id"]

    suspended = batch(failing, operation="suspend", filter={"key": "failing_script", "status": "running"})
    resumed = batch(failing, operation="resume", filter={"key": "failing_script", "status": "suspended"},
                    reason="back")

    assert sorted(outcomes(suspended)) == sorted(running) and suspended["succeeded"] == 2
    assert sorted(outcomes(resumed)) == sorted(running) and resumed["succeeded"] == 2
    assert [failing.instance(i)["status"] for i in running] == ["running", "running"]
    assert failing.instance(failed)["status"] == "error"
    assert history_messages(failing, running[0], "status_changed") == [None, "back"]
    waiting = batch(failing, operation="suspend", filter={"activity": "after"})
    assert sorted(outcomes(waiting)) == sorted(running)


def test_a_batch_selects_by_a_business_key_pattern_as_the_list_does(failing):
    north = [failing.start("failing_script", {"divisor": 5}, business_key=f"NORTH-{n}")["id"] for n in range(2)]
    south = failing.start("failing_script", {"divisor": 5}, business_key="SOUTH-1")["id"]
    listed = failing.get("/api/v1/process-instances?business_key_like=NORTH-%25").get_json()["items"]
    assert sorted(i["id"] for i in listed) == sorted(north)

    result = batch(failing, operation="suspend", filter={"business_key_like": "NORTH-%"})
    assert sorted(outcomes(result)) == sorted(north) and result["succeeded"] == 2
    assert failing.instance(south)["status"] == "running"


def test_a_filter_that_matches_nothing_changes_nothing(failing):
    result = batch(failing, operation="cancel", filter={"key": "no_such_process"})
    assert (result["matched"], result["items"]) == (0, [])


def test_a_batch_larger_than_the_limit_is_refused_with_the_count_and_changes_nothing(failing, monkeypatch):
    from app.services import bulk

    monkeypatch.setattr(bulk, "MAX_INSTANCES", 2)
    ids = [failing.start("failing_script", {"divisor": 5})["id"] for _ in range(3)]

    by_filter = assert_problem(failing.post(BATCH, json={"operation": "cancel", "filter": {"key": "failing_script"}}),
                               400)
    by_ids = assert_problem(failing.post(BATCH, json={"operation": "cancel", "instance_ids": ids}), 400)

    assert (by_filter["matched"], by_filter["limit_value"]) == (3, 2)
    assert "narrow" in by_filter["detail"]
    assert by_ids["matched"] == 3
    assert {failing.instance(i)["status"] for i in ids} == {"running"}


def test_each_instance_is_authorized_on_its_own(failing, make):
    theirs = failing.start("failing_script", {"divisor": 5})["id"]
    olga = make.client("olga")
    hers = olga.start("failing_script", {"divisor": 5})["id"]

    named = outcomes(batch(olga, operation="cancel", instance_ids=[theirs, hers]))
    filtered = batch(olga, operation="cancel", filter={"key": "failing_script"})

    assert named[theirs]["problem"]["status"] == 404  # not hers to read: as if it did not exist
    assert named[hers]["problem"]["status"] == 403  # hers to read, not to cancel without `delete`
    assert "'delete' permission" in named[hers]["problem"]["detail"]
    assert list(outcomes(filtered)) == [hers]  # the filter matches only what she may read
    make.grant("delete", resource_id="failing_script", user="olga")
    assert outcomes(batch(olga, operation="cancel", instance_ids=[hers]))[hers]["ok"] is True
    assert failing.instance(theirs)["status"] == "running"


def test_an_unknown_instance_is_a_404_outcome(failing):
    [item] = batch(failing, operation="suspend", instance_ids=["0" * 32])["items"]
    assert (item["ok"], item["problem"]["status"], item["problem"]["type"]) == (False, 404, "/problems/not-found")


@pytest.mark.parametrize("body", [
    {"operation": "delete", "instance_ids": ["a"]},
    {"instance_ids": ["a"]},
    {"operation": "cancel"},
    {"operation": "cancel", "instance_ids": ["a"], "filter": {"key": "x"}},
    {"operation": "cancel", "instance_ids": []},
    {"operation": "cancel", "instance_ids": "a"},
    {"operation": "cancel", "instance_ids": ["x" * 33]},
    {"operation": "cancel", "filter": {"colour": "red"}},
    {"operation": "cancel", "filter": {"status": "sleeping"}},
    {"operation": "cancel", "filter": {"key": "x"}, "reason": "r" * 2001},
])
def test_a_malformed_batch_is_a_400_problem(failing, body):
    assert_problem(failing.post(BATCH, json=body), 400)


def test_without_a_token_a_batch_is_refused(client):
    assert_problem(client.post(BATCH, json={"operation": "cancel", "instance_ids": ["a"]}), 401)
