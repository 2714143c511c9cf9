"""The instance page's additions: how many times each element was entered, on the diagram; setting and
deleting a variable with a JSON value (the instance-variable use case, audited in the history)."""
from __future__ import annotations

import html as htmllib
import json
import re

import pytest

from config import TestConfig

from ..factories import fixture
from .conftest import text

ADMIN = ("admin", TestConfig.ADMIN_PASSWORD)


def badges(page) -> dict:
    found = re.search(r'data-badges="([^"]*)"', text(page))
    return json.loads(htmllib.unescape(found.group(1))) if found else {}


def field(page, dom_id: str) -> str:
    html = text(page)
    start = html.rfind('<div class="field', 0, html.index(f'id="{dom_id}"'))
    return html[start:html.index("</div>", start)]


def history(page) -> str:
    return text(page).split('id="history"')[1].split("</ol>")[0]


@pytest.fixture
def reworked(admin, make):
    """A rework_loop instance whose draft was rejected twice: waiting at `draft` for the third time."""
    make.user("sam", groups=["staff"])
    admin.deploy(fixture("valid", "rework_loop.bpmn"))
    started = admin.start("rework_loop")
    for _ in range(2):
        [task] = admin.instance(started["id"])["tasks"]
        admin.complete(task["id"], {"approved": False})
    return started["id"]


def test_each_element_carries_how_many_times_it_was_entered(console, reworked):
    page = console(*ADMIN).get(f"/console/admin/instances/{reworked}")

    assert page.status_code == 200
    assert badges(page) == {"start": [{"text": "1×", "kind": "info"}], "draft": [{"text": "3×", "kind": "info"}],
                            "approved_gateway": [{"text": "2×", "kind": "info"}]}


def test_setting_a_variable_to_a_json_value_is_recorded_in_the_history(console, reworked, admin):
    session = console(*ADMIN)
    url = f"/console/admin/instances/{reworked}"

    done = session.post(f"{url}/variables", {"name": "note", "value": '{"by": "ops", "items": [1, 2]}'})

    assert (done.status_code, done.headers["Location"]) == (302, f"{url}#variables-heading")
    assert admin.instance(reworked)["variables"]["note"] == {"by": "ops", "items": [1, 2]}
    page = session.get(url)
    assert "Variable note set." in text(page)
    assert "changed the variables: <code>note</code> = <code>" in history(page)
    [event] = [e for e in admin.get(f"/api/v1/process-instances/{reworked}/history").get_json()["items"]
               if e["type"] == "variables_updated"]
    assert (event["user"], event["data"]) == ("admin", {"note": {"by": "ops", "items": [1, 2]}})


def test_deleting_a_variable(console, reworked, admin):
    session = console(*ADMIN)
    url = f"/console/admin/instances/{reworked}"
    session.post(f"{url}/variables", {"name": "note", "value": "7"})

    done = session.post(f"{url}/variables", {"name": "note", "value": "", "action": "delete"})

    assert done.status_code == 302
    assert "note" not in admin.instance(reworked)["variables"]
    assert "<code>note</code> deleted" in history(session.get(url))


@pytest.mark.parametrize("form, dom_id, message", [
    ({"name": "note", "value": "{not json"}, "variable-value", "not JSON"),
    ({"name": "note", "value": "null"}, "variable-value", "null deletes the variable"),
    ({"name": " ", "value": "1"}, "variable-name", "required"),
], ids=["not-json", "null", "no-name"])
def test_bad_input_is_shown_beside_its_field_and_changes_nothing(console, reworked, admin, form, dom_id, message):
    before = admin.instance(reworked)["variables"]

    page = console(*ADMIN).post(f"/console/admin/instances/{reworked}/variables", form)

    assert page.status_code == 400
    block = field(page, dom_id)
    assert 'class="error"' in block and message in block
    assert htmllib.escape(form["value"], quote=False) in field(page, "variable-value")  # what was typed is kept
    assert admin.instance(reworked)["variables"] == before


def test_an_ended_instance_has_no_variable_form_and_a_post_is_the_services_409(console, admin):
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    started = admin.start("failing_script", {"divisor": 5})
    assert admin.post(f"/api/v1/process-instances/{started['id']}/cancel", json={"reason": "x"}).status_code == 200
    session = console(*ADMIN)

    page = session.get(f"/console/admin/instances/{started['id']}")
    refused = session.post(f"/console/admin/instances/{started['id']}/variables", {"name": "divisor", "value": "2"})

    assert 'id="variable-form"' not in text(page)
    assert refused.status_code == 409 and "cancelled" in text(refused)
    assert admin.instance(started["id"])["variables"]["divisor"] == 5


def test_a_plain_user_and_a_post_without_the_csrf_token_change_nothing(console, reworked, olga, admin):
    url = f"/console/admin/instances/{reworked}/variables"

    assert console("olga").post(url, {"name": "note", "value": "1"}).status_code == 403
    no_token = console(*ADMIN).post(url, {"name": "note", "value": "1"}, csrf=False)

    assert no_token.status_code == 400 and "cannot be accepted" in text(no_token)
    assert "note" not in admin.instance(reworked)["variables"]
