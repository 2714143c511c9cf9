"""The outbox: emails and webhooks queued by scripts, delivered to real local servers, retried, never doubled.

The dispatcher thread is off in tests (TestConfig.OUTBOX_DISPATCH); each test
calls `deliver_due(now)` itself with the `now` it wants, so back-off is tested
by moving that clock, never by sleeping. Email goes to an aiosmtpd server and
webhooks to an http.server started by the test on 127.0.0.1, which the admin
puts on the outbound allow list with `allow_private` (a loopback address is
refused otherwise: tests/security/test_outbound.py).
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from app.extensions import db
from app.services.outbox import deliver_due, sign

from ..factories import assert_problem, fixture

SECRET = "test-webhook-secret"  # TestConfig.WEBHOOK_SECRET
OUTBOX = "/api/v1/outbox"
NOTHING = {"sent": 0, "retried": 0, "failed": 0}


def crm(name: str):
    return fixture("crm", name)


def records(module: str) -> str:
    return f"/api/v1/modules/{module}/records"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def utc(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def deliver(app, now: dt.datetime) -> dict:
    """One dispatcher pass at `now`, as the background thread runs it."""
    with app.app_context():
        try:
            return deliver_due(now)
        finally:
            db.session.remove()


def outbox(admin, query: str = "") -> list[dict]:
    response = admin.get(f"{OUTBOX}{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def timeline(client, module: str, record_id: str) -> list[dict]:
    response = client.get(f"{records(module)}/{record_id}/timeline?per_page=200")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list[SimpleNamespace] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(SimpleNamespace(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
            message=email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; `.port` and `.inbox`."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SimpleNamespace(port=controller.port, inbox=inbox)
    controller.stop()


@pytest.fixture
def smtp(app, monkeypatch, smtp_server):
    """The app sends its email to the test's SMTP server; returns its inbox."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    return smtp_server.inbox


@pytest.fixture
def webhook_server():
    """A real HTTP server on 127.0.0.1 keeping every POST; `.replies` lists the statuses to answer (then 200)."""
    received: list[SimpleNamespace] = []
    replies: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(SimpleNamespace(path=self.path, headers=self.headers, body=body))
            status = replies.pop(0) if replies else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/hooks/stagecoach", received=received,
                          replies=replies)
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def manager_alert(admin, make):
    """New deals email the owner's manager; sam (managed by maria) is a rep."""
    admin.deploy(crm("notify_manager.bpmn"))
    response = admin.post("/api/v1/bindings", json={"module": "Deals", "event": "create",
                                                    "process_key": "crm_notify_manager"})
    assert response.status_code == 201, response.get_json()
    make.user("maria", email="maria@example.com", groups=["sales_managers"])
    return make.client("sam", email="sam@example.com", manager="maria", groups=["sales_reps"])


def new_deal(client, **fields) -> dict:
    response = client.post(records("Deals"), json={"deal_name": "Acme", "amount": 5000, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- email ----------------------------------------------------------------------------------------------

def test_send_email_queues_a_pending_message_rendered_from_the_record(admin, manager_alert):
    deal = new_deal(manager_alert)

    [message] = outbox(admin)

    assert message["kind"] == "email" and message["status"] == "pending"
    assert message["attempts"] == 0 and message["max_attempts"] == 3 and message["sent_at"] is None
    assert message["payload"] == {"to": ["maria@example.com"], "subject": "Deal Acme needs a look",
                                  "body": "Amount 5000 for Acme, owned by sam."}
    assert message["record_id"] == deal["id"]
    instance = admin.instance(message["instance_id"])
    assert instance["status"] == "completed" and instance["variables"]["message_id"] == message["id"]
    assert outbox(admin, f"?record_id={deal['id']}&status=pending") == [message]
    assert outbox(admin, "?status=sent") == []


def test_only_an_admin_reads_the_outbox(manager_alert):
    new_deal(manager_alert)

    assert_problem(manager_alert.get(OUTBOX), 403)


def test_the_email_is_delivered_over_smtp_and_noted_on_the_timeline(app, admin, manager_alert, smtp):
    deal = new_deal(manager_alert)
    [queued] = outbox(admin)

    counts = deliver(app, dt.datetime.now(dt.timezone.utc))

    assert counts == {"sent": 1, "retried": 0, "failed": 0}
    [received] = smtp.messages
    assert received.rcpt_tos == ["maria@example.com"] and received.mail_from == "stagecoach@localhost"
    assert received.message["To"] == "maria@example.com"
    assert received.message["Subject"] == "Deal Acme needs a look"
    assert received.message["Message-ID"] == f"<{queued['id']}@stagecoach>"
    assert received.message.get_content().strip() == "Amount 5000 for Acme, owned by sam."
    [sent] = outbox(admin)
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["sent_at"] is not None
    assert sent["last_error"] is None
    [event] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "email_delivered"]
    assert event["data"] == {"message_id": queued["id"], "to": ["maria@example.com"],
                             "subject": "Deal Acme needs a look"}
    assert event["instance_id"] == queued["instance_id"]
    # the step that queued it recorded the email_sent touchpoint; delivery adds no second one
    [touchpoint] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "email_sent"]
    assert touchpoint["data"] == {"touchpoint": True, "name": "Deal Acme needs a look", "message_id": queued["id"],
                                  "to": ["maria@example.com"]}


