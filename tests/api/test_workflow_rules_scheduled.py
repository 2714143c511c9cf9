"""Workflow rules that wait, assign owners, fill templates and report failures, through HTTP.

Time-driven scenarios run on one server and across a restart (`server`): every HTTP call reloads
the instance's state, and the restarted server fires the timers from the stored jobs. The clock is
frozen at the real now and moved; tests log in again after each move (tokens age with the clock).
"""
from __future__ import annotations

import datetime as dt

import pytest

from ..factories import ApiClient, assert_problem
from ..timing import next_at

RULES = "/api/v1/workflow-rules"
DEALS = "/api/v1/modules/Deals/records"
SECOND = dt.timedelta(seconds=1)


def _rule(admin: ApiClient, rule: dict) -> dict:
    response = admin.post(RULES, json=rule)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _deal(client: ApiClient, **fields) -> dict:
    response = client.post(DEALS, json={"deal_name": "Mega", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _patch(client: ApiClient, deal: dict, **fields) -> None:
    response = client.patch(f"{DEALS}/{deal['id']}", json=fields)
    assert response.status_code == 200, response.get_json()


def _todos(admin: ApiClient, deal: dict) -> list[dict]:
    """The to-dos created on the record, as its timeline lists them."""
    return [e["data"] for e in _timeline(admin, deal) if e["type"] == "task_created"]


def _subjects(admin: ApiClient, deal: dict) -> list[str]:
    return sorted(t["subject"] for t in _todos(admin, deal))


def _instances(admin: ApiClient, deal: dict) -> list[dict]:
    return admin.get(f"/api/v1/process-instances?record_id={deal['id']}").get_json()["items"]


def _timeline(admin: ApiClient, deal: dict) -> list[dict]:
    return admin.get(f"{DEALS}/{deal['id']}/timeline?per_page=100").get_json()["items"]


def _travel(server, clock, moment: dt.datetime) -> ApiClient:
    """Move the clock, restart (when the scenario restarts), log in again, fire what is due."""
    clock.move_to(moment)
    server.restart()
    server.login()
    server.fire()
    return server.admin


def _renewal(**date) -> dict:
    return {"name": "renewal reminder", "module": "Deals", "event": "date",
            "date": {"field": "closing_date", "days": -7, "time": "09:00", **date},
            "actions": [{"type": "task", "subject": "Renewal of {{ deal_name }} in a week"}]}


@pytest.fixture
def start(clock):
    """08:00 UTC on a day ahead: the day's 09:00 is one hour away."""
    moment = next_at(8)
    clock.move_to(moment)
    return moment


# -- date-based rules -------------------------------------------------------------------------------------

def test_a_date_rule_fires_at_its_moment_and_not_before(server, clock, start):
    admin = server.login()
    _rule(admin, _renewal())
    closing = (start + dt.timedelta(days=10)).date()
    due = dt.datetime.combine(closing - dt.timedelta(days=7), dt.time(9), tzinfo=dt.timezone.utc)
    deal = _deal(admin, closing_date=closing.isoformat())
    [waiting] = _instances(admin, deal)
    assert waiting["status"] == "running" and waiting["key"] == "rule_renewal_reminder"

    admin = _travel(server, clock, due - dt.timedelta(minutes=1))
    assert _subjects(admin, deal) == []

    admin = _travel(server, clock, due + SECOND)
    assert _subjects(admin, deal) == ["Renewal of Mega in a week"]
    assert [i["status"] for i in _instances(admin, deal)] == ["completed"]
    admin = _travel(server, clock, due + dt.timedelta(days=400))
    assert _subjects(admin, deal) == ["Renewal of Mega in a week"]  # once: it does not repeat


def test_a_moved_date_cancels_the_wait_and_schedules_the_new_moment(server, clock, start):
    admin = server.login()
    _rule(admin, _renewal())
    first = (start + dt.timedelta(days=10)).date()
    deal = _deal(admin, closing_date=first.isoformat())
    [old] = _instances(admin, deal)

    later = first + dt.timedelta(days=10)
    _patch(admin, deal, closing_date=later.isoformat())
    statuses = {i["id"]: i["status"] for i in _instances(admin, deal)}
    assert statuses[old["id"]] == "cancelled" and sorted(statuses.values()) == ["cancelled", "running"]
    cancelled = [e for e in _timeline(admin, deal) if e["type"] == "rule_cancelled"]
    assert cancelled and cancelled[0]["data"]["reason"] == "closing_date changed"

    old_due = dt.datetime.combine(first - dt.timedelta(days=7), dt.time(9), tzinfo=dt.timezone.utc)
    admin = _travel(server, clock, old_due + SECOND)
    assert _subjects(admin, deal) == []
    new_due = dt.datetime.combine(later - dt.timedelta(days=7), dt.time(9), tzinfo=dt.timezone.utc)
    admin = _travel(server, clock, new_due + SECOND)
    assert _subjects(admin, deal) == ["Renewal of Mega in a week"]


def test_a_record_that_stops_matching_is_not_reminded_and_matching_again_schedules_anew(server, clock, start):
    admin = server.login()
    _rule(admin, dict(_renewal(), criteria="amount > 1000"))
    closing = (start + dt.timedelta(days=10)).date()
    deal = _deal(admin, closing_date=closing.isoformat(), amount=5000)
    assert [i["status"] for i in _instances(admin, deal)] == ["running"]

    _patch(admin, deal, amount=10)
    assert [i["status"] for i in _instances(admin, deal)] == ["cancelled"]
    _patch(admin, deal, stage="Negotiation")  # still not matching: nothing starts
    assert [i["status"] for i in _instances(admin, deal)] == ["cancelled"]
    _patch(admin, deal, amount=7000)
    assert sorted(i["status"] for i in _instances(admin, deal)) == ["cancelled", "running"]

    due = dt.datetime.combine(closing - dt.timedelta(days=7), dt.time(9), tzinfo=dt.timezone.utc)
    admin = _travel(server, clock, due + SECOND)
    assert _subjects(admin, deal) == ["Renewal of Mega in a week"]


def test_a_date_already_past_does_not_fire_late(server, clock, start):
    admin = server.login()
    _rule(admin, _renewal())
    deal = _deal(admin, closing_date=(start + dt.timedelta(days=3)).date().isoformat())  # 7 days before: past

    assert _instances(admin, deal) == []
    admin = _travel(server, clock, start + dt.timedelta(days=30))
    assert _subjects(admin, deal) == []


def test_a_yearly_rule_fires_on_each_anniversary(server, clock, start):
    admin = server.login()
    _rule(admin, {"name": "anniversary", "module": "Deals", "event": "date",
                  "date": {"field": "closing_date", "time": "09:00", "repeat": "yearly"},
                  "actions": [{"type": "task", "subject": "Anniversary of {{ deal_name }}"}]})
    closing = (start - dt.timedelta(days=400)).date()  # in the past: the next anniversary counts
    deal = _deal(admin, closing_date=closing.isoformat())
    anniversaries = []
    for year in range(start.year, start.year + 4):
        try:
            day = closing.replace(year=year)
        except ValueError:  # 29 February
            day = dt.date(year, 2, 28)
        moment = dt.datetime.combine(day, dt.time(9), tzinfo=dt.timezone.utc)
        if moment > start:
            anniversaries.append(moment)

    for n, moment in enumerate(anniversaries[:2], start=1):
        admin = _travel(server, clock, moment - dt.timedelta(minutes=1))
        assert len(_subjects(admin, deal)) == n - 1
        admin = _travel(server, clock, moment + SECOND)
        assert _subjects(admin, deal) == ["Anniversary of Mega"] * n
    [instance] = _instances(admin, deal)
    assert instance["status"] == "running"  # waiting for the next anniversary


def test_a_monthly_rule_with_a_datetime_offset_in_hours(server, clock, start):
    admin = server.login()
    _rule(admin, {"name": "monthly", "module": "Deals", "event": "date",
                  "date": {"field": "closing_date", "days": 1, "hours": -2, "time": "10:00",
                           "timezone": "Europe/Berlin", "repeat": "monthly"},
                  "actions": [{"type": "task", "subject": "Monthly check"}]})
    closing = (start + dt.timedelta(days=2)).date()
    deal = _deal(admin, closing_date=closing.isoformat())
    from zoneinfo import ZoneInfo
    berlin = ZoneInfo("Europe/Berlin")
    first = dt.datetime.combine(closing + dt.timedelta(days=1), dt.time(8), tzinfo=berlin)  # 10:00 - 2 h
    admin = _travel(server, clock, first.astimezone(dt.timezone.utc) - dt.timedelta(minutes=1))
    assert _subjects(admin, deal) == []
    admin = _travel(server, clock, first.astimezone(dt.timezone.utc) + SECOND)
    assert _subjects(admin, deal) == ["Monthly check"]
    month = closing.month % 12 + 1
    year = closing.year + (closing.month == 12)
    import calendar
    day = dt.date(year, month, min(closing.day, calendar.monthrange(year, month)[1]))
    second = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), tzinfo=berlin)
    admin = _travel(server, clock, second.astimezone(dt.timezone.utc) + SECOND)
    assert _subjects(admin, deal) == ["Monthly check", "Monthly check"]


