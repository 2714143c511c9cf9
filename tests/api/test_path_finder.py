"""Path Finder and the funnel over the shipped Explore Electronics blueprint (bpmn/electronics), driven for
48 generated deals with known outcomes, checked exactly against what the test computed from its own plan.

Each deal is created by its owner (the blueprint starts and the deal takes Qualification), then moves
through touchpoints (an email the server sent or saw opened, written as its outbox and tracking write them;
the form of each transition and the email to the manager on the way to Closing, which the server records;
calls and named meetings posted through the touchpoint service) and transitions (negotiate, close, win or
lose), or its blueprint instance is cancelled, or it stalls; the clock moves between every two steps.
Every deal's steps are interleaved in time, as a sales team's would be.
"""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from ..analytics_truth import Customer, expected_funnel, expected_path_finder
from config import TestConfig

from ..factories import ApiClient, assert_problem, shipped

STAGES = ["Qualification", "Negotiation", "Closing", "Closed Won"]
OWNERS = ("ravi", "priya")
TOUCHES = ("email_sent", "email_opened", "call_logged", "meeting_logged")
MOVES = ("negotiate", "close", "win")
REACHED = {"negotiate": "Negotiation", "close": "Closing", "win": "Closed Won", "lose": "Closed Lost"}
GOAL = {"field": "stage", "value": "Closed Won", "lost": ["Closed Lost"]}


def _plan(rng: random.Random, base: dt.datetime, deals: int) -> list[tuple[dt.datetime, int, tuple]]:
    """(when, deal, operation) for every step of every deal, in time order."""
    ops = []
    for i in range(deals):
        t = base + dt.timedelta(hours=7 * i, minutes=rng.randint(0, 59))
        mine = [(t, ("create", OWNERS[i % 2]))]
        outcome = rng.choice(("won", "won", "lost", "cancelled", "stalled", "stalled"))
        moves = {"won": list(MOVES), "lost": list(MOVES[:rng.randint(0, 2)]) + ["lose"],
                 "cancelled": list(MOVES[:rng.randint(0, 2)]) + ["cancel"],
                 "stalled": list(MOVES[:rng.randint(0, 2)])}[outcome]
        for move in moves + [None]:
            for _ in range(rng.choice((0, 1, 1, 2))):
                t += dt.timedelta(hours=rng.randint(1, 72), minutes=rng.randint(0, 59))
                mine.append((t, ("touch", rng.choice(TOUCHES))))
            if move is not None:
                t += dt.timedelta(hours=rng.randint(1, 72), minutes=rng.randint(0, 59))
                mine.append((t, (move,)))
        if outcome == "stalled" and rng.random() < 0.5:  # still moving lately: open, not idle
            mine.append((base + dt.timedelta(days=rng.randint(40, 58), minutes=i), ("touch", "call_logged")))
        ops.extend((when, i, op) for when, op in mine)
    return sorted(ops, key=lambda o: (o[0], o[1]))


@pytest.fixture
def electronics(app, admin, make):
    """The shipped Explore Electronics folder deployed and its manifest applied; two reps with a manager."""
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import apply_manifest

    folder = shipped("electronics")
    admin.deploy(*[p for p in sorted(folder.iterdir()) if p.suffix in {".bpmn", ".json"} and p.name != "stagecoach.json"])
    with app.app_context():
        apply_manifest(json.loads((folder / "stagecoach.json").read_text()), SYSTEM)
        db.session.remove()
    make.user("maya", groups=["sales_managers"], email="maya@explore.test")
    for name in OWNERS:
        make.user(name, groups=["sales_reps"], email=f"{name}@explore.test", manager="maya")
    return admin


