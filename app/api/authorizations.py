"""Authorizations: who may deploy, start, read and change which processes, records and topics (admins)."""
from ..schemas.authorizations import (
    AuthorizationPageSchema, AuthorizationQuerySchema, AuthorizationSchema, AuthorizationUpdateSchema,
)
from ..services import authorizations as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("authorizations", __name__, "/authorizations",
                          "Grants of permissions on processes, modules and topics (admins)")


@blp.route("", methods=["GET"])
@blp.arguments(AuthorizationQuerySchema, location="query")
@blp.response(200, AuthorizationPageSchema)
@problems(blp, 400, 401, 403)
def list_grants(query):
    """Grants, filtered by user, group or resource."""
    return service.list_grants(current_actor(), **query)


@blp.route("", methods=["POST"])
@blp.arguments(AuthorizationSchema)
@blp.response(201, AuthorizationSchema)
@problems(blp, 400, 401, 403, 409)
def create_grant(body):
    """Grant permissions on a resource (or `*`) to a user, every user (`*`) or a group."""
    return service.create_grant(body, current_actor())


@blp.route("/<grant_id>", methods=["GET"])
@blp.response(200, AuthorizationSchema)
@problems(blp, 401, 403, 404)
def get_grant(grant_id):
    """One grant."""
    return service.get_grant(grant_id, current_actor())


@blp.route("/<grant_id>", methods=["PATCH"])
@blp.arguments(AuthorizationUpdateSchema)
@blp.response(200, AuthorizationSchema)
@problems(blp, 400, 401, 403, 404, 409)
def update_grant(body, grant_id):
    """Change a grant's permissions, holder or resource."""
    return service.update_grant(grant_id, body, current_actor())


@blp.route("/<grant_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_grant(grant_id):
    """Remove a grant."""
    service.delete_grant(grant_id, current_actor())
