"""Path Finder and the funnel over the shipped Zylker Travels customer journey (bpmn/journeys, with bpmn/zylker
whose Trips module it writes), for 40 generated web enquiries, checked exactly against the plan.

An enquiry is created by the web form (the journey starts and emails it: an `email_sent` touchpoint, written
as the touchpoint contract says unless the server wrote it already); some submit a named form; an opened
email is posted as a touchpoint and delivered to the journey as its `email_opened` message (the enquiry
becomes Engaged); a survey answer (a `form_submitted: Survey` touchpoint and the `survey_answered` message)
makes it a Customer, the goal, through the journey's own record update; some journeys are cancelled.
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


def _server_touchpoint(record, kind: str) -> None:
    """The contract's entry for a touchpoint the server makes itself, unless it wrote one this moment."""
    from sqlalchemy import select

    from app.clock import utcnow
    from app.extensions import db
    from app.models import RecordEvent
    from app.services.core import SYSTEM
    from app.services.timeline import add_event

    if db.session.scalar(select(RecordEvent.id).where(RecordEvent.record_id == record.id,
                                                      RecordEvent.type == kind, RecordEvent.at == utcnow())) is None:
        add_event(record, kind, SYSTEM, {"touchpoint": True})
        db.session.commit()


def _plan(rng: random.Random, base: dt.datetime, count: int):
    ops = []
    for i in range(count):
        t = base + dt.timedelta(hours=9 * i, minutes=rng.randint(0, 59))
        mine = [(t, ("create",))]
        if rng.random() < 0.4:
            t += dt.timedelta(hours=rng.randint(1, 30))
            mine.append((t, ("touch", "form_submitted", "Brochure")))
        outcome = rng.choice(("customer", "customer", "engaged", "cancelled", "quiet"))
        if outcome in ("customer", "engaged") or (outcome == "cancelled" and rng.random() < 0.5):
            t += dt.timedelta(hours=rng.randint(1, 40), minutes=rng.randint(0, 59))
            mine.append((t, ("open",)))
            if rng.random() < 0.5:
                t += dt.timedelta(minutes=rng.randint(1, 300))
                mine.append((t, ("touch", "email_clicked", None)))
        if outcome == "customer":
            t += dt.timedelta(hours=rng.randint(2, 100))
            mine.append((t, ("survey",)))
        if outcome == "cancelled":
            t += dt.timedelta(hours=rng.randint(2, 100))
            mine.append((t, ("cancel",)))
        if outcome == "engaged" and rng.random() < 0.5:
            mine.append((base + dt.timedelta(days=rng.randint(40, 50), minutes=i), ("touch", "message_received", None)))
        ops.extend((when, i, op) for when, op in mine)
    return sorted(ops, key=lambda o: (o[0], o[1]))


def test_path_finder_and_funnel_of_40_generated_web_enquiries_match_the_plan(app, clock, journey):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ProcessInstance
    from app.services import events, instances, records, touchpoints
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
                _server_touchpoint(enquiry, "email_sent")  # the day-0 welcome email
                people[i] = c = Customer(enquiry.id, when, stages=["Welcome series"])
                c.touch(when, "email_sent")
            elif op[0] == "touch":
                touchpoints.record_touchpoint("WebEnquiries", c.record_id, op[1], {"name": op[2]} if op[2] else {},
                                              SYSTEM)
                c.touch(when, f"{op[1]}: {op[2]}" if op[2] else op[1])
            elif op[0] == "open":
                touchpoints.record_touchpoint("WebEnquiries", c.record_id, "email_opened", {}, SYSTEM)
                assert events.send_message("email_opened", SYSTEM, business_key=c.record_id)["delivered"]
                c.touch(when, "email_opened")
                c.stages.append("Engaged")
            elif op[0] == "survey":
                touchpoints.record_touchpoint("WebEnquiries", c.record_id, "form_submitted", {"name": "Survey"},
                                              SYSTEM)
                assert events.send_message("survey_answered", SYSTEM, business_key=c.record_id,
                                           variables={"destination": "Lisbon"})["delivered"]
                c.touch(when, "form_submitted: Survey")
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