# -- scheduled actions ------------------------------------------------------------------------------------

def test_a_scheduled_action_runs_its_days_after_the_trigger(server, clock, start):
    admin = server.login()
    _rule(admin, {"name": "follow up", "module": "Deals", "event": "create", "actions": [
        {"type": "task", "subject": "Welcome {{ deal_name }}"},
        {"type": "task", "subject": "Follow up on {{ deal_name }}", "schedule": {"days": 2, "hours": 3}}]})
    deal = _deal(admin)
    assert _subjects(admin, deal) == ["Welcome Mega"]

    admin = _travel(server, clock, start + dt.timedelta(days=2, hours=3) - dt.timedelta(minutes=1))
    assert _subjects(admin, deal) == ["Welcome Mega"]
    admin = _travel(server, clock, start + dt.timedelta(days=2, hours=3) + SECOND)
    assert _subjects(admin, deal) == ["Follow up on Mega", "Welcome Mega"]
    assert [i["status"] for i in _instances(admin, deal)] == ["completed"]


def test_a_scheduled_action_before_a_date_field_and_one_already_past(server, clock, start):
    admin = server.login()
    _rule(admin, {"name": "before closing", "module": "Deals", "event": "create", "actions": [
        {"type": "task", "subject": "Closing tomorrow", "schedule": {"field": "closing_date", "days": -1,
                                                                      "time": "09:00"}},
        {"type": "task", "subject": "Too late", "schedule": {"field": "closing_date", "days": -30}}]})
    closing = (start + dt.timedelta(days=5)).date()
    deal = _deal(admin, closing_date=closing.isoformat())
    due = dt.datetime.combine(closing - dt.timedelta(days=1), dt.time(9), tzinfo=dt.timezone.utc)

    admin = _travel(server, clock, due - dt.timedelta(minutes=1))
    assert _subjects(admin, deal) == []
    admin = _travel(server, clock, due + SECOND)
    assert _subjects(admin, deal) == ["Closing tomorrow"]  # the past one was skipped, never run late
    assert [i["status"] for i in _instances(admin, deal)] == ["completed"]


