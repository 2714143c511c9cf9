"""Scheduling jobs after a step: the after-step hook that keeps each instance's jobs in line with what
it waits for.

An instance has at most one timer job, due at its earliest waiting timer
(`next_timer_at`, which the step writes on the instance), and one asynchronous job while
tasks are held for a job (camunda:asyncBefore/asyncAfter; external tasks wait
for their workers instead). The hook runs in the step's transaction, after
the instance row is written.
"""
from __future__ import annotations

from ..extensions import db
from ..models import Job
from ..models.base import new_id
from ..services.core import Step
from ..statuses import JobStatus

JOBS = Job.__table__


def schedule_jobs(step: Step) -> None:
    """After-step hook: move the instance's timer job, queue its asynchronous job."""
    conn = db.session.connection()
    if step.waits is not None:
        _schedule_timer(conn, step)
    if step.held and _held_asynchronous(step):
        _queue_async(conn, step)


def _schedule_timer(conn, step: Step) -> None:
    inst = step.instance
    if inst.next_timer_at == step.previous_timer_at:
        return
    if step.previous_timer_at is not None and not step.new:
        conn.execute(JOBS.delete().where(JOBS.c.instance_id == inst.id, JOBS.c.kind == "timer"))
    if inst.next_timer_at is not None:
        conn.execute(JOBS.insert(), [{
            "id": new_id(), "kind": "timer", "instance_id": inst.id, "due_at": inst.next_timer_at,
            "status": JobStatus.PENDING, "attempts": 0, "max_attempts": 3, "created_at": step.now}])


def _held_asynchronous(step: Step) -> list[str]:
    """The held elements a job runs (external tasks wait for their workers instead)."""
    external = step.info.external if step.info is not None else {}
    return [e for e in step.held.values() if e not in external]


def _queue_async(conn, step: Step) -> None:
    """Asynchronous tasks are ready: make sure a job (due now) will run them."""
    inst = step.instance
    exists = conn.execute(JOBS.select().with_only_columns(JOBS.c.id).where(
        JOBS.c.instance_id == inst.id, JOBS.c.kind == "async").limit(1)).first()
    if exists is None:
        retries = max((step.info.asynchronous.get(e, {}).get("retries", 3) for e in _held_asynchronous(step)),
                      default=3) if step.info is not None else 3
        conn.execute(JOBS.insert(), [{"id": new_id(), "kind": "async", "instance_id": inst.id,
                                      "due_at": step.now, "status": JobStatus.PENDING, "attempts": 0,
                                      "max_attempts": retries, "created_at": step.now}])
