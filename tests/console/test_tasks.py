"""The task page: its form and the services' answers to it, its record, its diagram; delegation."""
from __future__ import annotations

import json
import re

from ..factories import fixture
from .conftest import text


def field_block(page, dom_id: str) -> str:
    """The HTML of one form control's block (label, input, error), found by the control's id."""
    html = text(page)
    start = html.rfind('<div class="field', 0, html.index(f'id="{dom_id}"'))
    fieldset = html.rfind('<fieldset class="field', 0, html.index(f'id="{dom_id}"') + 1)
    start = max(start, fieldset)
    end = min(i for i in (html.find("</div>", start), html.find("</fieldset>", start)) if i != -1)
    return html[start:end]


def test_the_task_page_shows_its_form_record_timeline_and_diagram(console, discount):
    page = console("maria").get(f"/console/tasks/{discount['task_id']}")
    assert page.status_code == 200
    html = text(page)
    assert "<h1>Approve discount</h1>" in html
    assert "Approve the discount?" in html and 'name="approved" value="true"' in html
    assert 'id="f-comment" name="comment"' in html
    assert f'href="/console/records/Deals/{discount["record_id"]}">Zylker fleet</a>' in html
    assert "started process <strong>discount_approval</strong>" in html  # the record's timeline
    assert f'data-diagram-url="/console/tasks/{discount["task_id"]}/diagram.bpmn"' in html
    assert 'data-highlight="approve_discount"' in html


def test_the_diagram_is_served_to_those_who_may_read_the_task(console, discount, olga):
    task = discount["task_id"]
    diagram = console("maria").get(f"/console/tasks/{task}/diagram.bpmn")
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    assert b'<bpmn:userTask id="approve_discount"' in diagram.data
    assert console("olga").get(f"/console/tasks/{task}/diagram.bpmn").status_code == 404


def test_another_user_gets_404_for_the_task_and_cannot_complete_it(console, discount, olga, admin):
    olga_session = console("olga")
    task = discount["task_id"]
    page = olga_session.get(f"/console/tasks/{task}")
    assert page.status_code == 404 and "<h1>Not found" in text(page)
    assert olga_session.post(f"/console/tasks/{task}/complete", {"approved": "true"}).status_code == 404
    assert admin.get(f"/api/v1/tasks/{task}").get_json()["state"] == "open"


def test_complete_with_a_validation_error_then_corrected(console, discount, admin):
    maria = console("maria")
    task = discount["task_id"]
    assert maria.post(f"/console/tasks/{task}/claim").status_code == 302
    refused = maria.post(f"/console/tasks/{task}/complete", {"comment": "good customer"})
    assert refused.status_code == 400  # as the API answers
    approved = field_block(refused, "f-approved")
    assert '<p class="error" id="f-approved-error">required</p>' in approved
    assert 'value="good customer"' in field_block(refused, "f-comment")  # what was typed is kept
    assert admin.get(f"/api/v1/tasks/{task}").get_json()["state"] == "open"  # nothing half-done

    done = maria.post(f"/console/tasks/{task}/complete", {"approved": "true", "comment": "good customer"})
    assert (done.status_code, done.headers["Location"]) == (302, "/console/jobs")
    assert "“Approve discount” is completed." in text(maria.get("/console/jobs"))
    instance = admin.instance(discount["instance_id"])
    assert instance["status"] == "completed"
    assert instance["variables"]["approval_status"] == "approved"
    assert instance["variables"]["comment"] == "good customer"


def test_a_value_of_the_wrong_type_is_named_beside_its_field(console, admin, make):
    admin.deploy(fixture("valid", "start_form.bpmn"))
    make.user("alice")
    refused = console("alice").post("/console/start/start_form", {"amount": "lots"})
    assert refused.status_code == 400
    assert "&#39;lots&#39; is not of type &#39;integer&#39;" in field_block(refused, "f-amount")
    assert 'value="lots"' in field_block(refused, "f-amount")


def test_someone_else_completing_first_is_a_409(console, discount, make, admin):
    make.user("mia", groups=["sales_managers"])
    maria, mia = console("maria"), console("mia")
    page = maria.get(f"/console/tasks/{discount['task_id']}")  # maria opens the form ...
    assert page.status_code == 200
    assert mia.post(f"/console/tasks/{discount['task_id']}/complete", {"approved": "false"}).status_code == 302
    late = maria.post(f"/console/tasks/{discount['task_id']}/complete", {"approved": "true"})  # ... and sends it
    assert late.status_code == 409
    assert "It changed since you opened the page" in text(late) and "Task is completed." in text(late)
    assert admin.instance(discount["instance_id"])["variables"]["approval_status"] == "rejected"


