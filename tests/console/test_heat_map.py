"""The heat map page: the diagram's badges and heat classes per element, flow frequencies, the tables; who may
see it. The numbers are those of the analytics service over the scenario's rows (tests/api/analytics_data.py)."""
from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re


from config import TestConfig

from ..api import analytics_data as data
from .conftest import text

PAGE = "/console/analytics/case_sla/heat-map"


def data_attribute(page, name: str) -> dict:
    found = re.search(rf'data-{name}="([^"]*)"', text(page))
    return json.loads(htmllib.unescape(found.group(1))) if found else {}


def test_counts_go_on_the_elements_and_frequencies_on_the_flows(console, case_sla):
    definition_id, made = case_sla
    page = console("admin", TestConfig.ADMIN_PASSWORD).get(PAGE)

    assert page.status_code == 200
    elements, flows = data.expected_heat(data.rows_of(made))
    badges, markers = data_attribute(page, "badges"), data_attribute(page, "markers")
    top = max(e["count"] for e in elements.values())
    for element_id, e in elements.items():
        assert badges[element_id] == [{"text": str(e["count"]), "kind": "heat"}]
        assert markers[element_id] == f"heat-{max(1, -(-5 * e['count'] // top))}"
    for flow_id, taken in flows.items():
        assert badges[flow_id] == [{"text": f"{taken}×", "kind": "flow"}]
    assert "customer_replied" not in badges and "flow_wait_to_reply" not in badges  # never reached
    assert f'data-diagram-url="/console/analytics/definitions/{definition_id}/diagram.bpmn"' in text(page)
    row = text(page)[text(page).index('id="heat-resolve_case"'):]
    assert f'class="count">{elements["resolve_case"]["count"]}<' in row[:row.index("</tr>")]


def test_colour_by_median_and_a_period(console, case_sla):
    _, made = case_sla
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    page = session.get(f"{PAGE}?measure=p50")
    recent = session.get(f"{PAGE}?days=7")

    assert data_attribute(page, "badges")["seven_days_silent"] == [{"text": "7 d", "kind": "heat"}]
    assert data_attribute(page, "markers")["seven_days_silent"] == "heat-5"
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)
    elements, _ = data.expected_heat(data.rows_of(made, started_from=since))
    assert {k: v[0]["text"] for k, v in data_attribute(recent, "badges").items() if v[0]["kind"] == "heat"} == {
        k: str(e["count"]) for k, e in elements.items()}


def test_the_page_and_its_diagram_need_the_analytics_permission(console, make, case_sla):
    definition_id, _ = case_sla
    make.user("reader")
    make.grant("read", "process", "case_sla", user="reader")
    make.user("analyst")
    make.grant("analytics", "process", "case_sla", user="analyst")

    assert console("reader").get(PAGE).status_code == 403
    assert console("reader").get(f"/console/analytics/definitions/{definition_id}/diagram.bpmn").status_code == 403
    assert console("analyst").get(PAGE).status_code == 200
    assert console("analyst").get(f"/console/analytics/definitions/{definition_id}/diagram.bpmn").status_code == 200
    assert console("analyst").get(f"{PAGE}?measure=nonsense").status_code == 400
