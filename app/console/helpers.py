"""What the console's views and templates share: htmx requests, paging, dates, record titles, headers."""
from __future__ import annotations

import datetime as dt
import math
from urllib.parse import unquote, urlsplit

from flask import g, request, url_for

from .. import clock
from .blueprint import NAV, bp

# The console's pages load scripts and styles from the console only; bpmn-js, form-js and htmx set
# inline styles (so 'unsafe-inline' for styles), nothing runs inline script and nothing may frame it.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def is_htmx() -> bool:
    """The request comes from htmx (a claim, a filter, a page of a list), not a full page load."""
    return request.headers.get("HX-Request") == "true"


def htmx_target() -> str | None:
    """The id of the element an htmx request will swap (e.g. "jobs-results")."""
    return request.headers.get("HX-Target") if is_htmx() else None


MAX_PAGE = 2**31 - 1  # as the API's page bound


def local_path(target, prefix: str) -> str | None:
    """`target` if it is a path of this site under `prefix` (where a form may send the browser back to), else
    None: never another site (a scheme, `//host`, a backslash some browsers read as a slash) and never a
    control character (a line break in a Location header would fail the response after the action)."""
    if not isinstance(target, str) or not target.startswith(prefix) or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    segments = unquote(parts.path).split("/")
    if "." in segments or ".." in segments:  # `/console/../api/...` leaves the prefix once resolved
        return None
    return target


def page_number() -> int:
    """?page= as a positive integer (1 when absent or not a number, at most MAX_PAGE)."""
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


@bp.app_template_global()
def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None drops one); page resets unless given."""
    args = request.args.to_dict()
    if "page" not in changes:
        args.pop("page", None)
    for name, value in changes.items():
        if value is None or value == "":
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@bp.app_template_global()
def page_count(page) -> int:
    return max(1, math.ceil(page.total / page.per_page)) if page.per_page else 1


def record_title(fields: list[dict], data: dict, record_id: str) -> str:
    """How a record is named in lists: a person's name, else its first (required first) text field, else its id."""
    if data.get("last_name"):
        return " ".join(str(data[n]) for n in ("first_name", "last_name") if data.get(n))
    texts = sorted((f for f in fields if f.get("type") == "text" and data.get(f["name"])),
                   key=lambda f: not f.get("required"))
    return str(data[texts[0]["name"]]) if texts else record_id


def when(value) -> str:
    """A moment as people read it: 2026-12-06 14:05 UTC; a date as 2026-12-06."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@bp.app_template_global()
def is_overdue(due) -> bool:
    if due is None:
        return False
    if isinstance(due, dt.datetime):
        if due.tzinfo is None:
            due = due.replace(tzinfo=dt.timezone.utc)
        return due < clock.utcnow()
    if isinstance(due, dt.date):
        return due < clock.utcnow().date()
    return False


def show(value) -> str:
    """A field value as text: yes/no, lists joined, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (list, tuple)):
        return ", ".join(show(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@bp.app_template_filter("when")
def _when_filter(value) -> str:
    return when(value)


@bp.app_template_filter("show")
def _show_filter(value) -> str:
    return show(value)


@bp.context_processor
def _page_context() -> dict:
    """What every console template may use: the caller (`actor`) and the header's links (`nav_items`).

    Macros see only globals: `url_with`, `page_count`, `is_overdue`, `csrf_token` and the filters."""
    actor = g.get("actor")
    items = [item for item in NAV if actor is not None and item.visible_to(actor)]
    return {"actor": actor, "nav_items": items}


@bp.after_request
def _headers(response):
    """Pages are private to their user and never framed; static files keep their caching."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "console.static":
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.add("Vary", "HX-Request")
    return response