def test_a_completed_task_shows_who_completed_it_and_no_form(console, discount):
    maria = console("maria")
    maria.post(f"/console/tasks/{discount['task_id']}/complete", {"approved": "true"})
    page = text(maria.get(f"/console/tasks/{discount['task_id']}"))
    assert "This task is completed by maria" in page
    assert 'id="task-form"' not in page


def test_a_camunda_form_is_rendered_by_form_js_and_checked_on_the_server(console, admin, make):
    admin.deploy(fixture("valid", "camunda_form_invoice.bpmn"), fixture("valid", "camunda_form_invoice.form"))
    make.user("alice")
    started = admin.start("invoice_form", {"amount": 250})
    task = started["tasks"][0]["id"]
    admin.post(f"/api/v1/tasks/{task}/delegate", json={"user": "alice"})
    alice = console("alice")
    page = alice.get(f"/console/tasks/{task}")
    html = text(page)
    schema = json.loads(re.search(r'<script type="application/json" id="formjs-schema">(.*?)</script>', html, re.S)[1])
    assert schema["id"] == "invoice_approval_form"
    assert json.loads(re.search(r'id="formjs-data">(.*?)</script>', html, re.S)[1]) == {"amount": 250}
    assert "vendor/form-js/form-viewer.umd.js" in html

    refused = alice.post(f"/console/tasks/{task}/complete",
                         {"variables": json.dumps({"amount": -1, "creditor": {"name": "A"}, "approved": True})})
    assert refused.status_code == 400
    assert "<code>amount</code>: -1 is less than the minimum of 0" in text(refused)
    assert "<code>creditor.name</code>" in text(refused)
    assert json.loads(re.search(r'id="formjs-data">(.*?)</script>', text(refused), re.S)[1])["amount"] == -1

    done = alice.post(f"/console/tasks/{task}/complete",
                      {"variables": json.dumps({"amount": 250, "creditor": {"name": "ACME"}, "approved": True})})
    assert done.status_code == 302
    assert admin.instance(started["id"])["variables"]["creditor"] == {"name": "ACME"}


def test_form_data_that_is_not_json_is_refused(console, admin, make):
    admin.deploy(fixture("valid", "camunda_form_invoice.bpmn"), fixture("valid", "camunda_form_invoice.form"))
    make.user("alice")
    task = admin.start("invoice_form", {"amount": 250})["tasks"][0]["id"]
    admin.post(f"/api/v1/tasks/{task}/delegate", json={"user": "alice"})
    refused = console("alice").post(f"/console/tasks/{task}/complete", {"variables": "{not json"})
    assert refused.status_code == 400 and "not valid JSON" in text(refused)


def test_delegate_to_another_user(console, discount, make, admin):
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.users import set_disabled

    make.user("mia", groups=["sales_managers"])
    make.user("gone")
    with make.app.app_context():
        set_disabled("gone", True, SYSTEM)
        db.session.remove()
    maria = console("maria")
    url = f"/console/tasks/{discount['task_id']}/delegate"
    unknown = maria.post(url, {"user": "nobody"})
    assert unknown.status_code == 404  # the API's answers, beside the field
    assert '<p class="error" id="delegate-error">no user nobody</p>' in text(unknown)
    assert 'value="nobody"' in text(unknown)
    disabled = maria.post(url, {"user": "gone"})
    assert disabled.status_code == 400 and "is disabled" in text(disabled)
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["assignee"] is None
    handed = maria.post(url, {"user": "mia"})
    assert handed.status_code == 302
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["assignee"] == "mia"


def test_delegating_a_task_one_may_not_work_on_is_refused_as_the_api_refuses_it(console, discount, olga, admin):
    refused = console("olga").post(f"/console/tasks/{discount['task_id']}/delegate", {"user": "olga"})
    api = admin.client.post(f"/api/v1/tasks/{discount['task_id']}/delegate", json={"user": "olga"},
                            headers={"Authorization": f"Bearer {admin.login(admin.app, 'olga', 'secret').token}"})
    assert refused.status_code == api.status_code == 404  # not hers to read: to her it does not exist
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["assignee"] is None
