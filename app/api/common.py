"""What every resource module shares: the blueprint factory, authentication, the caller."""
from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..errors import AuthenticationError
from ..services.core import Actor
from ..services.sessions import actor_from_token

API_PREFIX = "/api/v1"


class ProblemSchema(Schema):
    """RFC 9457 problem details, with every extension member a Stagecoach problem carries (docs/problems.md)."""

    type = fields.String(required=True, metadata={"description": "/problems/<slug>, or about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True, metadata={"description": "the request's path"})
    errors = fields.Dict(metadata={"description": "per-field messages"})
    bpmn = fields.Raw(metadata={"description": "file, line and element of each diagram problem (a list), or the "
                                               "element and task of a failed task completion (an object)"})
    instance_status = fields.String(metadata={"description": "the instance's status, when it does not allow the call"})
    task_state = fields.String(metadata={"description": "the task's state, when it does not allow the call"})
    assignee = fields.String(metadata={"description": "who claimed the task already"})
    instance_id = fields.String(metadata={"description": "the approval or review instance holding a locked record"})
    instance_ids = fields.List(fields.String(), metadata={
        "description": "the instances a message matched, when it matched more than one"})
    editable_fields = fields.List(fields.String(), metadata={
        "description": "the fields of a locked record that may still change"})
    delegation_state = fields.String(metadata={"description": "PENDING: a delegated task waits to be resolved"})
    limit = fields.String(metadata={"description": "the setting of the configured limit that would be exceeded"})
    limit_value = fields.Integer(metadata={"description": "that limit's value"})
    variable = fields.String(metadata={"description": "the variable that would pass the limit"})
    matched = fields.Integer(metadata={"description": "how many instances a batch named or its filter matched"})


def authenticate() -> None:
    """before_request: require `Authorization: Bearer <token>`, checked against the user's row (see sessions)."""
    if request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("send Authorization: Bearer <token> (POST /api/v1/auth/token issues one)")
    g.actor = actor_from_token(token.strip())


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint, with each argument schema made once, when the view is declared: given a
    schema class, webargs makes a new instance of it for every request it parses (a marshmallow schema
    copies its fields anew each time). The schemas keep no state between loads."""

    def arguments(self, schema, *args, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


def protected_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    blp = ApiBlueprint(name, import_name, url_prefix=API_PREFIX + url_prefix, description=description)
    blp.before_request(authenticate)
    return blp


def current_actor() -> Actor:
    return g.actor


def problems(blp: Blueprint, *codes: int):
    """Document the problem responses a view can return."""
    def wrap(func):
        for code in codes:
            func = blp.alt_response(code, schema=ProblemSchema, content_type="application/problem+json")(func)
        return func
    return wrap
