"""GET /metrics: what it counts, read back with prometheus_client's own parser.

Counters and histograms are process-wide and the suite shares one process, so every test compares a scrape
after the action with one before it. Time is the test's: timers fire through `run_due_jobs` after the clock
moves, as the embedded runner would run them.
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.jobs.runner import run_due_jobs
from app.operations.metrics import exposition
from app.services.core import SYSTEM, write_transaction
from app.services.instances import start_instance

from ..factories import fixture
from .conftest import Scrape, scrape_as

REVIEW = fixture("operations", "review_then_wait.bpmn")
DIVIDE = fixture("operations", "divide.bpmn")
HOUR = dt.timedelta(hours=1)


def open_task(client, instance_id: str) -> dict:
    tasks = client.get(f"/api/v1/tasks?instance_id={instance_id}").get_json()["items"]
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_an_instance_is_counted_when_it_starts_and_when_it_ends_and_its_task_and_timer_are_gauged(clock, server):
    admin = server.login()
    admin.deploy(REVIEW)
    before = scrape_as(admin)
    started = admin.start("review_then_wait")
    after_start = scrape_as(admin)
    assert after_start.value("stagecoach_instances_started_total", process_key="review_then_wait") == \
        before.value("stagecoach_instances_started_total", process_key="review_then_wait") + 1
    assert after_start.value("stagecoach_open_tasks_by_group", group="ops") == 1
    assert after_start.value("stagecoach_open_tasks") == 1
    assert after_start.value("stagecoach_instances", status="running") == 1

    server.restart()  # the task is completed, the timer fired, by a server that loads the instance anew
    admin = server.admin
    admin.complete(open_task(admin, started["id"])["id"])
    waiting = scrape_as(admin)
    assert waiting.value("stagecoach_open_tasks_by_group", group="ops") == 0
    assert waiting.value("stagecoach_job_backlog", kind="timer") == 0  # due in an hour: not yet backlog
    clock.shift(HOUR + dt.timedelta(minutes=1))
    due = scrape_as(admin)
    assert due.value("stagecoach_job_backlog", kind="timer") == 1
    assert due.value("stagecoach_job_backlog_oldest_seconds") == pytest.approx(60, abs=1)
    assert server.fire()["done"] == 1
    ended = scrape_as(admin)
    assert ended.value("stagecoach_instances_completed_total", process_key="review_then_wait") == \
        before.value("stagecoach_instances_completed_total", process_key="review_then_wait") + 1
    assert ended.value("stagecoach_job_backlog", kind="timer") == 0
    assert ended.value("stagecoach_instances", status="running") == 0
    assert admin.instance(started["id"])["status"] == "completed"


def test_a_late_timer_is_observed_with_how_late_it_ran(clock, scrape, admin, app):
    admin.deploy(REVIEW)
    started = admin.start("review_then_wait")
    admin.complete(open_task(admin, started["id"])["id"])
    before = scrape()
    clock.shift(HOUR + dt.timedelta(seconds=45))  # the runner comes 45 s after the timer was due
    with app.app_context():
        assert run_due_jobs()["done"] == 1
        db.session.remove()
    after = scrape()

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)
    assert delta("stagecoach_job_lateness_seconds_count", kind="timer") == 1
    assert delta("stagecoach_job_lateness_seconds_sum", kind="timer") == pytest.approx(45, abs=0.5)
    assert delta("stagecoach_job_lateness_seconds_bucket", kind="timer", le="30.0") == 0
    assert delta("stagecoach_job_lateness_seconds_bucket", kind="timer", le="60.0") == 1
    assert delta("stagecoach_jobs_total", kind="timer", outcome="done") == 1
    assert delta("stagecoach_job_duration_seconds_count", kind="timer") == 1


def test_a_failed_step_counts_as_a_failure_and_an_open_incident(scrape, admin):
    admin.deploy(DIVIDE)
    before = scrape()
    admin.start("divide", {"divisor": 2})
    failed = admin.start("divide", {"divisor": 0})
    assert failed["status"] == "error"
    after = scrape()
    for name, change in (("stagecoach_instances_started_total", 2), ("stagecoach_instances_completed_total", 1),
                         ("stagecoach_instances_failed_total", 1)):
        assert after.value(name, process_key="divide") - before.value(name, process_key="divide") == change, name
    assert after.value("stagecoach_open_incidents", process_key="divide") == 1
    assert after.value("stagecoach_instances", status="error") == 1

    response = admin.post(f"/api/v1/process-instances/{failed['id']}/cancel", json={})
    assert response.status_code == 200, response.get_json()
    cancelled = scrape()
    assert cancelled.value("stagecoach_instances_cancelled_total", process_key="divide") == \
        after.value("stagecoach_instances_cancelled_total", process_key="divide") + 1
    assert cancelled.value("stagecoach_instances", status="error") == 0


def test_a_start_rolled_back_with_its_transaction_is_not_counted(scrape, admin, app):
    admin.deploy(DIVIDE)
    before = scrape()
    with app.app_context():  # one session throughout: what the rollback dropped must not come back on commit
        with pytest.raises(RuntimeError):
            with write_transaction():
                start_instance(SYSTEM, key="divide", variables={"divisor": 5})
                raise RuntimeError("the caller's transaction fails after the start")
        assert scrape().value("stagecoach_instances_started_total", process_key="divide") == \
            before.value("stagecoach_instances_started_total", process_key="divide")
        start_instance(SYSTEM, key="divide", variables={"divisor": 5})  # the next one commits: counted, alone
        db.session.remove()
    assert scrape().value("stagecoach_instances_started_total", process_key="divide") == \
        before.value("stagecoach_instances_started_total", process_key="divide") + 1


def test_a_step_in_a_savepoint_rolled_back_is_not_counted_but_one_released_is(scrape, admin, app):
    admin.deploy(DIVIDE)
    before = scrape()
    with app.app_context():
        with write_transaction():
            with pytest.raises(RuntimeError):
                with db.session.begin_nested():
                    start_instance(SYSTEM, key="divide", variables={"divisor": 5})
                    raise RuntimeError("the savepoint is rolled back")
            with db.session.begin_nested():
                with db.session.begin_nested():
                    start_instance(SYSTEM, key="divide", variables={"divisor": 4})
            not_yet = Scrape(exposition().decode())  # this process's counts, read without a request
            assert not_yet.value("stagecoach_instances_started_total", process_key="divide") == \
                before.value("stagecoach_instances_started_total", process_key="divide")  # not committed yet
        db.session.remove()
    assert scrape().value("stagecoach_instances_started_total", process_key="divide") == \
        before.value("stagecoach_instances_started_total", process_key="divide") + 1


def test_latency_is_labelled_by_url_rule_never_by_the_path_with_its_ids(scrape, admin):
    admin.deploy(DIVIDE)
    started = admin.start("divide", {"divisor": 5})
    assert admin.get(f"/api/v1/process-instances/{started['id']}").status_code == 200
    assert admin.get("/no/such/page").status_code == 404
    after = scrape()
    routes = {labels["route"] for labels in after.labels_of("stagecoach_http_request_duration_seconds_count")}
    assert "/api/v1/process-instances/<instance_id>" in routes
    assert "unmatched" in routes
    assert not any(started["id"] in route or "no/such" in route for route in routes)
    assert after.value("stagecoach_http_request_duration_seconds_count", method="GET",
                       route="/api/v1/process-instances/<instance_id>", status="200") >= 1


def test_the_pool_gauges_follow_connections_in_use(scrape, app):
    idle = scrape()
    with app.app_context():
        with db.engine.connect() as held:
            held.exec_driver_sql("SELECT 1")
            busy = scrape()
    assert busy.value("stagecoach_db_pool_checked_out") == idle.value("stagecoach_db_pool_checked_out") + 1
    assert busy.value("stagecoach_db_pool_size") >= 1


def test_outbox_backlog_and_failures_are_read_from_the_database(scrape, app):
    from app.models import OutboxMessage
    from app.clock import utcnow

    with app.app_context():
        db.session.add_all([
            OutboxMessage(kind="email", payload={}, status="pending", next_attempt_at=utcnow() - HOUR),
            OutboxMessage(kind="email", payload={}, status="pending", next_attempt_at=utcnow() + HOUR),
            OutboxMessage(kind="webhook", payload={}, status="failed", attempts=3, last_error="refused")])
        db.session.commit()
        db.session.remove()
    read = scrape()
    assert read.value("stagecoach_outbox_backlog") == 1  # the one not due yet is no backlog
    assert read.value("stagecoach_outbox_failed") == 1
