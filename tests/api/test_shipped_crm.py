"""The shipped CRM processes end to end over HTTP: Zylker Travels (enquiry blueprint, employee
referral review, trip discount approval chain), Explore Electronics (deal follow-up blueprint) and
lead routing by DMN decision tables.

The process tests deploy bpmn/zylker, bpmn/electronics and bpmn/leads through the API, apply their
stagecoach.json manifests, and drive records, transitions and tasks as the people involved would;
the last tests check the shipped files themselves and the `flask bpmn` commands on them.
Every request loads the instance from the database and saves it again, so each scenario is also a
save/restore round trip between its steps.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import SpiffWorkflow
from lxml import etree

from ..factories import SHIPPED, ApiClient, assert_problem, shipped

FOLDERS = ("zylker", "electronics", "leads")
MANIFEST = "stagecoach.json"
DEPLOYABLE = {".bpmn", ".dmn", ".json"}

# username: (groups, email, manager)
USERS = {
    # Zylker Travels
    "sam": (["sales_managers"], "sam@zylker.test", None),
    "zara": (["sales_reps"], "zara@zylker.test", "sam"),
    "sofia": (["senior_management"], "sofia@zylker.test", None),
    "zylker_cfo": (["directors"], "cfo@zylker.test", None),
    "zylker_coo": (["directors"], "coo@zylker.test", None),
    # Explore Electronics
    "maya": (["sales_managers"], "maya@explore.test", None),
    "ravi": (["sales_reps"], "ravi@explore.test", "maya"),
    # lead owners named by the region decision table
    "eu_sales": (["sales_reps"], "eu@sales.test", None),
    "na_sales": (["sales_reps"], "na@sales.test", None),
    "apac_sales": (["sales_reps"], "apac@sales.test", None),
    "latam_sales": (["sales_reps"], "latam@sales.test", None),
}


@dataclass
class Crm:
    """The deployed shipped processes and a logged-in client per person."""

    admin: ApiClient
    clients: dict[str, ApiClient]

    def __getitem__(self, username: str) -> ApiClient:
        return self.clients[username]


@pytest.fixture
def crm(app, admin) -> Crm:
    """Deploy the shipped CRM folders over HTTP, apply their manifests, create the people."""
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import apply_manifest
    from app.services.users import create_user

    for folder in FOLDERS:
        files = [p for p in sorted(shipped(folder).iterdir()) if p.suffix in DEPLOYABLE and p.name != MANIFEST]
        admin.deploy(*files)
    with app.app_context():
        for folder in FOLDERS:
            apply_manifest(json.loads(shipped(folder, MANIFEST).read_text()), SYSTEM)
        for name, (groups, email, manager) in USERS.items():
            create_user(name, "secret", groups, False, email=email, manager=manager, actor=SYSTEM)
        db.session.remove()
    return Crm(admin, {name: ApiClient.login(app, name, "secret") for name in USERS})


# -- helpers ----------------------------------------------------------------------------

def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def create(api: ApiClient, module: str, **fields) -> dict:
    return ok(api.post(f"/api/v1/modules/{module}/records", json=fields), 201)


def record(api: ApiClient, module: str, record_id: str) -> dict:
    return ok(api.get(f"/api/v1/modules/{module}/records/{record_id}"))


def transitions(api: ApiClient, module: str, record_id: str) -> dict[str, dict]:
    items = ok(api.get(f"/api/v1/modules/{module}/records/{record_id}/transitions"))["items"]
    return {t["name"]: t for t in items}


def perform(api: ApiClient, module: str, record_id: str, transition: str, **fields):
    return api.post(f"/api/v1/modules/{module}/records/{record_id}/transitions/{transition}",
                    json={"fields": fields})


def instances(api: ApiClient, record_id: str, key: str | None = None) -> list[dict]:
    query = f"record_id={record_id}" + (f"&key={key}" if key else "")
    return ok(api.get(f"/api/v1/process-instances?{query}"))["items"]


def only_instance(api: ApiClient, record_id: str, key: str) -> dict:
    [found] = instances(api, record_id, key)
    return found


def tasks(api: ApiClient, instance_id: str, state: str = "open") -> list[dict]:
    return ok(api.get(f"/api/v1/tasks?process_instance_id={instance_id}&state={state}"))["items"]


def complete(api: ApiClient, task_id: str, **variables):
    return api.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": variables})


def timeline(api: ApiClient, module: str, record_id: str) -> list[dict]:
    return ok(api.get(f"/api/v1/modules/{module}/records/{record_id}/timeline?per_page=200"))["items"]


def stages(api: ApiClient, module: str, record_id: str) -> list[str]:
    return [e["data"]["to"] for e in timeline(api, module, record_id) if e["type"] == "stage_changed"]


def emails(admin: ApiClient, record_id: str) -> list[dict]:
    items = ok(admin.get(f"/api/v1/outbox?record_id={record_id}&per_page=200"))["items"]
    return [m["payload"] for m in items if m["kind"] == "email"]


# -- Zylker Travels: enquiry management blueprint ------------------------------------------------

def test_an_enquiry_moves_new_contacted_quoted_booked_and_the_customer_is_emailed(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Ana Lima", email="ana@example.com", lead_source="Web")
    assert enquiry["stage"] == "New" and enquiry["locked_by"] is None
    assert [i["key"] for i in instances(crm.admin, enquiry["id"])] == ["zylker_enquiry_management"]

    offered = transitions(zara, "Enquiries", enquiry["id"])
    assert set(offered) == {"contact", "disqualify"}
    assert offered["contact"]["from_stage"] == "New" and offered["contact"]["label"] == "Mark as contacted"
    assert offered["disqualify"]["mandatory_fields"] == ["lost_reason"]
    ok(perform(zara, "Enquiries", enquiry["id"], "contact"))
    assert record(zara, "Enquiries", enquiry["id"])["stage"] == "Contacted"

    offered = transitions(zara, "Enquiries", enquiry["id"])
    assert offered["send_quote"]["mandatory_fields"] == ["destination", "travel_date", "budget"]
    missing = assert_problem(perform(zara, "Enquiries", enquiry["id"], "send_quote", destination="Lisbon"), 400)
    assert set(missing["errors"]) == {"travel_date", "budget"}
    ok(perform(zara, "Enquiries", enquiry["id"], "send_quote", destination="Lisbon", travel_date="2026-09-14",
               budget=2400))
    quoted = record(zara, "Enquiries", enquiry["id"])
    assert quoted["stage"] == "Quoted"
    assert (quoted["destination"], quoted["travel_date"], quoted["budget"]) == ("Lisbon", "2026-09-14", 2400)

    offered = transitions(zara, "Enquiries", enquiry["id"])
    assert set(offered) == {"book", "lose"} and offered["book"]["label"] == "Book the trip"
    done = ok(perform(zara, "Enquiries", enquiry["id"], "book"))
    assert done["status"] == "completed" and done["tasks"] == []

    assert record(zara, "Enquiries", enquiry["id"])["stage"] == "Booked"
    assert stages(zara, "Enquiries", enquiry["id"]) == ["New", "Contacted", "Quoted", "Booked"]
    [confirmation] = emails(crm.admin, enquiry["id"])
    assert confirmation["to"] == ["ana@example.com"]
    assert confirmation["subject"] == "Your Zylker trip to Lisbon"
    assert "Dear Ana Lima" in confirmation["body"] and "2026-09-14" in confirmation["body"]


def test_the_stage_of_an_enquiry_changes_only_through_a_transition(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Ben Ode", lead_source="Phone")
    body = assert_problem(zara.patch(f"/api/v1/modules/Enquiries/records/{enquiry['id']}", json={"stage": "Booked"}),
                          409)
    assert "transition" in body["detail"]
    assert record(zara, "Enquiries", enquiry["id"])["stage"] == "New"


def test_disqualifying_an_enquiry_needs_a_reason_and_ends_it_lost(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Cy Park", lead_source="Walk-in")
    missing = assert_problem(perform(zara, "Enquiries", enquiry["id"], "disqualify"), 400)
    assert set(missing["errors"]) == {"lost_reason"}
    assert record(zara, "Enquiries", enquiry["id"])["stage"] == "New"

    done = ok(perform(zara, "Enquiries", enquiry["id"], "disqualify", lost_reason="Dates not available"))
    assert done["status"] == "completed"
    lost = record(zara, "Enquiries", enquiry["id"])
    assert (lost["stage"], lost["lost_reason"]) == ("Lost", "Dates not available")
    assert emails(crm.admin, enquiry["id"]) == []


def test_a_quoted_enquiry_is_lost_with_a_reason(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Dee Fox", email="dee@example.com", lead_source="Web")
    ok(perform(zara, "Enquiries", enquiry["id"], "contact"))
    ok(perform(zara, "Enquiries", enquiry["id"], "send_quote", destination="Oslo", travel_date="2026-12-01",
               budget=900))
    ok(perform(zara, "Enquiries", enquiry["id"], "lose", lost_reason="Booked elsewhere"))
    assert stages(zara, "Enquiries", enquiry["id"]) == ["New", "Contacted", "Quoted", "Lost"]


def test_booking_is_offered_only_for_enquiries_with_an_email_and_only_to_their_owners(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Eli Gray", lead_source="Phone")
    ok(perform(zara, "Enquiries", enquiry["id"], "contact"))
    ok(perform(zara, "Enquiries", enquiry["id"], "send_quote", destination="Rome", travel_date="2026-10-02",
               budget=1500))
    assert set(transitions(zara, "Enquiries", enquiry["id"])) == {"lose"}
    refused = assert_problem(perform(zara, "Enquiries", enquiry["id"], "book"), 400)
    assert "criteria" in refused["errors"]["transition"][0]

    ok(zara.patch(f"/api/v1/modules/Enquiries/records/{enquiry['id']}", json={"email": "eli@example.com"}))
    assert "book" in transitions(crm["sam"], "Enquiries", enquiry["id"])  # sales managers may book too
    assert_problem(crm["sofia"].get(f"/api/v1/modules/Enquiries/records/{enquiry['id']}/transitions"),
                   404)  # neither an owner of a transition nor someone the enquiry concerns
    assert_problem(perform(crm["sofia"], "Enquiries", enquiry["id"], "book"), 403)
    ok(perform(crm["sam"], "Enquiries", enquiry["id"], "book"))
    assert record(zara, "Enquiries", enquiry["id"])["stage"] == "Booked"


# -- Zylker Travels: employee referral review ----------------------------------------------------

def _referral(crm: Crm) -> tuple[dict, dict, dict]:
    """An employee-referral enquiry by zara: (enquiry, review instance, review task)."""
    enquiry = create(crm["zara"], "Enquiries", name="Fay Hill", email="fay@example.com",
                     lead_source="Employee Referral", employee_name="Priya Nair")
    review = only_instance(crm.admin, enquiry["id"], "zylker_referral_review")
    [task] = tasks(crm["sam"], review["id"])
    return enquiry, review, task


def test_an_employee_referral_is_reviewed_by_a_sales_manager_while_the_enquiry_is_locked(crm):
    zara, sam = crm["zara"], crm["sam"]
    enquiry, review, task = _referral(crm)
    assert enquiry["locked_by"] == review["id"] and enquiry["stage"] == "New"  # the blueprint runs alongside
    assert review["record_role"] == "review" and review["status"] == "running"
    assert task["name"] == "Review employee referral" and task["candidate_groups"] == ["sales_managers"]
    assert task["id"] in [t["id"] for t in ok(sam.get("/api/v1/tasks?mine=true"))["items"]]
    assert task["id"] not in [t["id"] for t in ok(zara.get("/api/v1/tasks?mine=true"))["items"]]

    locked = assert_problem(zara.patch(f"/api/v1/modules/Enquiries/records/{enquiry['id']}",
                                       json={"phone": "+44 20 7946 0000"}), 423)
    assert locked["instance_id"] == review["id"]

    form = ok(sam.get(f"/api/v1/tasks/{task['id']}"))["form"]
    assert sorted(form["required"]) == ["details_ok", "details_reason", "employee_name_ok", "employee_name_reason"]
    incomplete = assert_problem(complete(sam, task["id"], employee_name_ok=True, details_ok=True), 400)
    assert set(incomplete["errors"]) == {"employee_name_reason", "details_reason"}
    assert_problem(complete(zara, task["id"], employee_name_ok=True, employee_name_reason="x", details_ok=True,
                            details_reason="x"), 403)

    done = ok(complete(sam, task["id"], employee_name_ok=True, employee_name_reason="Priya works in Chennai",
                       details_ok=True, details_reason="Contact details confirmed"))
    assert done["status"] == "completed"

    reviewed = record(zara, "Enquiries", enquiry["id"])
    assert reviewed["locked_by"] is None and reviewed["referral_verified"] is True
    [note] = [e for e in timeline(zara, "Enquiries", enquiry["id"]) if e["type"] == "note"]
    assert note["user"] == "sam" and note["instance_id"] == review["id"]
    assert note["data"]["text"] == ("Employee referral review: employee name approved (Priya works in Chennai); "
                                    "details approved (Contact details confirmed). Referral verified.")
    ok(zara.patch(f"/api/v1/modules/Enquiries/records/{enquiry['id']}", json={"phone": "+44 20 7946 0000"}))


def test_a_rejected_field_is_noted_with_its_reason_and_the_referral_is_not_verified(crm):
    enquiry, review, task = _referral(crm)
    ok(complete(crm["sam"], task["id"], employee_name_ok=False, employee_name_reason="No such employee",
                details_ok=True, details_reason="Looks right"))
    reviewed = record(crm["zara"], "Enquiries", enquiry["id"])
    assert reviewed["locked_by"] is None and reviewed["referral_verified"] is False
    [note] = [e["data"]["text"] for e in timeline(crm["zara"], "Enquiries", enquiry["id"]) if e["type"] == "note"]
    assert "employee name rejected (No such employee)" in note and note.endswith("Referral not verified.")
    history = ok(crm.admin.get(f"/api/v1/process-instances/{review['id']}/history"))["items"]
    assert [h["element_id"] for h in history if h["type"] == "element_entered"][-1] == "end_referral_not_verified"


def test_enquiries_from_other_sources_are_not_reviewed_and_a_referral_must_name_the_employee(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Gus Ivy", lead_source="Partner")
    assert enquiry["locked_by"] is None
    assert [i["key"] for i in instances(crm.admin, enquiry["id"])] == ["zylker_enquiry_management"]

    unnamed = assert_problem(zara.post("/api/v1/modules/Enquiries/records",
                                       json={"name": "Hal Jay", "lead_source": "Employee Referral"}), 400)
    assert unnamed["errors"]["employee_name"] == ["an employee referral names the referring employee"]


# -- Zylker Travels: trip discount approval chain ------------------------------------------------

def _trip(crm: Crm, discount: float) -> dict:
    return create(crm["zara"], "Trips", trip_name=f"Kerala backwaters ({discount}%)", destination="Kochi",
                  amount=3200, discount=discount)


def _approval(crm: Crm, trip: dict) -> dict:
    return only_instance(crm.admin, trip["id"], "zylker_trip_discount_approval")


def test_a_trip_discount_of_12_or_less_is_not_submitted(crm):
    trip = _trip(crm, 12)
    assert instances(crm.admin, trip["id"]) == []
    assert trip["locked_by"] is None and trip.get("approval_status") is None
    ok(crm["zara"].patch(f"/api/v1/modules/Trips/records/{trip['id']}", json={"amount": 3000}))


def test_a_trip_discount_of_20_is_approved_by_senior_management_alone(crm):
    zara, sofia = crm["zara"], crm["sofia"]
    trip = _trip(crm, 20)
    approval = _approval(crm, trip)
    assert approval["record_role"] == "approval" and trip["locked_by"] == approval["id"]
    assert trip["approval_status"] == "Pending"

    assert_problem(zara.patch(f"/api/v1/modules/Trips/records/{trip['id']}", json={"discount": 15}), 423)
    noted = ok(zara.patch(f"/api/v1/modules/Trips/records/{trip['id']}", json={"notes": "Family of four"}))
    assert noted["notes"] == "Family of four"  # notes stay editable during the approval

    [level_1] = tasks(sofia, approval["id"])
    assert level_1["element_id"] == "approve_level_1" and level_1["candidate_groups"] == ["senior_management"]
    assert_problem(complete(zara, level_1["id"], approved=True), 403)
    done = ok(complete(sofia, level_1["id"], approved=True, comment="Repeat customer"))
    assert done["status"] == "completed" and done["tasks"] == []

    approved = record(zara, "Trips", trip["id"])
    assert approved["approval_status"] == "Approved" and approved["locked_by"] is None
    [email] = emails(crm.admin, trip["id"])
    assert email["to"] == ["zara@zylker.test"] and email["subject"] == "Discount approved: Kerala backwaters (20%)"
    history = ok(crm.admin.get(f"/api/v1/process-instances/{approval['id']}/history"))["items"]
    assert "approve_level_2" not in {h["element_id"] for h in history}


def test_a_trip_discount_rejected_by_senior_management_is_rejected_and_the_owner_is_emailed(crm):
    trip = _trip(crm, 20)
    approval = _approval(crm, trip)
    [level_1] = tasks(crm["sofia"], approval["id"])
    ok(complete(crm["sofia"], level_1["id"], approved=False, comment="Margin too thin"))

    rejected = record(crm["zara"], "Trips", trip["id"])
    assert rejected["approval_status"] == "Rejected" and rejected["locked_by"] is None
    [email] = emails(crm.admin, trip["id"])
    assert email["to"] == ["zara@zylker.test"]
    assert email["subject"] == "Discount rejected: Kerala backwaters (20%)"
    assert email["body"] == "The 20% discount on Kerala backwaters (20%) was rejected."
    notes = [e["data"]["text"] for e in timeline(crm["zara"], "Trips", trip["id"]) if e["type"] == "note"]
    assert notes == ["Trip discount of 20% rejected."]


def test_a_trip_discount_of_30_then_needs_every_director_in_parallel(crm):
    zara, sofia, cfo, coo = crm["zara"], crm["sofia"], crm["zylker_cfo"], crm["zylker_coo"]
    trip = _trip(crm, 30)
    approval = _approval(crm, trip)
    [level_1] = tasks(sofia, approval["id"])
    after_level_1 = ok(complete(sofia, level_1["id"], approved=True))
    assert after_level_1["status"] == "running"
    level_2 = {t["assignee"]: t for t in after_level_1["tasks"]}
    assert set(level_2) == {"zylker_cfo", "zylker_coo"}
    assert {t["element_id"] for t in level_2.values()} == {"approve_level_2"}
    assert [t["id"] for t in ok(cfo.get("/api/v1/tasks?mine=true"))["items"]] == [level_2["zylker_cfo"]["id"]]

    assert_problem(complete(cfo, level_2["zylker_coo"]["id"], decision="approved"), 403)
    assert_problem(complete(cfo, level_2["zylker_cfo"]["id"], decision="maybe"), 400)
    still = ok(complete(cfo, level_2["zylker_cfo"]["id"], decision="approved", comment="Fine by finance"))
    assert still["status"] == "running" and [t["id"] for t in still["tasks"]] == [level_2["zylker_coo"]["id"]]
    waiting = record(zara, "Trips", trip["id"])
    assert waiting["approval_status"] == "Pending" and waiting["locked_by"] == approval["id"]

    done = ok(complete(coo, level_2["zylker_coo"]["id"], decision="approved"))
    assert done["status"] == "completed"
    approved = record(zara, "Trips", trip["id"])
    assert approved["approval_status"] == "Approved" and approved["locked_by"] is None
    assert [e["subject"] for e in emails(crm.admin, trip["id"])] == ["Discount approved: Kerala backwaters (30%)"]


def test_one_director_rejecting_ends_the_chain_rejected_and_withdraws_the_other_task(crm):
    sofia, cfo = crm["sofia"], crm["zylker_cfo"]
    trip = _trip(crm, 30)
    approval = _approval(crm, trip)
    [level_1] = tasks(sofia, approval["id"])
    level_2 = {t["assignee"]: t for t in ok(complete(sofia, level_1["id"], approved=True))["tasks"]}

    done = ok(complete(cfo, level_2["zylker_cfo"]["id"], decision="rejected", comment="Over budget"))
    assert done["status"] == "completed" and done["tasks"] == []
    assert [t["id"] for t in tasks(crm.admin, approval["id"], "cancelled")] == [level_2["zylker_coo"]["id"]]
    assert_problem(complete(crm["zylker_coo"], level_2["zylker_coo"]["id"], decision="approved"), 409)

    rejected = record(crm["zara"], "Trips", trip["id"])
    assert rejected["approval_status"] == "Rejected" and rejected["locked_by"] is None
    [email] = emails(crm.admin, trip["id"])
    assert email["to"] == ["zara@zylker.test"] and email["subject"] == "Discount rejected: Kerala backwaters (30%)"


@pytest.mark.parametrize("decisions, outcome", [(["approved", "approved"], "Approved"),
                                                 (["approved", "rejected"], "Rejected")])
def test_the_parallel_level_decides_right_in_a_worker_that_loads_the_definition_afresh(app, crm, decisions,
                                                                                      outcome):
    # SpiffWorkflow's Camunda multi-instance task rewires its spec when it starts, so the engine gives
    # each workflow of such a definition its own spec; the outcome must not depend on which worker
    # (with which caches) takes each request.
    trip = _trip(crm, 40)
    approval = _approval(crm, trip)
    [level_1] = tasks(crm["sofia"], approval["id"])
    level_2 = {t["assignee"]: t for t in ok(complete(crm["sofia"], level_1["id"], approved=True))["tasks"]}
    for director, decision in zip(("zylker_cfo", "zylker_coo"), decisions):
        app.extensions["stagecoach.engine"]._specs.clear()  # as if another worker took the request
        ok(complete(crm[director], level_2[director]["id"], decision=decision))
    assert record(crm["zara"], "Trips", trip["id"])["approval_status"] == outcome
    assert crm.admin.instance(approval["id"])["status"] == "completed"


def test_a_trip_discount_of_30_rejected_at_level_1_never_reaches_the_directors(crm):
    trip = _trip(crm, 30)
    approval = _approval(crm, trip)
    [level_1] = tasks(crm["sofia"], approval["id"])
    ok(complete(crm["sofia"], level_1["id"], approved=False))
    assert record(crm["zara"], "Trips", trip["id"])["approval_status"] == "Rejected"
    assert ok(crm["zylker_cfo"].get("/api/v1/tasks?mine=true"))["total"] == 0


# -- Explore Electronics: deal follow-up blueprint -------------------------------------------------

def test_a_deal_moves_from_qualification_through_closing_to_closed_won(crm):
    ravi, admin = crm["ravi"], crm.admin
    deal = create(ravi, "Deals", deal_name="Acme TVs")
    assert deal["stage"] == "Qualification"
    assert only_instance(admin, deal["id"], "electronics_deal_followup")["record_role"] == "blueprint"
    assert_problem(ravi.patch(f"/api/v1/modules/Deals/records/{deal['id']}", json={"stage": "Closed Won"}), 409)

    assert set(transitions(ravi, "Deals", deal["id"])) == {"negotiate", "lose"}
    assert set(assert_problem(perform(ravi, "Deals", deal["id"], "negotiate"), 400)["errors"]) == {"amount"}
    ok(perform(ravi, "Deals", deal["id"], "negotiate", amount=48000))
    assert record(ravi, "Deals", deal["id"])["stage"] == "Negotiation"

    offered = transitions(ravi, "Deals", deal["id"])
    assert offered["close"]["mandatory_fields"] == ["discount", "closing_date"]
    assert offered["close"]["label"] == "Move to closing"
    missing = assert_problem(perform(ravi, "Deals", deal["id"], "close"), 400)
    assert set(missing["errors"]) == {"discount", "closing_date"}
    too_much = assert_problem(perform(ravi, "Deals", deal["id"], "close", discount=25, closing_date="2026-07-31"),
                              400)
    assert set(too_much["errors"]) == {"discount"} and "20" in too_much["errors"]["discount"][0]
    unchanged = record(ravi, "Deals", deal["id"])
    assert unchanged["stage"] == "Negotiation" and unchanged.get("discount") is None
    assert emails(admin, deal["id"]) == []

    ok(perform(ravi, "Deals", deal["id"], "close", discount=15, closing_date="2026-07-31"))
    closing = record(ravi, "Deals", deal["id"])
    assert (closing["stage"], closing["discount"], closing["closing_date"]) == ("Closing", 15, "2026-07-31")
    [email] = emails(admin, deal["id"])
    assert email["to"] == ["maya@explore.test"]  # ravi's manager
    assert email["subject"] == "Deal in closing: Acme TVs"
    assert "15% discount" in email["body"] and "2026-07-31" in email["body"] and "Owner: ravi" in email["body"]

    assert set(transitions(ravi, "Deals", deal["id"])) == {"win", "lose"}
    done = ok(perform(ravi, "Deals", deal["id"], "win"))
    assert done["status"] == "completed"
    assert record(ravi, "Deals", deal["id"])["stage"] == "Closed Won"
    assert stages(ravi, "Deals", deal["id"]) == ["Qualification", "Negotiation", "Closing", "Closed Won"]


def test_a_deal_lost_in_negotiation_ends_closed_lost_without_an_email(crm):
    ravi = crm["ravi"]
    deal = create(ravi, "Deals", deal_name="Globex laptops", amount=12000)
    ok(perform(ravi, "Deals", deal["id"], "negotiate", amount=12000))  # mandatory fields are always sent
    ok(perform(ravi, "Deals", deal["id"], "lose"))
    assert record(ravi, "Deals", deal["id"])["stage"] == "Closed Lost"
    assert emails(crm.admin, deal["id"]) == []


# -- lead routing and scoring by decision tables ----------------------------------------------------

@pytest.mark.parametrize("lead, owner, score", [
    # 1-10M revenue 25 + 50-499 employees 15 + employee referral 20 + base 0
    ({"region": "EU", "annual_revenue": 2_000_000, "employees": 120, "lead_source": "Employee Referral"},
     "eu_sales", 60),
    # 10M+ revenue 40 + 500+ employees 25 + web 0 + base 0
    ({"region": "APAC", "annual_revenue": 20_000_000, "employees": 800, "lead_source": "Web"}, "apac_sales", 65),
    ({"region": "NA", "lead_source": "Partner"}, "na_sales", 15),
    ({"region": "LATAM"}, "latam_sales", 0),
])
def test_a_new_lead_gets_its_region_owner_and_a_score_from_the_decision_tables(crm, lead, owner, score):
    created = create(crm["zara"], "Leads", last_name="Moreau", company="Initech", **lead)
    routing = only_instance(crm.admin, created["id"], "lead_routing")
    assert routing["status"] == "completed"
    routed = record(crm.admin, "Leads", created["id"])
    assert (routed["owner"], routed["score"]) == (owner, score)
    assigned = [e["data"] for e in timeline(crm.admin, "Leads", created["id"]) if e["type"] == "owner_assigned"]
    assert assigned == [{"from": "zara", "to": owner}]


def test_a_lead_without_a_region_keeps_its_owner_and_is_still_scored(crm):
    created = create(crm["zara"], "Leads", last_name="Okafor", annual_revenue=5_000_000, lead_source="Trade Show")
    assert only_instance(crm.admin, created["id"], "lead_routing")["status"] == "completed"
    routed = record(crm.admin, "Leads", created["id"])
    assert (routed["owner"], routed["score"]) == ("zara", 35)


# -- what ships, and how it is deployed --------------------------------------------------------------

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
BPMN_XSD = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"
NAMED = {"startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "serviceTask", "manualTask",
         "task", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
         "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "subProcess", "callActivity",
         "sequenceFlow", "lane", "participant", "process"}
DIAGRAMS = sorted(SHIPPED.rglob("*.bpmn"))


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: str(p.relative_to(SHIPPED)))
def test_every_shipped_diagram_is_valid_executable_named_and_drawn(path):
    root = etree.parse(str(path)).getroot()
    schema = etree.XMLSchema(etree.parse(str(BPMN_XSD)))
    assert schema.validate(root), [str(e) for e in schema.error_log]
    processes = root.findall(f"{{{BPMN_NS}}}process")
    assert processes and all(p.get("isExecutable") == "true" for p in processes)
    elements = [el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS
                and etree.QName(el).localname in NAMED]
    assert [el.get("id") for el in elements if not el.get("name")] == []
    drawn = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge")}
    undrawn = [el.get("id") for el in elements if etree.QName(el).localname != "process" and el.get("id") not in drawn]
    assert undrawn == []


def test_shipped_process_ids_are_unique():
    ids = [p.get("id") for path in DIAGRAMS for p in etree.parse(str(path)).getroot().findall(f"{{{BPMN_NS}}}process")]
    assert len(ids) == len(set(ids)), ids


def test_the_cli_validates_and_deploys_the_shipped_folder_and_applies_its_manifests(app, admin):
    runner = app.test_cli_runner()
    validated = runner.invoke(args=["bpmn", "validate", str(SHIPPED)])
    assert validated.exit_code == 0, validated.output
    for key in ("zylker_enquiry_management", "zylker_referral_review", "zylker_trip_discount_approval",
                "electronics_deal_followup", "lead_routing"):
        assert f"ok {key} " in validated.output

    deployed = runner.invoke(args=["bpmn", "deploy", str(SHIPPED)])
    assert deployed.exit_code == 0, deployed.output
    bindings = {b["name"]: b for b in ok(admin.get("/api/v1/bindings"))["items"]}
    assert {b["process_key"]: b["kind"] for b in bindings.values()}.items() >= {
        "zylker_enquiry_management": "blueprint", "zylker_referral_review": "review",
        "zylker_trip_discount_approval": "approval", "electronics_deal_followup": "blueprint",
        "lead_routing": "process"}.items()
    assert bindings["Zylker trip discount approval"]["criteria"] == "discount > 12"
    assert bindings["Zylker trip discount approval"]["options"] == {"editable": ["notes"]}
    assert bindings["Explore Electronics deal follow-up"]["options"] == {"stage_field": "stage"}
    modules = {m["api_name"] for m in ok(admin.get("/api/v1/modules"))["items"]}
    assert {"Enquiries", "Trips"} <= modules

    again = runner.invoke(args=["bpmn", "deploy", str(SHIPPED)])  # manifests re-apply in place
    assert again.exit_code == 0, again.output
    assert ok(admin.get("/api/v1/bindings"))["total"] == len(bindings)


# -- unary tests in decision tables ------------------------------------------------------------------

def test_a_decision_table_may_use_feel_style_unary_tests(crm, tmp_path):
    unary = tmp_path / "lead_score.dmn"
    unary.write_text(shipped("leads", "lead_score.dmn").read_text().replace("? &gt;= 10000000", "&gt;= 10000000"))
    assert "<text>&gt;= 10000000</text>" in unary.read_text()
    crm.admin.deploy(shipped("leads", "lead_routing.bpmn"), shipped("leads", "lead_owner_by_region.dmn"), unary)

    created = create(crm["zara"], "Leads", last_name="Nakamura", region="APAC", annual_revenue=20_000_000)
    routing = only_instance(crm.admin, created["id"], "lead_routing")
    assert routing["status"] == "completed"
    assert record(crm.admin, "Leads", created["id"])["score"] == 40
