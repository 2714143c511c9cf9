"""The OpenAPI document says what every /api/v1 operation can answer.

Views document their own problems with `problems(blp, ...)`. What any
operation can answer whatever its view does is added here, once, as the
document is built: 400 (a NUL in the path, query or a header; a query that
does not match its schema), 401, 503 (the database cannot be reached), and
413 and 415 where the operation reads a body. The default response is a
problem too, replacing flask-smorest's JSON `Error`, which Stagecoach never
answers; so is the 422 flask-smorest adds for schema errors, which
Stagecoach answers 400.
"""
from __future__ import annotations

from apispec import BasePlugin

from .common import ProblemSchema

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_ALWAYS = {400: "Invalid request: a value does not match its schema or contains a NUL character",
           401: "Unauthorized",
           503: "The database cannot be reached; retry after the Retry-After header's seconds"}
_WITH_BODY = {413: "The body is larger than STAGECOACH_MAX_UPLOAD",
              415: "The body is not in a content type this operation reads"}


def problem_response(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM_REF}}}


class ProblemsPlugin(BasePlugin):
    """apispec plugin: the problem responses every operation can return."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        spec.components.schema("Problem", schema=ProblemSchema)

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = {str(code): response for code, response in operation.get("responses", {}).items()}
            if responses.get("422") == "UNPROCESSABLE_ENTITY":  # flask-smorest's, for schema errors
                del responses["422"]
            added = dict(_ALWAYS)
            if "requestBody" in operation:
                added.update(_WITH_BODY)
            for code, description in added.items():
                responses.setdefault(str(code), problem_response(description))
            responses["default"] = problem_response("Any other problem (RFC 9457)")
            operation["responses"] = responses
