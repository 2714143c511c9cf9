"""Tracked emails: signed open and click tokens, and a body with its links and open pixel put in.

An email a process queues regarding a record is tracked when the server knows its public address
(STAGECOACH_TRACKING_BASE_URL): each http(s) link becomes `<base>/t/c/<token>`, a token signed with
the server's secret that holds the outbox message id and the link's URL, and an HTML body gets a 1x1
image `<base>/t/o/<token>` holding the message id. The tracking endpoints (app/api/tracking.py) trust
only what a token's signature covers: a click redirects to the URL signed in its token, never to one
given beside it, so a click link is no open redirect. Tokens do not expire: an email read a year
later still counts as opened.

A body is HTML when it begins (after white space) with `<` (`<!doctype html>`, `<html>`, `<p>`...);
otherwise it is plain text, which gets its links rewritten and no pixel. Links to the tracking
endpoints themselves are left as they are.
"""
from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeSerializer

OPEN, CLICK = "open", "click"
_SALTS = {OPEN: "stagecoach.email-open", CLICK: "stagecoach.email-click"}
_HTML_LINK = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_TEXT_LINK = re.compile(r"""https?://[^\s<>"']+""", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
MAX_URL = 2_000


class BadTokenError(Exception):
    """A token that was not signed by this server for this use, or does not hold what it should."""


def is_html(body: str) -> bool:
    """Whether an email body is sent as HTML: it begins with `<`."""
    return body.lstrip().startswith("<")


def sign(secret: str, kind: str, message_id: str, url: str | None = None) -> str:
    """A URL-safe token for an open (`message_id`) or a click (`message_id` and the link's `url`)."""
    payload = [message_id] if kind == OPEN else [message_id, url]
    return URLSafeSerializer(secret, salt=_SALTS[kind]).dumps(payload)


def read(secret: str, kind: str, token: str) -> tuple[str, str | None]:
    """(message id, url or None) from a token of `kind`.

    Raises:
        BadTokenError: a forged or altered token, one made for the other kind, or one without a
            message id (and, for a click, an http(s) URL).
    """
    try:
        payload = URLSafeSerializer(secret, salt=_SALTS[kind]).loads(token)
    except (BadSignature, UnicodeDecodeError, ValueError):
        raise BadTokenError("the tracking token is not one this server signed") from None
    size = 1 if kind == OPEN else 2
    if not (isinstance(payload, list) and len(payload) == size and all(isinstance(p, str) for p in payload)):
        raise BadTokenError("the tracking token does not hold what it should")
    url = payload[1] if kind == CLICK else None
    if url is not None and not re.match(r"^https?://", url, re.IGNORECASE):
        raise BadTokenError("the tracking token does not hold an http(s) link")
    return payload[0], url


def link_key(url: str) -> str:
    """What identifies a link of an email among its clicks: a digest of its URL."""
    return "click:" + hashlib.sha256(url.encode()).hexdigest()[:64]


_UNFOLLOWABLE = re.compile(r"[\x00-\x20\x7f-\x9f\ufffd]")


def followable(url: str) -> bool:
    """Whether a link may become a click link: http(s), and no space or control character (which would
    end up in a redirect's Location header)."""
    return url.lower().startswith(("http://", "https://")) and not _UNFOLLOWABLE.search(url)


def instrument(body: str, base_url: str, token: Callable[..., str]) -> str:
    """The body with each http(s) link made a click link and, for HTML, an open pixel before `</body>`.

    `token(kind, url=None)` signs the token of an open or of a click on `url`.
    """
    mine = base_url + "/t/"

    def click(url: str) -> str:
        if url.startswith(mine) or len(url) > MAX_URL or not followable(url):
            return url
        return f"{base_url}/t/c/{token(CLICK, url)}"

    if not is_html(body):
        def plain(match: re.Match) -> str:
            url = match.group(0)
            kept = len(url) - len(url.rstrip(_TRAILING))
            url, tail = (url[:-kept], url[-kept:]) if kept else (url, "")
            return click(url) + tail
        return _TEXT_LINK.sub(plain, body)

    def anchor(match: re.Match) -> str:
        url = html.unescape(match.group(3))
        tracked = click(url)
        href = match.group(3) if tracked == url else tracked  # a link left untracked stays as written
        return f"{match.group(1)}{match.group(2)}{href}{match.group(2)}"

    body = _HTML_LINK.sub(anchor, body)
    pixel = (f'<img src="{base_url}/t/o/{token(OPEN)}" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0">')
    ends = list(_BODY_END.finditer(body))
    if ends:
        at = ends[-1].start()
        return body[:at] + pixel + body[at:]
    return body + pixel
