"""The console's Path Finder and funnel pages: what they show for the records of a period, the htmx part
they swap when the question changes, the header link for admins and analytics grants, and the 403 page."""
from __future__ import annotations

import datetime as dt

from config import TestConfig

from .conftest import text


def _leads(admin):
    assert admin.put("/api/v1/modules/Leads/conversion-goal", json={
        "field": "lead_status", "value": "Converted", "lost": ["Lost"]}).status_code == 200
    ids = []
    for name in ("a", "b"):
        ids.append(admin.post("/api/v1/modules/Leads/records", json={"last_name": name}).get_json()["id"])
        admin.post(f"/api/v1/modules/Leads/records/{ids[-1]}/touchpoints", json={"type": "email_replied"})
        admin.post(f"/api/v1/modules/Leads/records/{ids[-1]}/touchpoints",
                   json={"type": "meeting_logged", "data": {"name": "Demo"}})
    admin.patch(f"/api/v1/modules/Leads/records/{ids[0]}", json={"lead_status": "Converted"})
    return ids


def test_path_finder_and_funnel_pages_show_the_period_of_a_module(app, clock, admin, console, make):
    _leads(admin)
    page = console("admin", TestConfig.ADMIN_PASSWORD)
    paths = text(page.get("/console/analytics/paths?module=Leads"))
    assert "<strong>2</strong> records, <strong>1</strong> converted" in paths
    assert "<td data-label=\"From\">email_replied</td><td data-label=\"To\">meeting_logged: Demo</td>" in paths
    assert "email_replied → meeting_logged: Demo" in paths and "50%" in paths
    assert 'href="/console/analytics/paths"' in text(page.get("/console/jobs"))  # the header link
    swapped = text(page.get("/console/analytics/paths?module=Leads&from=2000-01-01&to=2000-01-31",
                            htmx=True, headers={"HX-Target": "analytics-results"}))
    assert "<h1>" not in swapped and "No records entered this period." in swapped
    funnel = text(page.get("/console/analytics/funnel?module=Leads"))
    assert "<th scope=\"col\">Qualified</th>" in funnel and "<th scope=\"col\">Lost</th>" not in funnel
    month = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")
    assert f"<th scope=\"row\">{month}</th>" in funnel
    assert page.get("/console/analytics/paths?module=Leads&from=someday").status_code == 400
    for edge in ("to=9999-12-31", "to=0001-01-01", "from=0001-01-01&to=0001-01-02"):  # past the dates one can count
        assert page.get(f"/console/analytics/paths?module=Leads&{edge}").status_code == 400, edge
        assert page.get(f"/console/analytics/funnel?module=Leads&{edge}").status_code == 400, edge
    # without a module asked for, the first one with a conversion goal (Accounts has none)
    assert "email_replied" in text(page.get("/console/analytics/paths"))


def test_the_pages_are_for_admins_and_analytics_grants(app, clock, admin, console, make):
    _leads(admin)
    make.user("olga")
    olga = console("olga")
    assert 'href="/console/analytics/paths"' not in text(olga.get("/console/jobs"))
    assert olga.get("/console/analytics/paths?module=Leads").status_code == 403
    make.grant("analytics", "module", "Leads", user="olga")
    assert 'href="/console/analytics/paths"' in text(olga.get("/console/jobs"))
    assert "<strong>2</strong> records" in text(olga.get("/console/analytics/paths"))  # her one module


def test_without_any_conversion_goal_the_page_says_so_and_nothing_about_a_change(admin, console):
    answer = console("admin", TestConfig.ADMIN_PASSWORD).get("/console/analytics/paths")
    assert answer.status_code == 409 and "has no conversion goal" in text(answer)
    assert "It changed since you opened the page" not in text(answer)  # a setting missing, not a change