def test_a_message_is_never_sent_twice_when_deliver_due_runs_again(app, admin, manager_alert, smtp):
    new_deal(manager_alert)
    now = dt.datetime.now(dt.timezone.utc)
    deliver(app, now)

    again = deliver(app, now + dt.timedelta(days=1))

    assert again == NOTHING
    assert len(smtp.messages) == 1
    assert [m["attempts"] for m in outbox(admin)] == [1]


def test_two_dispatchers_running_at_once_send_each_message_once(app, admin, manager_alert, smtp):
    for n in range(3):
        new_deal(manager_alert, deal_name=f"Deal {n}")
    now = dt.datetime.now(dt.timezone.utc)
    barrier = threading.Barrier(2)
    results, failures = [], []

    def dispatcher():
        try:
            barrier.wait(30)
            results.append(deliver(app, now))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert failures == []
    assert sum(r["sent"] for r in results) == 3
    assert sorted(m.message["Subject"] for m in smtp.messages) == [f"Deal Deal {n} needs a look" for n in range(3)]
    assert {m["status"] for m in outbox(admin)} == {"sent"}


def test_an_owner_without_a_manager_puts_the_instance_in_error_and_queues_nothing(admin, make):
    admin.deploy(crm("notify_manager.bpmn"))
    admin.post("/api/v1/bindings", json={"module": "Deals", "event": "create", "process_key": "crm_notify_manager"})
    loner = make.client("loner", email="loner@example.com")

    deal = new_deal(loner)

    [summary] = admin.get(f"/api/v1/process-instances?module=Deals&record_id={deal['id']}").get_json()["items"]
    instance = admin.instance(summary["id"])
    assert instance["status"] == "error" and "owner_manager has no user" in instance["incidents"][0]["message"]
    assert outbox(admin) == []


