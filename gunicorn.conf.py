"""gunicorn settings read from the project root: background work per worker."""


def post_worker_init(worker):
    """Start the embedded job runner and outbox dispatcher in each worker (claims keep work single)."""
    app = worker.wsgi
    if app.config.get("JOBS_EMBEDDED"):
        from app.jobs.timers import start_job_runner

        start_job_runner(app)
    if app.config.get("OUTBOX_DISPATCH"):
        from app.jobs.outbox import start_dispatcher

        start_dispatcher(app)
