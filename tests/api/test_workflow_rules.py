"""Workflow rules through HTTP: a binding plus actions, kept as an ordinary, monitored process definition."""
from __future__ import annotations

import pytest
from lxml import etree

from ..factories import ApiClient, assert_problem

RULES = "/api/v1/workflow-rules"
DEALS = "/api/v1/modules/Deals/records"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
INJECTION = "\"'); import os; ('\""


def high_value_rule(**overrides) -> dict:
    rule = {
        "name": "high value deal",
        "module": "Deals",
        "event": "create",
        "criteria": "amount > 10000",
        "actions": [
            {"type": "field_update", "field": "approved", "value": False},
            {"type": "task", "subject": "Call the buyer of {{ deal_name }}", "due_in_days": 2},
            {"type": "email", "to": "owner", "subject": "High value deal: {{ deal_name }}",
             "body": "{{ deal_name }} is worth {{ amount }}."},
            {"type": "webhook", "url": "https://hooks.example.com/deals"},
        ],
    }
    rule.update(overrides)
    return rule


@pytest.fixture(autouse=True)
def allowed_hooks(admin):
    """The rules below call hooks.example.com and example.com: the admin allows both (public hosts)."""
    for pattern in ("hooks.example.com", "example.com"):
        response = admin.post("/api/v1/outbound-hosts", json={"pattern": pattern})
        assert response.status_code == 201, response.get_json()


@pytest.fixture
def seller(app):
    """A sales rep with an email address, as emails to `owner` need one."""
    from app.services.core import SYSTEM
    from app.services.users import create_user

    with app.app_context():
        create_user("olga", "secret", ["sales"], email="olga@example.com", actor=SYSTEM)
    return ApiClient.login(app, "olga", "secret")


