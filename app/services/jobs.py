"""Seeing and retrying jobs (admins only), and the job runners' heartbeats; running jobs is the job runner's
(`app/jobs`)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..errors import ConflictError, NotFoundError
from ..extensions import db
from ..models import Job, RunnerHeartbeat
from ..statuses import JobStatus
from .access import require_admin
from .core import Actor, Page, paginate, utcnow, write_transaction


def list_jobs(actor: Actor, status: str | None, page: int, per_page: int, now: dt.datetime | None = None,
              due: bool = False) -> Page:
    """Pending jobs (optionally only those due) and failed ones, soonest first."""
    require_admin(actor, "see and retry jobs")
    stmt = select(Job)
    if status:
        stmt = stmt.where(Job.status == status)
    if due:
        stmt = stmt.where(Job.due_at < (now or utcnow()))
    return paginate(stmt.order_by(Job.due_at), page, per_page)


def retry_job(job_id: str, actor: Actor) -> Job:
    """Put a failed job back in line, due now."""
    require_admin(actor, "see and retry jobs")
    with write_transaction():
        job = db.session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        if job.status != JobStatus.FAILED:
            raise ConflictError(f"job is {job.status}")
        job.status, job.attempts, job.due_at, job.last_error = JobStatus.PENDING, 0, utcnow(), None
    return job


# -- job runners' heartbeats -----------------------------------------------------------------

HEARTBEAT_KEPT = dt.timedelta(days=1)  # a runner silent this long is forgotten when another starts


def beat(name: str, kind: str, now: dt.datetime | None = None) -> None:
    """Record that the job runner `name` (of `kind`: embedded, worker, celery) is alive now."""
    now = now or utcnow()
    table = RunnerHeartbeat.__table__
    with write_transaction():
        conn = db.session.connection()
        if conn.execute(table.update().where(table.c.name == name).values(beat_at=now)).rowcount:
            return
        conn.execute(table.delete().where(table.c.beat_at < now - HEARTBEAT_KEPT))
        conn.execute(table.insert().values(name=name, kind=kind, started_at=now, beat_at=now))

