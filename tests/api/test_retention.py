"""History retention over /api/v1: a definition's time to live (admins set it), cleanup's state and a run now.

The diagrams are `tests/retention.py`'s: a script, then a review task, with
camunda:historyTimeToLive as each test needs.
"""
from __future__ import annotations

import datetime as dt
import io

from app.extensions import db
from app.jobs.runner import run_due_jobs
from app.models import ProcessInstance

from ..factories import assert_problem
from ..retention import retained

DAY = dt.timedelta(days=1)


def upload(client, key: str, ttl: str | None = None):
    name, content = retained(key, ttl)
    return client.post("/api/v1/deployments", data={"files": [(io.BytesIO(content), name)]},
                       content_type="multipart/form-data")


def deployed(client, key: str, ttl: str | None = None) -> dict:
    response = upload(client, key, ttl)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["definitions"][0]


def ended_instance(client, key: str) -> str:
    started = client.start(key, {"divisor": 1})
    task = client.get(f"/api/v1/tasks?process_instance_id={started['id']}").get_json()["items"][0]
    client.complete(task["id"])
    return started["id"]


def test_a_definition_shows_its_time_to_live_from_the_diagram(admin):
    definition = deployed(admin, "kept", "P30D")
    shown = admin.get(f"/api/v1/process-definitions/{definition['id']}").get_json()
    assert shown["history_ttl_days"] == 30
    plain = deployed(admin, "plain")
    assert admin.get(f"/api/v1/process-definitions/{plain['id']}").get_json()["history_ttl_days"] is None


def test_a_diagram_with_an_invalid_time_to_live_is_refused_naming_line_and_process(admin):
    body = assert_problem(upload(admin, "badttl", "PT12H"), 422)
    [problem] = [p for p in body["bpmn"] if "historyTimeToLive" in p["message"]]
    assert (problem["file"], problem["line"], problem["element_id"]) == ("badttl.bpmn", 4, "badttl")
    assert admin.get("/api/v1/process-definitions").get_json()["total"] == 0


def test_an_admin_sets_a_time_to_live_and_ended_instances_follow(app, admin):
    definition = deployed(admin, "later")
    done = ended_instance(admin, "later")
    response = admin.put(f"/api/v1/process-definitions/{definition['id']}/history-ttl", json={"days": 3})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["history_ttl_days"] == 3
    with app.app_context():
        inst = db.session.get(ProcessInstance, done)
        assert inst.removal_time == inst.ended_at + 3 * DAY
        db.session.remove()
    shown = admin.instance(done)
    assert dt.datetime.fromisoformat(shown["removal_time"]) - dt.datetime.fromisoformat(shown["ended_at"]) == 3 * DAY
    cleared = admin.put(f"/api/v1/process-definitions/{definition['id']}/history-ttl", json={"days": None})
    assert cleared.status_code == 200 and cleared.get_json()["history_ttl_days"] is None


def test_only_admins_set_a_time_to_live_and_only_a_valid_one(admin, make):
    definition = deployed(admin, "guarded", "5")
    url = f"/api/v1/process-definitions/{definition['id']}/history-ttl"
    modeler = make.client(groups=["modelers"])  # may deploy the process, not set its retention
    assert_problem(modeler.put(url, json={"days": 1}), 403)
    for bad in ({"days": -1}, {"days": 36_501}, {"days": "soon"}, {}, {"days": 1.5}, {"days": "90"}):
        assert 400 <= admin.put(url, json=bad).status_code < 500
        assert admin.put(url, json=bad).mimetype == "application/problem+json"
    assert_problem(admin.put("/api/v1/process-definitions/nope/history-ttl", json={"days": 1}), 404)
    assert admin.get(f"/api/v1/process-definitions/{definition['id']}").get_json()["history_ttl_days"] == 5


def test_cleanup_state_and_a_run_now_are_for_admins(app, admin, make):
    deployed(admin, "zero", "0")
    done = ended_instance(admin, "zero")
    state = admin.get("/api/v1/history/cleanup")
    assert state.status_code == 200, state.get_json()
    assert state.get_json()["due_instances"] == 1 and state.get_json()["scheduled"] is False
    user = make.client()
    assert_problem(user.get("/api/v1/history/cleanup"), 403)
    assert_problem(user.post("/api/v1/history/cleanup"), 403)

    job = admin.post("/api/v1/history/cleanup")
    assert job.status_code == 202, job.get_json()
    assert job.get_json()["kind"] == "history-cleanup-now" and job.get_json()["instance_id"] is None
    with app.app_context():
        assert run_due_jobs(now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1))["done"] == 1
        db.session.remove()
    assert_problem(admin.get(f"/api/v1/process-instances/{done}"), 404)
    assert admin.get("/api/v1/history/cleanup").get_json()["due_instances"] == 0
