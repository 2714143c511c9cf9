"""The Definition page: a process version's diagram with badges per element, its elements' numbers, its versions."""
from __future__ import annotations

import datetime as dt
import io
import html as htmllib
import json
import re

import pytest

from config import TestConfig

from ..factories import fixture
from .conftest import text

PAGE = "/console/admin/processes/three_tasks/definition"


def data_attribute(page, name: str) -> dict:
    found = re.search(rf'data-{name}="([^"]*)"', text(page))
    return json.loads(htmllib.unescape(found.group(1))) if found else {}


def row(page, row_id: str) -> str:
    html = text(page)
    start = html.index(f'id="{row_id}"')
    return html[start:html.index("</tr>", start)]


@pytest.fixture
def three(clock, admin):
    """three_tasks, deployed twice (versions 1 and 2): on version 2, two instances wait at task_a and one moved on
    to task_b after 90 seconds at task_a."""
    original = fixture("valid", "three_tasks.bpmn").read_bytes()
    changed = original.replace(b'name="Task C"', b'name="Task C, checked"')
    for content, name in ((original, "deploy-one"), (original, "deploy-again"), (changed, "deploy-two")):
        deployed = admin.post(f"/api/v1/deployments?name={name}", content_type="multipart/form-data",
                              data={"files": [(io.BytesIO(content), "three_tasks.bpmn")]})
        assert deployed.status_code == 201, deployed.get_json()
    ids = [admin.start("three_tasks")["id"] for _ in range(3)]
    clock.shift(dt.timedelta(seconds=90))
    [task] = admin.instance(ids[0])["tasks"]
    admin.complete(task["id"])
    return ids


def test_the_diagram_carries_badges_and_markers_per_element_and_links_elements_to_their_instances(console, three):
    page = console("admin", TestConfig.ADMIN_PASSWORD).get(PAGE)

    assert page.status_code == 200
    badges = data_attribute(page, "badges")
    assert badges["task_a"] == [{"text": "2", "kind": "active"}, {"text": "1", "kind": "completed"}]
    assert badges["task_b"] == [{"text": "1", "kind": "active"}]
    assert "task_c" not in badges and badges["start"] == [{"text": "3", "kind": "completed"}]
    assert data_attribute(page, "markers") == {"task_a": "marker-active", "task_b": "marker-active"}
    html = text(page)
    definition_id = re.search(r'data-diagram-url="/console/admin/definitions/(\w+)/diagram.bpmn"', html).group(1)
    assert 'data-element-url="/console/admin/instances?key=three_tasks&amp;activity={id}"' in html
    diagram = console("admin", TestConfig.ADMIN_PASSWORD).get(f"/console/admin/definitions/{definition_id}/diagram.bpmn")
    assert diagram.status_code == 200 and b"Task C, checked" in diagram.data


def test_the_element_table_gives_counts_links_and_times(console, three):
    page = console("admin", TestConfig.ADMIN_PASSWORD).get(PAGE)

    task_a = row(page, "element-task_a")
    assert re.search(r'class="count-waiting"><a href="/console/admin/instances\?key=three_tasks&amp;activity=task_a">2</a>', task_a)
    assert 'class="count-completed">1<' in task_a
    assert 'class="p50">1 min 30 s<' in task_a and 'class="avg">1 min 30 s<' in task_a
    assert 'class="p50">—<' in row(page, "element-task_c")


def test_versions_switch_and_list_their_deployments(console, three):
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    latest = text(session.get(PAGE))
    first = session.get(f"{PAGE}?version=1")

    assert "version 2" in latest and "(latest)" in latest
    versions = latest[latest.index('id="versions"'):]
    assert versions.index(">deploy-two<") < versions.index(">deploy-one<")  # newest first
    assert "admin" in versions and f'href="{PAGE}?version=1"' in versions
    assert ">deploy-again<" not in versions  # the same content again made no version
    assert first.status_code == 200 and "version 1" in text(first)
    assert data_attribute(first, "badges") == {}  # version 1 has no instances
    assert session.get(f"{PAGE}?version=7").status_code == 404
    assert session.get("/console/admin/processes/nope/definition").status_code == 404


def test_the_processes_page_links_each_process_to_its_definition(console, three):
    page = text(console("admin", TestConfig.ADMIN_PASSWORD).get("/console/admin/processes"))
    assert f'href="{PAGE}" class="definition-link"' in page


def test_the_definition_page_is_for_admins(console, olga, three):
    session = console("olga")
    assert session.get(PAGE).status_code == 403
    assert session.get("/console/admin/definitions/x/diagram.bpmn").status_code == 403
