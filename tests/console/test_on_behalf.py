"""Completing a task on behalf of its assignee or a candidate, from the task page (admins, with a reason)."""
from __future__ import annotations

from config import TestConfig

from .conftest import text

ADMIN = ("admin", TestConfig.ADMIN_PASSWORD)


def field(page, dom_id: str) -> str:
    html = text(page)
    start = max(html.rfind('<div class="field', 0, html.index(f'id="{dom_id}"')),
                html.rfind('<fieldset class="field', 0, html.index(f'id="{dom_id}"') + 1))
    end = min(i for i in (html.find("</div>", start), html.find("</fieldset>", start)) if i != -1)
    return html[start:end]


def url(discount) -> str:
    return f"/console/tasks/{discount['task_id']}/complete-on-behalf"


def state(admin, discount) -> dict:
    return admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()


def test_only_admins_see_the_on_behalf_form(console, discount):
    assert 'id="on-behalf"' in text(console(*ADMIN).get(f"/console/tasks/{discount['task_id']}"))
    assert 'id="on-behalf"' not in text(console("maria").get(f"/console/tasks/{discount['task_id']}"))


def test_an_admin_completes_for_a_candidate_and_the_history_shows_both_and_why(console, discount, admin):
    session = console(*ADMIN)

    done = session.post(url(discount), {"approved": "true", "comment": "ok by phone", "on_behalf_of": "maria",
                                        "on_behalf_reason": "maria is travelling"})

    assert (done.status_code, done.headers["Location"]) == (302, f"/console/admin/instances/{discount['instance_id']}")
    task = state(admin, discount)
    assert (task["state"], task["completed_by"], task["assignee"]) == ("completed", "admin", "maria")
    assert admin.instance(discount["instance_id"])["variables"]["approval_status"] == "approved"
    page = session.get(done.headers["Location"])
    assert "“Approve discount” is completed on behalf of maria." in text(page)
    history = text(page).split('id="history"')[1].split("</ol>")[0]
    completed = history.index("task completed <strong>Approve discount</strong>")
    behalf = history.index("completed <strong>Approve discount</strong> on behalf of <strong>maria</strong>: "
                           "maria is travelling")
    assert completed < behalf
    assert history[history.rfind('<span class="who">', 0, behalf):behalf].count(">admin<") == 1


def test_a_missing_reason_or_a_user_the_task_is_not_for_is_shown_beside_its_field(console, discount, admin, olga):
    session = console(*ADMIN)

    no_reason = session.post(url(discount), {"approved": "true", "comment": "kept", "on_behalf_of": "maria"})
    not_hers = session.post(url(discount), {"approved": "true", "on_behalf_of": "olga", "on_behalf_reason": "x"})

    assert no_reason.status_code == 400
    assert '<p class="error" id="behalf-reason-error">required</p>' in field(no_reason, "behalf-reason")
    assert 'value="maria"' in field(no_reason, "behalf-on_behalf_of")
    assert 'value="kept"' in field(no_reason, "f-comment")  # the form's values are kept
    assert not_hers.status_code == 400
    assert "olga is not a candidate of this task" in field(not_hers, "behalf-on_behalf_of")
    assert state(admin, discount)["state"] == "open"


def test_the_form_is_checked_as_for_any_completion(console, discount, admin):
    refused = console(*ADMIN).post(url(discount), {"comment": "no decision", "on_behalf_of": "maria",
                                                   "on_behalf_reason": "travelling"})

    assert refused.status_code == 400
    assert '<p class="error" id="f-approved-error">required</p>' in field(refused, "f-approved")
    assert "travelling" in field(refused, "behalf-reason")
    assert state(admin, discount)["state"] == "open"


def test_a_candidate_herself_gets_403_and_a_post_without_the_csrf_token_is_refused(console, discount, admin):
    form = {"approved": "true", "on_behalf_of": "maria", "on_behalf_reason": "me"}

    refused = console("maria").post(url(discount), form)
    no_token = console(*ADMIN).post(url(discount), form, csrf=False)

    assert refused.status_code == 403 and "only an admin may complete a task on behalf" in text(refused).lower()
    assert no_token.status_code == 400 and "cannot be accepted" in text(no_token)
    assert state(admin, discount)["state"] == "open"
