"""Path Finder and the funnel over the shipped Zylker Travels customer journey (bpmn/journeys, with bpmn/zylker
whose Trips module it writes), for 40 generated web enquiries, checked exactly against the plan.

An enquiry is created by the web form (the journey starts and queues its welcome email: an `email_sent`
touchpoint the server records); some ask for a brochure (a touchpoint an integration posts); an open of the
welcome email comes through its tracking pixel, which records `email_opened` and releases the journey (the
enquiry becomes Engaged); some click a link in it (`email_clicked`); a survey answer (the `survey_answered`
message, a `message_received` touchpoint after the trip email the journey sends) makes it a Customer, the
goal, through the journey's own record update; some journeys are cancelled.
The journey_stage field has no blueprint: the funnel follows its picklist's order.
"""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from config import TestConfig

from ..analytics_truth import Customer, expected_funnel, expected_path_finder
from ..factories import ApiClient, shipped

GOAL = {"field": "journey_stage", "value": "Customer", "lost": ["Left"]}
WELCOME = "Welcome to Zylker Travels, Ana"  # the welcome email's subject for every generated enquiry
STAGES = ["Welcome series", "Engaged", "Customer", "Completed"]


@pytest.fixture
def journey(app, admin, make):
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import apply_manifest

    for folder in ("zylker", "journeys"):
        files = [p for p in sorted(shipped(folder).iterdir()) if p.suffix in {".bpmn", ".json"}
                 and p.name != "stagecoach.json"]
        admin.deploy(*files)
        with app.app_context():
            apply_manifest(json.loads(shipped(folder, "stagecoach.json").read_text()), SYSTEM)
            db.session.remove()
    make.user("webform")
    make.user("sam", groups=["sales_managers"], email="sam@zylker.test")
    for name in ("zara", "zeno"):
        make.user(name, groups=["sales_reps"], email=f"{name}@zylker.test", manager="sam")
    make.user("zylker_support", groups=["zylker_support"], email="support@zylker.test")


def _token(app, record_id: str, kind: str, url: str | None = None) -> str:
    """A tracking token of the record's first email (the welcome email), as its pixel or a link carries it."""
    from sqlalchemy import select

    from app.crm import tracking as tokens
    from app.extensions import db
    from app.models import OutboxMessage

    message_id = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.record_id == record_id, OutboxMessage.kind == "email").order_by(OutboxMessage.created_at).limit(1))
    return tokens.sign(app.config["SECRET_KEY"], kind, message_id, url)


def _plan(rng: random.Random, base: dt.datetime, count: int):
    ops = []
    for i in range(count):
        t = base + dt.timedelta(hours=9 * i, minutes=rng.randint(0, 59))
        mine = [(t, ("create",))]
        if rng.random() < 0.4:
            t += dt.timedelta(hours=rng.randint(1, 30))
            mine.append((t, ("touch", "brochure_requested", "Brochure")))
        outcome = rng.choice(("customer", "customer", "engaged", "cancelled", "quiet"))
        if outcome in ("customer", "engaged") or (outcome == "cancelled" and rng.random() < 0.5):
            t += dt.timedelta(hours=rng.randint(1, 40), minutes=rng.randint(0, 59))
            mine.append((t, ("open",)))
            if rng.random() < 0.5:
                t += dt.timedelta(minutes=rng.randint(1, 300))
                mine.append((t, ("click",)))
        if outcome == "customer":
            t += dt.timedelta(hours=rng.randint(2, 100))
            mine.append((t, ("survey",)))
        if outcome == "cancelled":
            t += dt.timedelta(hours=rng.randint(2, 100))
            mine.append((t, ("cancel",)))
        if outcome == "engaged" and rng.random() < 0.5:
            mine.append((base + dt.timedelta(days=rng.randint(40, 50), minutes=i), ("touch", "whatsapp_reply", None)))
        ops.extend((when, i, op) for when, op in mine)
    return sorted(ops, key=lambda o: (o[0], o[1]))