def test_a_scheduled_action_is_cancelled_when_the_record_stops_matching(server, clock, start):
    admin = server.login()
    _rule(admin, {"name": "big follow up", "module": "Deals", "event": "create", "criteria": "amount > 1000",
                  "actions": [{"type": "task", "subject": "Follow up", "schedule": {"days": 1}}]})
    kept = _deal(admin, amount=5000)
    dropped = _deal(admin, amount=5000)
    _patch(admin, dropped, amount=5)

    admin = _travel(server, clock, start + dt.timedelta(days=1, seconds=1))
    assert _subjects(admin, kept) == ["Follow up"]
    assert _subjects(admin, dropped) == []
    assert [i["status"] for i in _instances(admin, dropped)] == ["cancelled"]
    assert [e["data"]["reason"] for e in _timeline(admin, dropped) if e["type"] == "rule_cancelled"] == [
        "the record no longer matches the rule's criteria"]


# -- assign owner -----------------------------------------------------------------------------------------

def test_round_robin_assignment_is_fair_and_in_turn(admin, make):
    for name in ("rep_a", "rep_b", "rep_c"):
        make.user(name, groups=["reps"])
    _rule(admin, {"name": "spread deals", "module": "Deals", "event": "create",
                  "actions": [{"type": "assign_owner", "group": "reps"}]})

    owners = [admin.get(f"{DEALS}/{_deal(admin)['id']}").get_json()["owner"] for _ in range(6)]

    assert owners == ["rep_a", "rep_b", "rep_c", "rep_a", "rep_b", "rep_c"]


