"""Scoring rules over HTTP: an admin gives a module criteria worth points (positive and negative) and
points per touchpoint; every create, edit and touchpoint recomputes the record's score through the one
write path, with a `score_changed` entry on the timeline naming the old score, the new one and what
matched. Rules that cannot run are refused naming the rule, and only admins configure them."""
from __future__ import annotations

import json

import pytest

from ..factories import assert_problem, shipped
from .test_bindings import create, get, records, timeline
from .test_shipped_crm import crm  # noqa: F401 - the shipped CRM fixture

SCORING = "/api/v1/modules/Leads/scoring"
RULES = {
    "criteria": [
        {"name": "Big company", "expression": "(annual_revenue or 0) >= 1000000", "points": 25},
        {"name": "Many people", "expression": "(employees or 0) >= 500", "points": 20},
        {"name": "Lost", "expression": "lead_status == 'Lost'", "points": -50},
    ],
    "touchpoints": {"email_replied": 5, "webinar_attended": 10, "email_bounced": -3},
}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def patch(client, record_id: str, **fields) -> dict:
    return ok(client.patch(f"{records('Leads')}/{record_id}", json=fields))


def touch(client, record_id: str, kind: str, status: int = 201, **data):
    response = client.post(f"{records('Leads')}/{record_id}/touchpoints", json={"type": kind, "data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def score_history(client, record_id: str) -> list[dict]:
    return [e["data"] for e in timeline(client, "Leads", record_id) if e["type"] == "score_changed"]


@pytest.fixture
def scored(admin):
    ok(admin.put(SCORING, json=RULES))
    return admin


# -- configuration ---------------------------------------------------------------------------------

def test_an_admin_configures_scoring_and_anyone_reads_it(scored, make):
    rita = make.client("rita")

    rules = ok(rita.get(SCORING))

    assert rules["module"] == "Leads" and rules["field"] == "score" and rules["updated_by"] == "admin"
    assert rules["criteria"] == RULES["criteria"] and rules["touchpoints"] == RULES["touchpoints"]


def test_only_an_admin_configures_scoring(scored, make):
    rita = make.client("rita")

    assert_problem(rita.put(SCORING, json={"criteria": [], "touchpoints": {}}), 403)

    assert ok(scored.get(SCORING))["criteria"] == RULES["criteria"]


@pytest.mark.parametrize("criterion, message", [
    ({"name": "Broken", "expression": "annual_revenue >=", "points": 5}, "rule 'Broken': expression cannot run"),
    ({"name": "Sneaky", "expression": "__import__('os').system('true')", "points": 5},
     "rule 'Sneaky': expression cannot run"),
    ({"name": "Empty", "expression": " ", "points": 5}, "rule 'Empty': expression cannot run"),
    ({"name": "Big company", "expression": "True", "points": 1}, "rule 'Big company': a second rule"),
])
def test_a_rule_that_cannot_run_is_refused_naming_it_and_nothing_changes(scored, criterion, message):
    body = dict(RULES, criteria=RULES["criteria"] + [criterion])

    problem = assert_problem(scored.put(SCORING, json=body), 400)

    assert any(m.startswith(message) for m in problem["errors"]["criteria[3]"])
    assert repr(criterion["name"]) in problem["detail"]
    assert ok(scored.get(SCORING))["criteria"] == RULES["criteria"]


@pytest.mark.parametrize("body, field", [
    ({"field": "last_name"}, "field"),
    ({"field": "nope"}, "field"),
    ({"touchpoints": {"created": 5}}, "touchpoints.created"),
    ({"touchpoints": {"Email Opened": 5}}, "touchpoints.Email Opened"),
])
def test_a_score_field_or_touchpoint_that_cannot_be_is_refused(admin, body, field):
    problem = assert_problem(admin.put(SCORING, json=body), 400)

    assert field in problem["errors"]
    assert ok(admin.get(SCORING))["criteria"] == []


@pytest.mark.parametrize("points", [1.5, "10", True, 10**7])
def test_points_are_whole_numbers_in_range(admin, points):
    body = {"criteria": [{"name": "Odd", "expression": "True", "points": points}]}

    assert_problem(admin.put(SCORING, json=body), 400)


# -- computed on create and edit -----------------------------------------------------------------

def test_a_new_record_is_scored_and_the_score_is_on_its_timeline(scored, make):
    rita = make.client("rita")

    lead = create(rita, "Leads", last_name="Moreau", annual_revenue=2_000_000)

    assert lead["score"] == 25 and get(rita, "Leads", lead["id"])["score"] == 25
    assert score_history(rita, lead["id"]) == [{"field": "score", "old": None, "new": 25, "touchpoints": [],
                                                 "matched": [{"rule": "Big company", "points": 25}]}]


def test_every_edit_rescores_with_negative_points_and_history(scored, make):
    rita = make.client("rita")
    lead = create(rita, "Leads", last_name="Moreau", annual_revenue=2_000_000)

    assert patch(rita, lead["id"], employees=800)["score"] == 45
    assert patch(rita, lead["id"], lead_status="Lost")["score"] == -5
    assert patch(rita, lead["id"], phone="+44 20 1234 5678")["score"] == -5  # nothing scored changed
    assert patch(rita, lead["id"], annual_revenue=10)["score"] == -30

    history = score_history(rita, lead["id"])
    assert [(h["old"], h["new"]) for h in history] == [(None, 25), (25, 45), (45, -5), (-5, -30)]
    assert history[2]["matched"] == [{"rule": "Big company", "points": 25}, {"rule": "Many people", "points": 20},
                                     {"rule": "Lost", "points": -50}]
    [updated] = [e for e in timeline(rita, "Leads", lead["id"]) if e["type"] == "updated"][-1:]
    assert updated["data"]["changes"] == {"annual_revenue": [2_000_000, 10], "score": [-5, -30]}


def test_a_written_score_is_replaced_by_the_computed_one(scored, make):
    rita = make.client("rita")
    lead = create(rita, "Leads", last_name="Moreau", score=999)
    assert lead["score"] == 0

    assert patch(rita, lead["id"], score=500)["score"] == 0
    assert [(h["old"], h["new"]) for h in score_history(rita, lead["id"])] == [(None, 0)]


def test_a_module_without_scoring_rules_keeps_what_is_written(admin):
    lead = create(admin, "Leads", last_name="Moreau", score=7)

    assert patch(admin, lead["id"], score=8)["score"] == 8
    assert score_history(admin, lead["id"]) == []


# -- touchpoints -----------------------------------------------------------------------------------

def test_touchpoints_are_on_the_timeline_and_rescore_the_record(scored, make):
    rita = make.client("rita")
    lead = create(rita, "Leads", last_name="Moreau")

    assert touch(rita, lead["id"], "email_replied", campaign="spring")["score"] == 5
    assert touch(rita, lead["id"], "email_replied")["score"] == 10
    assert touch(rita, lead["id"], "webinar_attended")["score"] == 20
    assert touch(rita, lead["id"], "email_bounced")["score"] == 17
    assert touch(rita, lead["id"], "brochure_downloaded")["score"] == 17  # no points for that type

    entries = timeline(rita, "Leads", lead["id"])
    [first] = [e for e in entries if e["type"] == "email_replied"][:1]
    assert first["user"] == "rita" and first["data"] == {"touchpoint": True, "campaign": "spring"}
    assert [e["type"] for e in entries].count("brochure_downloaded") == 1
    last = score_history(rita, lead["id"])[-1]
    assert (last["old"], last["new"]) == (20, 17)
    assert last["touchpoints"] == [{"touchpoint": "email_bounced", "count": 1, "points": -3},
                                   {"touchpoint": "email_replied", "count": 2, "points": 10},
                                   {"touchpoint": "webinar_attended", "count": 1, "points": 10}]
    # an edit counts the touchpoints too: the score is recomputed from everything
    assert patch(rita, lead["id"], annual_revenue=5_000_000)["score"] == 42


@pytest.mark.parametrize("kind", ["score_changed", "created", "Bad Type", "x" * 41, "", "email_delivered",
                                  # the server records these from its own evidence: posting one would fake it
                                  "email_sent", "email_opened", "email_clicked", "stage_changed", "form_submitted",
                                  "message_received", "webhook_delivered"])
def test_a_touchpoint_type_the_server_writes_itself_or_malformed_is_refused(scored, kind):
    lead = create(scored, "Leads", last_name="Moreau")

    touch(scored, lead["id"], kind, status=400)

    assert get(scored, "Leads", lead["id"])["score"] == 0
    assert [e["type"] for e in timeline(scored, "Leads", lead["id"])] == ["created", "score_changed"]


def test_only_who_may_change_the_record_records_a_touchpoint(scored, make):
    rita, olga = make.client("rita"), make.client("olga")
    lead = create(rita, "Leads", last_name="Moreau")

    touch(olga, lead["id"], "email_replied", status=404)

    assert get(rita, "Leads", lead["id"])["score"] == 0
    assert len(timeline(rita, "Leads", lead["id"])) == 2


# -- shipped -----------------------------------------------------------------------------------------

def test_the_shipped_leads_manifest_scores_leads_by_rules_and_touchpoints(crm):  # noqa: F811
    manifest = json.loads(shipped("leads", "stagecoach.json").read_text())
    assert [s["module"] for s in manifest["scoring"]] == ["Leads"]
    zara = crm["zara"]

    lead = create(zara, "Leads", last_name="Okafor", annual_revenue=5_000_000, lead_source="Trade Show")
    assert get(crm.admin, "Leads", lead["id"])["score"] == 35

    lead = get(crm.admin, "Leads", lead["id"])
    assert touch(crm.admin, lead["id"], "email_bounced")["score"] == 25
    assert patch(crm.admin, lead["id"], lead_status="Lost")["score"] == -25
    assert score_history(crm.admin, lead["id"])[-1]["matched"][-1] == {"rule": "Lost", "points": -50}


def test_a_touchpoint_rescores_a_record_an_approval_holds_and_the_lock_stays(scored, make):
    from ..factories import fixture
    from .test_bindings import bind

    scored.deploy(fixture("crm", "deal_approval.bpmn"))
    bind(scored, module="Leads", event="create", process_key="crm_deal_approval", kind="approval")
    rita = make.client("rita")
    lead = create(rita, "Leads", last_name="Moreau")
    locked_by = get(rita, "Leads", lead["id"])["locked_by"]
    assert locked_by is not None
    assert_problem(rita.patch(f"{records('Leads')}/{lead['id']}", json={"phone": "+1 555 0100"}), 423)

    touched = touch(rita, lead["id"], "webinar_attended")

    assert touched["score"] == 10 and touched["locked_by"] == locked_by
    assert_problem(rita.patch(f"{records('Leads')}/{lead['id']}", json={"score": 3}), 423)
