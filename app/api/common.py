"""What every resource module shares: the blueprint factory, authentication, the caller."""
from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..errors import AuthenticationError, ForbiddenError
from ..services.core import Actor
from ..services.sessions import actor_from_token

API_PREFIX = "/api/v1"


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "per-field messages"})
    bpmn = fields.Raw(metadata={"description": "file, line and element of each diagram problem"})


def authenticate() -> None:
    """before_request: require `Authorization: Bearer <token>`, checked against the user's row (see sessions)."""
    if request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("send Authorization: Bearer <token> (POST /api/v1/auth/token issues one)")
    g.actor = actor_from_token(token.strip())


def protected_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    blp = Blueprint(name, import_name, url_prefix=API_PREFIX + url_prefix, description=description)
    blp.before_request(authenticate)
    return blp


def current_actor() -> Actor:
    return g.actor


def require_admin(what: str) -> Actor:
    """The caller, who must be an admin to `what` (403 otherwise)."""
    actor = current_actor()
    if not actor.is_admin:
        raise ForbiddenError(f"only an admin may {what}")
    return actor


def problems(blp: Blueprint, *codes: int):
    """Document the problem responses a view can return."""
    def wrap(func):
        for code in codes:
            func = blp.alt_response(code, schema=ProblemSchema, content_type="application/problem+json")(func)
        return func
    return wrap
