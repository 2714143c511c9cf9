"""Process analytics at their edges, on Leads (no blueprint: converted and lost by updates of lead_status):
the conversion goal's checks, an empty period, records with one touchpoint or none, ties between variants,
conversion and loss by an update, bad parameters (400) and no goal (409)."""
from __future__ import annotations

import datetime as dt

import pytest
from config import TestConfig

from ..factories import ApiClient, assert_problem

GOAL = {"field": "lead_status", "value": "Converted", "lost": ["Lost"]}


@pytest.fixture
def leads(app, clock, admin):
    assert admin.put("/api/v1/modules/Leads/conversion-goal", json=GOAL).status_code == 200
    return admin


def _lead(api: ApiClient, name: str, **fields) -> str:
    response = api.post("/api/v1/modules/Leads/records", json={"last_name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _touch(api: ApiClient, lead: str, kind: str, **data) -> None:
    response = api.post(f"/api/v1/modules/Leads/records/{lead}/touchpoints", json={"type": kind, "data": data})
    assert response.status_code == 201, response.get_json()


def _window(start: dt.datetime, end: dt.datetime) -> str:
    return f"from={start.isoformat()}&to={end.isoformat()}".replace("+", "%2B")


def test_the_conversion_goal_is_set_read_and_removed_by_admins_and_checked(leads):
    goal = leads.get("/api/v1/modules/Leads/conversion-goal").get_json()
    assert (goal["field"], goal["value"], goal["lost"], goal["criteria"], goal["updated_by"]) == (
        "lead_status", "Converted", ["Lost"], "lead_status == 'Converted'", "admin")
    bad = assert_problem(leads.put("/api/v1/modules/Leads/conversion-goal", json={
        "field": "lead_status", "value": "Won", "lost": ["Gone", "Won"]}), 400)
    assert set(bad["errors"]) == {"value", "lost"}
    assert "field" in assert_problem(leads.put("/api/v1/modules/Leads/conversion-goal", json={
        "field": "employees", "value": "3"}), 400)["errors"]
    assert "field" in assert_problem(leads.put("/api/v1/modules/Leads/conversion-goal", json={"value": "x"}), 400)[
        "errors"]
    assert_problem(leads.put("/api/v1/modules/Nope/conversion-goal", json=GOAL), 404)
    assert leads.delete("/api/v1/modules/Leads/conversion-goal").status_code == 204
    assert_problem(leads.get("/api/v1/modules/Leads/conversion-goal"), 404)
    assert_problem(leads.delete("/api/v1/modules/Leads/conversion-goal"), 404)
    assert assert_problem(leads.get("/api/v1/modules/Leads/path-finder"), 409)["type"] == "/problems/no-conversion-goal"
    assert_problem(leads.get("/api/v1/modules/Leads/funnel"), 409)


def test_an_empty_period_answers_zeros(leads):
    now = dt.datetime.now(dt.timezone.utc)
    _lead(leads, "Outside")  # created now: after the period below
    window = _window(now - dt.timedelta(days=10), now - dt.timedelta(days=5))
    answer = leads.get(f"/api/v1/modules/Leads/path-finder?{window}").get_json()
    assert (answer["records"], answer["converted"], answer["conversion_rate"], answer["nodes"], answer["edges"]) == (
        0, 0, None, [], [])
    assert answer["variants"] == {"collapsed": False, "distinct": 0, "limit": 10, "items": []}
    assert answer["drop_offs"]["counts"] == {"lost": 0, "cancelled": 0, "idle": 0, "open": 0}
    funnel = leads.get(f"/api/v1/modules/Leads/funnel?{window}").get_json()
    assert funnel["stages"] == ["New", "Contacted", "Qualified", "Converted"]  # the picklist, Lost left out
    assert funnel["cohorts"] == [] and funnel["overall"]["records"] == 0
    assert funnel["overall"]["time_to_convert"] == {"median_seconds": None, "p90_seconds": None}


def test_ties_one_touchpoint_records_and_conversion_and_loss_by_update(app, clock, leads):
    start = dt.datetime.now(dt.timezone.utc)
    # two variants taken by two records each: the one with more conversions first; then a tie of 1 and 1
    # decided by the steps alphabetically ("call_logged" before "email_replied")
    a, b, c, d = (_lead(leads, n) for n in "abcd")
    for lead in (a, b):
        _touch(leads, lead, "email_replied")
    for lead in (c, d):
        _touch(leads, lead, "webinar_attended", name="Pricing")
    clock.shift(dt.timedelta(hours=2))
    for lead in (a, b):
        _touch(leads, lead, "call_logged")
    for lead in (c, d):
        _touch(leads, lead, "call_logged")
    clock.shift(dt.timedelta(hours=1))
    assert leads.patch(f"/api/v1/modules/Leads/records/{c}", json={"lead_status": "Converted"}).status_code == 200
    assert leads.patch(f"/api/v1/modules/Leads/records/{a}", json={"lead_status": "Lost"}).status_code == 200
    one, none = _lead(leads, "one"), _lead(leads, "none")
    _touch(leads, one, "email_replied")
    _touch(leads, _lead(leads, "solo"), "call_logged")
    clock.shift(dt.timedelta(minutes=1))
    answer = leads.get(f"/api/v1/modules/Leads/path-finder?{_window(start, start + dt.timedelta(days=1))}").get_json()
    assert [(v["steps"], v["records"], v["converted"]) for v in answer["variants"]["items"]] == [
        (["webinar_attended: Pricing", "call_logged"], 2, 1),
        (["email_replied", "call_logged"], 2, 0),
        ([], 1, 0),
        (["call_logged"], 1, 0),
        (["email_replied"], 1, 0),
    ]
    assert answer["variants"]["items"][0]["conversion_rate"] == 0.5
    assert answer["edges"] == [
        {"from": "email_replied", "to": "call_logged", "count": 2, "median_seconds": 7200.0},
        {"from": "webinar_attended: Pricing", "to": "call_logged", "count": 2, "median_seconds": 7200.0}]
    assert (answer["records"], answer["converted"]) == (7, 1)
    assert answer["drop_offs"]["counts"] == {"lost": 1, "cancelled": 0, "idle": 0, "open": 5}
    assert answer["drop_offs"]["items"] == [{"reason": "lost", "last_step": "call_logged", "records": 1}]
    later = leads.get(f"/api/v1/modules/Leads/path-finder?{_window(start, start + dt.timedelta(days=1))}&idle_days=1")
    assert later.get_json()["drop_offs"]["counts"]["open"] == 5  # nothing has been quiet for a day yet
    clock.shift(dt.timedelta(days=2))
    leads = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)  # tokens live 12 hours
    idle = leads.get(f"/api/v1/modules/Leads/path-finder?{_window(start, start + dt.timedelta(days=1))}&idle_days=1")
    assert idle.get_json()["drop_offs"]["items"] == [
        {"reason": "idle", "last_step": "call_logged", "records": 3},  # most records first, then by reason
        {"reason": "lost", "last_step": "call_logged", "records": 1},  # (lost, cancelled, idle), then step
        {"reason": "idle", "last_step": None, "records": 1},
        {"reason": "idle", "last_step": "email_replied", "records": 1}]
    funnel = leads.get(f"/api/v1/modules/Leads/funnel?{_window(start, start + dt.timedelta(days=1))}").get_json()
    assert [(s["stage"], s["reached"]) for s in funnel["overall"]["stages"]] == [
        ("New", 1), ("Contacted", 1), ("Qualified", 1), ("Converted", 1)]  # only c set a stage: Converted
    assert funnel["overall"]["time_to_convert"] == {"median_seconds": 10800.0, "p90_seconds": 10800.0}
    assert none


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"),
    ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
    ("from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
    ("anchor=modified", "anchor"),
    ("variants=0", "variants"),
    ("variants=101", "variants"),
    ("idle_days=-3", "idle_days"),
    ("collapse=perhaps", "collapse"),
    ("to=0001-01-02T00:00:00Z", "from"),  # no default period of 90 days fits before it
])
def test_bad_parameters_are_400_problems_naming_the_parameter(leads, query, field):
    body = assert_problem(leads.get(f"/api/v1/modules/Leads/path-finder?{query}"), 400)
    assert field in str(body.get("errors")), body


def test_a_period_before_the_first_countable_date_is_a_400_for_the_funnel_too(leads):
    body = assert_problem(leads.get("/api/v1/modules/Leads/funnel?to=0001-01-02T00:00:00Z"), 400)
    assert "from" in str(body.get("errors")), body
