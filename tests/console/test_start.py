"""Start a process: the processes one may start by hand, and the start form checked as the API checks it."""
from __future__ import annotations

from ..factories import fixture
from .conftest import text


def test_the_processes_one_may_start_by_hand(app, console, admin, make, deals):
    admin.deploy(fixture("valid", "start_form.bpmn"))
    make.user("alice")
    page = text(console("alice").get("/console/start"))
    assert 'href="/console/start/start_form">Invoice received</a>' in page
    assert "electronics_deal_followup" not in page  # a blueprint starts on its record, not by hand


def test_a_start_form_refused_then_corrected(console, admin, make):
    admin.deploy(fixture("valid", "start_form.bpmn"))
    make.user("alice")
    alice = console("alice")
    form = text(alice.get("/console/start/start_form"))
    assert 'id="f-creditor" name="creditor" value="ACME"' in form  # the field's default
    refused = alice.post("/console/start/start_form", {"creditor": "ACME", "urgent": "true", "business_key": "INV-7"})
    assert refused.status_code == 400
    assert '<p class="error" id="f-amount-error">required</p>' in text(refused)
    assert 'value="INV-7"' in text(refused)
    assert admin.get("/api/v1/process-instances?key=start_form").get_json()["total"] == 0  # nothing started

    started = alice.post("/console/start/start_form", {"amount": "120", "creditor": "ACME", "business_key": "INV-7"})
    assert (started.status_code, started.headers["Location"]) == (302, "/console/jobs")
    [instance] = admin.get("/api/v1/process-instances?key=start_form").get_json()["items"]
    assert instance["business_key"] == "INV-7"
    assert admin.instance(instance["id"])["variables"] == {"amount": 120, "creditor": "ACME"}
    assert "“Invoice received” started" in text(alice.get("/console/jobs"))


def test_after_starting_the_first_task_offered_to_the_starter_opens(console, admin, make):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    make.user("sam", groups=["staff"])
    answer = console("sam").post("/console/start/three_tasks", {})
    [task] = admin.get("/api/v1/tasks?key=three_tasks").get_json()["items"]
    assert (answer.status_code, answer.headers["Location"]) == (302, f"/console/tasks/{task['id']}")


def test_without_the_start_grant_the_form_is_refused(app, console, admin, make):
    from app.extensions import db
    from app.services.authorizations import delete_grant, list_grants
    from app.services.core import SYSTEM

    admin.deploy(fixture("valid", "start_form.bpmn"))
    make.user("alice")
    with app.app_context():
        for grant in list_grants(SYSTEM, resource_type="process", per_page=100).items:
            if grant.user_id == "*" and "start" in grant.permissions:
                delete_grant(grant.id, SYSTEM)
        db.session.remove()
    alice = console("alice")
    assert "Invoice received" not in text(alice.get("/console/start"))
    refused = alice.get("/console/start/start_form")
    assert refused.status_code == 403 and "may not start process" in text(refused)
    assert alice.post("/console/start/start_form", {"amount": "5"}).status_code == 403
    assert alice.get("/console/start/no_such_process").status_code == 404
