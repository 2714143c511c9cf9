"""The error hierarchy and the one RFC 9457 problem+json format.

Every error a client sees is `application/problem+json` with `type`,
`title`, `status`, `detail` and `instance`, plus `errors` (per field) or
`bpmn` (file, line, element) where they apply. A 500 never echoes exception
text. Problem types are documented in docs/problems.md.

A database that cannot be reached (connection refused, the pool exhausted,
SQLite busy or unable to open its file) is not the request's fault: it is
answered 503 with Retry-After. A lock wait on one instance that times out
inside a write stays 409 instance-busy (app/services/core/transactions.py).
"""
from __future__ import annotations

import logging
import sqlite3
import urllib.parse

from flask import Flask, current_app, jsonify, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"


class StagecoachError(Exception):
    """Base of every error that maps to a problem response."""

    status = 500
    slug = "internal-error"
    title = "Internal server error"

    def __init__(self, detail: str | None = None, *, errors: dict | None = None,
                 bpmn: dict | list | None = None, headers: dict | None = None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.bpmn = bpmn
        self.headers = headers or {}
        self.extra = extra


class ValidationError(StagecoachError):
    status, slug, title = 400, "invalid-request", "Invalid request"


class WrongWorkerError(ValidationError):
    slug, title = "wrong-worker", "The external task is not locked by this worker"


class FormValidationError(StagecoachError):
    status, slug, title = 400, "invalid-form-data", "Form data does not match the task's form"


class AuthenticationError(StagecoachError):
    status, slug, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail=None, **kw):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="stagecoach"'})
        super().__init__(detail, **kw)


class ForbiddenError(StagecoachError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFoundError(StagecoachError):
    status, slug, title = 404, "not-found", "Not found"


class TrackingLinkError(NotFoundError):
    slug, title = "invalid-tracking-link", "Not a tracking link of this server"


class ConflictError(StagecoachError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class InstanceBusyError(ConflictError):
    slug, title = "instance-busy", "Another request is changing this instance"

    def __init__(self, detail=None, **kw):
        kw.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail or "another request holds this instance; try again", **kw)


class PayloadTooLargeError(StagecoachError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaTypeError(StagecoachError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class DatabaseUnavailableError(StagecoachError):
    status, slug, title = 503, "database-unavailable", "The database cannot be reached"


class BpmnValidationError(StagecoachError):
    status, slug, title = 422, "invalid-bpmn", "The diagram cannot be deployed"


class ResourceLimitError(StagecoachError):
    """Input, or what it would make an instance hold, passes a configured limit; `limit` names its setting."""

    status, slug, title = 422, "limit-exceeded", "A configured limit would be exceeded"


class TaskCompletionError(StagecoachError):
    status, slug, title = 422, "task-completion-failed", "The task cannot be completed"

    @classmethod
    def of(cls, incident, task_id: str, what: str = "task") -> TaskCompletionError:
        """The error for an engine incident in a task's own completion (rolled back: nothing changed)."""
        return cls(f"completing the {what} failed, nothing changed: {incident.message}",
                   bpmn={"element_id": incident.element_id, "line": incident.line, "task": task_id})


def problem(status: int, title: str, detail: str | None, slug: str | None = None, headers=None, **members):
    body = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        # A URI reference: anything but its own characters (a NUL, spaces, non-ASCII) percent-encoded.
        "instance": urllib.parse.quote(request.path, safe="/:@!$&'()*+,;=-._~%") if request else None,
    }
    body.update({k: v for k, v in members.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIMETYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def stagecoach_error_response(error: StagecoachError):
    return problem(error.status, error.title, error.detail, error.slug, error.headers,
                   errors=error.errors, bpmn=error.bpmn, **error.extra)


def http_exception_response(error: HTTPException):
    """Werkzeug/flask-smorest HTTP errors, including request-schema failures."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if error.code == 422 and messages is not None:
        # webargs: {"json": {"field": ["msg"]}} -> {"field": ["msg"]}
        flat: dict = {}
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                flat.update(location_errors)
        return problem(400, ValidationError.title, "the request body or query does not match its schema",
                       ValidationError.slug, errors=flat)
    if error.code == 413:
        return problem(413, PayloadTooLargeError.title,
                       "the upload is larger than this server accepts (STAGECOACH_MAX_UPLOAD)",
                       PayloadTooLargeError.slug)
    headers = {}
    valid_methods = getattr(error, "valid_methods", None)
    if error.code == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return problem(error.code or 500, error.name, error.description, None, headers)


# SQLite result codes (and their extended forms) that say the database is busy or out of reach,
# not that the statement was wrong ("no such table" and syntax errors are SQLITE_ERROR).
_SQLITE_OUTAGES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL",
                   "SQLITE_PROTOCOL", "SQLITE_NOLFS")


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached or used right now."""
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True  # the pool had no connection to give in time; a connection died
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.OperationalError):
        if isinstance(error.orig, sqlite3.Error):
            return getattr(error.orig, "sqlite_errorname", "").startswith(_SQLITE_OUTAGES)
        return True  # PostgreSQL: connection refused or lost, shutdown, lock and statement time-outs
    return isinstance(error, sa_exc.InterfaceError)  # the driver's connection is closed


def database_error(error: BaseException) -> StagecoachError | None:
    """The problem to answer for an error the database raised, or None for any other error.

    An outage is a 503 with Retry-After. A value the database refuses (too long for its column, out of
    range) that no schema caught is the input's fault: a 400, logged so the missing bound gets added.
    """
    if is_database_outage(error):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        retry_after = current_app.config.get("DATABASE_RETRY_AFTER_SECONDS", 5)
        return DatabaseUnavailableError("the database cannot be reached right now; try again later",
                                        headers={"Retry-After": str(retry_after)})
    if isinstance(error, sa_exc.DataError):
        log.warning("value refused by the database on %s %s: %s", request.method, request.path, error.orig)
        return ValidationError("a value does not fit what the database stores")
    return None


def unexpected_error_response(error: Exception):
    known = database_error(error)
    if known is not None:
        return stagecoach_error_response(known)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, StagecoachError.title, "the server failed to handle this request; it has been logged",
                   StagecoachError.slug)


def answer_unrouted_under(app: Flask, prefix: str, handler) -> None:
    """A URL or method no route takes belongs to no blueprint: under `prefix` (a path, as `/console`) `handler`
    answers it (a console page, Camunda's error body), elsewhere `http_exception_response`. Each part of the
    server that answers its errors in its own shape names its prefix here."""
    prefixes = app.extensions.setdefault("stagecoach.unrouted", {})
    first = not prefixes
    prefixes[prefix] = handler
    if not first:
        return

    def unrouted(error: HTTPException):
        path = request.path
        for start, answer in prefixes.items():
            if path == start or path.startswith(start + "/"):
                return answer(error)
        return http_exception_response(error)

    for kind in (NotFound, MethodNotAllowed):
        app.register_error_handler(kind, unrouted)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(StagecoachError, stagecoach_error_response)
    app.register_error_handler(HTTPException, http_exception_response)
    app.register_error_handler(Exception, unexpected_error_response)
