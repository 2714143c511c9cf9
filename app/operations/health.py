"""Readiness: can this server do its work now?

Three checks, each `ok` or `failing` with a short reason (never an address,
an error text or a revision id):

- `database`: a connection answers `SELECT 1` within HEALTH_TIMEOUT_SECONDS.
  The check runs in a thread of its own, so a database that hangs (a lost
  network, a full pool) is a timeout, not a stuck probe; while a check still
  hangs, the next ones fail at once instead of piling threads up.
- `schema`: the database's Alembic revision is the code's head (a server
  started on an older schema, with STAGECOACH_AUTO_UPGRADE=0, is not ready).
- `job_runner`: some job runner (embedded, `flask jobs worker`, Celery) said
  it was alive within HEALTH_RUNNER_STALE_SECONDS; 0 leaves the check out.

Liveness asks nothing of the database: the process answers, so it is alive.
"""
from __future__ import annotations

import datetime as dt
import queue
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache

from flask import Flask, current_app
from sqlalchemy import func, select, text

from ..clock import utcnow
from ..extensions import db
from ..models import RunnerHeartbeat

OK, FAILING = "ok", "failing"
_busy = threading.Lock()  # held while a database check runs


@dataclass
class Readiness:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["status"] == OK for check in self.checks.values())

    def body(self) -> dict:
        return {"status": "ready" if self.ready else "unavailable", "checks": self.checks}


@lru_cache(maxsize=8)
def schema_heads(directory: str) -> frozenset[str]:
    """The head revisions of the migrations in `directory` (read once per process)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(directory).get_heads())


def readiness() -> Readiness:
    """Run the checks for the current app."""
    app = current_app._get_current_object()
    timeout = app.config.get("HEALTH_TIMEOUT_SECONDS", 2)
    result = Readiness()
    answer = _read_database(app, timeout)
    if answer is None or isinstance(answer, str):
        result.checks["database"] = {"status": FAILING, "reason": answer or "unreachable"}
        result.checks["schema"] = {"status": FAILING, "reason": "unknown"}
        if app.config.get("HEALTH_RUNNER_STALE_SECONDS"):
            result.checks["job_runner"] = {"status": FAILING, "reason": "unknown"}
        return result
    revisions, last_beat = answer
    result.checks["database"] = {"status": OK}
    heads = schema_heads(app.extensions["migrate"].directory)
    if not revisions:
        result.checks["schema"] = {"status": FAILING, "reason": "not initialised"}
    elif set(revisions) != heads:
        result.checks["schema"] = {"status": FAILING, "reason": "not current"}
    else:
        result.checks["schema"] = {"status": OK}
    stale = app.config.get("HEALTH_RUNNER_STALE_SECONDS")
    if stale and result.checks["schema"]["status"] != OK:
        result.checks["job_runner"] = {"status": FAILING, "reason": "unknown"}
    elif stale:
        result.checks["job_runner"] = _runner_check(last_beat, utcnow(), stale)
    return result


def _runner_check(last_beat: dt.datetime | None, now: dt.datetime, stale: float) -> dict:
    if last_beat is None:
        return {"status": FAILING, "reason": "no job runner has reported"}
    age = max(0.0, (now - last_beat).total_seconds())
    if age > stale:
        return {"status": FAILING, "reason": "stale", "seconds_since_heartbeat": round(age)}
    return {"status": OK, "seconds_since_heartbeat": round(age)}


def _read_database(app: Flask, timeout: float):
    """(revisions, last heartbeat) read within `timeout`; or a reason ("timeout", "unreachable")."""
    if not _busy.acquire(blocking=False):
        return "timeout"  # the previous check still waits for the database
    answers: queue.Queue = queue.Queue(maxsize=1)

    def read():
        try:
            answers.put(_query(app))
        except Exception:  # any failure to read is "unreachable"; the reason is not shown
            answers.put(None)
        finally:
            _busy.release()

    threading.Thread(target=read, name="stagecoach-health", daemon=True).start()
    try:
        return answers.get(timeout=timeout)
    except queue.Empty:
        return "timeout"


def _query(app: Flask):
    with app.app_context():
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                with conn.begin_nested() if conn.dialect.name == "postgresql" else nullcontext():
                    revisions = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            except Exception:  # no alembic_version table: the schema was never made
                revisions = []
            beat = None
            if set(revisions) & schema_heads(app.extensions["migrate"].directory):
                beat = conn.scalar(select(func.max(RunnerHeartbeat.beat_at)))
            conn.rollback()
    if beat is not None and beat.tzinfo is None:
        beat = beat.replace(tzinfo=dt.timezone.utc)
    return revisions, beat

