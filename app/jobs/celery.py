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

Each task that runs due jobs records the worker's heartbeat (read by
`/health/ready`). Metrics: set PROMETHEUS_MULTIPROC_DIR (a folder of the
worker's own) so the pool's processes add up, and STAGECOACH_METRICS_ADDRESS
to serve them (docs/operations.md).
"""
from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init, worker_process_shutdown

from config import Config

celery = Celery("stagecoach", broker=Config.CELERY_BROKER_URL, backend=Config.CELERY_RESULT_BACKEND)
celery.conf.update(
    task_acks_late=True,  # a task whose worker dies is delivered again
    worker_hijack_root_logger=False,  # the app's logging (one JSON line per job on stdout) stays in place
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
    from .timers import heartbeat, worker_name

    name = f"celery:{worker_name()}"
    with flask_app().app_context():
        try:
            counts = run_due_jobs(worker=name)
            heartbeat(name, "celery")
            return counts
        finally:
            db.session.remove()


@celery.task(name="stagecoach.deliver_outbox")
def deliver_outbox_task() -> dict:
    from ..extensions import db
    from ..operations.metrics import count_outbox
    from ..services.outbox import deliver_due

    with flask_app().app_context():
        try:
            counts = deliver_due()
            count_outbox(counts)
            return counts
        finally:
            db.session.remove()


@worker_init.connect
def _metrics_at_start(**_) -> None:
    """Before the pool starts: an empty metrics folder, and this worker's own exporter if one is set."""
    from ..operations.exporter import prepare_multiprocess_dir, serve_configured

    prepare_multiprocess_dir()
    serve_configured(Config)


@worker_process_shutdown.connect
def _metrics_of_exited_process(pid=None, **_) -> None:
    """A pool process ends: its live gauges (database connections) stop counting."""
    from ..operations.exporter import process_exited

    process_exited(pid or os.getpid())
