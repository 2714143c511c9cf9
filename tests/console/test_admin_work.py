"""The job queue and the outbox: due and failed jobs, messages by status, a failure's error, retrying it."""
from __future__ import annotations

import datetime as dt

import pytest

from config import TestConfig

from ..factories import fixture
from .conftest import text

ADMIN = ("admin", TestConfig.ADMIN_PASSWORD)


def rows(page, prefix: str) -> list[str]:
    """The ids of a list's rows (`<tr id="{prefix}-{id}">`), in order."""
    html = text(page)
    found, start = [], 0
    while (at := html.find(f'<tr id="{prefix}-', start)) != -1:
        end = html.index('"', at + len(f'<tr id="{prefix}-'))
        found.append(html[at + len(f'<tr id="{prefix}-'):end])
        start = end
    return found


def row(page, row_id: str) -> str:
    html = text(page)
    start = html.index(f'id="{row_id}"')
    return html[start:html.index("</tr>", start)]


@pytest.fixture
def queue(app, clock, admin):
    """Two instances waiting one hour at a timer: one job pending, the other's failed with an error."""
    from sqlalchemy import select, update

    from app.extensions import db
    from app.models import Job

    admin.deploy(fixture("events", "timer_then_task.bpmn"))
    waiting, broken = admin.start("timer_then_task"), admin.start("timer_then_task")
    with app.app_context():
        db.session.execute(update(Job).where(Job.instance_id == broken["id"]).values(
            status="failed", attempts=3, last_error="RuntimeError: the handler broke"))
        db.session.commit()
        ids = dict(db.session.execute(select(Job.instance_id, Job.id)).all())
        db.session.remove()
    return {"pending": ids[waiting["id"]], "failed": ids[broken["id"]], "waiting": waiting, "broken": broken}


def test_the_job_queue_lists_pending_and_failed_jobs_with_the_error(console, queue):
    page = console(*ADMIN).get("/console/admin/jobs")

    assert page.status_code == 200
    assert sorted(rows(page, "job")) == sorted([queue["pending"], queue["failed"]])
    failed = row(page, f"job-{queue['failed']}")
    assert "RuntimeError: the handler broke" in failed and "3 of 3" in failed and ">Retry</button>" in failed
    assert ">Retry</button>" not in row(page, f"job-{queue['pending']}")
    assert f'href="/console/admin/instances/{queue["broken"]["id"]}"' in failed


def test_the_job_queue_filters_by_status_and_due(console, queue, clock):
    session = console(*ADMIN)
    assert rows(session.get("/console/admin/jobs?status=failed"), "job") == [queue["failed"]]
    assert rows(session.get("/console/admin/jobs?status=pending&due=1"), "job") == []  # due in an hour
    clock.shift(dt.timedelta(hours=1, seconds=1))
    due = session.get("/console/admin/jobs?status=pending&due=1", htmx=True, headers={"HX-Target": "job-queue-results"})
    assert rows(due, "job") == [queue["pending"]] and "<h1>" not in text(due)  # htmx: the results only
    assert 'class="tag overdue">due' in row(due, f"job-{queue['pending']}")


def test_retrying_a_failed_job_puts_it_back_in_line(console, queue, admin):
    session = console(*ADMIN)

    retried = session.post(f"/console/admin/jobs/{queue['failed']}/retry", {"next": "/console/admin/jobs?status=failed"})

    assert (retried.status_code, retried.headers["Location"]) == (302, "/console/admin/jobs?status=failed")
    assert "back in line" in text(session.get("/console/admin/jobs"))
    [job] = [j for j in admin.get("/api/v1/jobs").get_json()["items"] if j["id"] == queue["failed"]]
    assert (job["status"], job["attempts"], job["last_error"]) == ("pending", 0, None)
    again = session.post(f"/console/admin/jobs/{queue['failed']}/retry")
    assert again.status_code == 409 and "Job is pending." in text(again)


@pytest.fixture
def messages(app):
    """Outbox messages: a sent email, a pending webhook, a failed email with its error."""
    from app.extensions import db
    from app.models import OutboxMessage

    email = {"to": ["maria@example.com"], "subject": "Deal Acme needs a look", "body": "..."}
    made = {"sent": OutboxMessage(kind="email", payload=email, status="sent", attempts=1),
            "pending": OutboxMessage(kind="webhook", payload={"url": "https://hooks.example.com/x", "body": {}}),
            "failed": OutboxMessage(kind="email", payload=dict(email, subject="Renewal due"), status="failed",
                                    attempts=3, last_error="SMTPConnectError: connection refused")}
    with app.app_context():
        db.session.add_all(made.values())
        db.session.commit()
        ids = {status: m.id for status, m in made.items()}
        db.session.remove()
    return ids


def test_the_outbox_lists_messages_by_status_with_the_failures_error(console, messages):
    session = console(*ADMIN)

    everything = session.get("/console/admin/outbox")
    failed = session.get("/console/admin/outbox?status=failed")

    assert everything.status_code == 200 and sorted(rows(everything, "message")) == sorted(messages.values())
    assert rows(failed, "message") == [messages["failed"]]
    line = row(failed, f"message-{messages['failed']}")
    assert "SMTPConnectError: connection refused" in line and "Renewal due" in line and "maria@example.com" in line
    assert ">Retry</button>" in line
    assert ">Retry</button>" not in row(everything, f"message-{messages['sent']}")
    assert "https://hooks.example.com/x" in row(everything, f"message-{messages['pending']}")


def test_retrying_a_failed_message_and_refusing_a_sent_one(console, messages, admin):
    session = console(*ADMIN)

    retried = session.post(f"/console/admin/outbox/{messages['failed']}/retry")
    assert retried.status_code == 302 and "back in line" in text(session.get(retried.headers["Location"]))
    refused = session.post(f"/console/admin/outbox/{messages['sent']}/retry")

    statuses = {m["id"]: m["status"] for m in admin.get("/api/v1/outbox").get_json()["items"]}
    assert statuses[messages["failed"]] == "pending" and statuses[messages["sent"]] == "sent"
    assert refused.status_code == 409 and "Only a failed message is retried; this one is sent." in text(refused)


@pytest.mark.parametrize("url", ["/console/admin/jobs", "/console/admin/outbox"])
def test_the_pages_are_for_admins(console, olga, url):
    assert console("olga").get(url).status_code == 403
    assert f'href="{url}"' not in text(console("olga").get("/console/jobs"))
    assert f'href="{url}"' in text(console(*ADMIN).get("/console/jobs"))


def test_retries_are_refused_to_a_plain_user_and_without_the_csrf_token(console, olga, queue, messages, admin):
    olga_session, admin_session = console("olga"), console(*ADMIN)

    assert olga_session.post(f"/console/admin/jobs/{queue['failed']}/retry").status_code == 403
    assert olga_session.post(f"/console/admin/outbox/{messages['failed']}/retry").status_code == 403
    no_token = admin_session.post(f"/console/admin/jobs/{queue['failed']}/retry", csrf=False)
    assert no_token.status_code == 400 and "cannot be accepted" in text(no_token)
    assert admin_session.post(f"/console/admin/outbox/{messages['failed']}/retry", csrf=False).status_code == 400
    assert {j["id"]: j["status"] for j in admin.get("/api/v1/jobs").get_json()["items"]}[queue["failed"]] == "failed"
    assert {m["id"]: m["status"] for m in admin.get("/api/v1/outbox").get_json()["items"]}[messages["failed"]] == "failed"
