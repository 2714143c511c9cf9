"""Running due jobs: each fires exactly once, whatever the number of workers.

A job is claimed and executed in one write transaction together with the
instance step it causes: on PostgreSQL the job row is taken with
`FOR UPDATE SKIP LOCKED` (other workers pass over it), on SQLite the
transaction holds the database write lock. The step's after-step hook
(`scheduling.py`) rewrites the instance's timer job (removing this one,
adding the next), so the job disappears in the same commit as its effect. A
worker that dies mid-job leaves an open transaction that the database rolls
back: the job is still there, due, and the next worker runs it. A job that
fails is retried with back-off and marked `failed` (with its error) after
`max_attempts`; `retry_job` puts it back. What a job of each kind does is
its handler's (`handlers.py`). Jobs of no instance (history cleanup) run whatever the instances do;
an instance's jobs run while it runs.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from flask import current_app
from sqlalchemy import or_, select

from ..extensions import db
from ..models import Job, ProcessInstance
from ..operations.logs import logging_context
from ..operations.work import job_ran
from ..services.core import utcnow, write_transaction
from ..services.retention import ensure_cleanup_job
from ..statuses import InstanceStatus, JobStatus
from .handlers import HANDLERS, RetryLater

RETRY_BASE = dt.timedelta(seconds=30)
log = logging.getLogger(__name__)


def _claim(now: dt.datetime) -> Job | None:
    # An instance's job waits while its instance is not running; a batch's job has no instance.
    stmt = (select(Job).outerjoin(ProcessInstance, ProcessInstance.id == Job.instance_id)
            .where(Job.status == JobStatus.PENDING, Job.due_at < now,
                   or_(ProcessInstance.status == InstanceStatus.RUNNING, Job.instance_id.is_(None)))
            .order_by(Job.due_at).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Job)
    return db.session.scalars(stmt).first()


def run_due_jobs(now: dt.datetime | None = None, worker: str = "embedded", limit: int = 500) -> dict[str, int]:
    """Run the jobs due before `now` (default: the clock), one transaction each; returns counts.

    Due means strictly before, as the engine decides whether a timer has fired. Each job claimed is
    logged and counted (`app/operations/work.py`) once its transaction has ended.
    """
    counts = {"done": 0, "failed": 0, "retried": 0}
    if not current_app.extensions.get("stagecoach.cleanup_scheduled"):  # once per process: the recurring job
        try:
            ensure_cleanup_job(now)
            current_app.extensions["stagecoach.cleanup_scheduled"] = True
        except Exception:  # history cleanup must never stop the timers: logged, tried again next pass
            log.exception("could not schedule history cleanup")
    for _ in range(limit):
        moment = now or utcnow()
        failure = None
        claimed: dict = {}
        started = time.perf_counter()
        try:
            with write_transaction():
                job = _claim(moment)
                if job is None:
                    break
                claimed = {"kind": job.kind, "job_id": job.id, "instance_id": job.instance_id, "due_at": job.due_at}
                job_id, attempts = job.id, job.attempts
                with logging_context(job_id=job.id, kind=job.kind, instance_id=job.instance_id):
                    try:
                        with db.session.begin_nested():
                            HANDLERS[job.kind](job, moment, worker)
                    except RetryLater as exc:  # an asynchronous task failed: its own retry cycle
                        failure = str(exc)
                        _record_failure(job_id, attempts, moment, failure, delay=exc.delay)
                    except Exception as exc:  # the job's own failure: recorded, the instance left as it was
                        failure = f"{type(exc).__name__}: {exc}"
                        _record_failure(job_id, attempts, moment, failure)
        except Exception as exc:  # the transaction itself failed (the database, a lock): the job stays due
            if claimed:
                job_ran(**claimed, ran_at=moment, seconds=time.perf_counter() - started, outcome="error",
                        worker=worker, error=f"{type(exc).__name__}: {exc}")
            raise
        if failure is None:
            outcome = "done"
        else:
            job = db.session.get(Job, job_id)
            outcome = "failed" if job is not None and job.status == JobStatus.FAILED else "retried"
        counts[outcome] += 1
        job_ran(**claimed, ran_at=moment, seconds=time.perf_counter() - started, outcome=outcome, worker=worker,
                error=failure)
    return counts


def _record_failure(job_id: str, attempts: int, now: dt.datetime, error: str,
                    delay: dt.timedelta | None = None) -> None:
    job = db.session.get(Job, job_id)
    if job is None:
        return
    job.attempts = attempts + 1
    job.last_error = error[:4000]
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.FAILED
    else:
        job.due_at = now + (delay if delay is not None else RETRY_BASE * 2 ** (job.attempts - 1))
