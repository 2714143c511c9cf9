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
# gunicorn's largest request line (its default is 4094): a query naming many ids (Camunda's
# processInstanceIds=..., a hundred of them) still fits. A longer one is answered 414 by gunicorn itself,
# in problem+json (`problem_error` below).
limit_request_line = 8190


def problem_error(sock, status_int, reason, mesg):
    """What gunicorn answers a request it cannot read (a request line over limit_request_line, a malformed
    header, an unsupported transfer coding): the same status and reason as ever, in problem+json like
    every other error of the server (RFC 9457) instead of gunicorn's HTML page. Installed in each worker."""
    import json

    from gunicorn.util import write_nonblock

    body = json.dumps({"type": "about:blank", "title": reason, "status": status_int, "detail": mesg}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    write_nonblock(sock, head.encode("latin-1") + body)


def post_worker_init(worker):
    """Start the embedded job runner and outbox dispatcher in each worker (claims keep work single); answer
    unreadable requests in problem+json; set the start-up objects aside from the garbage collector."""
    from gunicorn import util

    util.write_error = problem_error
    app = worker.wsgi
    if app.config.get("JOBS_EMBEDDED"):
        from app.jobs.timers import start_job_runner

        start_job_runner(app)
    if app.config.get("OUTBOX_DISPATCH"):
        from app.jobs.outbox import start_dispatcher

        start_dispatcher(app)
    from app.bootstrap import settle_heap

    settle_heap()  # the app's start-up objects out of every full garbage collection (0.1 s each)


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