def test_assignment_to_a_user_and_by_a_field_value(admin, make):
    for name in ("eva", "dora", "max"):
        make.user(name)
    _rule(admin, {"name": "lead routing", "module": "Leads", "event": "create", "actions": [
        {"type": "assign_owner", "field": "region", "mapping": {"EU": "eva"}, "default": "dora"}]})
    _rule(admin, {"name": "big deals to max", "module": "Deals", "event": "create", "criteria": "amount > 100",
                  "actions": [{"type": "assign_owner", "user": "max"}]})

    def lead(region):
        response = admin.post("/api/v1/modules/Leads/records", json={"last_name": "L", "region": region})
        assert response.status_code == 201, response.get_json()
        return admin.get(f"/api/v1/modules/Leads/records/{response.get_json()['id']}").get_json()["owner"]

    assert (lead("EU"), lead("NA")) == ("eva", "dora")
    assert admin.get(f"{DEALS}/{_deal(admin, amount=500)['id']}").get_json()["owner"] == "max"
    assert admin.get(f"{DEALS}/{_deal(admin, amount=5)['id']}").get_json()["owner"] == "admin"


# -- templates --------------------------------------------------------------------------------------------

def test_templates_fill_fields_the_owner_and_related_records(admin, make):
    olga = make.client("olga", email="olga@example.com")
    account = olga.post("/api/v1/modules/Accounts/records", json={"account_name": "Zylker Corp"}).get_json()
    _rule(admin, {"name": "call buyer", "module": "Deals", "event": "create", "actions": [
        {"type": "task", "subject": "Call the buyer of {{ deal_name }}"},
        {"type": "task", "subject": "{{ account.account_name }}: {{ owner }} <{{ owner.email }}>"},
        {"type": "email", "to": "owner", "subject": "{{ deal_name }} for {{ account.account_name }}",
         "body": "Owner {{ owner }}, account {{ account }}"}]})

    deal = _deal(olga, account=account["id"])

    assert _subjects(admin, deal) == ["Call the buyer of Mega", "Zylker Corp: olga <olga@example.com>"]
    [email] = admin.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["items"]
    assert email["payload"]["subject"] == "Mega for Zylker Corp"
    assert email["payload"]["body"] == f"Owner olga, account {account['id']}"


# -- failures ---------------------------------------------------------------------------------------------

def test_a_failed_action_is_on_the_timeline_tells_the_author_and_is_retried(app, make):
    rita = make.client("rita", admin=True, email="rita@example.com")
    host = rita.post("/api/v1/outbound-hosts", json={"pattern": "hooks.example.com"}).get_json()
    _rule(rita, {"name": "notify", "module": "Deals", "event": "create", "actions": [
        {"type": "task", "subject": "Look at {{ deal_name }}"},
        {"type": "webhook", "url": "https://hooks.example.com/deals"}]})
    assert rita.delete(f"/api/v1/outbound-hosts/{host['id']}").status_code == 204

    deal = _deal(rita)

    [instance] = _instances(rita, deal)
    assert instance["status"] == "error"
    [failed] = [e for e in _timeline(rita, deal) if e["type"] == "rule_failed"]
    assert failed["data"]["rule"] == "notify" and failed["data"]["action"] == 2
    assert failed["data"]["action_type"] == "webhook" and "hooks.example.com" in failed["data"]["error"]
    assert [t["owner"] for t in _todos(rita, deal)
            if t["subject"] == "Workflow rule 'notify': action 2 (webhook) failed"] == ["rita"]
    emails = [m for m in rita.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["items"]
              if m["kind"] == "email"]
    assert [m["payload"]["to"] for m in emails] == [["rita@example.com"]]

    assert rita.post("/api/v1/outbound-hosts", json={"pattern": "hooks.example.com"}).status_code == 201
    response = rita.post(f"/api/v1/process-instances/{instance['id']}/retry")
    assert response.status_code == 200, response.get_json()

    assert rita.instance(instance["id"])["status"] == "completed"
    kinds = sorted(m["kind"] for m in rita.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["items"])
    assert kinds == ["email", "webhook"]
    assert "Look at Mega" in _subjects(rita, deal)


