"""One write path for records: the lock, bindings and checks hold whichever path writes a record.

The API, a blueprint transition, another process's `update_record` and a workflow rule all go
through the same write; a record held by an approval or review refuses each of them with the
locking instance named, and every path's writes are edits that fire the record's bindings.
"""
from __future__ import annotations

import io

from ..factories import ApiClient, assert_problem, fixture
from .test_bindings import bind, create, get, instances_of, records, timeline
from .test_shipped_crm import (  # noqa: F401 - the crm fixture and its helpers
    _referral, complete, crm, ok, perform, record, tasks, transitions,
)


def crm_fixture(name: str):
    return fixture("crm", name)


# -- the lock holds on every path -------------------------------------------------------------------

def test_a_blueprint_transition_on_a_record_under_review_is_refused_naming_the_review(crm):
    zara = crm["zara"]
    enquiry, review, _ = _referral(crm)
    before = record(zara, "Enquiries", enquiry["id"])

    problem = assert_problem(perform(zara, "Enquiries", enquiry["id"], "contact"), 423)

    assert problem["instance_id"] == review["id"] and review["id"] in problem["detail"]
    assert record(zara, "Enquiries", enquiry["id"]) == before
    assert set(transitions(zara, "Enquiries", enquiry["id"])) == {"contact", "disqualify"}  # still at New


def test_a_transition_goes_through_once_the_review_released_the_record(crm):
    zara, sam = crm["zara"], crm["sam"]
    enquiry, _, task = _referral(crm)
    ok(complete(sam, task["id"], employee_name_ok=True, employee_name_reason="ok", details_ok=True,
                details_reason="ok"))

    ok(perform(zara, "Enquiries", enquiry["id"], "contact"))

    assert record(zara, "Enquiries", enquiry["id"])["stage"] == "Contacted"


def _locked_deal(admin, make):
    """A deal held by an approval (closing_date editable), and a process that rewrites amounts on edits."""
    admin.deploy(crm_fixture("deal_approval.bpmn"), crm_fixture("update_deal.bpmn"))
    bind(admin, kind="approval", event="create_or_edit", criteria="discount > 12 and not approved",
         process_key="crm_deal_approval", options={"editable": ["closing_date"]})
    rita = make.client("rita", groups=["sales_reps"])
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)
    return rita, deal


def test_another_process_writing_a_locked_record_fails_with_an_incident_naming_the_lock(admin, make):
    rita, deal = _locked_deal(admin, make)
    bind(admin, event="field_change", field="closing_date", process_key="crm_update_deal")

    edited = rita.patch(f"{records('Deals')}/{deal['id']}", json={"closing_date": "2031-02-28"})

    assert edited.status_code == 200, edited.get_json()
    [writer] = [i for i in instances_of(admin, "Deals", deal["id"]) if i["id"] != deal["locked_by"]]
    failed = admin.instance(writer["id"])
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert deal["locked_by"] in incident["message"] and "locked" in incident["message"]
    after = get(admin, "Deals", deal["id"])
    assert after["amount"] == 1000 and after["closing_date"] == "2031-02-28"


def test_a_workflow_rule_field_update_on_a_locked_record_is_refused(admin, make):
    rita, deal = _locked_deal(admin, make)
    rule = admin.post("/api/v1/workflow-rules", json={
        "name": "Zero the amount", "module": "Deals", "event": "field_change", "field": "closing_date",
        "actions": [{"type": "field_update", "field": "amount", "value": 0}]})
    assert rule.status_code == 201, rule.get_json()

    assert rita.patch(f"{records('Deals')}/{deal['id']}", json={"closing_date": "2031-02-28"}).status_code == 200

    assert get(admin, "Deals", deal["id"])["amount"] == 1000
    rule_runs = [admin.instance(i["id"]) for i in instances_of(admin, "Deals", deal["id"])
                 if i["id"] != deal["locked_by"]]
    assert [r["status"] for r in rule_runs] == ["error"]
    assert deal["locked_by"] in rule_runs[0]["incidents"][0]["message"]


# -- every path's writes are edits ------------------------------------------------------------------

def test_a_field_change_binding_fires_when_a_transition_writes_the_field(crm, admin):
    admin.deploy(crm_fixture("follow_up.bpmn"))
    bind(admin, module="Enquiries", event="field_change", field="budget", process_key="crm_follow_up")
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Ana Lima", email="ana@example.com", lead_source="Web")
    ok(perform(zara, "Enquiries", enquiry["id"], "contact"))
    assert [i for i in instances_of(admin, "Enquiries", enquiry["id"]) if i["key"] == "crm_follow_up"] == []

    ok(perform(zara, "Enquiries", enquiry["id"], "send_quote", destination="Oslo", travel_date="2031-05-01",
               budget=900))

    [follow_up] = [i for i in instances_of(admin, "Enquiries", enquiry["id"]) if i["key"] == "crm_follow_up"]
    assert follow_up["status"] in ("running", "completed")
    [updated] = [e for e in timeline(admin, "Enquiries", enquiry["id"])
                 if e["type"] == "updated" and e["data"]["source"] == "blueprint"]
    assert updated["data"]["changes"]["budget"] == [None, 900]


# -- blueprint mandatory fields -----------------------------------------------------------------------

