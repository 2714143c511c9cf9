"""Approve and Reject on the task page of a record's approval, as the approval API decides it.

A task of an approval bound to a record whose form has a decision field (`approved`, or `approval` /
`decision` with approve and reject values) offers Approve and Reject beside its form: the decision and its
reason go into the task's form and onto the record's timeline; a rejection without a reason is refused
beside the reason, with nothing changed; a task someone else decided first is a 409. Other tasks have none.
"""
from __future__ import annotations

import re

from .conftest import text

DECISION = re.compile(r'<form method="post" action="/console/tasks/([\w-]+)/decide"')


def timeline_types(admin, record_id: str) -> list[str]:
    events = admin.get(f"/api/v1/modules/Deals/records/{record_id}/timeline?per_page=100").get_json()["items"]
    return [e["type"] for e in events]


def test_an_approval_task_offers_approve_and_reject(console, discount):
    html = text(console("maria").get(f"/console/tasks/{discount['task_id']}"))
    assert DECISION.findall(html) == [discount["task_id"]]
    assert '<button type="submit" name="decision" value="approve" class="primary">Approve</button>' in html
    assert '<button type="submit" name="decision" value="reject" class="danger">Reject</button>' in html
    assert '<label for="decision-reason">Reason for your decision</label>' in html


def test_a_rejection_without_a_reason_is_refused_beside_it_and_changes_nothing(console, discount, admin):
    maria = console("maria")
    refused = maria.post(f"/console/tasks/{discount['task_id']}/decide", {"decision": "reject", "reason": "  "})
    assert refused.status_code == 400  # as POST .../approval/reject answers
    html = text(refused)
    assert '<p class="error" id="decision-reason-error">required when rejecting</p>' in html
    assert re.search(r'<textarea id="decision-reason" [^>]*aria-describedby="decision-reason-help decision-reason-error"'
                     r' aria-invalid="true">', html)
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["state"] == "open"
    assert admin.get(f"/api/v1/modules/Deals/records/{discount['record_id']}").get_json()["locked_by"] == \
        discount["instance_id"]


def test_a_reason_too_long_is_refused_beside_it(console, discount, admin):
    refused = console("maria").post(f"/console/tasks/{discount['task_id']}/decide",
                                    {"decision": "approve", "reason": "x" * 2001})
    assert refused.status_code == 400
    assert '<p class="error" id="decision-reason-error">at most 2000 characters</p>' in text(refused)
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["state"] == "open"


def test_reject_with_a_reason_decides_the_approval_and_keeps_the_reason(console, discount, admin):
    maria = console("maria")
    done = maria.post(f"/console/tasks/{discount['task_id']}/decide", {"decision": "reject", "reason": "too deep"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/jobs")
    assert "You rejected “Approve discount”." in text(maria.get(done.headers["Location"]))
    instance = admin.instance(discount["instance_id"])
    assert (instance["status"], instance["variables"]["approval_status"]) == ("completed", "rejected")
    assert instance["variables"]["comment"] == "too deep"  # the form's reason field
    assert "approval_rejected" in timeline_types(admin, discount["record_id"])
    assert admin.get(f"/api/v1/modules/Deals/records/{discount['record_id']}").get_json()["locked_by"] is None


def test_approve(console, discount, admin):
    done = console("maria").post(f"/console/tasks/{discount['task_id']}/decide", {"decision": "approve"})
    assert done.status_code == 302
    assert admin.instance(discount["instance_id"])["variables"]["approval_status"] == "approved"
    assert "approval_approved" in timeline_types(admin, discount["record_id"])


def test_someone_else_deciding_first_is_a_409(console, discount, make, admin):
    make.user("mo", groups=["sales_managers"])
    maria, mo = console("maria"), console("mo")
    assert mo.post(f"/console/tasks/{discount['task_id']}/decide", {"decision": "approve"}).status_code == 302
    late = maria.post(f"/console/tasks/{discount['task_id']}/decide", {"decision": "reject", "reason": "no"})
    assert late.status_code == 409 and "completed by mo" in text(late)
    assert admin.instance(discount["instance_id"])["variables"]["approval_status"] == "approved"


def test_no_decision_without_a_choice_nor_for_those_who_may_not_work_on_the_task(console, discount, olga, admin):
    refused = console("maria").post(f"/console/tasks/{discount['task_id']}/decide", {"decision": "maybe"})
    assert refused.status_code == 400 and "approve or reject" in text(refused)
    assert console("olga").post(f"/console/tasks/{discount['task_id']}/decide",
                                {"decision": "approve"}).status_code == 404
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["state"] == "open"


def test_a_task_that_is_no_record_approval_has_no_decision(console, deals):
    ravi = console("ravi")
    [task] = deals["ravi"].get(f"/api/v1/tasks?record_id={deals['record_id']}").get_json()["items"]
    page = ravi.get(f"/console/tasks/{task['id']}")
    assert page.status_code == 200 and not DECISION.search(text(page))
    refused = ravi.post(f"/console/tasks/{task['id']}/decide", {"decision": "approve"})
    assert refused.status_code == 409 and "not part of a record" in text(refused)