# -- refusals ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "key"), [
    ({"date": None}, "date"),
    ({"date": {"field": "amount"}}, "date.field"),
    ({"date": {"field": "colour"}}, "date.field"),
    ({"date": {"field": "closing_date", "time": "25:00"}}, "date.time"),
    ({"date": {"field": "closing_date", "timezone": "Mars/Olympus"}}, "date.timezone"),
    ({"date": {"field": "closing_date", "repeat": "weekly"}}, "date.repeat"),
    ({"date": {"field": "closing_date", "days": 99999}}, "date.days"),
    ({"date": {"field": "closing_date", "minutes": 5}}, "date.minutes"),
    ({"event": "create", "date": {"field": "closing_date"}}, "date"),
    ({"actions": [{"type": "task", "subject": "s", "schedule": {"days": 0}}]}, "actions[0].schedule.days"),
    ({"actions": [{"type": "task", "subject": "s", "schedule": {"days": -2}}]}, "actions[0].schedule.days"),
    ({"actions": [{"type": "task", "subject": "s", "schedule": {"field": "stage", "days": 1}}]},
     "actions[0].schedule.field"),
    ({"actions": [{"type": "task", "subject": "s", "schedule": {"days": 1, "time": "09:00"}}]},
     "actions[0].schedule.time"),
    ({"date": {"field": "closing_date", "repeat": "yearly"},
      "actions": [{"type": "task", "subject": "s", "schedule": {"days": 1}}]}, "date.repeat"),
    ({"actions": [{"type": "assign_owner", "user": "ghost"}]}, "actions[0].user"),
    ({"actions": [{"type": "assign_owner", "group": "nobody"}]}, "actions[0].group"),
    ({"actions": [{"type": "assign_owner"}]}, "actions[0].type"),
    ({"actions": [{"type": "assign_owner", "field": "stage"}]}, "actions[0].mapping"),
    ({"actions": [{"type": "assign_owner", "field": "stage", "mapping": {"Closing": "ghost"}}]},
     "actions[0].mapping"),
    ({"actions": [{"type": "task", "subject": "{{ broken"}]}, "actions[0].subject"),
], ids=["no-date", "not-a-date-field", "unknown-field", "bad-time", "bad-timezone", "bad-repeat", "too-many-days",
        "unknown-key", "date-on-create", "schedule-now", "schedule-before-trigger", "schedule-non-date-field",
        "schedule-time-without-field", "repeat-with-schedule", "unknown-owner", "empty-group", "no-way",
        "field-without-mapping", "mapping-to-ghost", "bad-task-template"])
def test_a_bad_rule_is_a_400_naming_the_field_and_nothing_is_created(admin, change, key):
    rule = dict(_renewal(), **change)

    body = assert_problem(admin.post(RULES, json=rule), 400)

    assert list(body["errors"]) == [key], body["errors"]
    assert admin.get(RULES).get_json()["total"] == 0
    assert admin.get("/api/v1/process-definitions").get_json()["total"] == 0


# -- the shipped examples ---------------------------------------------------------------------------------

