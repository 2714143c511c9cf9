"""Timers over HTTP: intermediate, boundary (interrupting and not, with a cycle), date and data-driven timers,
and what suspending or cancelling an instance does to its timer job.

SpiffWorkflow reads the wall clock, so every scenario travels in time (time-machine, clock frozen) and fires due
jobs with `run_due_jobs()` as the embedded worker would; nothing sleeps. Every timer scenario runs twice: on one
server, and across a restart (a new app on the same database fires the timer: the job, the definition and the
instance state must all come from the database).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine

from config import TestConfig

from ..factories import ApiClient, assert_problem, fixture
from ..timing import iso, next_at

START = next_at(9, weekday=0)  # the next Monday, 09:00 UTC
SECOND = dt.timedelta(seconds=1)
MICROSECOND = dt.timedelta(microseconds=1)
HOUR = dt.timedelta(hours=1)
JOBS = "/api/v1/jobs"


def jobs(admin, query: str = "") -> list[dict]:
    response = admin.get(f"{JOBS}{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def history(admin, instance_id: str) -> list[dict]:
    response = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def runs_of(admin, instance_id: str, element_id: str) -> int:
    """How often the element was left (ran to its end)."""
    return sum(1 for h in history(admin, instance_id) if h["type"] == "element_left" and h["element_id"] == element_id)


def timers_fired(admin, instance_id: str) -> list[dict]:
    return [h for h in history(admin, instance_id) if h["type"] == "timer_fired"]


def task(admin, task_id: str) -> dict:
    response = admin.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- intermediate timer -------------------------------------------------------------------------------------------

def test_a_waiting_timer_is_listed_as_one_pending_job_with_its_due_time(app):
    with time_machine.travel(START, tick=False):
        admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")

        [job] = jobs(admin)
        pending = jobs(admin, "?status=pending")
        due_now = jobs(admin, "?due=true")

    assert started["status"] == "running" and started["tasks"] == []
    assert job["kind"] == "timer" and job["status"] == "pending" and job["instance_id"] == started["id"]
    assert job["due_at"] == iso(START + HOUR) and job["attempts"] == 0 and job["last_error"] is None
    assert [j["id"] for j in pending] == [job["id"]]
    assert due_now == []


def test_only_an_admin_sees_the_jobs(app, make):
    sam = make.client("sam", groups=["staff"])
    problem = assert_problem(sam.get(JOBS), 403)
    assert "admin" in problem["detail"]


def test_an_intermediate_timer_does_not_fire_a_second_before_it_is_due(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")
        server.restart()
        clock.shift(HOUR - SECOND)

        counts = server.fire()
        instance = server.admin.instance(started["id"])
        [job] = jobs(server.admin)
        fired = timers_fired(server.admin, started["id"])

    assert counts == {"done": 0, "failed": 0, "retried": 0}
    assert instance["status"] == "running" and "waited" not in instance["variables"]
    assert [a["element_id"] for a in instance["active_activities"]] == ["wait_an_hour"]
    assert job["due_at"] == iso(START + HOUR) and job["attempts"] == 0
    assert fired == []


def test_an_intermediate_timer_fires_as_soon_as_its_due_time_has_passed(server):
    """Due means strictly before now, as SpiffWorkflow decides: at the due instant nothing runs (and no
    `timer_fired` is recorded for a timer that did not fire); a microsecond later the timer fires, on time."""
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")
        server.restart()
        clock.shift(HOUR)

        at_due = server.fire()
        waiting = server.admin.instance(started["id"])
        fired_at_due = timers_fired(server.admin, started["id"])

        clock.shift(MICROSECOND)
        after_due = server.fire()
        instance = server.admin.instance(started["id"])
        left = jobs(server.admin)
        fired = timers_fired(server.admin, started["id"])

    assert at_due["done"] == 0
    assert waiting["status"] == "running" and "waited" not in waiting["variables"]
    assert fired_at_due == []
    assert after_due == {"done": 1, "failed": 0, "retried": 0}
    assert instance["status"] == "completed" and instance["variables"]["waited"] is True
    assert left == []
    [event] = fired
    assert event["data"]["due_at"] == iso(START + HOUR) and event["data"]["late_ms"] == 0


def test_the_due_filter_lists_exactly_the_jobs_a_worker_would_run(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")
        server.restart()

        clock.shift(HOUR)
        listed_at_due = [j["instance_id"] for j in jobs(server.admin, "?due=true")]
        run_at_due = server.fire()["done"]
        clock.shift(MICROSECOND)
        listed_after = [j["instance_id"] for j in jobs(server.admin, "?due=true")]
        run_after = server.fire()["done"]

    assert (listed_after, run_after) == ([started["id"]], 1)
    assert (len(listed_at_due), run_at_due) == (0, 0)


def test_a_fired_timer_leaves_no_job_and_its_history_says_how_late_it_ran(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")
        server.restart()
        clock.shift(HOUR + dt.timedelta(seconds=90))

        counts = server.fire()
        again = server.fire()
        instance = server.admin.instance(started["id"])
        left = jobs(server.admin)
        events = history(server.admin, started["id"])

    assert counts["done"] == 1 and again["done"] == 0
    assert instance["status"] == "completed" and instance["variables"]["waited"] is True
    assert left == []
    [fired] = [e for e in events if e["type"] == "timer_fired"]
    assert fired["data"]["due_at"] == iso(START + HOUR)
    assert fired["data"]["late_ms"] == 90_000 and fired["data"]["worker"] == "embedded"
    types = [(e["type"], e["element_id"]) for e in events]
    assert types.index(("timer_fired", None)) < types.index(("element_left", "mark"))


# -- boundary timers ----------------------------------------------------------------------------------------------

def test_an_interrupting_boundary_timer_withdraws_the_task_and_takes_the_escalation_path(server, make):
    make.user("sam", groups=["staff"])
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "call_overdue_escalation.bpmn"))
        started = admin.start("call_overdue_escalation")
        [call] = started["tasks"]
        [job] = jobs(admin)
        server.restart()
        clock.shift(HOUR + SECOND)

        counts = server.fire()
        instance = server.admin.instance(started["id"])
        withdrawn = task(server.admin, call["id"])
        sam = ApiClient.login(server.app, "sam", "secret")
        inbox = sam.get("/api/v1/tasks?mine=true").get_json()
        late_completion = sam.post(f"/api/v1/tasks/{call['id']}/complete", json={"variables": {}})
        escalations = runs_of(server.admin, started["id"], "escalate")
        calls = runs_of(server.admin, started["id"], "call_customer")

    assert call["element_id"] == "call_customer" and job["due_at"] == iso(START + HOUR)
    assert counts["done"] == 1
    assert instance["status"] == "completed" and instance["variables"]["escalated"] is True
    assert instance["tasks"] == []
    assert withdrawn["state"] == "cancelled"
    assert inbox["total"] == 0
    assert_problem(late_completion, 409)
    assert (escalations, calls) == (1, 0)


def test_completing_the_task_in_time_removes_its_boundary_timer(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "call_overdue_escalation.bpmn"))
        started = admin.start("call_overdue_escalation")
        clock.shift(HOUR / 2)
        done = admin.complete(started["tasks"][0]["id"])
        left = jobs(admin)
        server.restart()
        clock.shift(2 * HOUR)

        counts = server.fire()
        instance = server.admin.instance(started["id"])
        fired = timers_fired(server.admin, started["id"])

    assert done["status"] == "completed" and left == []
    assert counts["done"] == 0
    assert "escalated" not in instance["variables"]
    assert fired == []


def test_a_non_interrupting_cycle_timer_reminds_twice_while_the_task_stays_open(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "quote_reminders.bpmn"))
        started = admin.start("quote_reminders")
        [quote] = started["tasks"]
        first_due = [j["due_at"] for j in jobs(admin)]
        server.restart()

        clock.shift(4 * HOUR - SECOND)
        before = server.fire()
        reminders_before = runs_of(server.admin, started["id"], "send_reminder")

        clock.shift(2 * SECOND)  # four hours and a second
        at_four = server.fire()
        reminders_at_four = runs_of(server.admin, started["id"], "send_reminder")
        after_first = server.admin.instance(started["id"])
        second_due = [j["due_at"] for j in jobs(server.admin)]

        clock.shift(4 * HOUR)  # eight hours and a second
        at_eight = server.fire()
        reminders_at_eight = runs_of(server.admin, started["id"], "send_reminder")
        jobs_when_spent = jobs(server.admin)

        for _ in range(3):  # four, eight and twelve hours later: the cycle is spent
            clock.shift(4 * HOUR)
            server.fire()
        server.login()  # the token has expired by now
        reminders_later = runs_of(server.admin, started["id"], "send_reminder")
        still_open = server.admin.instance(started["id"])
        quote_task = task(server.admin, quote["id"])

    assert first_due == [iso(START + 4 * HOUR)]
    assert before["done"] == 0 and reminders_before == 0
    assert at_four["done"] == 1 and reminders_at_four == 1
    assert after_first["status"] == "running"
    assert [t["id"] for t in after_first["tasks"]] == [quote["id"]]
    assert second_due == [iso(START + 8 * HOUR)]
    assert at_eight["done"] == 1 and reminders_at_eight == 2
    assert jobs_when_spent == []
    assert reminders_later == 2
    assert still_open["status"] == "running" and [t["id"] for t in still_open["tasks"]] == [quote["id"]]
    assert quote_task["state"] == "open"


def test_completing_the_task_ends_its_reminders(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "quote_reminders.bpmn"))
        started = admin.start("quote_reminders")
        clock.shift(4 * HOUR + SECOND)
        server.fire()
        server.restart()

        done = server.admin.complete(started["tasks"][0]["id"])
        left = jobs(server.admin)
        clock.shift(12 * HOUR)
        counts = server.fire()
        server.login()
        reminders = runs_of(server.admin, started["id"], "send_reminder")

    assert done["status"] == "completed" and done["tasks"] == []
    assert left == [] and counts["done"] == 0
    assert reminders == 1


# -- date timers and timers computed from data ----------------------------------------------------------------------

def wake_on(due: dt.datetime, folder) -> Path:
    """The date timer diagram, its fixed date replaced by `due` (written as a bare UTC date-time, `...Z`)."""
    diagram = fixture("events", "wake_on_date.bpmn").read_text()
    written = f"<bpmn:timeDate>{due.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}</bpmn:timeDate>"
    dated, replaced = re.subn(r"<bpmn:timeDate>[^<]*</bpmn:timeDate>", written, diagram)
    assert replaced == 1
    path = folder / "wake_on_date.bpmn"
    path.write_text(dated)
    return path


def test_a_date_timer_fires_at_its_date(server, tmp_path):
    due = START + dt.timedelta(days=2)  # the Wednesday, 09:00 UTC
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(wake_on(due, tmp_path))
        started = admin.start("wake_on_date")
        [job] = jobs(admin)
        server.restart()

        clock.move_to(due - SECOND)
        server.login()
        early = server.fire()
        waiting = server.admin.instance(started["id"])

        clock.move_to(due + SECOND)
        on_time = server.fire()
        woken = server.admin.instance(started["id"])
        [fired] = timers_fired(server.admin, started["id"])

    assert job["due_at"] == iso(due)
    assert early["done"] == 0 and waiting["status"] == "running"
    assert on_time["done"] == 1
    assert woken["status"] == "completed" and woken["variables"]["awake"] is True
    assert fired["data"]["late_ms"] == 1000


REMIND_AT = START + dt.timedelta(days=1, hours=6, minutes=30)  # the Tuesday, 15:30 UTC
CLOSING_AT = START + dt.timedelta(days=5, hours=3)  # the Saturday, 12:00 UTC


@pytest.mark.parametrize("key, variables, due", [
    ("remind_at_variable", {"remind_at": iso(REMIND_AT)}, REMIND_AT),
    ("remind_before_closing", {"closing_at": iso(CLOSING_AT)}, CLOSING_AT - dt.timedelta(days=2)),
], ids=["variable", "expression"])
def test_a_timer_computed_from_instance_data_is_due_when_the_data_says(server, key, variables, due):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", f"{key}.bpmn"))
        started = admin.start(key, variables)
        [job] = jobs(admin)
        server.restart()

        clock.move_to(due - SECOND)
        server.login()
        early = server.fire()
        clock.move_to(due + SECOND)
        on_time = server.fire()
        instance = server.admin.instance(started["id"])

    assert started["status"] == "running"
    assert job["due_at"] == iso(due)
    assert early["done"] == 0 and on_time["done"] == 1
    assert instance["status"] == "completed" and instance["variables"]["reminded"] is True


def test_a_date_time_without_a_zone_is_due_when_the_engine_fires_it(server, monkeypatch):
    """SpiffWorkflow reads a date-time without a zone as the server's local time; the job must agree.
    The server is put five hours west of UTC by setting the engine's local zone."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    monkeypatch.setattr(timer, "LOCALTZ", dt.timezone(dt.timedelta(hours=-5)))
    local = REMIND_AT.replace(tzinfo=None).isoformat()  # the Tuesday, 15:30, without a zone
    engine_due = REMIND_AT + 5 * HOUR  # 15:30 at UTC-5 is 20:30 UTC
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "remind_at_variable.bpmn"))
        started = admin.start("remind_at_variable", {"remind_at": local})
        [job] = jobs(admin)
        server.restart()

        clock.move_to(dt.datetime.fromisoformat(job["due_at"]) + SECOND)
        server.login()
        server.fire()
        at_job_due = server.admin.instance(started["id"])["status"]
        clock.move_to(engine_due + SECOND)
        server.login()
        server.fire()
        at_engine_due = server.admin.instance(started["id"])["status"]

    assert at_engine_due == "completed"
    assert job["due_at"] == iso(engine_due)
    assert at_job_due == "completed"