def test_a_mandatory_field_the_record_already_holds_counts_as_given(crm):
    zara = crm["zara"]
    enquiry = create(zara, "Enquiries", name="Ana Lima", email="ana@example.com", lead_source="Web")
    ok(perform(zara, "Enquiries", enquiry["id"], "contact"))
    ok(zara.patch(f"/api/v1/modules/Enquiries/records/{enquiry['id']}",
                  json={"destination": "Oslo", "travel_date": "2031-05-01"}))

    offered = transitions(zara, "Enquiries", enquiry["id"])["send_quote"]
    assert offered["mandatory_fields"] == ["destination", "travel_date", "budget"]
    assert offered["missing_fields"] == ["budget"]
    assert offered["values"]["destination"] == "Oslo"
    missing = assert_problem(perform(zara, "Enquiries", enquiry["id"], "send_quote"), 400)
    assert missing["errors"] == {"budget": ["required"]}  # once, and only what is missing

    ok(perform(zara, "Enquiries", enquiry["id"], "send_quote", budget=1200))
    quoted = record(zara, "Enquiries", enquiry["id"])
    assert (quoted["stage"], quoted["destination"], quoted["budget"]) == ("Quoted", "Oslo", 1200)


# -- transition owners by role, and transitions that need a note or an attachment -------------------------------

def _blueprint_variant(admin, tmp_path, **properties):
    """deal_blueprint with Qualification's `advance` given other properties (owners, requires)."""
    source = crm_fixture("deal_blueprint.bpmn").read_text()
    extra = "".join(f'          <spiffworkflow:property name="transition.advance.{k}" value="{v}" />\n'
                    for k, v in properties.items() if k != "owners")
    if "owners" in properties:
        source = source.replace('name="transition.advance.owners" value="group:sales_reps"',
                                f'name="transition.advance.owners" value="{properties["owners"]}"')
    marker = '          <spiffworkflow:property name="transition.advance.label" value="Move to negotiation" />\n'
    assert marker in source
    variant = tmp_path / "deal_blueprint.bpmn"
    variant.write_text(source.replace(marker, marker + extra))
    admin.deploy(variant, crm_fixture("deal_qualification.schema.json"), crm_fixture("deal_negotiation.schema.json"))
    bind(admin, kind="blueprint", event="create", process_key="crm_deal_blueprint")


def test_a_transition_may_belong_to_the_records_owner_and_the_managers_above_them(admin, make, tmp_path):
    _blueprint_variant(admin, tmp_path, owners="owner, manager")
    make.user("mona", groups=["sales_managers"])
    rita = make.client("rita", groups=["sales_reps"], manager="mona")
    ben = make.client("ben", groups=["sales_reps"])  # a rep of the group, but neither the owner nor above her
    mona = ApiClient.login(rita.app, "mona", "secret")
    deal = create(rita, "Deals", deal_name="Acme", amount=500)
    deal2 = create(rita, "Deals", deal_name="Beta", amount=500)
    path = f"{records('Deals')}/{deal['id']}/transitions"

    assert "advance" in {t["name"] for t in ok(rita.get(path))["items"]}
    assert_problem(ben.post(f"{path}/advance", json={"fields": {"amount": 900}}), 403)
    ok(mona.post(f"{path}/advance", json={"fields": {"amount": 900}}))
    assert get(admin, "Deals", deal["id"])["stage"] == "Negotiation"
    ok(rita.post(f"{records('Deals')}/{deal2['id']}/transitions/advance", json={"fields": {"amount": 900}}))


def test_a_transition_that_needs_a_note_keeps_it_on_the_record(admin, make, tmp_path):
    _blueprint_variant(admin, tmp_path, requires="note")
    rita = make.client("rita", groups=["sales_reps"])
    deal = create(rita, "Deals", deal_name="Acme", amount=500)
    path = f"{records('Deals')}/{deal['id']}/transitions"
    [advance] = [t for t in ok(rita.get(path))["items"] if t["name"] == "advance"]
    assert advance["requires"] == ["note"]

    refused = assert_problem(rita.post(f"{path}/advance", json={"fields": {"amount": 900}}), 400)
    assert refused["errors"] == {"note": ["this transition needs a note"]}
    assert get(admin, "Deals", deal["id"])["stage"] == "Qualification"

    ok(rita.post(f"{path}/advance", json={"fields": {"amount": 900}, "note": "Budget confirmed by phone"}))
    assert get(admin, "Deals", deal["id"])["stage"] == "Negotiation"
    [note] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "note"]
    assert note["data"]["text"] == "Budget confirmed by phone" and note["user"] == "rita"


def test_a_transition_that_needs_an_attachment_waits_for_a_file_at_this_stage(admin, make, tmp_path):
    _blueprint_variant(admin, tmp_path, requires="attachment")
    rita = make.client("rita", groups=["sales_reps"])
    deal = create(rita, "Deals", deal_name="Acme", amount=500)
    path = f"{records('Deals')}/{deal['id']}"

    refused = assert_problem(rita.post(f"{path}/transitions/advance", json={"fields": {"amount": 900}}), 400)
    assert set(refused["errors"]) == {"attachment"}
    upload = rita.post(f"{path}/attachments", data={"file": (io.BytesIO(b"signed quote\n"), "quote.txt")},
                       content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()

    ok(rita.post(f"{path}/transitions/advance", json={"fields": {"amount": 900}}))
    assert get(admin, "Deals", deal["id"])["stage"] == "Negotiation"
