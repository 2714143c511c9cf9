"""Scale-out: timers and the outbox run as Celery tasks on a Redis or RabbitMQ broker.

Set CELERY_BROKER_URL (and STAGECOACH_JOBS_EMBEDDED=0, STAGECOACH_OUTBOX_DISPATCH=0
on the API processes), point every process at the same PostgreSQL
(DATABASE_URL), then run any number of workers and one beat:

    celery -A app.jobs.celery worker --loglevel=info
    celery -A app.jobs.celery beat

Beat enqueues `stagecoach.run_due_jobs` and `stagecoach.deliver_outbox` every
JOBS_POLL_SECONDS; any worker may take them. Exactly-once comes from the
database, not the broker: each job is claimed with FOR UPDATE SKIP LOCKED in
the transaction that executes it, so a task delivered twice, or two workers
running at once, fire each timer once, and a worker that dies mid-job leaves
the job to the next pass.
"""
from __future__ import annotations

from celery import Celery

from config import Config

celery = Celery("stagecoach", broker=Config.CELERY_BROKER_URL, backend=Config.CELERY_RESULT_BACKEND)
celery.conf.update(
    task_acks_late=True,  # a task whose worker dies is delivered again
    worker_prefetch_multiplier=1,
    beat_schedule={
        "fire-due-timers": {"task": "stagecoach.run_due_jobs", "schedule": Config.JOBS_POLL_SECONDS},
        "deliver-outbox": {"task": "stagecoach.deliver_outbox", "schedule": Config.OUTBOX_POLL_SECONDS},
    },
)

_app = None


def flask_app():
    """One Flask app per worker process, built on first use."""
    global _app
    if _app is None:
        from app import create_app
        _app = create_app()
    return _app


@celery.task(name="stagecoach.run_due_jobs")
def run_due_jobs_task() -> dict:
    from ..extensions import db
    from .runner import run_due_jobs
    from .timers import worker_name

    with flask_app().app_context():
        try:
            return run_due_jobs(worker=f"celery:{worker_name()}")
        finally:
            db.session.remove()


@celery.task(name="stagecoach.deliver_outbox")
def deliver_outbox_task() -> dict:
    from ..extensions import db
    from ..services.outbox import deliver_due

    with flask_app().app_context():
        try:
            return deliver_due()
        finally:
            db.session.remove()