def test_the_shipped_reminders_and_follow_up_run(app, server, clock, start):
    import json

    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import apply_manifest
    from app.services.workflow_rules import apply_manifest_rules

    from ..factories import shipped

    admin = server.login()
    for folder in ("electronics", "zylker", "rules"):
        files = [p for p in sorted(shipped(folder).iterdir()) if p.suffix in {".bpmn", ".dmn", ".json"}
                 and p.name != "stagecoach.json"]
        admin.deploy(*files)
    with app.app_context():
        names = []
        for folder in ("electronics", "zylker", "rules"):
            manifest = json.loads(shipped(folder, "stagecoach.json").read_text())
            apply_manifest(manifest, SYSTEM)
            names += apply_manifest_rules(manifest, SYSTEM)
        db.session.remove()
    assert len(names) == 4 and admin.get(RULES).get_json()["total"] == 4

    account = admin.post("/api/v1/modules/Accounts/records", json={"account_name": "Zylker Corp"}).get_json()
    closing = (start + dt.timedelta(days=10)).date()
    deal = _deal(admin, closing_date=closing.isoformat(), account=account["id"])
    travel = (start + dt.timedelta(days=10)).date()
    trip = admin.post("/api/v1/modules/Trips/records", json={"trip_name": "Goa", "destination": "Goa",
                                                            "travel_date": travel.isoformat()})
    assert trip.status_code == 201, trip.get_json()
    trip = trip.get_json()

    def trip_subjects(client):
        events = client.get(f"/api/v1/modules/Trips/records/{trip['id']}/timeline?per_page=100").get_json()["items"]
        return [e["data"]["subject"] for e in events if e["type"] == "task_created"]

    admin = _travel(server, clock, start + dt.timedelta(days=2, seconds=1))
    assert _subjects(admin, deal) == ["Follow up on Mega"]
    admin = _travel(server, clock, dt.datetime.combine(closing - dt.timedelta(days=7), dt.time(9, 0, 1),
                                                       tzinfo=dt.timezone.utc))
    assert _subjects(admin, deal) == ["Follow up on Mega", "Mega closes in a week: call Zylker Corp"]
    departure = dt.datetime.combine(travel - dt.timedelta(days=3), dt.time(3, 30), tzinfo=dt.timezone.utc)  # 09:00 IST
    admin = _travel(server, clock, departure - dt.timedelta(minutes=1))
    assert trip_subjects(admin) == []
    admin = _travel(server, clock, departure + SECOND)
    assert trip_subjects(admin) == ["Goa to Goa departs in 3 days: send the documents"]


def test_a_rule_webhook_that_fails_on_delivery_is_on_the_timeline_and_retried_from_the_outbox(app, make):
    from app.services.outbox import deliver_due

    rita = make.client("rita", admin=True, email="rita@example.com")
    assert rita.post("/api/v1/outbound-hosts", json={"pattern": "127.0.0.1"}).status_code == 201  # not private
    _rule(rita, {"name": "ping", "module": "Deals", "event": "create",
                 "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]})
    deal = _deal(rita)
    with app.app_context():
        deliver_due()  # refused: a loopback address without allow_private fails at once

    [message] = rita.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["items"]
    assert message["status"] == "failed"
    [failed] = [e["data"] for e in _timeline(rita, deal) if e["type"] == "rule_failed"]
    assert failed["rule"] == "ping" and failed["action_type"] == "webhook" and failed["message_id"] == message["id"]
    with app.app_context():
        from app.extensions import db
        from app.models import CrmTask
        from sqlalchemy import select
        assert db.session.scalars(select(CrmTask.owner).where(CrmTask.record_id == deal["id"])).all() == ["rita"]
        db.session.remove()
    response = rita.post(f"/api/v1/outbox/{message['id']}/retry")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"


def test_deleting_a_record_cancels_its_waiting_rule(admin, clock):
    _rule(admin, _renewal())
    deal = _deal(admin, closing_date=(dt.date.today() + dt.timedelta(days=30)).isoformat())
    [waiting] = _instances(admin, deal)

    assert admin.delete(f"{DEALS}/{deal['id']}").status_code == 204

    assert admin.instance(waiting["id"])["status"] == "cancelled"
