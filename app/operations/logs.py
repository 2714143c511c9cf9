"""Logs: one line per record on standard output, JSON by default, plain text for development.

Every line carries its time (UTC, ISO 8601), level, logger and message, plus
the fields of what it happened in: a request's id, method, route, status,
duration, user and instance (`requests.py` writes one line per request), a
job's kind, id, instance, outcome and duration (`work.py`, one line per job).
Any other record written during a request or a job carries that request's or
job's id too, so its lines can be found together.

What is never written: request or response bodies, headers (so no
Authorization), and the values of query parameters whose name says they carry
a secret (`token`, `password`, `secret`, `api_key`, ...), which `redact_query`
replaces.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import uuid
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import unquote_plus

# The fields a line may carry beyond time, level, logger and message, in this order.
FIELDS = ("request_id", "method", "route", "path", "query", "status", "duration_ms", "user", "client",
          "instance_id", "job_id", "kind", "outcome", "late_ms", "worker")
_SECRET_PARAMS = re.compile(r"token|password|passwd|secret|api_?key|signature|credential", re.IGNORECASE)
REDACTED = "[redacted]"
# A request id a client may send: letters, digits and . _ : + / = -, at most 128 of them.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
_LOGGERS = ("app", "stagecoach")  # the server's own loggers: requests, jobs, and every module under app/
_MIGRATIONS = "alembic.runtime.migration"  # "Running upgrade ..." when the server upgrades its schema

_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)  # made once: json.dumps with options makes one per call
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID if it is safe to log and return, else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced."""
    if not query:
        return ""
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}={REDACTED}" if _SECRET_PARAMS.search(unquote_plus(name)) else part)
    return "&".join(parts)


@contextmanager
def logging_context(**fields) -> Iterator[dict]:
    """Add `fields` to every record logged inside (a request's or a job's id); yields them to add more."""
    merged = dict(_context.get() or {}, **fields)
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


def set_context(fields: dict) -> contextvars.Token:
    return _context.set(dict(fields))


def reset_context(token: contextvars.Token) -> None:
    _context.reset(token)


def current_context() -> dict:
    return _context.get() or {}


def _fields(record: logging.LogRecord) -> dict:
    fields = dict(current_context())
    for name in FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = value
    return {name: fields[name] for name in FIELDS if fields.get(name) is not None}


def _time(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the context's fields, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": _time(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...`, for reading in a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{_time(record)} {record.levelname} {record.name}: {record.getMessage()}" + (f" {extra}" if extra else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is when a record comes (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Send the root logger's records to standard output in `fmt` (json or text); the server's loggers at `level`.

    Idempotent: one handler per process, whose format the latest call sets.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StdoutHandler)), None)
    if handler is None:
        handler = StdoutHandler()
        root.addHandler(handler)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
    logging.getLogger(_MIGRATIONS).setLevel(logging.INFO)
