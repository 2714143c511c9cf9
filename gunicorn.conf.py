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
