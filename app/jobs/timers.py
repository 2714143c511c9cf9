"""The embedded job runner: a daemon thread per server process that fires due timers.

Several processes may each run one: jobs are claimed with row locks that
other workers skip (PostgreSQL) or under the database write lock (SQLite),
so a timer fires once. `flask jobs run` does one pass; `flask jobs worker`
runs the loop in the foreground (a dedicated worker process).

Every runner says it is alive (`heartbeat`): a row of its own in
`runner_heartbeat`, written when it starts and then at most every
HEARTBEAT_SECONDS, which `/health/ready` and the metrics read.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from flask import Flask

from ..clock import utcnow

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10  # at most this often; less when readiness wants fresher news (a third of its limit)
_last_beats: dict[str, dt.datetime] = {}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def heartbeat(name: str, kind: str) -> None:
    """Inside an app context: record that runner `name` is alive, unless it did so a moment ago."""
    from flask import current_app

    from ..services.jobs import beat

    now = utcnow()
    stale = current_app.config.get("HEALTH_RUNNER_STALE_SECONDS") or 0
    every = dt.timedelta(seconds=min(HEARTBEAT_SECONDS, stale / 3) if stale else HEARTBEAT_SECONDS)
    last = _last_beats.get(name)
    if last is not None and last <= now < last + every:
        return
    beat(name, kind, now)
    _last_beats[name] = now


def run_forever(app: Flask, stop: threading.Event, kind: str = "embedded") -> None:
    """Fire due jobs every JOBS_POLL_SECONDS until `stop` is set; `kind` names the runner in its heartbeat."""
    from .runner import run_due_jobs

    name = worker_name()
    _pass(app, lambda: heartbeat(name, kind), "job runner heartbeat failed")
    while not stop.wait(app.config["JOBS_POLL_SECONDS"]):
        _pass(app, lambda: (run_due_jobs(worker=name), heartbeat(name, kind)), "job runner pass failed")


def _pass(app: Flask, work, failure: str) -> None:
    from ..extensions import db

    with app.app_context():
        try:
            work()
        except Exception:  # keep the runner alive; the next pass tries again
            log.exception(failure)
        finally:
            db.session.remove()


def start_job_runner(app: Flask) -> threading.Thread:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app, stop), name="stagecoach-jobs", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
