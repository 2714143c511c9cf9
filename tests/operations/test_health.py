"""/health/live and /health/ready: each check failing on its own, with a body that says which and nothing more."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from flask_migrate import stamp

from app import create_app
from app.extensions import db
from app.jobs.timers import run_forever
from app.operations import health
from app.services.jobs import beat

from ..conftest import make_config

DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/stagecoach"  # nothing listens on port 1


def ready(app):
    response = app.test_client().get("/health/ready")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


@pytest.fixture
def beating(app):
    """A job runner that has just said it is alive."""
    with app.app_context():
        beat("test-runner", "embedded")
        db.session.remove()


def build(url: str, **overrides):
    return create_app(make_config(url, AUTO_UPGRADE=False, **overrides))


def dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


def test_ready_when_the_database_answers_its_schema_is_current_and_a_runner_beats(app, beating):
    status, body = ready(app)
    assert status == 200, body
    assert body == {"status": "ready", "checks": {
        "database": {"status": "ok"}, "schema": {"status": "ok"},
        "job_runner": {"status": "ok", "seconds_since_heartbeat": 0}}}


def test_live_asks_nothing_of_the_database():
    down = build(DOWN_URL, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    try:
        response = down.test_client().get("/health/live")
        assert response.status_code == 200
        assert response.get_json() == {"status": "alive"}
    finally:
        dispose(down)


def test_a_database_out_of_reach_is_503_and_says_nothing_of_where_or_why():
    down = build(DOWN_URL, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    try:
        status, body = ready(down)
    finally:
        dispose(down)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "failing", "reason": "unreachable"}
    assert body["checks"]["schema"]["status"] == "failing"
    text = json.dumps(body)
    for secret in ("127.0.0.1", "postgres", "psycopg", "5432", "refused", "port"):
        assert secret not in text.lower()


def test_a_database_that_hangs_is_a_timeout_and_the_next_probe_does_not_pile_up(app, monkeypatch):
    release = threading.Event()
    calls = []

    def hanging(_app):
        calls.append(1)
        release.wait(30)
        raise RuntimeError("gave up")
    monkeypatch.setattr(health, "_query", hanging)
    app.config["HEALTH_TIMEOUT_SECONDS"] = 0.2
    try:
        first_status, first = ready(app)
        second_status, second = ready(app)  # the first check still hangs
    finally:
        app.config["HEALTH_TIMEOUT_SECONDS"] = 2
        release.set()
        assert health._busy.acquire(timeout=10)  # the hung check has ended: later probes run again
        health._busy.release()
    assert (first_status, second_status) == (503, 503)
    assert first["checks"]["database"] == second["checks"]["database"] == {"status": "failing", "reason": "timeout"}
    assert len(calls) == 1


def test_a_schema_behind_the_code_is_503(tmp_path):
    behind = build(f"sqlite:///{tmp_path / 'behind.db'}")
    try:
        with behind.app_context():
            db.create_all()
            heads = health.schema_heads(behind.extensions["migrate"].directory)
            from alembic.script import ScriptDirectory
            script = ScriptDirectory(behind.extensions["migrate"].directory)
            previous = script.get_revision(sorted(heads)[0]).down_revision
            stamp(directory=behind.extensions["migrate"].directory, revision=previous)
            beat("runner", "embedded")
            db.session.remove()
        status, body = ready(behind)
        assert status == 503
        assert body["checks"]["database"] == {"status": "ok"}
        assert body["checks"]["schema"] == {"status": "failing", "reason": "not current"}
        assert previous not in json.dumps(body)
        with behind.app_context():
            stamp(directory=behind.extensions["migrate"].directory, revision="heads")
        assert ready(behind)[0] == 200
    finally:
        dispose(behind)


def test_a_database_never_migrated_is_503(tmp_path):
    empty = build(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        status, body = ready(empty)
    finally:
        dispose(empty)
    assert status == 503
    assert body["checks"]["schema"] == {"status": "failing", "reason": "not initialised"}


def test_no_runner_ever_beating_is_503(app):
    status, body = ready(app)
    assert status == 503
    assert body["checks"]["job_runner"] == {"status": "failing", "reason": "no job runner has reported"}


def test_a_runner_silent_past_the_limit_is_stale_and_503(clock, app, beating):
    assert ready(app)[0] == 200
    clock.shift(dt.timedelta(seconds=app.config["HEALTH_RUNNER_STALE_SECONDS"] - 1))
    assert ready(app)[0] == 200
    clock.shift(dt.timedelta(seconds=2))
    status, body = ready(app)
    assert status == 503
    assert body["checks"]["job_runner"]["status"] == "failing"
    assert body["checks"]["job_runner"]["reason"] == "stale"
    assert body["checks"]["job_runner"]["seconds_since_heartbeat"] == app.config["HEALTH_RUNNER_STALE_SECONDS"] + 1


def test_the_runner_check_can_be_left_out(database_url):
    without = build(database_url, HEALTH_RUNNER_STALE_SECONDS=0)
    try:
        status, body = ready(without)
    finally:
        dispose(without)
    assert status == 200, body
    assert set(body["checks"]) == {"database", "schema"}


def test_the_job_runner_loop_beats_when_it_starts_and_keeps_beating(clock, app):
    """run_forever beats before its first pass and then at most every HEARTBEAT_SECONDS, per runner."""
    stop = threading.Event()
    stop.set()  # one beat at start, no pass
    run_forever(app, stop, kind="worker")
    assert ready(app)[0] == 200
    clock.shift(dt.timedelta(seconds=app.config["HEALTH_RUNNER_STALE_SECONDS"] + 1))
    assert ready(app)[0] == 503
    run_forever(app, stop, kind="worker")  # the same runner again, later: a new beat
    assert ready(app)[0] == 200
    with app.app_context():
        from app.models import RunnerHeartbeat
        rows = db.session.query(RunnerHeartbeat).all()
        assert [(r.kind, r.name.count(":")) for r in rows] == [("worker", 2)]
        db.session.remove()
