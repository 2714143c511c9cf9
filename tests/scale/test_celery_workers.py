"""Scale-out: Celery workers on a real Redis broker fire timers exactly once.

Runs on PostgreSQL (the state workers share) with Redis on 127.0.0.1:6379
(CELERY_TEST_BROKER_URL to change it); skipped on SQLite and without Redis.
Two worker processes take the `run_due_jobs` tasks; whatever the broker
delivers twice or the workers run at once, each timer fires once.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import time_machine

from ..factories import ApiClient, fixture

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/7")


def _redis_up() -> bool:
    try:
        import redis
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture
def workers(database_url, is_postgres):
    if not is_postgres:
        pytest.skip("scale-out shares state through PostgreSQL; set TEST_DATABASE_URL")
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis at {BROKER}")
        pytest.skip(f"no Redis at {BROKER}")
    env = dict(os.environ, DATABASE_URL=database_url, CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND=BROKER,
               STAGECOACH_ADMIN_PASSWORD="admin-password", SECRET_KEY="test-secret-key",
               STAGECOACH_OUTBOX_DISPATCH="0", STAGECOACH_JOBS_EMBEDDED="0",
               # the nightly history cleanup (01:00-05:00 by default) is a due job too inside its window: off,
               # so that the workers' count is the timers' whatever the hour the test runs at
               STAGECOACH_HISTORY_CLEANUP_WINDOW="off")
    import redis
    redis.Redis.from_url(BROKER).flushdb()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app.jobs.celery", "worker", "--concurrency=1", "--pool=solo",
         f"--hostname=w{i}@%h", "--without-gossip", "--without-mingle", "--loglevel=warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in (1, 2)]
    yield procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_two_celery_workers_fire_every_due_timer_exactly_once(app, admin, workers):
    from app.jobs.celery import celery, run_due_jobs_task

    celery.conf.update(broker_url=BROKER, result_backend=BROKER)
    admin.deploy(fixture("events", "timer_then_task.bpmn"))
    # Started an hour and a half ago with a one-hour timer: due half an hour ago on the
    # workers' real clocks.
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=90), tick=False):
        past_admin = ApiClient.login(app, "admin", "admin-password")
        started = [past_admin.start("timer_then_task")["id"] for _ in range(20)]

    results = [run_due_jobs_task.delay() for _ in range(6)]
    counts = [r.get(timeout=120) for r in results]

    assert sum(c["done"] for c in counts) == 20, counts
    fired = Counter()
    workers_seen = set()
    for instance_id in started:
        history = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=1000").get_json()["items"]
        timer_events = [h for h in history if h["type"] == "timer_fired"]
        fired[instance_id] = len(timer_events)
        workers_seen.update(h["data"]["worker"].split(":")[0] for h in timer_events)
        assert admin.instance(instance_id)["status"] == "completed"
    assert set(fired.values()) == {1}
    assert workers_seen == {"celery"}
    left = admin.get("/api/v1/jobs?per_page=200").get_json()["items"]
    assert [job for job in left if job["instance_id"] in started] == []  # (the nightly cleanup job may wait there)
