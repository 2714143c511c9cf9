"""Processes that run on a schedule: a timer start event."""
from __future__ import annotations

import datetime as dt

import time_machine

from app.jobs.runner import run_due_jobs

from ..factories import ApiClient, fixture
from ..timing import iso, next_at

NINE = next_at(9)  # on the hour, so the hourly cycle falls on whole hours


def _login(app) -> ApiClient:
    """The admin, logged in by the travelled clock."""
    return ApiClient.login(app, "admin", "admin-password")


def _fire(app):
    with app.app_context():
        return run_due_jobs()


def _scheduled(admin, key="scheduled"):
    return admin.get(f"/api/v1/process-instances?key={key}").get_json()["items"]


def _ticks(admin, instance_id):
    history = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=1000").get_json()["items"]
    return sum(1 for h in history if h["type"] == "element_left" and h["element_id"] == "tick")


def test_deploying_a_timer_start_process_schedules_it_and_its_cycle_runs_it_each_time(app):
    with time_machine.travel(NINE, tick=False) as clock:
        admin = _login(app)
        admin.deploy(fixture("events", "scheduled_hourly.bpmn"))
        [instance] = _scheduled(admin)
        assert instance["status"] == "running" and _ticks(admin, instance["id"]) == 0
        jobs = admin.get("/api/v1/jobs").get_json()["items"]
        assert [j["due_at"] for j in jobs] == [iso(NINE + dt.timedelta(hours=1))]

        assert _fire(app)["done"] == 0  # not yet due
        clock.shift(dt.timedelta(hours=1))
        assert _fire(app)["done"] == 0  # due at 10:00 means: fires once 10:00 has passed
        clock.shift(dt.timedelta(milliseconds=1))
        for hour in (1, 2, 3):
            if hour > 1:
                clock.shift(dt.timedelta(hours=1))
            assert _fire(app)["done"] == 1
            assert _ticks(admin, instance["id"]) == hour

        assert admin.instance(instance["id"])["status"] == "completed"
        clock.shift(dt.timedelta(hours=5))
        assert _fire(app)["done"] == 0
        admin = _login(app)  # tokens expire as time passes
        assert admin.get("/api/v1/jobs").get_json()["total"] == 0


def test_a_new_version_replaces_the_waiting_schedule(app, tmp_path):
    with time_machine.travel(NINE, tick=False):
        admin = _login(app)
        admin.deploy(fixture("events", "scheduled_hourly.bpmn"))
        [old] = _scheduled(admin)
        changed = tmp_path / "scheduled_hourly.bpmn"
        changed.write_bytes(fixture("events", "scheduled_hourly.bpmn").read_bytes().replace(b"R3/PT1H", b"R2/PT2H"))
        admin.deploy(changed)

        instances = {i["id"]: i for i in _scheduled(admin)}
        assert instances[old["id"]]["status"] == "cancelled"
        [new] = [i for i in instances.values() if i["id"] != old["id"]]
        assert new["status"] == "running"
        assert [j["due_at"] for j in admin.get("/api/v1/jobs").get_json()["items"]] == [iso(NINE + dt.timedelta(hours=2))]


def test_redeploying_the_same_schedule_starts_nothing_new(admin):
    admin.deploy(fixture("events", "scheduled_hourly.bpmn"))
    admin.deploy(fixture("events", "scheduled_hourly.bpmn"))
    assert len(_scheduled(admin)) == 1


def test_the_schedule_survives_a_restart(app, database_url):
    from app import create_app

    from ..conftest import make_config

    with time_machine.travel(NINE, tick=False) as clock:
        admin = _login(app)
        admin.deploy(fixture("events", "scheduled_hourly.bpmn"))
        [instance] = _scheduled(admin)
        restarted = create_app(make_config(database_url))
        clock.shift(dt.timedelta(hours=1, milliseconds=1))
        assert _fire(restarted)["done"] == 1
        assert _ticks(_login(restarted), instance["id"]) == 1


def test_a_cron_cycle_that_cannot_be_scheduled_is_refused_with_what_to_write_instead(admin):
    response = admin.post("/api/v1/deployments", data={"files": [(open(fixture("invalid", "cron_cycle.bpmn"), "rb"),
                                                                  "cron_cycle.bpmn")]},
                          content_type="multipart/form-data")

    assert response.status_code == 422
    [problem] = response.get_json()["bpmn"]
    assert problem["element_id"] == "every_5" and problem["line"] == 6
    assert "'0 0/5 25 * * ?' cannot be scheduled (croniter: " in problem["message"]
    assert "0 0/5 * * * ?" in problem["message"] and "R/PT5M" in problem["message"]


TIMER_EVENT_SUB_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
<bpmn:process id="with_reminder" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:userTask id="work" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  <bpmn:subProcess id="reminder" triggeredByEvent="true">
    <bpmn:startEvent id="after_a_day" isInterrupting="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="remind" />
    <bpmn:sequenceFlow id="r1" sourceRef="after_a_day" targetRef="remind" />
  </bpmn:subProcess>
</bpmn:process></bpmn:definitions>"""


def test_a_timer_event_sub_process_is_the_running_instances_and_schedules_nothing(admin, tmp_path):
    """Its timer starts no instance of the process on deploy (one was started, as for a timer start event)."""
    path = tmp_path / "with_reminder.bpmn"
    path.write_text(TIMER_EVENT_SUB_PROCESS)
    admin.deploy(path)
    assert _scheduled(admin, "with_reminder") == []
    started = admin.start("with_reminder")
    assert [t["element_id"] for t in started["tasks"]] == ["work"]