def _create(client, rule: dict, expect: int = 201) -> dict:
    response = client.post(RULES, json=rule)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def _deal(client, **fields) -> dict:
    response = client.post(DEALS, json={"deal_name": "Deal", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _nothing_created(admin) -> None:
    assert admin.get(RULES).get_json()["total"] == 0
    assert admin.get("/api/v1/bindings").get_json()["total"] == 0
    assert admin.get("/api/v1/process-definitions").get_json()["total"] == 0


# -- creating and running -----------------------------------------------------------------------------------

def test_creating_a_rule_deploys_a_definition_and_binds_it(admin):
    created = _create(admin, high_value_rule())

    assert created["name"] == "high value deal" and created["module"] == "Deals" and created["event"] == "create"
    assert created["criteria"] == "amount > 10000"
    assert created["process_key"] == "rule_high_value_deal" and created["version"] == 1
    assert [a["type"] for a in created["actions"]] == ["field_update", "task", "email", "webhook"]
    assert created["actions"][2]["to"] == ["owner"]
    listed = admin.get(RULES).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
    assert listed["items"][0]["version"] == 1 and listed["items"][0]["actions"] == created["actions"]
    [binding] = admin.get("/api/v1/bindings").get_json()["items"]
    assert binding["id"] == created["id"] and binding["kind"] == "rule"
    assert binding["process_key"] == "rule_high_value_deal" and binding["active"] is True

    definitions = admin.get("/api/v1/process-definitions?key=rule_high_value_deal").get_json()
    assert definitions["total"] == 1
    assert definitions["items"][0]["name"] == "high value deal" and definitions["items"][0]["version"] == 1


def test_the_generated_xml_is_valid_bpmn_with_a_diagram(admin):
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

    created = _create(admin, high_value_rule())
    response = admin.get(f"/api/v1/process-definitions/{created['definition_id']}/xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"

    root = etree.fromstring(response.data)
    assert BpmnValidator().validator.validate(root.getroottree())
    [process] = root.findall(f"{{{BPMN_NS}}}process")
    assert (process.get("id"), process.get("name"), process.get("isExecutable")) == (
        "rule_high_value_deal", "high value deal", "true")
    nodes = [(el.tag.split("}")[1], el.get("id")) for el in process
             if el.tag.split("}")[1] in {"startEvent", "scriptTask", "endEvent"}]
    assert nodes == [("startEvent", "start"), ("scriptTask", "action_1"), ("scriptTask", "action_2"),
                     ("scriptTask", "action_3"), ("scriptTask", "action_4"), ("endEvent", "end")]
    flows = [(f.get("sourceRef"), f.get("targetRef")) for f in process.findall(f"{{{BPMN_NS}}}sequenceFlow")]
    assert flows == [("start", "action_1"), ("action_1", "action_2"), ("action_2", "action_3"),
                     ("action_3", "action_4"), ("action_4", "end")]
    scripts = [s.text for s in process.iter(f"{{{BPMN_NS}}}script")]
    assert scripts[0] == "update_record(**{'approved': False})"
    assert scripts[3] == "call_webhook('https://hooks.example.com/deals')"
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{BPMNDI_NS}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")}
    assert shapes == {"start", "action_1", "action_2", "action_3", "action_4", "end"}
    assert edges == {f"flow_{i}" for i in range(1, 6)}


def test_a_matching_deal_runs_every_action(admin, seller):
    _create(admin, high_value_rule())

    deal = _deal(seller, deal_name="Mega", amount=50000, approved=True)

    record = seller.get(f"{DEALS}/{deal['id']}").get_json()
    assert record["approved"] is False
    [task] = seller.get("/api/v1/crm-tasks?mine=true").get_json()["items"]
    assert task["subject"] == "Call the buyer of Mega"  # task subjects are templates, as email subjects
    assert task["record_id"] == deal["id"] and task["owner"] == "olga" and task["due_date"] is not None
    outbox = admin.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["items"]
    by_kind = {m["kind"]: m for m in outbox}
    assert sorted(by_kind) == ["email", "webhook"]
    assert by_kind["email"]["payload"] == {"to": ["olga@example.com"], "subject": "High value deal: Mega",
                                           "body": "Mega is worth 50000."}
    assert by_kind["webhook"]["payload"]["url"] == "https://hooks.example.com/deals"
    assert by_kind["webhook"]["payload"]["body"]["id"] == deal["id"]

    instances = admin.get(f"/api/v1/process-instances?module=Deals&record_id={deal['id']}").get_json()
    [instance] = instances["items"]
    assert instance["key"] == "rule_high_value_deal" and instance["status"] == "completed"
    assert instance["record_role"] == "rule"


def test_a_deal_that_does_not_match_runs_nothing(admin, seller):
    _create(admin, high_value_rule())

    deal = _deal(seller, deal_name="Small", amount=500, approved=True)

    assert seller.get(f"{DEALS}/{deal['id']}").get_json()["approved"] is True
    assert seller.get("/api/v1/crm-tasks?mine=true").get_json()["total"] == 0
    assert admin.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["total"] == 0
    assert admin.get(f"/api/v1/process-instances?module=Deals&record_id={deal['id']}").get_json()["total"] == 0


def test_a_field_change_rule_runs_when_its_field_changes(admin, seller):
    _create(admin, {"name": "closing", "module": "Deals", "event": "field_change", "field": "stage",
                    "criteria": "stage == 'Closing'",
                    "actions": [{"type": "task", "subject": "Send the contract", "owner": "olga"}]})
    deal = _deal(seller, stage="Qualification")
    assert seller.get("/api/v1/crm-tasks?mine=true").get_json()["total"] == 0

    assert seller.patch(f"{DEALS}/{deal['id']}", json={"stage": "Closing"}).status_code == 200

    [task] = seller.get("/api/v1/crm-tasks?mine=true").get_json()["items"]
    assert task["subject"] == "Send the contract"


# -- injection --------------------------------------------------------------------------------------------

def test_code_in_a_value_stays_a_harmless_string(admin, seller):
    sneaky_name = "x'); update_record(approved=True); ('"
    _create(admin, {"name": "sneaky", "module": "Deals", "event": "create", "actions": [
        {"type": "field_update", "field": "deal_name", "value": sneaky_name},
        {"type": "email", "to": ["owner"], "subject": INJECTION, "body": "\"\"\"\nimport os\n'''"},
        {"type": "task", "subject": INJECTION},
        {"type": "webhook", "url": "https://example.com/?q=');import(os);('"},
    ]})

    deal = _deal(seller, approved=False)

    record = seller.get(f"{DEALS}/{deal['id']}").get_json()
    assert record["deal_name"] == sneaky_name and record["approved"] is False
    messages = {m["kind"]: m for m in admin.get(f"/api/v1/outbox?record_id={deal['id']}").get_json()["items"]}
    assert messages["email"]["payload"]["subject"] == INJECTION
    assert messages["email"]["payload"]["body"] == "\"\"\"\nimport os\n'''"
    assert messages["webhook"]["payload"]["url"] == "https://example.com/?q=');import(os);('"
    [task] = seller.get("/api/v1/crm-tasks?mine=true").get_json()["items"]
    assert task["subject"] == INJECTION
    [instance] = admin.get(f"/api/v1/process-instances?record_id={deal['id']}").get_json()["items"]
    assert instance["status"] == "completed"


# -- refusals ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "key"), [
    ({"type": "field_update", "field": "colour", "value": "red"}, "actions[1].field"),
    ({"type": "field_update", "field": "amount", "value": -5}, "actions[1].value"),
    ({"type": "field_update", "field": "stage", "value": "Dreaming"}, "actions[1].value"),
    ({"type": "field_update", "field": "approved"}, "actions[1].value"),
    ({"type": "email", "to": "owner", "body": "hello"}, "actions[1].subject"),
    ({"type": "email", "to": "owner", "subject": "{{ oops", "body": "hello"}, "actions[1].subject"),
    ({"type": "email", "to": "nobody-here", "subject": "s", "body": "b"}, "actions[1].to"),
    ({"type": "task", "subject": "Call", "owner": "ghost"}, "actions[1].owner"),
    ({"type": "webhook", "url": "ftp://example.com/x"}, "actions[1].url"),
    ({"type": "webhook", "url": "not a url"}, "actions[1].url"),
], ids=["unknown-field", "value-below-min", "not-in-picklist", "missing-value", "missing-subject",
        "bad-template", "unknown-recipient", "unknown-task-owner", "ftp-url", "not-a-url"])
def test_a_bad_action_is_a_400_and_nothing_is_created(admin, action, key):
    rule = high_value_rule(actions=[{"type": "task", "subject": "fine"}, action])

    body = assert_problem(admin.post(RULES, json=rule), 400)

    assert list(body["errors"]) == [key], body["errors"]
    _nothing_created(admin)


def test_bad_rule_fields_are_reported_together(admin):
    rule = {"name": "!!!", "module": "Nope", "event": "field_change", "criteria": "import os", "actions": []}

    body = assert_problem(admin.post(RULES, json=rule), 400)

    assert set(body["errors"]) == {"name", "module", "field", "criteria", "actions"}
    _nothing_created(admin)


def test_control_characters_are_refused_rather_than_written_into_the_diagram(admin):
    rule = high_value_rule(name="bell\x07rule", actions=[{"type": "task", "subject": "escape\x1bhere"}])

    body = assert_problem(admin.post(RULES, json=rule), 400)

    assert set(body["errors"]) == {"name", "actions[0].subject"}
    _nothing_created(admin)


def test_a_nul_is_refused_before_the_rule_is_read(admin):
    rule = high_value_rule(actions=[{"type": "task", "subject": "nul\x00here"}])

    body = assert_problem(admin.post(RULES, json=rule), 400)

    assert set(body["errors"]) == {"actions[0].subject"}
    _nothing_created(admin)


def test_a_schema_violation_is_a_400(admin):
    body = assert_problem(admin.post(RULES, json=high_value_rule(actions=[{"type": "sms"}])), 400)
    assert "actions" in body["errors"]
    _nothing_created(admin)


def test_only_admins_manage_rules(admin, make):
    rep = make.client("rep")
    assert_problem(rep.post(RULES, json=high_value_rule()), 403)
    _nothing_created(admin)
    created = _create(admin, high_value_rule())
    assert_problem(rep.client.delete(f"{RULES}/{created['id']}", headers={"Authorization": f"Bearer {rep.token}"}),
                   403)
    assert rep.get(RULES).get_json()["total"] == 1


# -- updating and deleting --------------------------------------------------------------------------------

def test_saving_under_the_same_name_makes_a_new_version_and_replaces_the_binding(admin, seller):
    first = _create(admin, high_value_rule())
    again = _create(admin, high_value_rule())
    assert again["version"] == 1 and again["id"] != first["id"]  # same content: same definition version

    changed = _create(admin, high_value_rule(criteria="amount > 100", actions=[
        {"type": "task", "subject": "Look at it"}]))

    assert changed["version"] == 2 and changed["process_key"] == "rule_high_value_deal"
    [rule] = admin.get(RULES).get_json()["items"]
    assert rule["id"] == changed["id"] and rule["criteria"] == "amount > 100" and rule["version"] == 2
    assert admin.get("/api/v1/bindings").get_json()["total"] == 1
    versions = admin.get("/api/v1/process-definitions?key=rule_high_value_deal").get_json()["items"]
    assert [d["version"] for d in versions] == [2, 1]

    _deal(seller, amount=500)
    [task] = seller.get("/api/v1/crm-tasks?mine=true").get_json()["items"]
    assert task["subject"] == "Look at it"  # the new version ran, once


def test_two_names_with_the_same_process_key_conflict(admin):
    _create(admin, high_value_rule(name="High value deal"))
    body = assert_problem(admin.post(RULES, json=high_value_rule(name="high-value deal")), 409)
    assert "name" in body["errors"]
    assert admin.get(RULES).get_json()["total"] == 1


def test_deleting_a_rule_stops_it_and_keeps_its_definition(admin, seller):
    created = _create(admin, high_value_rule())

    response = admin.client.delete(f"{RULES}/{created['id']}", headers={"Authorization": f"Bearer {admin.token}"})

    assert response.status_code == 204
    assert admin.get(RULES).get_json()["total"] == 0
    assert admin.get("/api/v1/process-definitions?key=rule_high_value_deal").get_json()["total"] == 1
    deal = _deal(seller, amount=50000)
    assert admin.get(f"/api/v1/process-instances?record_id={deal['id']}").get_json()["total"] == 0
    again = admin.client.delete(f"{RULES}/{created['id']}", headers={"Authorization": f"Bearer {admin.token}"})
    assert_problem(again, 404)


def test_a_plain_binding_is_not_a_rule(admin):
    created = _create(admin, high_value_rule())
    plain = admin.post("/api/v1/bindings", json={"module": "Deals", "event": "edit",
                                                 "process_key": created["process_key"]})
    assert plain.status_code == 201, plain.get_json()

    assert [r["id"] for r in admin.get(RULES).get_json()["items"]] == [created["id"]]
    response = admin.client.delete(f"{RULES}/{plain.get_json()['id']}",
                                   headers={"Authorization": f"Bearer {admin.token}"})
    assert_problem(response, 404)
