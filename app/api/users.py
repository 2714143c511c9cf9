"""Users: admins list, create, change and delete them; every user reads themselves and changes their password."""
from flask import request

from ..schemas.users import (
    PasswordChangeSchema, UserPageSchema, UserQuerySchema, UserSchema, UserUpdateSchema,
)
from ..services import users as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("users", __name__, "/users",
                          "Users, their groups and role (admins); your own password (/users/me)")


@blp.route("", methods=["GET"])
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserPageSchema)
@problems(blp, 400, 401, 403)
def list_users(query):
    """Users by name, filtered by group, disabled or admin (admin)."""
    return service.list_users(current_actor(), **query)


@blp.route("", methods=["POST"])
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
@problems(blp, 400, 401, 403, 409)
def create_user(body):
    """Create a user (admin); groups that do not exist yet are created."""
    return service.create_user(body.pop("username"), body.pop("password"), actor=current_actor(), **body)


@blp.route("/me", methods=["GET"])
@blp.response(200, UserSchema)
@problems(blp, 401, 404)
def get_me():
    """The caller."""
    return service.get_user(current_actor().username, current_actor())


@blp.route("/me", methods=["PATCH"])
@blp.arguments(PasswordChangeSchema)
@blp.response(200, UserSchema)
@problems(blp, 400, 401, 404, 429, 503)
def change_my_password(body):
    """Change your own password, giving the current one; every token of yours ends (log in again)."""
    return service.change_own_password(current_actor(), body["current_password"], body["password"],
                                       address=request.remote_addr)


@blp.route("/<username>", methods=["GET"])
@blp.response(200, UserSchema)
@problems(blp, 401, 403, 404)
def get_user(username):
    """One user (admin)."""
    return service.get_user(username, current_actor())


@blp.route("/<username>", methods=["PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@problems(blp, 400, 401, 403, 404, 409)
def update_user(body, username):
    """Change a user's email, manager, groups, role, disabled flag or password (admin).

    New groups, role, disabling or a new password end the user's tokens at once. The last
    enabled admin can be neither disabled nor demoted (409).
    """
    return service.update_user(username, body, current_actor())


@blp.route("/<username>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404, 409)
def delete_user(username):
    """Delete a user with their group memberships and grants (admin); not the last admin (409)."""
    service.delete_user(username, current_actor())
