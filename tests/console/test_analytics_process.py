"""A process's analyses beside its heat map: bottlenecks, gateway branches and durations in their tables, the
event log as CSV and XES downloads; who may see them, and bad choices. The numbers are those computed by the
test from the scenario's rows (tests/api/analytics_data.py), each looked for in its own cell."""
from __future__ import annotations

import datetime as dt
import html as htmllib
import re

import pytest

from app.console.admin_definitions import _duration
from config import TestConfig

from ..api import analytics_data as data
from .conftest import text

PAGES = "/console/analytics/case_sla"


@pytest.fixture
def admin_console(console):
    return console("admin", TestConfig.ADMIN_PASSWORD)


def row(page, row_id: str) -> str:
    body = text(page)
    start = body.index(f'<tr id="{row_id}"')
    return body[start:body.index("</tr>", start)]


def cell(page, row_id: str, column: str) -> str:
    """The text of the cell of class `column` in the row `row_id`."""
    found = re.search(rf'<td data-label="[^"]*" class="{column}">(.*?)</td>', row(page, row_id), re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def shown(ms: int | None) -> str:
    return _duration(ms / 1000 if ms is not None else None)


def test_bottlenecks_rank_elements_and_time_each_candidate_group(admin_console, case_sla):
    _, made = case_sla
    page = admin_console.get(f"{PAGES}/bottlenecks")

    assert page.status_code == 200
    expected = data.expected_bottlenecks(data.rows_of(made), dt.datetime.now(dt.timezone.utc))
    assert re.findall(r'<tr id="rank-([^"]+)"', text(page)) == [e["element_id"] for e in expected["elements"]]
    for e in expected["elements"]:
        rank = f"rank-{e['element_id']}"
        assert (cell(page, rank, "completed"), cell(page, rank, "p50"), cell(page, rank, "p90"),
                cell(page, rank, "score")) == (str(e["completed"]), shown(e["p50_ms"]), shown(e["p90_ms"]),
                                               shown(e["score_ms"]))
    assert set(re.findall(r'<tr id="group-([^"]+)"', text(page))) == {"resolve_case-support", "resolve_case-tier2"}
    for (element_id, group), want in expected["human"].items():
        at = f"group-{element_id}-{group}"
        assert (cell(page, at, "tasks"), cell(page, at, "claimed")) == (str(want["tasks"]), str(want["claimed"]))
        for column in ("queue_p50", "queue_p90", "work_p50", "work_p90"):
            assert cell(page, at, column.replace("_", "-")) == shown(want[f"{column}_ms"]), (at, column)
    sla = expected["sla"]["resolve_case"]
    assert [cell(page, "sla-resolve_case", c) for c in ("with-due-date", "completed-late", "open-overdue", "breached")
            ] == [str(sla["with_due_date"]), str(sla["completed_late"]), str(sla["open_overdue"]),
                  str(sla["completed_late"] + sla["open_overdue"])]
    assert sla["completed_late"] > 0 and sla["open_overdue"] > 0  # the case_sla breaches both ways
    for timer, fired in expected["fired"].items():
        assert cell(page, f"escalation-{timer}", "fired") == str(fired)
        assert "<code>resolve_case</code>" in row(page, f"escalation-{timer}")
    assert expected["fired"]["four_hours_unresolved"] > expected["fired"]["eight_hours_unresolved"] > 0


def test_gateway_branches_show_each_flow_its_target_and_how_its_instances_stand(admin_console, case_sla):
    _, made = case_sla
    page = admin_console.get(f"{PAGES}/gateways?version=1")

    assert page.status_code == 200
    for (gateway, flow), want in data.expected_branches(data.rows_of(made)).items():
        at = f"branch-{gateway}-{flow}"
        assert (cell(page, at, "taken"), cell(page, at, "instances")) == (str(want["taken"]), str(want["instances"]))
        assert f"<code>{data.FLOW_TARGETS[(gateway, flow)]}</code>" in row(page, at)
        outcomes = re.findall(r'data-status="([^"]*)" data-end="([^"]*)">.*?<b>(\d+)</b>', row(page, at))
        assert {(status, end or None): int(n) for status, end, n in outcomes} == want["outcomes"], at
    assert cell(page, "branch-case_outcome-flow_resolved", "taken") == "5"  # the case_sla takes both branches
    assert cell(page, "branch-reply_or_seven_days-flow_wait_to_reply", "taken") == "0"  # drawn, never taken


def test_durations_per_version_by_status_and_end_event(admin_console, case_sla):
    _, made = case_sla
    page = admin_console.get(f"{PAGES}/durations")

    assert page.status_code == 200
    want = data.expected_durations(made)
    assert cell(page, "version-1", "instances") == str(want["instances"])
    for status, n in want["by_status"].items():
        assert cell(page, "version-1", f"status-{status}") == str(n)
    assert (cell(page, "version-1", "p50"), cell(page, "version-1", "p90")) == (
        shown(want["p50_ms"]), shown(want["p90_ms"]))
    for end, (n, p50, p90) in want["end_events"].items():
        assert [cell(page, f"end-1-{end}", c) for c in ("completed", "p50", "p90")] == [str(n), shown(p50), shown(p90)]
    assert "every version" in text(page)


def test_the_heat_map_leads_to_each_analysis_for_the_same_version_and_period(admin_console, case_sla):
    page = admin_console.get(f"{PAGES}/heat-map?version=1&days=7")

    tabs = text(page)[text(page).index('aria-label="Analyses"'):]
    for path in ("heat-map", "bottlenecks", "gateways", "durations"):
        assert f'href="{PAGES}/{path}?version=1&amp;days=7"' in tabs
    for kind in ("csv", "xes"):
        assert f'href="{PAGES}/event-log.{kind}?version=1&amp;days=7"' in text(page)
    assert 'aria-current="page">Heat map<' in tabs
    assert 'aria-current="page">Bottlenecks<' in text(admin_console.get(f"{PAGES}/bottlenecks?version=1&days=7"))


def test_the_event_log_downloads_are_the_apis_log(admin, admin_console, case_sla):
    for kind, media in (("csv", "text/csv"), ("xes", "application/xml")):
        download = admin_console.get(f"{PAGES}/event-log.{kind}")

        assert download.status_code == 200
        assert download.mimetype == media
        assert download.headers["Content-Disposition"] == f'attachment; filename="case_sla.{kind}"'
        assert text(download) == text(admin.get(f"/api/v1/analytics/event-log?key=case_sla&format={kind}"))


def test_the_event_log_of_a_period_has_the_instances_started_in_it(clock, console, case_sla):
    _, made = case_sla
    clock.shift(dt.timedelta(days=-5))  # the last seven days are now those of cases 8 to 11
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)

    lines = text(console("admin", TestConfig.ADMIN_PASSWORD).get(f"{PAGES}/event-log.csv?days=7")).splitlines()

    assert {line.split(",")[0] for line in lines[1:]} == {c.id for c in made if c.started >= since}
    assert len({c.id for c in made if c.started >= since}) == 4


def test_the_analyses_need_the_analytics_permission(console, make, case_sla):
    make.user("reader")
    make.grant(["read", "start"], "process", "case_sla", user="reader")
    make.user("analyst")
    make.grant("analytics", "process", "case_sla", user="analyst")
    paths = ("bottlenecks", "gateways", "durations", "event-log.csv", "event-log.xes")

    for path in paths:
        refused = console("reader").get(f"{PAGES}/{path}")
        assert refused.status_code == 403, path
        assert "analytics" in text(refused)
        assert console("analyst").get(f"{PAGES}/{path}").status_code == 200, path
    assert console("analyst").get("/console/analytics/other/durations").status_code == 403  # granted on case_sla only


@pytest.mark.parametrize("query, status", [
    ("days=5", 400), ("version=x", 400), ("version=0", 400), ("version=²", 400), ("version=99999999999", 400), ("version=9", 404)])
def test_bad_choices_are_error_pages(admin_console, case_sla, query, status):
    for path in ("bottlenecks", "gateways", "durations", "event-log.csv"):
        page = admin_console.get(f"{PAGES}/{path}?{query}")
        assert page.status_code == status, (path, query)
    assert admin_console.get(f"{PAGES}/event-log.pdf").status_code == 404