# -- suspended and cancelled instances --------------------------------------------------------------------------------

def test_a_suspended_instance_keeps_its_timer_until_it_is_resumed(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")
        suspended = admin.post(f"/api/v1/process-instances/{started['id']}/suspend", json={"reason": "on hold"})
        server.restart()
        clock.shift(2 * HOUR)

        while_suspended = server.fire()
        held = server.admin.instance(started["id"])
        [job] = jobs(server.admin, "?due=true")

        resumed = server.admin.post(f"/api/v1/process-instances/{started['id']}/resume", json={})
        after_resume = server.fire()
        instance = server.admin.instance(started["id"])
        [fired] = timers_fired(server.admin, started["id"])

    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert while_suspended["done"] == 0
    assert held["status"] == "suspended" and "waited" not in held["variables"]
    assert job["instance_id"] == started["id"] and job["status"] == "pending" and job["attempts"] == 0
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "running"
    assert after_resume["done"] == 1
    assert instance["status"] == "completed" and instance["variables"]["waited"] is True
    assert fired["data"]["late_ms"] == 3_600_000


def test_cancelling_an_instance_removes_its_timer_job(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task")
        cancelled = admin.post(f"/api/v1/process-instances/{started['id']}/cancel", json={"reason": "lost"})
        left = jobs(admin)
        server.restart()
        clock.shift(2 * HOUR)

        counts = server.fire()
        instance = server.admin.instance(started["id"])
        fired = timers_fired(server.admin, started["id"])

    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert left == []
    assert counts["done"] == 0
    assert instance["status"] == "cancelled" and "waited" not in instance["variables"]
    assert fired == []
