"""One handler per job kind: what happens when a job of that kind is due.

As Camunda's `JobHandler` classes, each handler gets the claimed job, the
moment it runs at and the worker's name, and runs inside the job's
transaction; it acts on the job's instance through the one command executor.
`HANDLERS` is the registry the job runner dispatches on.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

from ..engine import iso_duration
from ..extensions import db
from ..models import Job
from ..statuses import InstanceStatus
from ..errors import NotFoundError
from ..services import batches, retention
from ..services.core import SYSTEM, InstanceNotActionableError, Turn, engine, run_on_instance


class RetryLater(Exception):
    """An asynchronous task failed with tries left: undo the attempt, try again after `delay`."""

    def __init__(self, message: str, delay: dt.timedelta):
        super().__init__(message)
        self.delay = delay


def fire_timer(job: Job, now: dt.datetime, worker: str) -> None:
    """A timer is due: fire the instance's due timers and run it on."""
    def act(turn: Turn):
        outcome = turn.engine_step(lambda runner, wf, effects: runner.fire_timers(wf, effects))
        if not outcome.events and outcome.status == InstanceStatus.RUNNING:
            # The engine did not consider the timer due yet (clock skew): look again in a moment.
            db.session.execute(Job.__table__.update().where(Job.__table__.c.id == job.id)
                               .values(due_at=now + dt.timedelta(seconds=1)))
            return
        turn.step.record("timer_fired", data={"due_at": job.due_at.isoformat(), "worker": worker,
                                              "late_ms": round((now - job.due_at).total_seconds() * 1000)})
        turn.apply(outcome)  # writing it replaces this job by the instance's next timer, if any
    try:
        run_on_instance(job.instance_id, SYSTEM, act)
    except (NotFoundError, InstanceNotActionableError):
        db.session.delete(job)


def run_async(job: Job, now: dt.datetime, worker: str) -> None:
    """Run an instance's held asynchronous tasks; a failure is retried on the task's own cycle
    (camunda:failedJobRetryTimeCycle) and becomes an incident only when the tries run out."""
    db.session.delete(job)
    db.session.flush()

    def act(turn: Turn):
        info = turn.info
        held = {tid: element for tid, element in engine().runner.held(turn.wf).items()
                if element in info.asynchronous and element not in info.external}
        outcome = turn.engine_step(lambda runner, wf, effects: runner.release(wf, effects, set(held)))
        if outcome.incident is not None:
            # As in Camunda, the job spans everything up to the next wait state: a failure anywhere in it
            # is retried on the cycle of the element that made the job (its own, when it failed itself).
            failed = outcome.incident.element_id
            settings = info.asynchronous.get(failed) or next(
                (info.asynchronous[e] for e in sorted(set(held.values()))), None)
            if settings is not None and job.attempts + 1 < settings["retries"]:
                raise RetryLater(f"{failed}: {outcome.incident.message}", iso_duration(settings["interval"], now))
        turn.step.record("job_executed", data={"kind": "async", "worker": worker, "attempt": job.attempts + 1})
        turn.apply(outcome)
    try:
        run_on_instance(job.instance_id, SYSTEM, act)
    except (NotFoundError, InstanceNotActionableError):
        return


def run_batch(job: Job, now: dt.datetime, worker: str) -> None:
    """A batch has pending items: migrate its next chunk (the job stays due until none is left, and goes
    with the last chunk)."""
    batches.run_chunk(job.batch_id)



def clean_history(job: Job, now: dt.datetime, worker: str) -> None:
    """The scheduled history cleanup: inside its window, one batch of due instances; due again at once
    while batches come back full, else at the next window's start. Without a window the job goes."""
    window = retention.cleanup_window()
    if window is None:
        db.session.delete(job)
        return
    if not window.contains(now):  # the window moved, or the last batches ran past its end
        job.due_at = window.next_start(now)
        return
    batch, again = _clean(now)
    job.due_at = again if batch.full else window.next_start(now)


def clean_history_now(job: Job, now: dt.datetime, worker: str) -> None:
    """A cleanup asked for now (POST /engine-rest/history/cleanup): batch after batch, whatever the
    window, until a batch comes back short; then the job goes."""
    batch, again = _clean(now)
    if batch.full:
        job.due_at = again
    else:
        db.session.delete(job)


def _clean(now: dt.datetime) -> tuple[retention.Batch, dt.datetime]:
    """One cleanup batch, and when the next may run (at once, or on SQLite after a pause for other writers)."""
    started = time.perf_counter()
    batch = retention.cleanup_batch(now, retention.batch_size())
    return batch, now + dt.timedelta(seconds=retention.pause_after(time.perf_counter() - started))



HANDLERS: dict[str, Callable[[Job, dt.datetime, str], None]] = {
    "timer": fire_timer, "async": run_async, "batch": run_batch, retention.SCHEDULED: clean_history,
    retention.NOW: clean_history_now}
