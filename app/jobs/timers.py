"""The embedded job runner: a daemon thread per server process that fires due timers.

Several processes may each run one: jobs are claimed with row locks that
other workers skip (PostgreSQL) or under the database write lock (SQLite),
so a timer fires once. `flask jobs run` does one pass; `flask jobs worker`
runs the loop in the foreground (a dedicated worker process).
"""
from __future__ import annotations

import logging
import os
import socket
import threading

from flask import Flask

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_forever(app: Flask, stop: threading.Event) -> None:
    """Fire due jobs every JOBS_POLL_SECONDS until `stop` is set."""
    from ..extensions import db
    from .runner import run_due_jobs

    name = worker_name()
    while not stop.wait(app.config["JOBS_POLL_SECONDS"]):
        with app.app_context():
            try:
                run_due_jobs(worker=name)
            except Exception:  # keep the runner alive; the next pass tries again
                log.exception("job runner pass failed")
            finally:
                db.session.remove()


def start_job_runner(app: Flask) -> threading.Thread:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app, stop), name="stagecoach-jobs", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
