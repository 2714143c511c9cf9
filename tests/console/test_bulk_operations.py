"""Bulk operations on the Instances page: the selected instances, or all that match the filter, then a result
per instance. Posted with the page's CSRF token to the service behind the batch API."""
from __future__ import annotations

import re

import pytest

from config import TestConfig

from ..factories import fixture
from .conftest import text

LIST = "/console/admin/instances"
BATCH = "/console/admin/instances/bulk"


@pytest.fixture
def scripts(admin):
    """failing_script: two instances running (waiting at "after"), one in error."""
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    running = [admin.start("failing_script", {"divisor": 5})["id"] for _ in range(2)]
    failed = admin.start("failing_script", {"divisor": 0})["id"]
    return {"running": running, "failed": failed}


def outcome(page, instance_id: str) -> str:
    html = text(page)
    start = html.index(f'id="outcome-{instance_id}"')
    return html[start:html.index("</tr>", start)]


def test_the_list_offers_a_labelled_checkbox_per_row_and_the_operations(console, scripts):
    html = text(console("admin", TestConfig.ADMIN_PASSWORD).get(f"{LIST}?key=failing_script"))

    for instance_id in scripts["running"] + [scripts["failed"]]:
        assert f'name="instance_id" value="{instance_id}" id="select-{instance_id}" aria-label="Select instance {instance_id}"' in html
    assert '<form id="bulk" method="post" action="/console/admin/instances/bulk">' in html
    assert re.search(r'name="csrf_token" value="[^"]+"', html.split('id="bulk"')[1])
    assert '<label for="bulk-operation-name">Operation</label>' in html and '<label for="bulk-reason">Reason</label>' in html
    assert "All 3 that match this filter" in html
    assert '<input type="hidden" name="filter_key" value="failing_script">' in html


def test_cancelling_the_selected_instances_shows_an_outcome_for_each(console, admin, scripts):
    first, second = scripts["running"]
    session = console("admin", TestConfig.ADMIN_PASSWORD)

    page = session.post(BATCH, {"operation": "cancel", "scope": "selected", "reason": "duplicates",
                                "instance_id": [first, scripts["failed"]], "filter_key": "failing_script"})

    assert page.status_code == 200
    assert "2 done, 0 refused" in text(page)
    assert "cancelled" in outcome(page, first) and "done" in outcome(page, first)
    assert admin.instance(first)["status"] == "cancelled" and admin.instance(scripts["failed"])["status"] == "cancelled"
    assert admin.instance(second)["status"] == "running"
    assert 'href="/console/admin/instances?key=failing_script"' in text(page)


def test_a_refused_instance_is_its_own_row_and_the_others_go_on(console, admin, scripts):
    first, second = scripts["running"]
    page = console("admin", TestConfig.ADMIN_PASSWORD).post(BATCH, {
        "operation": "retry", "scope": "selected", "instance_id": [first, scripts["failed"]]})

    assert "2 done" not in text(page) and "1 done, 1 refused" in text(page)
    refused = outcome(page, first)
    assert "refused (409)" in refused and "cannot retry an instance that is running" in refused
    assert "error" in outcome(page, scripts["failed"])  # retried, and failed again


def test_all_that_match_the_filter(console, admin, scripts):
    page = console("admin", TestConfig.ADMIN_PASSWORD).post(BATCH, {
        "operation": "suspend", "scope": "filter", "filter_key": "failing_script", "filter_status": "running",
        "instance_id": [scripts["failed"]]})  # the checkboxes do not count when the filter is chosen

    assert "2 done, 0 refused" in text(page)
    assert [admin.instance(i)["status"] for i in scripts["running"]] == ["suspended", "suspended"]
    assert admin.instance(scripts["failed"])["status"] == "error"


def test_a_batch_the_service_refuses_changes_nothing_and_says_why(console, admin, scripts, monkeypatch):
    from app.services import bulk

    session = console("admin", TestConfig.ADMIN_PASSWORD)
    nothing = session.post(BATCH, {"operation": "cancel", "scope": "selected", "filter_key": "failing_script"})
    assert nothing.status_code == 302 and nothing.headers["Location"] == f"{LIST}?key=failing_script"
    assert "Nothing was changed: name or select at least one instance." in text(session.get(nothing.headers["Location"]))

    no_operation = session.post(BATCH, {"scope": "selected", "instance_id": scripts["running"]})
    assert "choose one of retry" in text(session.get(no_operation.headers["Location"]))

    monkeypatch.setattr(bulk, "MAX_INSTANCES", 2)
    too_many = session.post(BATCH, {"operation": "cancel", "scope": "filter", "filter_key": "failing_script"})
    assert "the filter matches 3 instances" in text(session.get(too_many.headers["Location"]))
    assert {admin.instance(i)["status"] for i in scripts["running"]} == {"running"}


def test_bulk_operations_need_the_csrf_token_and_an_admin(console, admin, olga, scripts):
    first = scripts["running"][0]
    refused = console("admin", TestConfig.ADMIN_PASSWORD).post(
        BATCH, {"operation": "cancel", "scope": "selected", "instance_id": [first]}, csrf=False)
    assert refused.status_code == 400
    assert console("olga").post(BATCH, {"operation": "cancel", "scope": "selected",
                                        "instance_id": [first]}).status_code == 403
    assert admin.instance(first)["status"] == "running"
