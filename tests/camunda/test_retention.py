"""History retention over /engine-rest, in Camunda 7's shapes.

`PUT /process-definition/{id}/history-time-to-live` (and by key: the latest version),
`historyTimeToLive` on definitions, `removalTime` on historic instances,
`POST /history/cleanup`, `GET /history/cleanup/jobs` and `/history/cleanup/configuration`:
admins only.
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.jobs.runner import run_due_jobs
from config import TestConfig

from ..retention import retained
from .test_rest import CAMUNDA_TIME, Camunda, assert_camunda_error

DAY = dt.timedelta(days=1)


@pytest.fixture
def rest(app) -> Camunda:
    return Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)


def deploy(rest: Camunda, tmp_path, key: str, ttl: str | None = None) -> dict:
    name, content = retained(key, ttl)
    path = tmp_path / name
    path.write_bytes(content)
    rest.ok(rest.deploy(path))
    return rest.ok(rest.get(f"/process-definition/key/{key}"))


def finish(rest: Camunda, key: str) -> str:
    instance = rest.start(key, {"divisor": {"value": 1, "type": "Integer"}})
    task = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))[0]
    rest.ok(rest.post(f"/task/{task['id']}/complete", json={}), 204)
    return instance["id"]


def camunda_moment(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_the_time_to_live_is_shown_and_set_by_id_or_key(rest, tmp_path):
    definition = deploy(rest, tmp_path, "kept", "P5D")
    assert definition["historyTimeToLive"] == 5
    rest.ok(rest.put(f"/process-definition/{definition['id']}/history-time-to-live",
                     json={"historyTimeToLive": 2}), 204)
    assert rest.ok(rest.get(f"/process-definition/{definition['id']}"))["historyTimeToLive"] == 2
    rest.ok(rest.put("/process-definition/key/kept/history-time-to-live", json={"historyTimeToLive": None}), 204)
    assert rest.ok(rest.get("/process-definition/key/kept"))["historyTimeToLive"] is None


def test_a_negative_time_to_live_an_unknown_definition_and_a_non_admin_are_refused(app, rest, tmp_path, make):
    definition = deploy(rest, tmp_path, "guarded", "5")
    url = f"/process-definition/{definition['id']}/history-time-to-live"
    assert_camunda_error(rest.put(url, json={"historyTimeToLive": -1}), 400, "InvalidRequestException")
    assert_camunda_error(rest.put("/process-definition/nope/history-time-to-live", json={"historyTimeToLive": 1}),
                         404, "InvalidRequestException")
    make.user("bob", groups=["modelers"])
    bob = Camunda(app, "bob")
    assert_camunda_error(bob.put(url, json={"historyTimeToLive": 1}), 403, "AuthorizationException")
    assert_camunda_error(bob.post("/history/cleanup"), 403, "AuthorizationException")
    assert_camunda_error(bob.get("/history/cleanup/configuration"), 403, "AuthorizationException")
    assert rest.ok(rest.get(url.removesuffix("/history-time-to-live")))["historyTimeToLive"] == 5


def test_a_historic_instance_carries_its_removal_time(rest, tmp_path):
    deploy(rest, tmp_path, "ten", "10")
    done = finish(rest, "ten")
    running = rest.start("ten", {"divisor": {"value": 1, "type": "Integer"}})["id"]
    [ended] = rest.ok(rest.get(f"/history/process-instance?processInstanceId={done}"))
    assert CAMUNDA_TIME.match(ended["removalTime"])
    assert camunda_moment(ended["removalTime"]) - camunda_moment(ended["endTime"]) == 10 * DAY
    [open_one] = rest.ok(rest.get(f"/history/process-instance?processInstanceId={running}"))
    assert open_one["removalTime"] is None


def test_post_history_cleanup_schedules_a_job_that_removes_what_is_due(app, rest, tmp_path):
    deploy(rest, tmp_path, "zero", "0")
    done = finish(rest, "zero")
    assert_camunda_error(rest.get("/history/cleanup/jobs"), 404, "InvalidRequestException")
    job = rest.ok(rest.post("/history/cleanup"))
    assert job["processInstanceId"] is None and job["retries"] == 3 and CAMUNDA_TIME.match(job["dueDate"])
    assert [j["id"] for j in rest.ok(rest.get("/history/cleanup/jobs"))] == [job["id"]]
    with app.app_context():
        run_due_jobs(now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1))
        db.session.remove()
    assert rest.ok(rest.get(f"/history/process-instance?processInstanceId={done}")) == []
    assert_camunda_error(rest.get("/history/cleanup/jobs"), 404, "InvalidRequestException")


def test_cleanup_configuration_names_the_window(app, clock, rest, monkeypatch):
    assert rest.ok(rest.get("/history/cleanup/configuration")) == {
        "batchWindowStartTime": None, "batchWindowEndTime": None, "enabled": True}
    assert_camunda_error(rest.post("/history/cleanup?immediatelyDue=false"), 400, "InvalidRequestException")
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_WINDOW", "22:00-06:00")
    monkeypatch.setitem(app.config, "TIMEZONE", "UTC")
    config = rest.ok(rest.get("/history/cleanup/configuration"))
    start, end = camunda_moment(config["batchWindowStartTime"]), camunda_moment(config["batchWindowEndTime"])
    assert (start.hour, end.hour, end - start) == (22, 6, dt.timedelta(hours=8))
    now = dt.datetime.now(dt.timezone.utc)
    assert end > now and start - now < DAY  # the current or the next window
    scheduled = rest.ok(rest.post("/history/cleanup?immediatelyDue=false"))
    assert camunda_moment(scheduled["dueDate"]) == (start if start > now else start + DAY)  # the next start
