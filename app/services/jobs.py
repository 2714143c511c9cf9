"""Running due jobs: timers fire exactly once, whatever the number of workers.

A job is claimed and executed in one write transaction together with the
instance step it causes: on PostgreSQL the job row is taken with
`FOR UPDATE SKIP LOCKED` (other workers pass over it), on SQLite the
transaction holds the database write lock. The step rewrites the instance's
timer job (removing this one, adding the next), so the job disappears in the
same commit as its effect. A worker that dies mid-job leaves an open
transaction that the database rolls back: the job is still there, due, and
the next worker runs it. A job that fails is retried with back-off and marked
`failed` (with its error) after `max_attempts`; `retry_job` puts it back.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..errors import ConflictError, NotFoundError
from ..extensions import db
from ..models import Job, ProcessInstance
from .context import SYSTEM, engine, utcnow
from .crm_actions import acting_for
from .definitions import definition_info, load_workflow
from .pagination import Page, paginate
from .projection import Step
from .transactions import lock_instance, write_transaction

RETRY_BASE = dt.timedelta(seconds=30)


def _claim(now: dt.datetime) -> Job | None:
    stmt = (select(Job).join(ProcessInstance, ProcessInstance.id == Job.instance_id)
            .where(Job.status == "pending", Job.due_at < now, ProcessInstance.status == "running")
            .order_by(Job.due_at).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Job)
    return db.session.scalars(stmt).first()


def run_due_jobs(now: dt.datetime | None = None, worker: str = "embedded", limit: int = 500) -> dict[str, int]:
    """Run the jobs due before `now` (default: the clock), one transaction each; returns counts.

    Due means strictly before, as the engine decides whether a timer has fired.
    """
    counts = {"done": 0, "failed": 0, "retried": 0}
    for _ in range(limit):
        moment = now or utcnow()
        failure = None
        with write_transaction():
            job = _claim(moment)
            if job is None:
                break
            job_id, attempts = job.id, job.attempts
            try:
                with db.session.begin_nested():
                    _handler(job.kind)(job, moment, worker)
            except RetryLater as exc:  # an asynchronous task failed: its own retry cycle
                failure = str(exc)
                _record_failure(job_id, attempts, moment, failure, delay=exc.delay)
            except Exception as exc:  # the job's own failure: recorded, the instance left as it was
                failure = f"{type(exc).__name__}: {exc}"
                _record_failure(job_id, attempts, moment, failure)
        if failure is None:
            counts["done"] += 1
        else:
            job = db.session.get(Job, job_id)
            counts["failed" if job is not None and job.status == "failed" else "retried"] += 1
    return counts


def _fire_timer(job: Job, now: dt.datetime, worker: str) -> None:
    instance = lock_instance(ProcessInstance.id == job.instance_id)
    if instance is None or instance.status != "running":
        db.session.delete(job)
        return
    info = definition_info(instance.definition_id)
    eng = engine()
    wf = load_workflow(info, instance.state)
    with acting_for(instance.id, instance.record_module, instance.record_id, SYSTEM) as effects:
        outcome = eng.runner.fire_timers(wf, effects)
    if not outcome.events and outcome.status == "running":
        # The engine did not consider the timer due yet (clock skew): look again in a moment.
        db.session.execute(Job.__table__.update().where(Job.__table__.c.id == job.id)
                           .values(due_at=now + dt.timedelta(seconds=1)))
        return
    step = Step(instance, SYSTEM)
    step.record("timer_fired", data={"due_at": job.due_at.isoformat(), "worker": worker,
                                     "late_ms": round((now - job.due_at).total_seconds() * 1000)})
    step.apply_outcome(info, wf, outcome)
    step.write()  # replaces this job by the instance's next timer, if any


def _record_failure(job_id: str, attempts: int, now: dt.datetime, error: str,
                    delay: dt.timedelta | None = None) -> None:
    job = db.session.get(Job, job_id)
    if job is None:
        return
    job.attempts = attempts + 1
    job.last_error = error[:4000]
    if job.attempts >= job.max_attempts:
        job.status = "failed"
    else:
        job.due_at = now + (delay if delay is not None else RETRY_BASE * 2 ** (job.attempts - 1))


class RetryLater(Exception):
    """An asynchronous task failed with tries left: undo the attempt, try again after `delay`."""

    def __init__(self, message: str, delay: dt.timedelta):
        super().__init__(message)
        self.delay = delay


def _run_async(job: Job, now: dt.datetime, worker: str) -> None:
    """Run an instance's held asynchronous tasks; a failure is retried on the task's own cycle
    (camunda:failedJobRetryTimeCycle) and becomes an incident only when the tries run out."""
    instance = lock_instance(ProcessInstance.id == job.instance_id)
    db.session.delete(job)
    db.session.flush()
    if instance is None or instance.status != "running":
        return
    info = definition_info(instance.definition_id)
    wf = load_workflow(info, instance.state)
    runner = engine().runner
    held = {tid: element for tid, element in runner.held(wf).items()
            if element in info.asynchronous and element not in info.external}
    with acting_for(instance.id, instance.record_module, instance.record_id, SYSTEM) as effects:
        outcome = runner.release(wf, effects, set(held))
    if outcome.incident is not None:
        # As in Camunda, the job spans everything up to the next wait state: a failure anywhere in it
        # is retried on the cycle of the element that made the job (its own, when it failed itself).
        failed = outcome.incident.element_id
        settings = info.asynchronous.get(failed) or next(
            (info.asynchronous[e] for e in sorted(set(held.values()))), None)
        if settings is not None and job.attempts + 1 < settings["retries"]:
            raise RetryLater(f"{failed}: {outcome.incident.message}", _duration(settings["interval"], now))
    step = Step(instance, SYSTEM)
    step.record("job_executed", data={"kind": "async", "worker": worker, "attempt": job.attempts + 1})
    step.apply_outcome(info, wf, outcome)
    step.write()


def _duration(iso: str, now: dt.datetime) -> dt.timedelta:
    from ..engine import iso_duration
    return iso_duration(iso, now)


def _handler(kind: str):
    """The function that runs a job of this kind (looked up at call time)."""
    return {"timer": _fire_timer, "async": _run_async}[kind]


def list_jobs(status: str | None, page: int, per_page: int, now: dt.datetime | None = None,
              due: bool = False) -> Page:
    stmt = select(Job)
    if status:
        stmt = stmt.where(Job.status == status)
    if due:
        stmt = stmt.where(Job.due_at < (now or utcnow()))
    return paginate(stmt.order_by(Job.due_at), page, per_page)


def retry_job(job_id: str) -> Job:
    """Put a failed job back in line, due now."""
    with write_transaction():
        job = db.session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        if job.status != "failed":
            raise ConflictError(f"job is {job.status}")
        job.status, job.attempts, job.due_at, job.last_error = "pending", 0, utcnow(), None
    return job