def drive_deals(app, clock, deals: int = 48, seed: int = 20261210) -> tuple[list[Customer], dt.datetime]:
    """Drive the plan through the services; return the truth and the moment it ended."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ProcessInstance
    from app.services import instances, records, touchpoints, transitions
    from app.services.core import SYSTEM, Actor
    from app.services.scoring import SERVER_TOUCHPOINTS
    from app.services.timeline import add_touchpoint

    rng = random.Random(seed)
    base = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=1)
    customers: dict[int, Customer] = {}
    for when, i, op in _plan(rng, base, deals):
        clock.move_to(when)
        with app.app_context():
            c = customers.get(i)
            actor = Actor(OWNERS[i % 2], ("sales_reps",))
            if op[0] == "create":
                deal = records.create_record("Deals", {"deal_name": f"Deal {i}"}, actor)
                customers[i] = c = Customer(deal.id, when)
                c.touch(when, "stage: Qualification")
                c.stages.append("Qualification")
            elif op[0] == "touch":
                kind = op[1]
                if kind in SERVER_TOUCHPOINTS:  # what the server records itself (its outbox, its tracking pixel)
                    deal = records.find_record("Deals", c.record_id)
                    add_touchpoint(deal, kind, SYSTEM, None, {"to": "buyer@example.com"})
                    db.session.commit()
                    c.touch(when, kind)
                elif kind == "meeting_logged":
                    touchpoints.record_touchpoint("Deals", c.record_id, kind, {"name": "Demo"}, actor)
                    c.touch(when, "meeting_logged: Demo")
                else:
                    touchpoints.record_touchpoint("Deals", c.record_id, kind, {}, actor)
                    c.touch(when, kind)
            elif op[0] == "cancel":
                instance_id = db.session.scalar(select(ProcessInstance.id).where(
                    ProcessInstance.record_id == c.record_id, ProcessInstance.record_role == "blueprint"))
                instances.cancel_instance(instance_id, SYSTEM, "the buyer went quiet")
                c.cancelled_after = len(c.steps)
            else:
                values = {"negotiate": {"amount": 1000 + i}, "close": {"discount": 10, "closing_date": "2027-01-31"}}
                transitions.perform_transition("Deals", c.record_id, op[0], values.get(op[0], {}), actor)
                stage = REACHED[op[0]]
                if op[0] == "close":  # the step into Closing emails the rep's manager
                    c.touch(when, f"email_sent: Deal in closing: Deal {i}")
                c.touch(when, f"form_submitted: {c.stages[-1]}")  # the stage's form, submitted with the transition
                if op[0] == "lose":
                    c.lost_after = len(c.steps)
                c.touch(when, f"stage: {stage}")
                c.stages.append(stage)
                if op[0] == "win":
                    c.converted_at = when
            db.session.remove()
    end = base + dt.timedelta(days=60)
    clock.move_to(end)
    return [customers[i] for i in sorted(customers)], end


def _goal(api: ApiClient, module: str = "Deals", **goal) -> dict:
    response = api.put(f"/api/v1/modules/{module}/conversion-goal", json=goal or GOAL)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _query(**params) -> str:
    return "&".join(f"{k}={v.isoformat().replace('+00:00', 'Z') if isinstance(v, dt.datetime) else v}"
                    for k, v in params.items())


def test_path_finder_and_funnel_of_48_generated_deals_match_the_plan(app, clock, electronics, make):
    customers, end = drive_deals(app, clock)
    admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
    _goal(admin)
    start = min(c.entered_at for c in customers) - dt.timedelta(hours=1)
    window = {"from": start, "to": end}

    answer = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, variants=100)}").get_json()
    truth = expected_path_finder(customers, end, limit=100)
    assert {k: answer[k] for k in truth} == truth
    assert truth["converted"] > 5 and truth["drop_offs"]["counts"]["lost"] > 3  # the plan covers every outcome
    assert all(truth["drop_offs"]["counts"][r] > 0 for r in ("cancelled", "idle", "open"))

    collapsed = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, collapse='true', variants=5)}")
    assert collapsed.get_json()["variants"] == expected_path_finder(customers, end, limit=5, collapse=True)["variants"]
    idle_7 = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, idle_days=7)}").get_json()
    assert idle_7["drop_offs"] == expected_path_finder(customers, end, idle_days=7)["drop_offs"]

    ravi = [c for i, c in enumerate(customers) if OWNERS[i % 2] == "ravi"]
    mine = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, owner='ravi')}").get_json()
    assert (mine["records"], mine["edges"]) == (len(ravi), expected_path_finder(ravi, end)["edges"])
    first = customers[0].record_id
    by_key = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, business_key_prefix=first[:12])}")
    assert by_key.get_json()["records"] == 1
    same = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, process_key='electronics_deal_followup')}")
    assert same.get_json()["records"] == len(customers)
    other = admin.get(f"/api/v1/modules/Deals/path-finder?{_query(**window, process_key='lead_routing')}")
    assert other.get_json()["records"] == 0

    funnel = admin.get(f"/api/v1/modules/Deals/funnel?{_query(**window)}").get_json()
    assert (funnel["field"], funnel["stages"], funnel["source"]) == (
        "stage", STAGES, "blueprint electronics_deal_followup")
    assert {k: funnel[k] for k in ("overall", "cohorts")} == expected_funnel(customers, STAGES)


# The blueprint's user task of each stage, and the flow out of the gateway after it to each next stage.
STAGE_TASKS = {"Qualification": "stage_qualification", "Negotiation": "stage_negotiation", "Closing": "stage_closing"}
STAGE_FLOWS = {("Qualification", "Negotiation"): "flow_qualification_negotiate",
               ("Qualification", "Closed Lost"): "flow_qualification_lose",
               ("Negotiation", "Closing"): "flow_negotiation_close", ("Negotiation", "Closed Lost"): "flow_negotiation_lose",
               ("Closing", "Closed Won"): "flow_closing_win", ("Closing", "Closed Lost"): "flow_closing_lose"}


def _nearest_rank(values: list[int], p: int) -> int | None:
    ordered = sorted(values)
    return ordered[-(-p * len(ordered) // 100) - 1] if ordered else None


def expected_heat(customers: list) -> tuple[dict, dict]:
    """Per stage task: (entered, completed, cancelled, active, p50 ms, p90 ms); per stage-to-stage flow: taken."""
    tasks: dict[str, dict] = {t: {"count": 0, "completed": 0, "cancelled": 0, "active": 0, "ms": []}
                              for t in STAGE_TASKS.values()}
    flows = {flow: 0 for flow in STAGE_FLOWS.values()}
    for c in customers:
        entered = [at for at, node in c.steps if node.startswith("stage: ")]
        for n, stage in enumerate(c.stages):
            if stage not in STAGE_TASKS:
                continue
            task = tasks[STAGE_TASKS[stage]]
            task["count"] += 1
            if n + 1 < len(c.stages):  # a transition took it on
                task["completed"] += 1
                task["ms"].append(int((entered[n + 1] - entered[n]).total_seconds() * 1000))
                flows[STAGE_FLOWS[(stage, c.stages[n + 1])]] += 1
            elif c.cancelled_after is not None:
                task["cancelled"] += 1
            else:
                task["active"] += 1
    return ({t: (v["count"], v["completed"], v["cancelled"], v["active"], _nearest_rank(v["ms"], 50),
                 _nearest_rank(v["ms"], 90)) for t, v in tasks.items()}, flows)


def test_the_heat_map_of_the_48_deals_blueprint_matches_the_plan(app, clock, electronics, make):
    customers, _ = drive_deals(app, clock)
    admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)

    heat = admin.get("/api/v1/analytics/heat-map?key=electronics_deal_followup")
    assert heat.status_code == 200, heat.get_json()
    elements = {e["element_id"]: e for e in heat.get_json()["elements"]}
    taken = {f["flow_id"]: f["taken"] for f in heat.get_json()["flows"]}
    tasks, flows = expected_heat(customers)
    assert {t: tuple(elements[t][k] for k in ("count", "completed", "cancelled", "active", "p50_ms", "p90_ms"))
            for t in tasks} == tasks
    assert {f: taken[f] for f in flows} == flows
    won = sum(1 for c in customers if c.stages[-1] == "Closed Won")
    lost = sum(1 for c in customers if c.stages[-1] == "Closed Lost")
    assert (elements["end_closed_won"]["count"], elements["end_closed_lost"]["count"]) == (won, lost)
    assert elements["start_deal_created"]["count"] == len(customers)
    assert won > 5 and lost > 3 and tasks["stage_qualification"][2] > 0  # every outcome is in the plan


def test_a_grant_of_analytics_on_the_module_opens_it_and_owning_records_does_not(app, clock, electronics, make):
    customers, end = drive_deals(app, clock, deals=6, seed=3)
    admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
    ravi = ApiClient.login(app, "ravi", "secret")
    assert_problem(ravi.put("/api/v1/modules/Deals/conversion-goal", json=GOAL), 403)
    _goal(admin)
    for url in ("/api/v1/modules/Deals/path-finder", "/api/v1/modules/Deals/funnel",
                "/api/v1/modules/Deals/conversion-goal"):
        assert "analytics" in assert_problem(ravi.get(url), 403)["detail"]
    make.user("ana")
    make.grant("analytics", "module", "Deals", user="ana")
    ana = ApiClient.login(app, "ana", "secret")
    window = _query(**{"from": end - dt.timedelta(days=90), "to": end})
    assert ana.get(f"/api/v1/modules/Deals/path-finder?{window}").get_json()["records"] == 6
    assert ana.get("/api/v1/modules/Deals/conversion-goal").get_json()["criteria"] == "stage == 'Closed Won'"
    assert_problem(ana.get("/api/v1/modules/Leads/path-finder"), 403)  # the grant names Deals only
    assert_problem(ana.delete("/api/v1/modules/Deals/conversion-goal"), 403)
