"""The PostgreSQL instance lock: a write waits for the row, briefly, then answers 409 instance-busy.

A thread holds `locked_instance(id)` open (as a long request would) while
another thread sends a request for the same instance. Coordination is by
events and by asking PostgreSQL who is blocked by whom; nothing sleeps.
SQLite takes a database-wide write lock instead, so these run on PostgreSQL
only (TEST_DATABASE_URL); test_concurrency covers both databases.
"""
from __future__ import annotations

import threading
import time
from functools import partial

import pytest
from sqlalchemy import text

from app.extensions import db
from app.services.core import SYSTEM
from app.services.core import Step
from app.services.core import locked_instance
from config import TestConfig

from .conftest import SHORT_LOCK_TIMEOUT_MS
from ..factories import ApiClient, fixture

TIMEOUT = 30  # seconds: a bound on waiting for another thread, never a pause


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks with lock_timeout are PostgreSQL's; set TEST_DATABASE_URL to a PostgreSQL database")


class LockHolder(threading.Thread):
    """Hold `locked_instance(instance_id)` in its own app context until `release` is set."""

    def __init__(self, app, instance_id: str, change=None):
        super().__init__(daemon=True)
        self.app, self.instance_id, self.change = app, instance_id, change
        self.locked, self.release = threading.Event(), threading.Event()
        self.backend_pid: int | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context():
                try:
                    with locked_instance(self.instance_id) as instance:
                        self.backend_pid = db.session.scalar(text("SELECT pg_backend_pid()"))
                        if self.change is not None:
                            self.change(instance)
                        self.locked.set()
                        if not self.release.wait(TIMEOUT):
                            raise TimeoutError("the test never released the lock")
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported by the test thread
            self.error = exc
            self.locked.set()

    def __enter__(self):
        self.start()
        assert self.locked.wait(TIMEOUT), "the holder never got the lock"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        self.join(TIMEOUT)
        assert not self.is_alive(), "the holder never finished"
        assert self.error is None, self.error


class Request(threading.Thread):
    """Send one request from its own thread (its own test client); keep the answer."""

    def __init__(self, send):
        super().__init__(daemon=True)
        self.send = send
        self.response = None
        self.elapsed: float | None = None
        self.error: BaseException | None = None

    def run(self):
        started = time.monotonic()
        try:
            response = self.send()
            response.get_data()  # read the body in this thread
            self.response = response
        except BaseException as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.elapsed = time.monotonic() - started

    def answer(self):
        self.join(TIMEOUT)
        assert not self.is_alive(), "the request never answered"
        assert self.error is None, self.error
        return self.response


def blocked_by(app, holder_pid: int) -> bool:
    """Whether some backend is waiting for a lock held by `holder_pid`, within TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while time.monotonic() < deadline:
                waiting = conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                           "WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))"),
                                      {"holder": holder_pid})
                if waiting:
                    return True
    return False


def complete(client: ApiClient, task_id: str, variables: dict | None = None):
    return client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": variables or {}})


@pytest.fixture
def started(admin):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    return admin.start("three_tasks")


def _completions(admin: ApiClient, instance_id: str) -> list[dict]:
    items = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500").get_json()["items"]
    return [e for e in items if e["type"] == "task_completed"]


def test_a_complete_waits_for_the_instance_lock_and_succeeds_once_it_is_released(app, admin, make, started):
    worker = make.client("wendy", groups=["staff"])
    task_a = started["tasks"][0]

    with LockHolder(app, started["id"]) as holder:
        request = Request(partial(complete, worker, task_a["id"], {"note": "after the wait"}))
        request.start()
        assert blocked_by(app, holder.backend_pid), "the request did not queue behind the lock"
        assert request.is_alive(), "the request answered while the instance was locked"

    response = request.answer()
    assert response.status_code == 200, response.get_json()
    assert [t["element_id"] for t in response.get_json()["tasks"]] == ["task_b"]
    assert [(e["element_id"], e["user"]) for e in _completions(admin, started["id"])] == [("task_a", "wendy")]


def test_a_waiting_complete_gets_a_clean_409_when_the_holder_changed_the_instance(app, admin, make, started):
    worker = make.client("wendy", groups=["staff"])
    task_a = started["tasks"][0]

    def suspend(instance):
        step = Step(instance, SYSTEM)
        step.set_status("suspended", "maintenance")
        step.write()

    with LockHolder(app, started["id"], change=suspend) as holder:
        request = Request(partial(complete, worker, task_a["id"]))
        request.start()
        assert blocked_by(app, holder.backend_pid), "the request did not queue behind the lock"

    response = request.answer()
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "/problems/conflict" and body["instance_status"] == "suspended", body
    assert admin.instance(started["id"])["status"] == "suspended"
    assert _completions(admin, started["id"]) == []


def test_a_lock_held_past_the_lock_timeout_answers_409_instance_busy_with_retry_after(
        app, admin, make, started, short_lock_app):
    make.user("wendy", groups=["staff"])
    worker = ApiClient.login(short_lock_app, "wendy", "secret")
    task_a = started["tasks"][0]

    with LockHolder(app, started["id"]):
        request = Request(partial(complete, worker, task_a["id"], {"note": "too early"}))
        request.start()
        response = request.answer()  # the lock is held until the request has given up

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "/problems/instance-busy" and body["status"] == 409, body
    assert int(response.headers["Retry-After"]) >= 1
    assert request.elapsed >= SHORT_LOCK_TIMEOUT_MS / 1000 * 0.9, "it failed at once instead of waiting"

    # Nothing was half-written, and the retry the client was told to make succeeds.
    assert _completions(admin, started["id"]) == []
    assert [t["id"] for t in admin.instance(started["id"])["tasks"]] == [task_a["id"]]
    retried = complete(worker, task_a["id"], {"note": "retried"})
    assert retried.status_code == 200, retried.get_json()
    assert [e["data"] for e in _completions(admin, started["id"])] == [{"note": "retried"}]


def test_the_lock_is_per_instance_so_other_instances_are_not_held_up(app, admin, make, started, short_lock_app):
    other = admin.start("three_tasks")
    make.user("wendy", groups=["staff"])
    worker = ApiClient.login(short_lock_app, "wendy", "secret")

    with LockHolder(app, started["id"]):
        response = complete(worker, other["tasks"][0]["id"])

    assert response.status_code == 200, response.get_json()
    assert admin.instance(started["id"])["tasks"][0]["element_id"] == "task_a"


def test_each_app_sets_its_configured_lock_timeout_on_its_connections(short_lock_app, app):
    with short_lock_app.app_context():
        assert db.session.scalar(text("SHOW lock_timeout")) == f"{SHORT_LOCK_TIMEOUT_MS}ms"
        db.session.remove()
    with app.app_context():
        assert db.session.scalar(text("SHOW lock_timeout")) == f"{TestConfig.LOCK_TIMEOUT_MS // 1000}s"
        db.session.remove()


def test_no_connection_of_the_app_compiles_plans_just_in_time(app):
    """JIT costs a list over many rows more than it saves (20-100 ms of compiling): off on every connection."""
    with app.app_context():
        assert db.session.scalar(text("SHOW jit")) == "off"
        db.session.remove()
