"""Email tracking: an open or a click seen through the links of a tracked email (app/crm/tracking.py).

The tracking endpoints are public (an email's reader has no account) and trust only what a token's
signature covers. The first open of an email is an `email_opened` touchpoint on its record's timeline,
the first click of each of its links an `email_clicked` one (a click with no open recorded counts as the
open too: a client that blocks images); replays, image proxies fetching twice and a link clicked again
record nothing more (`EmailTracking`'s unique key). A recorded open delivers the message `email_opened`
(business key = the record id, variable `tracked_email`) to the record's instances waiting for it, as
the CRM's processes expect (bpmn/journeys/customer_journey.bpmn), and rescores the record when its
module's scoring rules give the type points, all in one transaction.

Tracking never fails the reader: a pixel is always the image, and a valid click always redirects to
its link, even when recording it failed (the failure is logged and rolled back as a whole).
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..crm import tracking as tokens
from ..errors import TrackingLinkError
from ..extensions import db
from ..models import EmailTracking, OutboxMessage, Record
from .core import SYSTEM, utcnow, write_transaction
from .events import deliver_waiting
from .records import rescore
from .timeline import add_touchpoint

log = logging.getLogger(__name__)
OPENED_MESSAGE = "email_opened"


def record_open(token: str) -> bool:
    """Record the open a pixel token says (once); returns whether the token was good.

    A forged or altered token records nothing.
    """
    try:
        message_id, _ = tokens.read(current_app.config["SECRET_KEY"], tokens.OPEN, token)
    except tokens.BadTokenError:
        return False
    _safely(lambda: _opened(message_id))
    return True


def follow_click(token: str) -> str:
    """Record the click a link token says (once, and the open if none was recorded); returns the URL
    signed in the token, the only place the link leads to.

    Raises:
        TrackingLinkError: a forged or altered token, or one that is not a click link's.
    """
    try:
        message_id, url = tokens.read(current_app.config["SECRET_KEY"], tokens.CLICK, token)
    except tokens.BadTokenError as exc:
        raise TrackingLinkError(f"no such link: {exc}") from None
    if not url or not tokens.followable(url):  # signed before links were checked: never a redirect
        raise TrackingLinkError("this link leads nowhere a browser may be sent")
    _safely(lambda: _clicked(message_id, url))
    return url


def _safely(record) -> None:
    try:
        with write_transaction():
            record()
    except Exception:  # the reader still gets the image or the link; the whole recording rolled back
        log.exception("email tracking could not be recorded")


def _first(message: OutboxMessage, key: str) -> bool:
    """Claim (message, key): True the first time only, also against a concurrent request."""
    if db.session.scalar(select(EmailTracking.id).where(EmailTracking.message_id == message.id,
                                                        EmailTracking.key == key)) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(EmailTracking(message_id=message.id, key=key, record_id=message.record_id, at=utcnow()))
    except IntegrityError:  # another request claimed it between the read and the insert
        return False
    return True


def _tracked(message_id: str) -> tuple[OutboxMessage, Record] | None:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.kind != "email" or not message.record_id:
        return None
    record = db.session.get(Record, message.record_id)
    return (message, record) if record is not None else None


def _opened(message_id: str) -> None:
    found = _tracked(message_id)
    if found is None or not _first(found[0], "open"):
        return
    message, record = found
    subject = message.payload.get("subject")
    add_touchpoint(record, "email_opened", None, subject, {"message_id": message.id}, message.instance_id)
    db.session.flush()
    deliver_waiting(OPENED_MESSAGE, record.id, {"tracked_email": {"message_id": message.id, "subject": subject}},
                    SYSTEM)
    rescore(record, "email_opened")


def _clicked(message_id: str, url: str) -> None:
    found = _tracked(message_id)
    if found is None:
        return
    message, record = found
    _opened(message_id)  # a client that blocks images opened it all the same
    if not _first(message, tokens.link_key(url)):
        return
    add_touchpoint(record, "email_clicked", None, message.payload.get("subject"),
                   {"message_id": message.id, "url": url}, message.instance_id)
    rescore(record, "email_clicked")
