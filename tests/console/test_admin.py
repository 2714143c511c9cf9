"""The admin pages: processes at a glance, instances, one instance and its repairs, open incidents."""
from __future__ import annotations

import html as htmllib
import json
import re

import pytest

from config import TestConfig

from ..factories import fixture
from .conftest import text

PAGES = ("/console/admin/processes", "/console/admin/instances", "/console/admin/incidents")


@pytest.fixture
def failed(admin):
    """A failing_script instance in error: `result = 100 / divisor` with divisor 0."""
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    return admin.start("failing_script", {"divisor": 0})


def markers(page) -> dict:
    """The diagram's markers on an instance page: {element id: CSS class}."""
    found = re.search(r'data-markers="([^"]*)"', text(page))
    return json.loads(htmllib.unescape(found.group(1))) if found else {}


def row(page, row_id: str) -> str:
    html = text(page)
    start = html.index(f'id="{row_id}"')
    return html[start:html.index("</tr>", start)]


def repair_forms(page) -> list[str]:
    return re.findall(r'class="repair repair-(\w+)"', text(page))


@pytest.mark.parametrize("url", PAGES)
def test_admin_pages_are_refused_to_a_plain_user(console, olga, failed, url):
    page = console("olga").get(url)
    assert page.status_code == 403
    assert "this page is for admins" in text(page).lower()


def test_the_instance_page_and_its_repairs_are_refused_to_a_plain_user(console, olga, failed, admin):
    olga_session = console("olga")
    assert olga_session.get(f"/console/admin/instances/{failed['id']}").status_code == 403
    assert olga_session.get(f"/console/admin/instances/{failed['id']}/diagram.bpmn").status_code == 403
    assert olga_session.post(f"/console/admin/instances/{failed['id']}/cancel", {"reason": "x"}).status_code == 403
    assert admin.instance(failed["id"])["status"] == "error"


def test_admin_links_are_in_the_header_for_admins_only(console, olga):
    assert 'href="/console/admin/processes"' in text(console("admin", TestConfig.ADMIN_PASSWORD).get("/console/jobs"))
    assert 'href="/console/admin/processes"' not in text(console("olga").get("/console/jobs"))


def test_processes_counts_running_error_suspended_incidents_tasks_and_completed(console, admin, failed, make):
    make.user("sam", groups=["staff"])
    ok = admin.start("failing_script", {"divisor": 5})  # running, waiting at "after"
    done = admin.start("failing_script", {"divisor": 2})
    paused = admin.start("failing_script", {"divisor": 1})
    [task] = admin.instance(done["id"])["tasks"]
    admin.complete(task["id"], {})
    assert admin.post(f"/api/v1/process-instances/{paused['id']}/suspend", json={"reason": "hold"}).status_code == 200

    page = console("admin", TestConfig.ADMIN_PASSWORD).get("/console/admin/processes")

    assert page.status_code == 200
    cells = dict(re.findall(r'class="count-(\w+)">(?:<a [^>]*>)?(?:<span [^>]*>)?(\d+)', row(page, "process-failing_script")))
    assert cells == {"running": "1", "error": "1", "suspended": "1", "incidents": "1", "tasks": "2", "completed": "1"}
    assert ok["status"] == "running"


def test_instances_list_filters_by_key_status_and_activity(console, admin, failed):
    running = admin.start("failing_script", {"divisor": 5})
    session = console("admin", TestConfig.ADMIN_PASSWORD)

    errors = text(session.get("/console/admin/instances?key=failing_script&status=error"))
    waiting = text(session.get("/console/admin/instances?activity=after"))
    other = text(session.get("/console/admin/instances?key=nothing_like_it"))

    assert failed["id"] in errors and running["id"] not in errors
    assert running["id"] in waiting and failed["id"] not in waiting
    assert "No instances match." in other


def test_the_instance_page_shows_diagram_incident_variables_history_and_allowed_repairs(console, failed):
    page = console("admin", TestConfig.ADMIN_PASSWORD).get(f"/console/admin/instances/{failed['id']}")

    assert page.status_code == 200
    html = text(page)
    assert f'data-diagram-url="/console/admin/instances/{failed["id"]}/diagram.bpmn"' in html
    assert markers(page).get("compute") == "marker-incident"
    assert 'class="open-incident"' in html and "division" in html
    assert "<code>divisor</code>" in html
    assert "started" in text(page).split('id="history"')[1]
    assert repair_forms(page) == ["retry", "suspend", "cancel"]  # no resume: it is not suspended
    diagram = console("admin", TestConfig.ADMIN_PASSWORD).get(f"/console/admin/instances/{failed['id']}/diagram.bpmn")
    assert diagram.status_code == 200 and b'id="compute"' in diagram.data


