"""gunicorn settings read from the project root: threaded workers, background work per worker.

Threaded workers (gthread): a Camunda worker's long poll
(POST /engine-rest/external-task/fetchAndLock with asyncResponseTimeout, up
to 60 s) holds one thread, not a whole process, so the other threads keep
answering; and the worker's heartbeat does not wait for requests, so a long
poll never looks like a hung worker to `timeout`. Each waiting poll holds a
thread and looks again every 0.2 s without holding a database connection
in between; size `threads` for the workers you run (each of their polls
takes one thread) plus your other traffic.

scripts/serve.sh passes `--workers ${WORKERS:-2} --threads ${THREADS:-4}`,
which take precedence over the values below; started another way,
`GUNICORN_CMD_ARGS="--workers 4 --threads 8"` sets them from the environment.

Metrics (docs/operations.md): the workers add their counts up in
PROMETHEUS_MULTIPROC_DIR (a temporary folder when unset, removed when the
server stops), emptied when the server starts; a worker that exits stops counting in the live gauges; with
STAGECOACH_METRICS_ADDRESS the master serves the metrics on that address.
"""

worker_class = "gthread"
workers = 2
threads = 4


def post_worker_init(worker):
    """Start the embedded job runner and outbox dispatcher in each worker (claims keep work single)."""
    app = worker.wsgi
    if app.config.get("JOBS_EMBEDDED"):
        from app.jobs.timers import start_job_runner

        start_job_runner(app)
    if app.config.get("OUTBOX_DISPATCH"):
        from app.jobs.outbox import start_dispatcher

        start_dispatcher(app)


def on_starting(server):
    """Before any worker: the metrics folder every worker writes to, empty (made when unset)."""
    from app.operations.exporter import prepare_multiprocess_dir

    prepare_multiprocess_dir(create=True)


def on_exit(server):
    """The server stops: the temporary metrics folder made at start goes too."""
    from app.operations.exporter import remove_made_dir

    remove_made_dir()


def when_ready(server):
    """STAGECOACH_METRICS_ADDRESS: the master serves every worker's metrics on that address."""
    from app.operations.exporter import serve_configured
    from config import Config

    serve_configured(Config)


def child_exit(server, worker):
    """A worker exited: its database connections no longer count in the live gauges."""
    from app.operations.exporter import process_exited

    process_exited(worker.pid)
