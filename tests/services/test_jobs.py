"""Due timer jobs fire exactly once, whatever the workers do; failures are retried, then parked.

The clock is time-machine's, travelled with `tick=False` to the next 09:00
after the real now and shifted by hand, so every due time and lateness is exact. time-machine patches the clock for
the whole process, so worker threads see the travelled time too; it is
moved only from the test thread, before the workers start. Workers are
threads, each in its own app context (its own session and connection),
released together by a barrier or stepped along by events; nothing sleeps.
The same tests run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL;
where the two databases lock differently the test says what it pins on each.
"""
from __future__ import annotations

import json

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import Job
from app.jobs import runner as job_service
from app.jobs.handlers import HANDLERS
from app.jobs.runner import run_due_jobs
from app.services.core import write_transaction
from config import TestConfig

from ..factories import ApiClient, assert_problem, fixture
from ..timing import next_at

TIMEOUT = 60  # seconds a thread may take to reach a point or finish: a bound on a deadlock, never a pause
START = next_at(9)  # on the dot, so every due time and lateness is exact
DUE = START + dt.timedelta(hours=1)  # timer_then_task waits PT1H
MS = dt.timedelta(milliseconds=1)
RACING_INSTANCES = 30
JOBS = "/api/v1/jobs"


class WorkerDied(Exception):
    """What a worker process "dying" mid-job looks like to its transaction."""


