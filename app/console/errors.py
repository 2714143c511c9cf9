"""The console's answers to errors: HTML pages with the statuses the API gives.

A refusal by a service is its own status (403, 404, 409, 423, ...) with its detail on the error page;
not being signed in (or a session that ended) leads to the login page; a form posted without a
valid CSRF token is a 400 page. An htmx request gets the message in the page's message area
instead (HX-Retarget), or, when its session ended, is sent to the login page (HX-Redirect).
Unexpected errors are logged and answered by the app's own handler (500, or 503 with Retry-After
when the database is out of reach); the page shows its detail, which never echoes exception text.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import (AuthenticationError, StagecoachError, answer_unrouted_under, http_exception_response,
                      unexpected_error_response)
from .blueprint import bp
from .helpers import is_htmx

KEPT_HEADERS = ("Retry-After", "Allow")


def error_page(status: int, title: str, detail: str, headers: dict | None = None, changed: bool = False):
    """The error page (or, for htmx, the message swapped into the page's message area); `changed`: the
    refusal says what was shown has changed meanwhile (a task completed or claimed by someone else)."""
    headers = {k: v for k, v in (headers or {}).items() if k in KEPT_HEADERS}
    if is_htmx():
        headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        return render_template("console/_message.html", category="error", title=title, detail=detail), \
            status, headers
    return render_template("console/error.html", status=status, title=title, detail=detail,
                           changed=changed), status, headers


def _to_login(error: AuthenticationError):
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    login = url_for("console.login", next=target) if target else url_for("console.login")
    if is_htmx():
        return "", 401, {"HX-Redirect": login}
    return redirect(login)


@bp.errorhandler(StagecoachError)
def _stagecoach_error(error: StagecoachError):
    if isinstance(error, AuthenticationError):
        return _to_login(error)
    # a conflict with the current state (not a missing setting, such as a module without a conversion goal)
    changed = error.slug in ("conflict", "instance-busy")
    return error_page(error.status, error.title, _sentence(error.detail), error.headers, changed=changed)


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    return error_page(400, "The form cannot be accepted",
                      "It was not sent from this console's page or it has expired "
                      f"({error.description.rstrip('.')}). Reload the page and try again.")


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    body = http_exception_response(error)
    return error_page(body.status_code, error.name, _sentence(error.description or error.name), dict(body.headers))


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    answer = unexpected_error_response(error)  # logs it; 500, or 503 when the database is out of reach
    problem = answer.get_json() or {}
    return error_page(answer.status_code, problem.get("title", "Internal server error"),
                      _sentence(problem.get("detail", "")), dict(answer.headers))


def handle_unrouted(app) -> None:
    """Give the console's 404 and 405 pages to /console URLs that no route matches."""
    answer_unrouted_under(app, "/console", _http_error)


def _sentence(text: str) -> str:
    text = (text or "").strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".") if text else ""
