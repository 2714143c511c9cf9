"""Delivering the outbox: emails over SMTP, webhooks as signed POSTs, with retries.

Messages are written in the transaction of the step that sent them, so none
is sent for a step that rolled back and none is lost for one that committed.
`deliver_due` claims due messages one by one (a conditional update, so two
dispatchers never send the same message), delivers them outside any
transaction, and records the result: `sent`, or another attempt after a
back-off (base × 2^attempts), or `failed` after `max_attempts`.

A message regarding a record writes its timeline when it is delivered: `email_delivered` (the
`email_sent` touchpoint was recorded by the step that queued it) or the `webhook_delivered`
touchpoint (name: the host), and `email_failed` / `webhook_failed` once it fails for good.

A webhook goes only where the allow list lets it (app/services/outbound.py):
`outbound.pin` checks the URL again at delivery and resolves its host once,
and the request connects to the addresses it checked (never to a second DNS
answer). A refusal, or a redirect (never followed), fails the message at once
with the reason: trying again would be refused again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import smtplib
import socket
import ssl
import urllib.parse
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update

from ..errors import ConflictError, NotFoundError
from ..extensions import db
from ..models import Binding, CrmTask, OutboxMessage, ProcessInstance, Record, RecordEvent
from ..statuses import OutboxStatus
from .access import require_admin
from .core import Actor, Page, paginate, utcnow, write_transaction
from .outbound import OutboundRefusedError, Target, pin

STALE_AFTER = dt.timedelta(minutes=5)  # a claim older than this belongs to a dead dispatcher


def sign(body: bytes, secret: str) -> str:
    """The X-Stagecoach-Signature header value for a webhook body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _claim(now: dt.datetime, limit: int) -> list[OutboxMessage]:
    claimed = []
    # The claim repeats the whole "due" condition: a dispatcher that read the same due row and waited for
    # another's claim to commit then finds the row `sending` with a fresh lock, and must not win it too.
    due = or_((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
              (OutboxMessage.status == "sending") & (OutboxMessage.locked_at < now - STALE_AFTER))
    with write_transaction():
        ids = db.session.scalars(
            select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at).limit(limit)).all()
        for message_id in ids:
            won = db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id, due)
                .values(status="sending", locked_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if won:
                claimed.append(message_id)
    return [db.session.get(OutboxMessage, i) for i in claimed]


def deliver_due(now: dt.datetime | None = None, limit: int = 50) -> dict[str, int]:
    """Deliver every due message; returns how many were sent, retried and failed."""
    now = now or utcnow()
    counts = {"sent": 0, "retried": 0, "failed": 0}
    for message in _claim(now, limit):
        try:
            _send(message)
        except OutboundRefusedError as exc:  # refused now, refused on every retry: failed at once
            outcome = _record_failure(message.id, now, f"refused: {exc}", final=True)
        except Exception as exc:  # the channel's own error: recorded on the message
            outcome = _record_failure(message.id, now, f"{type(exc).__name__}: {exc}")
        else:
            outcome = _record_success(message.id, now)
        counts[outcome] += 1
    return counts


def _send(message: OutboxMessage) -> None:
    cfg = current_app.config
    if message.kind == "email":
        email = EmailMessage()
        email["From"] = cfg["SMTP_FROM"]
        email["To"] = ", ".join(message.payload["to"])
        email["Subject"] = message.payload["subject"]
        email["Message-ID"] = f"<{message.id}@stagecoach>"
        email.set_content(message.payload["body"], subtype="html" if message.payload.get("html") else "plain")
        with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["OUTBOX_TIMEOUT_SECONDS"]) as smtp:
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
            smtp.send_message(email)
    elif message.kind == "webhook":
        target = pin(message.payload["url"])  # before anything is signed or sent
        body = json.dumps(message.payload.get("body"), default=str).encode()
        _post(target, body, {
            "Content-Type": "application/json", "User-Agent": "Stagecoach",
            "X-Stagecoach-Delivery": message.id,
            "X-Stagecoach-Signature": sign(body, cfg["WEBHOOK_SECRET"])}, cfg["OUTBOX_TIMEOUT_SECONDS"])
    else:
        raise ValueError(f"unknown outbox kind {message.kind!r}")


class WebhookError(Exception):
    """The receiver answered with an error status (retried)."""


def _pinned(connection_class):
    """A connection class that opens its socket to the target's checked addresses only.

    http.client resolves `host` itself when it connects; `_create_connection` is the seam it
    connects through, so the Host header, SNI and certificate check still use the URL's host name
    while the socket goes to an address `outbound.pin` checked.
    """
    class Pinned(connection_class):
        def __init__(self, target: Target, **kwargs):
            super().__init__(target.host, target.port, **kwargs)
            self._create_connection = self._connect_checked
            self.checked = target.addresses

        def _connect_checked(self, address, timeout=None, source_address=None):
            error: OSError | None = None
            for ip in self.checked:
                try:
                    return socket.create_connection((ip, address[1]), timeout, source_address)
                except OSError as exc:
                    error = exc
            raise error or OSError("no address to connect to")

    return Pinned


