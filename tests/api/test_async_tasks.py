"""Asynchronous tasks (camunda:asyncBefore) run as jobs, retried on their own cycle, then an incident."""
from __future__ import annotations

import datetime as dt

import time_machine

from app.jobs.runner import run_due_jobs

from ..factories import ApiClient, fixture

NINE = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


def _run(app):
    with app.app_context():
        return run_due_jobs()


def _charges(admin, instance_id):
    history = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=1000").get_json()["items"]
    return [h for h in history if h["element_id"] == "charge" and h["type"] == "element_left"]


def test_an_asynchronous_task_waits_for_its_job_and_runs_there(app, admin):
    admin.deploy(fixture("events", "async_charge.bpmn"))
    started = admin.start("async_charge", {"divisor": 4})

    assert started["status"] == "running" and _charges(admin, started["id"]) == []
    [job] = admin.get("/api/v1/jobs").get_json()["items"]
    assert job["kind"] == "async" and job["max_attempts"] == 3

    assert _run(app)["done"] == 1
    instance = admin.instance(started["id"])
    assert instance["status"] == "completed" and instance["variables"]["charged"] == 25.0
    assert len(_charges(admin, started["id"])) == 1
    assert admin.get("/api/v1/jobs").get_json()["total"] == 0


def test_a_failing_asynchronous_task_is_retried_on_its_cycle_then_becomes_an_incident(app, admin):
    with time_machine.travel(NINE, tick=False) as clock:
        admin = ApiClient.login(app, "admin", "admin-password")
        admin.deploy(fixture("events", "async_charge.bpmn"))
        started = admin.start("async_charge", {"divisor": 0})
        clock.shift(dt.timedelta(milliseconds=1))

        assert _run(app) == {"done": 0, "failed": 0, "retried": 1}
        [job] = admin.get("/api/v1/jobs").get_json()["items"]
        assert job["attempts"] == 1 and "division by zero" in job["last_error"]
        assert job["due_at"] == "2026-11-25T09:05:00.001000+00:00"  # PT5M after the failed try
        instance = admin.instance(started["id"])
        assert instance["status"] == "running" and instance["incidents"] == []  # not yet an incident

        clock.shift(dt.timedelta(minutes=5, milliseconds=1))
        assert _run(app)["retried"] == 1
        clock.shift(dt.timedelta(minutes=5, milliseconds=1))
        assert _run(app)["done"] == 1  # the third try fails for good: the step records the incident

        instance = admin.instance(started["id"])
        assert instance["status"] == "error"
        [incident] = instance["incidents"]
        assert incident["element_id"] == "charge" and "division by zero" in incident["message"]
        assert admin.get("/api/v1/jobs").get_json()["total"] == 0

        assert admin.patch(f"/api/v1/process-instances/{started['id']}/variables",
                           json={"variables": {"divisor": 5}}).status_code == 200
        retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()
        assert retried["status"] == "running"  # the task is asynchronous: its job runs it again
        clock.shift(dt.timedelta(milliseconds=1))
        assert _run(app)["done"] == 1
        instance = admin.instance(started["id"])
        assert instance["status"] == "completed" and instance["variables"]["charged"] == 20.0