def test_smtp_down_is_retried_with_back_off_then_failed_then_retried_by_hand(app, admin, manager_alert, monkeypatch,
                                                                              smtp_server):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nothing listens there
    deal = new_deal(manager_alert)
    t0 = dt.datetime.now(dt.timezone.utc)

    assert deliver(app, t0) == {"sent": 0, "retried": 1, "failed": 0}
    [first] = outbox(admin)
    assert first["status"] == "pending" and first["attempts"] == 1
    assert "ConnectionRefusedError" in first["last_error"]
    assert utc(first["next_attempt_at"]) == t0 + dt.timedelta(seconds=30)  # OUTBOX_RETRY_BASE_SECONDS

    assert deliver(app, t0 + dt.timedelta(seconds=29)) == NOTHING  # not due yet
    assert outbox(admin)[0]["attempts"] == 1

    t1 = t0 + dt.timedelta(seconds=31)
    assert deliver(app, t1) == {"sent": 0, "retried": 1, "failed": 0}
    [second] = outbox(admin)
    assert second["attempts"] == 2 and utc(second["next_attempt_at"]) == t1 + dt.timedelta(seconds=60)
    assert deliver(app, t1 + dt.timedelta(seconds=59)) == NOTHING

    assert deliver(app, t1 + dt.timedelta(seconds=61)) == {"sent": 0, "retried": 0, "failed": 1}
    [failed] = outbox(admin)
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert "ConnectionRefusedError" in failed["last_error"] and failed["sent_at"] is None
    [event] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "email_failed"]
    assert event["data"]["message_id"] == failed["id"] and "ConnectionRefusedError" in event["data"]["error"]
    assert deliver(app, t1 + dt.timedelta(days=30)) == NOTHING  # failed stays failed
    assert smtp_server.inbox.messages == []

    retried = admin.post(f"{OUTBOX}/{failed['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "pending" and retried.get_json()["attempts"] == 0
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)  # the server is back

    assert deliver(app, dt.datetime.now(dt.timezone.utc))["sent"] == 1
    assert [m.message["Subject"] for m in smtp_server.inbox.messages] == ["Deal Acme needs a look"]
    assert outbox(admin)[0]["status"] == "sent"


def test_retrying_by_hand_is_for_admins_and_known_messages(admin, manager_alert):
    new_deal(manager_alert)
    [message] = outbox(admin)

    assert_problem(manager_alert.post(f"{OUTBOX}/{message['id']}/retry"), 403)
    assert_problem(admin.post(f"{OUTBOX}/nope/retry"), 404)
    assert outbox(admin) == [message]


def test_only_a_failed_message_is_retried_by_hand(app, admin, manager_alert, smtp):
    """A pending message is in line already; a sent one retried would reach its receiver twice."""
    new_deal(manager_alert)
    [pending] = outbox(admin)
    assert "pending" in assert_problem(admin.post(f"{OUTBOX}/{pending['id']}/retry"), 409)["detail"]
    assert deliver(app, dt.datetime.now(dt.timezone.utc))["sent"] == 1

    refused = admin.post(f"{OUTBOX}/{pending['id']}/retry")

    assert "sent" in assert_problem(refused, 409)["detail"]
    assert outbox(admin)[0]["status"] == "sent" and len(smtp.messages) == 1


# -- webhooks -----------------------------------------------------------------------------------------------

@pytest.fixture
def subscriptions(admin):
    """A custom module whose records are webhook subscriptions: creating one calls its URL with the record.

    The test's receiver listens on 127.0.0.1, so the admin allows that address, private as it is.
    """
    allowed = admin.post("/api/v1/outbound-hosts", json={"pattern": "127.0.0.1", "allow_private": True,
                                                          "note": "the test's webhook receiver"})
    assert allowed.status_code == 201, allowed.get_json()
    admin.deploy(crm("webhook.bpmn"))
    assert admin.post("/api/v1/modules", json={"api_name": "Subscriptions", "fields": [
        {"name": "target_url", "type": "text", "required": True}, {"name": "topic", "type": "text"}]}
    ).status_code == 201
    assert admin.post("/api/v1/bindings", json={"module": "Subscriptions", "event": "create",
                                                "process_key": "crm_webhook"}).status_code == 201


