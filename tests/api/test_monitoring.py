"""Monitoring over /api/v1: statistics per process key and per element of a definition, and the incident list.

Values are checked against instances the tests create (with the clock moved between steps, so the
durations are known); everyone else counts only the instances they may read, and bad queries are
400 problems.
"""
from __future__ import annotations

import datetime as dt

import pytest

from config import TestConfig

from ..factories import ApiClient, assert_problem, fixture

MINUTE = dt.timedelta(minutes=1)
STATS = "/api/v1/statistics/processes"


def only_task(client, instance_id: str) -> dict:
    [task] = client.instance(instance_id)["tasks"]
    return task


def by_key(response) -> dict:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return {item["key"]: item for item in body["items"]}


def by_element(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return {e["element_id"]: e for e in response.get_json()["elements"]}


def definition_id(client, key: str) -> str:
    return client.get(f"/api/v1/process-definitions?key={key}&latest=true").get_json()["items"][0]["id"]


# -- per process key ---------------------------------------------------------------------------------------------

@pytest.fixture
def mixed(clock, admin):
    """failing_script instances: one completed 30 hours ago, then one in error, one running, one suspended and
    one completed now."""
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    old = admin.start("failing_script", {"divisor": 2})
    admin.complete(only_task(admin, old["id"])["id"])
    clock.shift(dt.timedelta(hours=30))
    fresh = ApiClient.login(admin.app, "admin", TestConfig.ADMIN_PASSWORD)  # the first token has expired
    failed = fresh.start("failing_script", {"divisor": 0})
    running = fresh.start("failing_script", {"divisor": 5})
    paused = fresh.start("failing_script", {"divisor": 1})
    assert fresh.post(f"/api/v1/process-instances/{paused['id']}/suspend", json={}).status_code == 200
    done = fresh.start("failing_script", {"divisor": 4})
    fresh.complete(only_task(fresh, done["id"])["id"])
    return {"admin": fresh, "failed": failed, "running": running, "paused": paused}


def test_process_statistics_count_each_status_open_incidents_tasks_and_recent_completions(mixed):
    admin = mixed["admin"]
    [row] = by_key(admin.get(STATS)).values()

    assert row == {"key": "failing_script", "running": 1, "error": 1, "suspended": 1, "open_incidents": 1,
                   "open_tasks": 2, "completed_recently": 1}  # the running and the suspended one hold a task
    wider = by_key(admin.get(f"{STATS}?completed_within_hours=48"))["failing_script"]
    assert wider["completed_recently"] == 2


def test_process_statistics_count_only_the_instances_a_user_may_read(mixed, make, app):
    olga = make.client("olga")
    assert by_key(olga.get(STATS)) == {}
    olga.start("failing_script", {"divisor": 0})
    assert by_key(olga.get(STATS)) == {"failing_script": {
        "key": "failing_script", "running": 0, "error": 1, "suspended": 0, "open_incidents": 1, "open_tasks": 0,
        "completed_recently": 0}}
    reader = make.client("rita")
    make.grant("read", resource_id="failing_script", user="rita")
    assert by_key(reader.get(STATS))["failing_script"]["error"] == 2


def test_every_keys_statistics_agree_with_those_counted_over_the_instances_one_may_read(mixed, clock, make):
    """An admin's statistics are counted per key from index ranges, a reader's of some keys by one pass over
    what they may read: with read granted on every key, both give the same rows, keys with nothing running
    (only old completions, only cancelled instances) included and in key order."""
    admin = mixed["admin"]
    admin.deploy(fixture("valid", "three_tasks.bpmn"), fixture("valid", "simple_user_task.bpmn"),
                 fixture("valid", "parallel_tasks.bpmn"))
    three = [admin.start("three_tasks")["id"] for _ in range(3)]
    assert admin.post(f"/api/v1/process-instances/{three[0]}/cancel", json={"reason": "x"}).status_code == 200
    assert admin.post(f"/api/v1/process-instances/{three[1]}/suspend", json={}).status_code == 200
    done = admin.start("simple_user_task")
    for task in admin.instance(done["id"])["tasks"]:
        admin.complete(task["id"], {"ok": True})
    cancelled = admin.start("parallel_tasks")["id"]  # two open tasks, then none: a key with nothing live
    assert admin.post(f"/api/v1/process-instances/{cancelled}/cancel", json={"reason": "x"}).status_code == 200
    clock.shift(dt.timedelta(hours=2))

    reader = make.client("rhea")
    for key in ("failing_script", "three_tasks", "simple_user_task", "parallel_tasks"):
        make.grant("read", resource_id=key, user="rhea")
    for window in ("", "?completed_within_hours=1", "?completed_within_hours=100"):
        every = admin.get(f"{STATS}{window}").get_json()["items"]
        assert every == reader.get(f"{STATS}{window}").get_json()["items"], window
        assert [row["key"] for row in every] == ["failing_script", "parallel_tasks", "simple_user_task",
                                                 "three_tasks"]
    rows = by_key(admin.get(STATS))
    assert rows["parallel_tasks"] == {"key": "parallel_tasks", "running": 0, "error": 0, "suspended": 0,
                                      "open_incidents": 0, "open_tasks": 0, "completed_recently": 0}
    assert (rows["three_tasks"]["running"], rows["three_tasks"]["suspended"], rows["three_tasks"]["open_tasks"]) \
        == (1, 1, 2)
    assert rows["simple_user_task"]["completed_recently"] == 1
    assert by_key(admin.get(f"{STATS}?completed_within_hours=1"))["simple_user_task"]["completed_recently"] == 0


def test_a_readers_statistics_read_their_grants_once(mixed, make, app):
    """The grants decide the instances and the tasks counted: asked once for both."""
    from ..factories import sql_sent
    reader = make.client("rhea")
    make.grant("read", resource_id="failing_script", user="rhea")
    with sql_sent(app) as sent:
        assert by_key(reader.get(STATS))["failing_script"]["error"] == 1
    assert len([statement for statement in sent if "FROM authorization_grant" in statement]) == 1


@pytest.mark.parametrize("query", ["completed_within_hours=0", "completed_within_hours=abc",
                                   "completed_within_hours=100000"])
def test_process_statistics_refuse_a_bad_window(admin, query):
    body = assert_problem(admin.get(f"{STATS}?{query}"), 400)
    assert "completed_within_hours" in body["errors"]


# -- per element of a definition ---------------------------------------------------------------------------------

@pytest.fixture
def timed(clock, admin):
    """three_tasks: three instances started together; task_a done after 10, 20 and 60 minutes; the third then
    cancelled at task_b; the first leaves task_b 80 minutes after entering it."""
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    first, second, third = (admin.start("three_tasks")["id"] for _ in range(3))
    for instance, minutes in ((first, 10), (second, 10), (third, 40)):
        clock.shift(minutes * MINUTE)
        admin.complete(only_task(admin, instance)["id"])
    assert admin.post(f"/api/v1/process-instances/{third}/cancel", json={"reason": "dup"}).status_code == 200
    clock.shift(30 * MINUTE)
    admin.complete(only_task(admin, first)["id"])
    return {"first": first, "second": second, "third": third, "definition_id": definition_id(admin, "three_tasks")}


def test_element_statistics_count_waiting_completed_cancelled_and_time_each_element(admin, timed):
    response = admin.get(f"/api/v1/process-definitions/{timed['definition_id']}/statistics")
    elements = by_element(response)
    body = response.get_json()

    assert body["definition"]["key"] == "three_tasks"
    assert body["sample"]["instances"] == 3
    assert list(elements) == ["start", "task_a", "task_b", "task_c", "end"]  # the definition's own order
    a, b, c = elements["task_a"], elements["task_b"], elements["task_c"]
    assert (a["waiting"], a["completed"], a["cancelled"], a["timed"]) == (0, 3, 0, 3)
    assert (a["p50_seconds"], a["avg_seconds"]) == (1200, 1800)  # 10, 20 and 60 minutes
    assert (b["waiting"], b["completed"], b["cancelled"], b["timed"]) == (1, 1, 1, 1)
    assert (b["p50_seconds"], b["avg_seconds"]) == (4800, 4800)  # entered at 10 minutes, left at 90
    assert (c["waiting"], c["completed"], c["cancelled"], c["timed"]) == (1, 0, 0, 0)
    assert (c["p50_seconds"], c["avg_seconds"]) == (None, None)
    assert elements["start"]["completed"] == 3 and elements["start"]["p50_seconds"] == 0
    assert elements["end"]["completed"] == 0 and elements["task_a"]["name"] == "Task A"


def test_element_statistics_read_the_history_of_the_latest_instances_only(app, admin, timed):
    from app.services.core import SYSTEM
    from app.services.statistics import element_statistics

    with app.app_context():
        newest = element_statistics(timed["definition_id"], SYSTEM, sample=1)
    task_a = {e.element_id: e for e in newest.elements}["task_a"]

    assert (newest.sample.instances, newest.sample.limit) == (1, 1)
    assert (task_a.completed, task_a.timed) == (1, 1)  # one of the three, all started at the same moment
    assert {e.element_id: e for e in newest.elements}["task_b"].waiting == 1  # now: every instance, not the sample


def test_element_statistics_count_open_incidents_where_they_stopped(admin):
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    for divisor in (0, 0, 5):
        admin.start("failing_script", {"divisor": divisor})

    elements = by_element(admin.get(f"/api/v1/process-definitions/{definition_id(admin, 'failing_script')}/statistics"))

    assert (elements["compute"]["waiting"], elements["compute"]["incidents"]) == (2, 2)
    assert (elements["after"]["waiting"], elements["after"]["incidents"]) == (1, 0)
    assert elements["compute"]["completed"] == 1


def test_an_instance_cancelled_in_error_counts_as_cancelled_where_it_failed(admin):
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    failed = admin.start("failing_script", {"divisor": 0})
    assert admin.post(f"/api/v1/process-instances/{failed['id']}/cancel", json={}).status_code == 200

    elements = by_element(admin.get(f"/api/v1/process-definitions/{definition_id(admin, 'failing_script')}/statistics"))

    assert (elements["compute"]["cancelled"], elements["compute"]["waiting"]) == (1, 0)
    assert elements["after"]["cancelled"] == 0


def test_element_statistics_count_only_the_instances_a_user_may_read(admin, make, timed):
    olga = make.client("olga")
    mine = olga.start("three_tasks")["id"]

    elements = by_element(olga.get(f"/api/v1/process-definitions/{timed['definition_id']}/statistics"))

    assert elements["task_a"]["waiting"] == 1 and elements["task_b"]["waiting"] == 0
    assert elements["task_a"]["completed"] == 0 and elements["start"]["completed"] == 1
    assert olga.instance(mine)["status"] == "running"


def test_statistics_of_an_unknown_definition_are_a_404_problem(admin):
    assert_problem(admin.get("/api/v1/process-definitions/nope/statistics"), 404)


# -- the incident list -------------------------------------------------------------------------------------------

@pytest.fixture
def incidents(app, admin):
    """failing_script: two ZeroDivisionError incidents (one then retried with a fix: resolved) and a NameError."""
    from app.extensions import db
    from app.services import instances
    from app.services.core import SYSTEM

    admin.deploy(fixture("valid", "failing_script.bpmn"))
    fixed = admin.start("failing_script", {"divisor": 0})["id"]
    zero = admin.start("failing_script", {"divisor": 0})["id"]
    name = admin.start("failing_script", {})["id"]
    with app.app_context():
        instances.change_variables(fixed, {"divisor": 4}, SYSTEM)
        db.session.remove()
    assert admin.post(f"/api/v1/process-instances/{fixed}/retry").get_json()["status"] == "running"
    return {"fixed": fixed, "zero": zero, "name": name}


def listed(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return sorted(item["instance_id"] for item in body["items"])


def test_incidents_are_listed_open_by_default_and_filtered(admin, incidents):
    everything = admin.get("/api/v1/incidents?state=all").get_json()["items"]
    fixed = next(i for i in everything if i["instance_id"] == incidents["fixed"])

    assert listed(admin.get("/api/v1/incidents")) == sorted([incidents["zero"], incidents["name"]])
    assert listed(admin.get("/api/v1/incidents?state=resolved")) == [incidents["fixed"]]
    assert (fixed["resolution"], fixed["key"], fixed["element_id"]) == ("retried", "failing_script", "compute")
    assert listed(admin.get("/api/v1/incidents?state=all&key=failing_script&element_id=compute")) == sorted(incidents.values())
    assert listed(admin.get("/api/v1/incidents?key=other")) == []
    assert listed(admin.get("/api/v1/incidents?element_id=after")) == []
    assert listed(admin.get("/api/v1/incidents?state=all&message=ZeroDivisionError: division by zero")) == sorted(
        [incidents["fixed"], incidents["zero"]])
    assert listed(admin.get("/api/v1/incidents?message_contains=NameError")) == [incidents["name"]]
    assert listed(admin.get("/api/v1/incidents?message_contains=%25")) == []  # taken literally, no wildcard
    assert listed(admin.get(f"/api/v1/incidents?instance_id={incidents['zero']}")) == [incidents["zero"]]


def test_incidents_are_newest_first_and_paged(admin, incidents):
    first = admin.get("/api/v1/incidents?state=all&per_page=2").get_json()
    second = admin.get("/api/v1/incidents?state=all&per_page=2&page=2").get_json()

    assert (first["total"], len(first["items"]), len(second["items"])) == (3, 2, 1)
    stamps = [i["created_at"] for i in first["items"] + second["items"]]
    assert stamps == sorted(stamps, reverse=True)


def test_a_user_lists_only_the_incidents_of_instances_they_may_read(admin, make, incidents):
    olga = make.client("olga")
    assert listed(olga.get("/api/v1/incidents?state=all")) == []
    mine = olga.start("failing_script", {"divisor": 0})["id"]
    assert listed(olga.get("/api/v1/incidents?state=all")) == [mine]


@pytest.mark.parametrize("query", ["state=closed", "per_page=0", "page=0", "key=" + "k" * 256])
def test_a_bad_incident_query_is_a_400_problem(admin, query):
    assert_problem(admin.get(f"/api/v1/incidents?{query}"), 400)
