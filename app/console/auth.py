"""Console sign-in: a session cookie over the API's own credentials.

Logging in goes through `sessions.issue_token`, so the console has the API's password check, its
throttle on failed logins (429) and its limit on passwords checked at once (503). The session
(Flask's signed cookie: HttpOnly, SameSite=Lax, Secure with STAGECOACH_SECURE_COOKIES) keeps that
bearer token, which carries the user's id and token version; every request checks it with
`sessions.actor_from_token`, exactly as the API checks a bearer token, so disabling, deleting or a
new password, groups or role end a console session at once, and it lasts TOKEN_TTL_SECONDS at most.
Logging out ends every session of the user (`sessions.logout`, as POST /api/v1/auth/logout does).

Every console view needs a signed-in user unless marked `@public`; `@admin_required` refuses
others with the 403 page. Forms and htmx posts carry a CSRF token (Flask-WTF), checked before any
view runs.
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from ..errors import AuthenticationError, ForbiddenError
from ..extensions import csrf
from ..services import sessions
from ..services.core import Actor
from .blueprint import bp
from .helpers import local_path

SESSION_KEY = "stagecoach.token"


def public(view):
    """Mark a view that needs no signed-in user (the login page)."""
    view.console_public = True
    return view


def admin_required(view):
    """Refuse the view to everyone but admins, with the 403 page."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_actor().is_admin:
            raise ForbiddenError("this page is for admins")
        return view(*args, **kwargs)
    return wrapped


def current_actor() -> Actor:
    """Who is calling: the signed-in user, as the services know them."""
    return g.actor


@bp.before_request
def _authenticate():
    """Check the CSRF token of every post, then who is calling: their session checked like a bearer token."""
    if request.endpoint == "console.static":
        return  # scripts, styles and the browser libraries are public
    csrf.protect()  # GET, HEAD and OPTIONS pass; a post without a valid token is a 400 page
    load_session_actor()
    view = current_app.view_functions.get(request.endpoint or "")
    if g.actor is None and not getattr(view, "console_public", False):
        raise AuthenticationError("log in to use the console")


def load_session_actor() -> Actor | None:
    """Who the session's cookie says is calling (None when no one, or their session ended), into `g.actor`."""
    g.actor = None
    token = session.get(SESSION_KEY)
    if token:
        try:
            g.actor = sessions.actor_from_token(token)
        except AuthenticationError as exc:
            session.clear()
            flash(f"Your session has ended ({exc.detail.split(';')[0]}): log in again.", "warning")
    return g.actor


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a console page of this site, never another site."""
    return local_path(target, "/console") or url_for("console.jobs")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Log in with a username and password (the API's users, groups and throttle)."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.actor is not None:
            return redirect(next_url)
        return render_template("console/login.html", next=next_url)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return render_template("console/login.html", next=next_url, username=username,
                               error="Enter your username and password."), 400
    try:
        token = sessions.issue_token(username, password, address=request.remote_addr)
    except (AuthenticationError, sessions.LoginThrottledError, sessions.LoginBusyError) as exc:
        # 401 wrong password or disabled user; 429 too many failures (Retry-After); 503 too many checks at once
        message = exc.detail[:1].upper() + exc.detail[1:] + "."
        headers = {k: v for k, v in exc.headers.items() if k == "Retry-After"}
        return render_template("console/login.html", next=next_url, username=username, error=message), \
            exc.status, headers
    session.clear()
    session[SESSION_KEY] = token
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout():
    """End every session of the caller (the console's and their API tokens), then show the login page."""
    sessions.logout(current_actor())
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("console.login"))