@pytest.fixture
def clock():
    """The travelled clock, frozen at START; tests move it with `clock.shift(...)`."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def boss(app, clock) -> ApiClient:
    """The admin, logged in at the travelled time (the token is issued by the travelled clock)."""
    return ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)


def history(client: ApiClient, instance_id: str) -> list[dict]:
    response = client.get(f"/api/v1/process-instances/{instance_id}/history?per_page=1000")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def fired(client: ApiClient, instance_id: str) -> list[dict]:
    return [e for e in history(client, instance_id) if e["type"] == "timer_fired"]


def jobs_listed(client: ApiClient, query: str = "") -> list[dict]:
    response = client.get(f"{JOBS}?per_page=100{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return body["items"]


def job_rows(app) -> list[Job]:
    """The job table as a fresh session sees it (committed state only)."""
    with app.app_context():
        try:
            rows = db.session.scalars(select(Job).order_by(Job.due_at, Job.id)).all()
            db.session.expunge_all()
            return list(rows)
        finally:
            db.session.remove()


def run_jobs(app, **kwargs) -> dict[str, int]:
    """One pass of the job runner in a fresh app context, as a worker process does it."""
    with app.app_context():
        try:
            return run_due_jobs(**kwargs)
        finally:
            db.session.remove()


class Worker(threading.Thread):
    """`run_due_jobs(worker=name)` in its own thread and app context, after `barrier` if given."""

    def __init__(self, app, name: str, barrier: threading.Barrier | None = None):
        super().__init__(daemon=True, name=name)
        self.app, self.worker, self.barrier = app, name, barrier
        self.counts: dict[str, int] | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            if self.barrier is not None:
                self.barrier.wait(TIMEOUT)
            self.counts = run_jobs(self.app, worker=self.worker)
        except BaseException as exc:  # reported by the test thread
            self.error = exc

    def result(self) -> dict[str, int]:
        self.join(TIMEOUT)
        assert not self.is_alive(), f"{self.worker} never finished (deadlock?)"
        assert self.error is None, self.error
        return self.counts


class DyingWorker(threading.Thread):
    """Claims the first due job as `_claim` does, holds it until `die` is set, then raises.

    The exception rolls the write transaction back, exactly what the database
    does with the open transaction of a worker process that was killed.
    """

    def __init__(self, app):
        super().__init__(daemon=True, name="dying")
        self.app = app
        self.claimed, self.die = threading.Event(), threading.Event()
        self.job_id: str | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context():
                try:
                    with write_transaction():
                        job = job_service._claim(job_service.utcnow())
                        self.job_id = job.id if job is not None else None
                        self.claimed.set()
                        if not self.die.wait(TIMEOUT):
                            raise TimeoutError("the test never let the worker die")
                        raise WorkerDied("killed in the middle of the job")
                finally:
                    db.session.remove()
        except BaseException as exc:  # WorkerDied expected; anything else is reported
            self.error = exc
            self.claimed.set()

    def __enter__(self):
        self.start()
        assert self.claimed.wait(TIMEOUT), "the worker never claimed a job"
        assert self.error is None, self.error
        assert self.job_id is not None, "there was no due job to claim"
        return self

    def __exit__(self, *exc_info):
        self.die.set()
        self.join(TIMEOUT)
        assert not self.is_alive(), "the dying worker never finished"
        assert isinstance(self.error, WorkerDied), self.error


# -- exactly once ---------------------------------------------------------------------------------

def test_two_workers_racing_over_due_timers_fire_each_exactly_once(app, clock, boss, is_postgres, capsys):
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    started = [boss.start("timer_then_task", {"n": n}) for n in range(RACING_INSTANCES)]
    assert {s["status"] for s in started} == {"running"}
    waiting = jobs_listed(boss)
    assert len(waiting) == RACING_INSTANCES
    assert {(j["kind"], j["status"], j["attempts"], j["due_at"]) for j in waiting} == {
        ("timer", "pending", 0, DUE.isoformat())}

    clock.shift(dt.timedelta(hours=1, seconds=1))
    barrier = threading.Barrier(2)
    workers = [Worker(app, "w1", barrier), Worker(app, "w2", barrier)]
    for worker in workers:
        worker.start()
    counts = {w.worker: w.result() for w in workers}

    assert sum(c["done"] for c in counts.values()) == RACING_INSTANCES, counts
    assert all(c["failed"] == 0 and c["retried"] == 0 for c in counts.values()), counts
    fired_by = Counter()
    for instance in started:
        assert boss.instance(instance["id"])["status"] == "completed"
        events = history(boss, instance["id"])
        timer_fired = [e for e in events if e["type"] == "timer_fired"]
        assert len(timer_fired) == 1, (instance["id"], timer_fired)
        assert len([e for e in events if e["type"] == "element_left" and e["element_id"] == "mark"]) == 1
        fired_by[timer_fired[0]["data"]["worker"]] += 1
    assert fired_by == Counter({name: c["done"] for name, c in counts.items() if c["done"]}), (fired_by, counts)
    assert jobs_listed(boss) == []
    assert job_rows(app) == []

    with capsys.disabled():
        print(f"\n[{'postgresql' if is_postgres else 'sqlite'}] timers fired per worker: {dict(fired_by)}")
    if is_postgres:
        # SKIP LOCKED lets the workers take different jobs side by side (not one waiting out the other).
        assert set(fired_by) == {"w1", "w2"}, fired_by


def test_a_worker_that_dies_mid_job_leaves_the_job_to_the_next_worker_which_fires_it_once(
        app, clock, boss, is_postgres):
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    first = boss.start("timer_then_task", {"n": 1})
    clock.shift(dt.timedelta(minutes=1))
    second = boss.start("timer_then_task", {"n": 2})  # due a minute later: the dying worker claims `first`'s job
    clock.shift(dt.timedelta(hours=2))
    [first_job, second_job] = job_rows(app)
    assert (first_job.instance_id, second_job.instance_id) == (first["id"], second["id"])

    with DyingWorker(app) as dying:
        assert dying.job_id == first_job.id
        other = Worker(app, "survivor")
        other.start()
        if is_postgres:
            # The held job is skipped, not waited for: the survivor fires the other one and finishes.
            assert other.result() == {"done": 1, "failed": 0, "retried": 0}
            assert [(j.id, j.status, j.attempts) for j in job_rows(app)] == [(first_job.id, "pending", 0)]
            assert fired(boss, first["id"]) == []
            assert boss.instance(first["id"])["status"] == "running"
            assert [e["data"]["worker"] for e in fired(boss, second["id"])] == ["survivor"]
        else:
            # SQLite: the dying worker holds the database write lock, so no job can run meanwhile.
            assert fired(boss, first["id"]) == [] and fired(boss, second["id"]) == []
            assert [(j.status, j.attempts) for j in job_rows(app)] == [("pending", 0), ("pending", 0)]
    # The worker is dead and its transaction rolled back: the job it held is untouched and due.
    if is_postgres:
        assert [(j.id, j.status, j.attempts, j.last_error) for j in job_rows(app)] == [
            (first_job.id, "pending", 0, None)]
        assert run_jobs(app, worker="next") == {"done": 1, "failed": 0, "retried": 0}
        expected = {first["id"]: "next", second["id"]: "survivor"}
    else:
        # SQLite: the survivor could not write before the rollback; then it found both jobs due and ran them.
        assert other.result() == {"done": 2, "failed": 0, "retried": 0}
        expected = {first["id"]: "survivor", second["id"]: "survivor"}

    assert run_jobs(app, worker="idle") == {"done": 0, "failed": 0, "retried": 0}
    for instance_id, worker in expected.items():
        [event] = fired(boss, instance_id)
        assert event["data"]["worker"] == worker
        assert boss.instance(instance_id)["status"] == "completed"
    assert job_rows(app) == []


# -- failures -------------------------------------------------------------------------------------

def test_a_script_failing_after_the_timer_puts_the_instance_in_error_and_the_job_is_done(app, clock, boss):
    boss.deploy(fixture("events", "jobs_timer_then_failing_script.bpmn"))
    started = boss.start("jobs_timer_then_failing_script")
    clock.shift(dt.timedelta(hours=1, seconds=1))

    counts = run_jobs(app)

    assert counts == {"done": 1, "failed": 0, "retried": 0}
    assert job_rows(app) == []  # the job did its work: the failure belongs to the instance, not the job
    instance = boss.instance(started["id"])
    assert instance["status"] == "error"
    [incident] = instance["incidents"]
    assert incident["element_id"] == "divide" and "division by zero" in incident["message"]
    assert incident["resolved_at"] is None
    types = [e["type"] for e in history(boss, started["id"])]
    assert types.count("timer_fired") == 1 and types.count("error") == 1
    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 0}


def test_a_job_that_raises_is_retried_with_back_off_then_failed_and_an_admin_can_put_it_back(
        app, clock, boss, make, monkeypatch):
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    started = boss.start("timer_then_task")
    staff = make.client("sam")
    calls = []

    def broken_fire_timer(job, now, worker):
        calls.append(now)
        raise RuntimeError(f"handler broke (call {len(calls)})")

    monkeypatch.setitem(HANDLERS, "timer", broken_fire_timer)
    clock.shift(dt.timedelta(hours=1, seconds=1))
    first_try = job_service.utcnow()

    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 1}
    [job] = job_rows(app)
    assert (job.status, job.attempts, job.last_error) == ("pending", 1, "RuntimeError: handler broke (call 1)")
    second_try = first_try + dt.timedelta(seconds=30)
    assert job.due_at == second_try
    clock.move_to(second_try - MS)
    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 0}  # not due again before the back-off

    clock.move_to(second_try + MS)
    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 1}
    [job] = job_rows(app)
    assert (job.status, job.attempts, job.last_error) == ("pending", 2, "RuntimeError: handler broke (call 2)")
    third_try = second_try + MS + dt.timedelta(seconds=60)  # twice the back-off, from the second attempt
    assert job.due_at == third_try
    clock.move_to(third_try - MS)
    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 0}

    clock.move_to(third_try + MS)
    assert run_jobs(app) == {"done": 0, "failed": 1, "retried": 0}
    [job] = job_rows(app)
    assert (job.status, job.attempts, job.max_attempts) == ("failed", 3, 3)
    assert job.last_error == "RuntimeError: handler broke (call 3)"
    clock.shift(dt.timedelta(days=1 / 4))
    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 0}  # a failed job is never claimed again
    assert len(calls) == 3

    # Nothing of the failed attempts reached the instance.
    instance = boss.instance(started["id"])
    assert instance["status"] == "running" and instance["incidents"] == []
    assert fired(boss, started["id"]) == []

    [listed] = jobs_listed(boss, "&status=failed")
    assert (listed["id"], listed["instance_id"], listed["status"]) == (job.id, started["id"], "failed")
    assert (listed["attempts"], listed["last_error"]) == (3, "RuntimeError: handler broke (call 3)")
    assert jobs_listed(boss, "&status=pending") == []
    assert_problem(staff.get(f"{JOBS}?status=failed"), 403)
    assert_problem(staff.post(f"{JOBS}/{job.id}/retry"), 403)

    retried = boss.post(f"{JOBS}/{job.id}/retry")
    assert retried.status_code == 200, retried.get_json()
    body = retried.get_json()
    assert (body["status"], body["attempts"], body["last_error"]) == ("pending", 0, None)
    assert body["due_at"] == job_service.utcnow().isoformat()
    again = assert_problem(boss.post(f"{JOBS}/{job.id}/retry"), 409)
    assert "pending" in again["detail"]
    assert_problem(boss.post(f"{JOBS}/no-such-job/retry"), 404)

    monkeypatch.undo()  # the handler is mended
    clock.shift(MS)
    assert run_jobs(app, worker="after-retry") == {"done": 1, "failed": 0, "retried": 0}
    assert boss.instance(started["id"])["status"] == "completed"
    [event] = fired(boss, started["id"])
    assert event["data"]["worker"] == "after-retry"
    assert job_rows(app) == []


# -- the command line and the worker loop ----------------------------------------------------------

def test_flask_jobs_run_fires_the_due_timers_and_prints_the_counts(app, clock, boss):
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    due = [boss.start("timer_then_task") for _ in range(2)]
    clock.shift(dt.timedelta(minutes=30))
    later = boss.start("timer_then_task")  # due half an hour after the others
    clock.shift(dt.timedelta(minutes=30, seconds=1))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["jobs", "run"])

    assert result.exit_code == 0, result.output
    assert printed(result) == ["done 2, failed 0, retried 0"]
    assert [line["outcome"] for line in logged_jobs(result)] == ["done", "done"]  # one log line per job
    for instance in due:
        assert boss.instance(instance["id"])["status"] == "completed"
        assert [e["data"]["worker"] for e in fired(boss, instance["id"])] == ["cli"]
    assert boss.instance(later["id"])["status"] == "running"
    assert [j.instance_id for j in job_rows(app)] == [later["id"]]
    again = runner.invoke(args=["jobs", "run"])
    assert (again.exit_code, printed(again), logged_jobs(again)) == (0, ["done 0, failed 0, retried 0"], [])


def printed(result) -> list[str]:
    """What a command printed for its user: its output without the log lines (JSON objects) sharing stdout."""
    return [line for line in result.output.splitlines() if not line.startswith("{")]


def logged_jobs(result) -> list[dict]:
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "stagecoach.jobs"]


def test_flask_jobs_worker_runs_passes_until_interrupted_and_survives_a_failed_pass(
        app, clock, boss, monkeypatch):
    """`run_forever` keeps going after a pass that raised; Ctrl-C ends `flask jobs worker` cleanly."""
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    started = boss.start("timer_then_task")
    clock.shift(dt.timedelta(hours=1, seconds=1))
    real_run_due_jobs = job_service.run_due_jobs
    passes = []

    def run_due_jobs_then_interrupt(**kwargs):
        passes.append(kwargs)
        if len(passes) == 1:
            raise RuntimeError("the database went away for a moment")
        real_run_due_jobs(**kwargs)
        raise KeyboardInterrupt  # what Ctrl-C does to the foreground worker

    monkeypatch.setitem(app.config, "JOBS_POLL_SECONDS", 0)  # no waiting between passes
    monkeypatch.setattr(job_service, "run_due_jobs", run_due_jobs_then_interrupt)

    result = app.test_cli_runner().invoke(args=["jobs", "worker"])

    assert result.exit_code == 0, (result.output, result.exception)
    assert printed(result) == ["job worker started; Ctrl-C stops it"]
    failures = [json.loads(line) for line in result.output.splitlines() if "job runner pass failed" in line]
    assert [(line["level"], "the database went away" in line["exception"]) for line in failures] == [("ERROR", True)]
    assert len(passes) == 2 and passes[0] == passes[1]
    [event] = fired(boss, started["id"])
    assert event["data"]["worker"] == passes[0]["worker"]
    assert boss.instance(started["id"])["status"] == "completed"


# -- lateness -------------------------------------------------------------------------------------

def test_timer_fired_records_how_late_the_job_ran(app, clock, boss):
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    started = boss.start("timer_then_task")
    clock.shift(dt.timedelta(hours=1, milliseconds=1500))

    assert run_jobs(app, worker="w") == {"done": 1, "failed": 0, "retried": 0}

    [event] = fired(boss, started["id"])
    assert event["data"] == {"due_at": DUE.isoformat(), "worker": "w", "late_ms": 1500}
    assert event["at"] == (DUE + dt.timedelta(milliseconds=1500)).isoformat()


def test_a_timer_is_due_only_once_its_due_time_has_passed_and_never_reported_fired_before(app, clock, boss):
    """At exactly `due_at` the engine does not fire a timer yet, so the job must not run (or record) anything."""
    boss.deploy(fixture("events", "timer_then_task.bpmn"))
    started = boss.start("timer_then_task")
    [job] = job_rows(app)
    clock.move_to(DUE)

    assert run_jobs(app) == {"done": 0, "failed": 0, "retried": 0}
    assert [(j.id, j.status, j.attempts, j.due_at) for j in job_rows(app)] == [(job.id, "pending", 0, DUE)]
    assert fired(boss, started["id"]) == []
    assert boss.instance(started["id"])["status"] == "running"

    clock.move_to(DUE + MS)
    assert run_jobs(app) == {"done": 1, "failed": 0, "retried": 0}
    [event] = fired(boss, started["id"])
    assert event["data"]["late_ms"] == 1
    assert boss.instance(started["id"])["status"] == "completed"
