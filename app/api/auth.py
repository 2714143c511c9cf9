"""Tokens."""
from flask import current_app
from flask_smorest import Blueprint

from ..schemas.auth import TokenRequestSchema, TokenSchema
from ..services import users
from .common import API_PREFIX, problems

blp = Blueprint("auth", __name__, url_prefix=API_PREFIX + "/auth", description="Bearer tokens")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@problems(blp, 400, 401)
def issue_token(body):
    """Exchange a username and password for a bearer token."""
    token = users.issue_token(body["username"], body["password"])
    return {"token": token, "token_type": "Bearer", "expires_in": current_app.config["TOKEN_TTL_SECONDS"]}