_PinnedHTTP = _pinned(http.client.HTTPConnection)
_PinnedHTTPS = _pinned(http.client.HTTPSConnection)


def _post(target: Target, body: bytes, headers: dict, timeout: float) -> None:
    if target.scheme == "https":
        connection = _PinnedHTTPS(target, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = _PinnedHTTP(target, timeout=timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        if 300 <= response.status < 400:
            location = (response.getheader("Location") or "")[:300]
            raise OutboundRefusedError(f"answered {response.status} redirecting to {location or 'nowhere'}; "
                                       "webhooks follow no redirects")
        if response.status >= 400 or response.status < 200:
            raise WebhookError(f"answered {response.status} {response.reason}")
    finally:
        connection.close()


def _timeline(message: OutboxMessage, type_: str, data: dict) -> None:
    if message.record_id and db.session.get(Record, message.record_id) is not None:
        db.session.add(RecordEvent(record_id=message.record_id, module=message.module or "", type=type_,
                                   at=utcnow(), instance_id=message.instance_id, data=data))


def _rule_failed(message: OutboxMessage) -> None:
    """A workflow rule's email or webhook failed for good: `rule_failed` on the record's timeline and a
    to-do for the rule's author (app/services/rule_schedules.py reports a rule's failed steps alike)."""
    inst = db.session.get(ProcessInstance, message.instance_id) if message.instance_id else None
    if inst is None or inst.record_role != "rule":
        return
    binding = db.session.scalar(select(Binding).where(Binding.kind == "rule", Binding.process_key == inst.process_key)
                                .order_by(Binding.created_at.desc()).limit(1))
    name = binding.name if binding is not None else inst.process_key
    _timeline(message, "rule_failed", {"rule": name, "process_key": inst.process_key, "action": None,
                                       "action_type": message.kind, "message_id": message.id,
                                       "error": message.last_error})
    author = (binding.options or {}).get("created_by") if binding is not None else None
    if author:
        db.session.add(CrmTask(subject=f"Workflow rule {name!r}: its {message.kind} failed; retry it from the "
                                       f"outbox"[:255], owner=author, record_id=message.record_id,
                               module=message.module, instance_id=inst.id, due_date=utcnow().date()))


def _summary(message: OutboxMessage) -> dict:
    if message.kind == "email":
        return {"message_id": message.id, "to": message.payload["to"], "subject": message.payload["subject"]}
    return {"message_id": message.id, "url": message.payload["url"]}


def _record_success(message_id: str, now: dt.datetime) -> str:
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.sent_at = "sent", utcnow()
        message.attempts += 1
        message.locked_at = None
        if message.kind == "email":  # the step that queued it recorded the `email_sent` touchpoint
            _timeline(message, "email_delivered", _summary(message))
        else:
            _timeline(message, "webhook_delivered", dict(_summary(message), touchpoint=True,
                                                         name=urllib.parse.urlsplit(message.payload["url"]).hostname))
    return "sent"


def _record_failure(message_id: str, now: dt.datetime, error: str, final: bool = False) -> str:
    base = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        message.attempts += 1
        message.last_error = error[:2000]
        message.locked_at = None
        if final or message.attempts >= message.max_attempts:
            message.status = "failed"
            _timeline(message, f"{message.kind}_failed", dict(_summary(message), error=message.last_error))
            _rule_failed(message)
            return "failed"
        message.status = "pending"
        message.next_attempt_at = now + dt.timedelta(seconds=base * 2 ** (message.attempts - 1))
    return "retried"


def list_messages(actor: Actor, status: str | None, record_id: str | None, page: int, per_page: int) -> Page:
    """Queued, sent and failed emails and webhook calls, newest first (admins)."""
    require_admin(actor, "see and retry the outbox")
    stmt = select(OutboxMessage)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if record_id:
        stmt = stmt.where(OutboxMessage.record_id == record_id)
    return paginate(stmt.order_by(OutboxMessage.created_at.desc()), page, per_page)


def retry_message(message_id: str, actor: Actor) -> OutboxMessage:
    """Put a failed message back in line (admins).

    Raises:
        NotFoundError: no such message.
        ConflictError: the message has not failed: one pending or being sent is in line already, and a
            sent one would reach its receiver twice.
    """
    require_admin(actor, "see and retry the outbox")
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFoundError(f"no outbox message {message_id}")
        if message.status != OutboxStatus.FAILED:
            raise ConflictError(f"only a failed message is retried; this one is {message.status}")
        message.status, message.attempts, message.next_attempt_at = "pending", 0, utcnow()
    return message
