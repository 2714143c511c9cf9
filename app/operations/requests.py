"""Per request: an id, one log line, one latency observation.

The id comes from the client's `X-Request-ID` when it is made of safe
characters (at most 128), otherwise it is made here; either way it is sent
back in `X-Request-ID` and carried by every log line of the request. The
latency histogram is labelled by the URL rule (`/api/v1/tasks/<task_id>`), not
the path, so ids never become label values.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from .logs import redact_query, request_id_from, reset_context, set_context
from .metrics import metrics

access_log = logging.getLogger("stagecoach.requests")
HEADER = "X-Request-ID"
UNMATCHED = "unmatched"  # the route label of a request no URL rule matched (a 404)
# Successful probes and scrapes come every few seconds: logged at DEBUG, so they do not drown the rest.
_QUIET = frozenset({"/health/live", "/health/ready", "/metrics"})


def install_request_hooks(app: Flask) -> None:
    """Register the hooks; call before any other before_request, so even a refused request has an id."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)


def _begin() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(HEADER))
    g.log_token = set_context({"request_id": g.request_id})


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a request that failed before its first hook ran
        return response
    elapsed = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    metrics().request_seconds.labels(request.method, route, str(response.status_code)).observe(elapsed)
    response.headers[HEADER] = g.request_id
    actor = g.get("actor")
    instance_id = (request.view_args or {}).get("instance_id") or g.get("step_instance_id")
    if response.status_code >= 500:
        level = logging.WARNING
    elif route in _QUIET and response.status_code < 400:
        level = logging.DEBUG
    else:
        level = logging.INFO
    if access_log.isEnabledFor(level):  # a record made directly: no walk up the stack for the caller
        access_log.handle(access_log.makeRecord(
            access_log.name, level, __file__, 0, "%s %s %s", (request.method, route, response.status_code), None,
            extra={"method": request.method, "route": route, "path": request.path,
                   "query": redact_query(request.query_string.decode("latin-1")) or None,
                   "status": response.status_code, "duration_ms": round(elapsed * 1000, 2),
                   "user": getattr(actor, "username", None), "client": request.remote_addr,
                   "instance_id": instance_id}))
    return response


def _end(_error=None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        try:
            reset_context(token)
        except ValueError:  # torn down in another context than it began (a streamed response)
            pass