def test_path_finder_funnel_and_heat_map_of_40_generated_web_enquiries_match_the_plan(app, clock, journey):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ProcessInstance
    from app.crm import tracking as tokens
    from app.services import events, instances, records, touchpoints, tracking
    from app.services.core import SYSTEM, Actor

    rng = random.Random(1207)
    base = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=1)
    webform = Actor("webform")
    people: dict[int, Customer] = {}
    for when, i, op in _plan(rng, base, 40):
        clock.move_to(when)
        with app.app_context():
            c = people.get(i)
            if op[0] == "create":
                enquiry = records.create_record("WebEnquiries", {
                    "first_name": "Ana", "last_name": f"Lima {i}", "email": f"ana{i}@example.com"}, webform)
                people[i] = c = Customer(enquiry.id, when, stages=["Welcome series"])
                c.touch(when, f"email_sent: {WELCOME}")  # the day-0 welcome email, recorded as it is queued
            elif op[0] == "touch":
                touchpoints.record_touchpoint("WebEnquiries", c.record_id, op[1], {"name": op[2]} if op[2] else {},
                                              SYSTEM)
                c.touch(when, f"{op[1]}: {op[2]}" if op[2] else op[1])
            elif op[0] == "open":
                assert tracking.record_open(_token(app, c.record_id, tokens.OPEN))  # the pixel: the journey hears it
                c.touch(when, f"email_opened: {WELCOME}")
                c.stages.append("Engaged")
            elif op[0] == "click":
                tracking.follow_click(_token(app, c.record_id, tokens.CLICK, "https://zylker.example/ideas"))
                c.touch(when, f"email_clicked: {WELCOME}")
            elif op[0] == "survey":
                assert events.send_message("survey_answered", SYSTEM, business_key=c.record_id,
                                           variables={"destination": "Lisbon"})["delivered"]
                # the journey books the trip and emails the customer; the step's hooks then note what it heard
                c.touch(when, "email_sent: Your Zylker trip to Lisbon")
                c.touch(when, "message_received: survey_answered")
                c.stages.append("Customer")
                c.converted_at = when
            elif op[0] == "cancel":
                instance_id = db.session.scalar(select(ProcessInstance.id).where(
                    ProcessInstance.record_id == c.record_id, ProcessInstance.process_key == "zylker_customer_journey"))
                instances.cancel_instance(instance_id, SYSTEM)
                c.cancelled_after = len(c.steps)
            db.session.remove()
    end = base + dt.timedelta(days=55)
    clock.move_to(end)
    customers = [people[i] for i in sorted(people)]
    admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
    assert admin.put("/api/v1/modules/WebEnquiries/conversion-goal", json=GOAL).status_code == 200
    window = f"from={(base - dt.timedelta(hours=1)).isoformat()}&to={end.isoformat()}".replace("+", "%2B")

    answer = admin.get(f"/api/v1/modules/WebEnquiries/path-finder?{window}&variants=100").get_json()
    truth = expected_path_finder(customers, end, limit=100)
    assert {k: answer[k] for k in truth} == truth
    counts = truth["drop_offs"]["counts"]
    assert truth["converted"] > 5 and counts["cancelled"] > 2 and counts["idle"] > 2 and counts["open"] > 0

    funnel = admin.get(f"/api/v1/modules/WebEnquiries/funnel?{window}").get_json()
    assert (funnel["field"], funnel["stages"], funnel["source"]) == ("journey_stage", STAGES, "field journey_stage")
    assert {k: funnel[k] for k in ("overall", "cohorts")} == expected_funnel(customers, STAGES)

    anchored = admin.get(f"/api/v1/modules/WebEnquiries/path-finder?{window}&anchor=first_touchpoint").get_json()
    assert anchored["records"] == len(customers)  # each enquiry's first touchpoint is its welcome email

    # The journey's heat map, from the same plan: no timer fired (the clock moved, no job ran), so an enquiry
    # is in the welcome series until its open interrupts it, and waits for the survey after it.
    heat = admin.get("/api/v1/analytics/heat-map?key=zylker_customer_journey").get_json()
    elements = {e["element_id"]: e for e in heat["elements"]}
    taken = {f["flow_id"]: f["taken"] for f in heat["flows"]}
    opened = [c for c in customers if "Engaged" in c.stages]
    surveyed = [c for c in customers if "Customer" in c.stages]
    cancelled = {c.record_id for c in customers if c.cancelled_after is not None}

    def shape(element_id: str) -> tuple:
        e = elements[element_id]
        return e["count"], e["completed"], e["cancelled"], e["interrupted"], e["active"]

    in_series = len(customers) - len(opened)
    cancelled_in_series = sum(1 for c in customers if c.record_id in cancelled and c not in opened)
    waiting_survey = [c for c in opened if c not in surveyed]
    assert shape("welcome_series") == (len(customers), 0, cancelled_in_series, len(opened),
                                       in_series - cancelled_in_series)
    assert shape("wait_day_2") == (len(customers), 0, len(opened) + cancelled_in_series, 0,
                                   in_series - cancelled_in_series)
    assert shape("email_opened")[:2] == shape("mark_engaged")[:2] == (len(opened), len(opened))
    assert shape("survey_or_timeout") == (
        len(opened), len(surveyed), sum(1 for c in waiting_survey if c.record_id in cancelled), 0,
        sum(1 for c in waiting_survey if c.record_id not in cancelled))
    assert shape("issue_or_trip_over") == (len(surveyed), 0, 0, 0, len(surveyed))
    waits = sorted(int((next(at for at, n in c.steps if n == "message_received: survey_answered")
                        - next(at for at, n in c.steps if n.startswith("email_opened"))).total_seconds() * 1000)
                   for c in surveyed)
    assert (elements["survey_or_timeout"]["p50_ms"], elements["survey_or_timeout"]["p90_ms"]) == (
        waits[-(-50 * len(waits) // 100) - 1], waits[-(-90 * len(waits) // 100) - 1])
    assert (taken["flow_opened_to_engaged"], taken["flow_wait_to_survey"], taken["flow_wait_to_unanswered"]) == (
        len(opened), len(surveyed), 0)
    assert len(surveyed) > 5 and len(waiting_survey) > 2 and cancelled_in_series > 0  # every path is in the plan
