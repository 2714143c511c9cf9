"""Email tracking links: the open pixel and click redirects an email's reader fetches, without an account.

Not under /api/v1 and not in its OpenAPI: these URLs are written into emails (app/crm/tracking.py) and
fetched by mail clients and image proxies. Nothing but the signed token is read.
"""
from __future__ import annotations

import base64

from flask import Blueprint, Response, redirect

from ..services import tracking

blp = Blueprint("tracking", __name__, url_prefix="/t")

# The smallest transparent GIF (1x1, 43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private", "Pragma": "no-cache",
            "Expires": "0"}


@blp.route("/o/<token>", methods=["GET"])
def email_opened(token):
    """The open pixel: a 1x1 GIF, never cached; a good token records the email's first open."""
    tracking.record_open(token)
    return Response(PIXEL, mimetype="image/gif", headers=NO_STORE)


@blp.route("/c/<token>", methods=["GET"])
def link_clicked(token):
    """A click link: records the click and redirects (302) to the URL signed in the token, nowhere else."""
    response = redirect(tracking.follow_click(token), code=302)
    response.headers.update(NO_STORE)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