def test_retry_from_the_instance_page_repairs_the_instance_and_clears_the_marker(console, admin, app, failed):
    from app.extensions import db
    from app.services import instances
    from app.services.core import SYSTEM

    session = console("admin", TestConfig.ADMIN_PASSWORD)
    before = session.get(f"/console/admin/instances/{failed['id']}")
    assert markers(before).get("compute") == "marker-incident"
    with app.app_context():
        instances.change_variables(failed["id"], {"divisor": 4}, SYSTEM)
        db.session.remove()

    retried = session.post(f"/console/admin/instances/{failed['id']}/retry")

    assert retried.status_code == 302
    assert admin.instance(failed["id"])["status"] == "running"
    after = session.get(retried.headers["Location"])
    assert "it is now running" in text(after)
    assert "marker-incident" not in markers(after).values()
    assert markers(after).get("after") == "marker-active"
    assert 'class="open-incident"' not in text(after) and 'class="resolved-incident"' in text(after)
    assert "retry" not in repair_forms(after)


def test_retry_without_a_fix_fails_again_and_keeps_the_marker(console, admin, failed):
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    retried = session.post(f"/console/admin/instances/{failed['id']}/retry")
    after = session.get(retried.headers["Location"])
    assert "it is now error" in text(after)
    assert markers(after).get("compute") == "marker-incident"


def test_suspend_resume_and_cancel_with_a_reason(console, admin, failed):
    running = admin.start("failing_script", {"divisor": 5})
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    url = f"/console/admin/instances/{running['id']}"

    assert session.post(f"{url}/suspend", {"reason": "customer on holiday"}).status_code == 302
    suspended = session.get(url)
    assert admin.instance(running["id"])["status"] == "suspended"
    assert repair_forms(suspended) == ["resume", "cancel"]
    assert "customer on holiday" in text(suspended).split('id="history"')[1]

    assert session.post(f"{url}/resume", {"reason": "back"}).status_code == 302
    assert admin.instance(running["id"])["status"] == "running"

    assert session.post(f"{url}/cancel", {"reason": "duplicate deal"}).status_code == 302
    cancelled = session.get(url)
    assert admin.instance(running["id"])["status"] == "cancelled"
    assert repair_forms(cancelled) == [] and "cannot be changed" in text(cancelled)
    assert "duplicate deal" in text(cancelled).split('id="history"')[1]


def test_a_repair_the_status_does_not_allow_shows_the_services_refusal(console, admin):
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    running = admin.start("failing_script", {"divisor": 5})

    refused = console("admin", TestConfig.ADMIN_PASSWORD).post(f"/console/admin/instances/{running['id']}/resume", {"reason": "no"})

    assert refused.status_code == 409
    assert "cannot resume an instance that is running" in text(refused).lower()
    assert admin.instance(running["id"])["status"] == "running"


def test_a_repair_without_the_csrf_token_is_refused(console, admin, failed):
    refused = console("admin", TestConfig.ADMIN_PASSWORD).post(f"/console/admin/instances/{failed['id']}/cancel", {"reason": "x"}, csrf=False)

    assert refused.status_code == 400 and "cannot be accepted" in text(refused)
    assert admin.instance(failed["id"])["status"] == "error"


def test_incidents_are_grouped_by_process_element_and_message_with_a_link_to_their_instances(console, admin, failed):
    second = admin.start("failing_script", {"divisor": 0})
    admin.start("failing_script", {})  # NameError: another message, another group
    session = console("admin", TestConfig.ADMIN_PASSWORD)

    page = session.get("/console/admin/incidents")

    assert page.status_code == 200
    html = text(page)
    groups = re.findall(r'<a href="([^"]+)">(\d+) instances?</a>', html)
    assert sorted(n for _, n in groups) == ["1", "2"]
    link = htmllib.unescape(next(href for href, n in groups if n == "2"))
    listed = text(session.get(link))
    assert failed["id"] in listed and second["id"] in listed


def test_the_instance_monitor_caps_its_count_and_says_at_least(console, admin, failed, monkeypatch):
    """At a million instances an exact count is most of the page's time: past the cap it says "or more"."""
    import app.services.core.pagination as pagination

    for divisor in range(1, 5):
        admin.start("failing_script", {"divisor": divisor})
    monkeypatch.setattr(pagination, "TOTAL_CAP", 3)
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    capped = text(session.get("/console/admin/instances"))
    assert "(3+)" in capped and "All 3+ that match this filter" in capped
    exact = text(session.get("/console/admin/instances?status=error"))
    assert "All 1 that match this filter" in exact
