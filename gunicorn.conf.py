"""gunicorn settings read from the project root: background work per worker."""


def post_worker_init(worker):
    """Start the embedded outbox dispatcher in each worker (claims keep deliveries single)."""
    app = worker.wsgi
    if app.config.get("OUTBOX_DISPATCH"):
        from app.jobs.outbox import start_dispatcher

        start_dispatcher(app)