def subscribe(admin, url: str) -> dict:
    response = admin.post(records("Subscriptions"), json={"target_url": url, "topic": "deals"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_webhook_posts_the_record_signed_with_hmac(app, admin, subscriptions, webhook_server):
    sub = subscribe(admin, webhook_server.url)
    [queued] = outbox(admin)
    assert queued["kind"] == "webhook" and queued["status"] == "pending"
    assert queued["payload"]["url"] == webhook_server.url

    assert deliver(app, dt.datetime.now(dt.timezone.utc)) == {"sent": 1, "retried": 0, "failed": 0}

    [request] = webhook_server.received
    assert request.path == "/hooks/stagecoach"
    assert json.loads(request.body) == {"id": sub["id"], "owner": "admin", "module": "Subscriptions",
                                        "target_url": webhook_server.url, "topic": "deals"}
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Stagecoach-Signature"] == expected == sign(request.body, SECRET)
    assert request.headers["X-Stagecoach-Delivery"] == queued["id"]
    assert request.headers["Content-Type"] == "application/json"
    [sent] = outbox(admin)
    assert sent["status"] == "sent" and sent["attempts"] == 1
    [event] = [e for e in timeline(admin, "Subscriptions", sub["id"]) if e["type"] == "webhook_delivered"]
    assert event["data"] == {"message_id": queued["id"], "url": webhook_server.url, "touchpoint": True,
                             "name": "127.0.0.1"}


def test_a_webhook_answered_with_500_is_retried_until_it_gets_200(app, admin, subscriptions, webhook_server):
    webhook_server.replies.append(500)
    subscribe(admin, webhook_server.url)
    t0 = dt.datetime.now(dt.timezone.utc)

    assert deliver(app, t0) == {"sent": 0, "retried": 1, "failed": 0}
    [pending] = outbox(admin)
    assert pending["status"] == "pending" and pending["attempts"] == 1 and "500" in pending["last_error"]
    assert deliver(app, t0 + dt.timedelta(seconds=29)) == NOTHING
    assert len(webhook_server.received) == 1

    assert deliver(app, t0 + dt.timedelta(seconds=31)) == {"sent": 1, "retried": 0, "failed": 0}

    first, second = webhook_server.received
    assert second.body == first.body
    assert second.headers["X-Stagecoach-Delivery"] == first.headers["X-Stagecoach-Delivery"] == pending["id"]
    assert second.headers["X-Stagecoach-Signature"] == sign(second.body, SECRET)
    [sent] = outbox(admin)
    assert sent["status"] == "sent" and sent["attempts"] == 2
    assert deliver(app, t0 + dt.timedelta(days=1)) == NOTHING and len(webhook_server.received) == 2


def test_a_webhook_that_keeps_failing_ends_failed_on_the_timeline(app, admin, subscriptions, webhook_server):
    webhook_server.replies.extend([503, 503, 503])
    sub = subscribe(admin, webhook_server.url)
    now = dt.datetime.now(dt.timezone.utc)

    outcomes = [deliver(app, now + dt.timedelta(hours=n)) for n in range(3)]

    assert [o["retried"] for o in outcomes] == [1, 1, 0] and outcomes[-1]["failed"] == 1
    [failed] = outbox(admin)
    assert failed["status"] == "failed" and "503" in failed["last_error"]
    assert [e["type"] for e in timeline(admin, "Subscriptions", sub["id"])][-1] == "webhook_failed"


# -- nothing is queued by a step that does not commit ------------------------------------------------------------

def test_a_record_write_that_is_refused_queues_no_email(admin, manager_alert):
    assert_problem(manager_alert.post(records("Deals"), json={"deal_name": "Acme", "discount": 120}), 400)

    assert admin.get(records("Deals")).get_json()["total"] == 0
    assert outbox(admin) == []


def test_a_script_that_fails_after_send_email_queues_nothing_and_its_retry_queues_once(admin):
    admin.deploy(crm("email_then_fail.bpmn"))

    started = admin.start("crm_email_then_fail", {"divisor": 0})

    assert started["status"] == "error"
    assert outbox(admin) == []  # the failed script's email went with it
    admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"divisor": 4}})
    assert admin.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()["status"] == "completed"
    assert [m["payload"]["subject"] for m in outbox(admin)] == ["Share computed"]


def test_an_email_from_a_completed_script_is_kept_once_when_a_later_script_fails(admin):
    """The failing script leaves the instance in error at that script; the one before it has run and stays run
    (the retry resumes after it), so its email is neither dropped nor queued again."""
    admin.deploy(crm("email_then_later_fail.bpmn"))

    started = admin.start("crm_email_then_later_fail", {"divisor": 0})

    assert started["status"] == "error"
    assert admin.instance(started["id"])["incidents"][0]["element_id"] == "compute"
    [message] = outbox(admin)
    admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"divisor": 4}})
    assert admin.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()["status"] == "completed"
    assert [m["id"] for m in outbox(admin)] == [message["id"]]
