"""Tokens: log in for one, log out to end them all."""
from flask import current_app, request

from ..schemas.auth import TokenRequestSchema, TokenSchema
from ..services import sessions
from .common import API_PREFIX, ApiBlueprint, authenticate, current_actor, problems

blp = ApiBlueprint("auth", __name__, url_prefix=API_PREFIX + "/auth", description="Bearer tokens")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@problems(blp, 400, 401, 429, 503)
def issue_token(body):
    """Exchange a username and password for a bearer token.

    Failed logins are counted per username and per client address; past the limit the answer is
    429 with Retry-After, whatever the password; 503 with Retry-After when the server is checking
    too many passwords at once.
    """
    token = sessions.issue_token(body["username"], body["password"], address=request.remote_addr)
    return {"token": token, "token_type": "Bearer", "expires_in": current_app.config["TOKEN_TTL_SECONDS"]}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@problems(blp, 401)
def logout():
    """End every token of the caller (on every device), not only the one sent."""
    authenticate()
    sessions.logout(current_actor())
