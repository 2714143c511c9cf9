"""GET /metrics (admins or the metrics token), GET /health/live and /health/ready (anyone).

The health answers are JSON listing each check, 200 or 503, with nothing in
them an outsider could use (no addresses, versions or error texts). /metrics
wants `Authorization: Bearer <token>`: an admin's token, or
STAGECOACH_METRICS_TOKEN (compared in constant time); otherwise 401 or 403
as problem+json, as on /api/v1.
"""
from __future__ import annotations

import hmac
from contextlib import contextmanager

from flask import Blueprint, Response, abort, current_app, jsonify, request

from ..errors import AuthenticationError
from ..extensions import db
from ..services.access import require_admin
from ..services.sessions import actor_from_token
from .collector import DatabaseCollector
from .health import readiness
from .metrics import CONTENT_TYPE, exposition

bp = Blueprint("operations", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/metrics")
def metrics():
    """The Prometheus text exposition: every process's counters and histograms, the database's gauges."""
    if current_app.config.get("METRICS_ADDRESS") or not current_app.config.get("METRICS_ENABLED", True):
        abort(404)  # served on a separate address, or off
    _authorize()
    return Response(exposition(DatabaseCollector(_connect)), content_type=CONTENT_TYPE, headers=NO_STORE)


@bp.get("/health/live")
def live():
    """The process answers: it is alive (nothing else is checked)."""
    return jsonify(status="alive"), 200, NO_STORE


@bp.get("/health/ready")
def ready():
    """The database answers, its schema is current and a job runner is alive: 200, else 503."""
    result = readiness()
    return jsonify(result.body()), 200 if result.ready else 503, NO_STORE


def _authorize() -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("send Authorization: Bearer <token>: an admin's token or the metrics token")
    expected = current_app.config.get("METRICS_TOKEN")
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    require_admin(actor_from_token(token), "read the metrics")


@contextmanager
def _connect():
    with db.engine.connect() as conn:
        yield conn
