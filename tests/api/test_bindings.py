"""Bindings over HTTP: record events start processes; approvals lock records; blueprints drive the stage;
scripts act on records through the CRM functions."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from config import TestConfig

from ..factories import ApiClient, assert_problem, fixture
from ..timing import next_at

MODULES = "/api/v1/modules"
BINDINGS = "/api/v1/bindings"


def crm(name: str):
    return fixture("crm", name)


def records(module: str) -> str:
    return f"{MODULES}/{module}/records"


def bind(admin, **spec) -> dict:
    """Create a binding (defaults: on Deals, kind process)."""
    spec.setdefault("module", "Deals")
    response = admin.post(BINDINGS, json=spec)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create(client, module: str, **fields) -> dict:
    response = client.post(records(module), json=fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def get(client, module: str, record_id: str) -> dict:
    response = client.get(f"{records(module)}/{record_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def patch(client, module: str, record_id: str, **fields) -> dict:
    response = client.patch(f"{records(module)}/{record_id}", json=fields)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def timeline(client, module: str, record_id: str) -> list[dict]:
    response = client.get(f"{records(module)}/{record_id}/timeline?per_page=200")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def instances_of(client, module: str, record_id: str) -> list[dict]:
    response = client.get(f"/api/v1/process-instances?module={module}&record_id={record_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def only_instance(client, module: str, record_id: str) -> dict:
    [summary] = instances_of(client, module, record_id)
    return client.instance(summary["id"])


# -- which events start which processes ------------------------------------------------------------------

@pytest.mark.parametrize("event, field, action, starts", [
    ("create", None, "create", True),
    ("create", None, "edit", False),
    ("create", None, "delete", False),
    ("edit", None, "create", False),
    ("edit", None, "edit", True),
    ("edit", None, "delete", False),
    ("create_or_edit", None, "create", True),
    ("create_or_edit", None, "edit", True),
    ("create_or_edit", None, "delete", False),
    ("field_change", "amount", "create", True),
    ("field_change", "amount", "edit", True),
    ("field_change", "discount", "create", False),
    ("field_change", "discount", "edit", False),
    ("field_change", "amount", "delete", False),
    ("delete", None, "create", False),
    ("delete", None, "edit", False),
    ("delete", None, "delete", True),
])
def test_each_event_kind_starts_its_process_only_on_its_event(admin, event, field, action, starts):
    admin.deploy(crm("follow_up.bpmn"))
    existing = create(admin, "Deals", deal_name="Existing", amount=100)
    bind(admin, event=event, field=field, process_key="crm_follow_up")

    if action == "create":
        record_id = create(admin, "Deals", deal_name="New", amount=200)["id"]
    elif action == "edit":
        record_id = patch(admin, "Deals", existing["id"], amount=300)["id"]
    else:
        assert admin.delete(f"{records('Deals')}/{existing['id']}").status_code == 204
        record_id = existing["id"]

    started = instances_of(admin, "Deals", record_id)
    assert len(started) == (1 if starts else 0)
    if starts:
        assert started[0]["key"] == "crm_follow_up" and started[0]["record_role"] == "process"


def test_a_field_change_binding_ignores_a_write_that_leaves_its_field_as_it_was(admin):
    admin.deploy(crm("follow_up.bpmn"))
    deal = create(admin, "Deals", deal_name="Acme", amount=100)
    bind(admin, event="field_change", field="amount", process_key="crm_follow_up")

    patch(admin, "Deals", deal["id"], amount=100, discount=5)

    assert instances_of(admin, "Deals", deal["id"]) == []


@pytest.mark.parametrize("criteria, fields, starts", [
    ("amount > 12000", {"amount": 20000}, True),
    ("amount > 12000", {"amount": 5000}, False),
    ("amount > 12000", {}, False),  # unset fields are None: the criteria cannot hold
    ("discount > 12 and not approved", {"discount": 15}, True),
    ("discount > 12 and not approved", {"discount": 15, "approved": True}, False),
    ("owner == 'rita'", {}, True),
    ("owner == 'ben'", {}, False),
    ("stage in ['Negotiation', 'Closing']", {"stage": "Closing"}, True),
])
def test_criteria_decide_whether_a_matching_event_starts_the_process(admin, make, criteria, fields, starts):
    admin.deploy(crm("follow_up.bpmn"))
    bind(admin, event="create", criteria=criteria, process_key="crm_follow_up")
    rita = make.client("rita")

    deal = create(rita, "Deals", deal_name="Acme", **fields)

    assert len(instances_of(admin, "Deals", deal["id"])) == (1 if starts else 0)
    assert get(admin, "Deals", deal["id"])["deal_name"] == "Acme"  # the write happens either way


def test_the_started_instance_is_linked_to_the_record_with_its_fields_as_variables(admin, make):
    admin.deploy(crm("follow_up.bpmn"))
    binding = bind(admin, name="Follow up big deals", event="create", process_key="crm_follow_up")
    rita = make.client("rita")

    deal = create(rita, "Deals", deal_name="Acme", amount=20000, stage="Qualification")
    other = create(rita, "Deals", deal_name="Other")

    [summary] = instances_of(admin, "Deals", deal["id"])
    assert summary["module"] == "Deals" and summary["record_id"] == deal["id"]
    assert summary["business_key"] == deal["id"] and summary["started_by"] == "rita"
    assert summary["status"] == "running"
    instance = admin.instance(summary["id"])
    assert instance["variables"] == {"deal_name": "Acme", "amount": 20000, "stage": "Qualification",
                                     "owner": "rita", "record_id": deal["id"], "module": "Deals"}
    assert [t["element_id"] for t in instance["tasks"]] == ["follow_up"]
    assert [i["record_id"] for i in instances_of(admin, "Deals", other["id"])] == [other["id"]]
    assert instances_of(admin, "Leads", deal["id"]) == []
    [started] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "process_started"]
    assert started["instance_id"] == summary["id"] and started["user"] == "rita"
    assert started["data"] == {"process_key": "crm_follow_up", "binding": binding["name"], "kind": "process",
                               "status": "running"}


def test_a_delete_binding_starts_with_the_records_last_fields(admin):
    admin.deploy(crm("follow_up.bpmn"))
    deal = create(admin, "Deals", deal_name="Acme", amount=10)
    bind(admin, event="delete", process_key="crm_follow_up")

    assert admin.delete(f"{records('Deals')}/{deal['id']}").status_code == 204

    instance = only_instance(admin, "Deals", deal["id"])
    assert instance["variables"] == {"deal_name": "Acme", "amount": 10, "owner": "admin",
                                     "record_id": deal["id"], "module": "Deals"}


def test_an_inactive_or_deleted_binding_starts_nothing(admin):
    admin.deploy(crm("follow_up.bpmn"))
    bind(admin, event="create", process_key="crm_follow_up", active=False)
    removed = bind(admin, event="create", process_key="crm_follow_up")
    assert admin.delete(f"{BINDINGS}/{removed['id']}").status_code == 204

    deal = create(admin, "Deals", deal_name="Acme")

    assert instances_of(admin, "Deals", deal["id"]) == []
    assert [b["active"] for b in admin.get(BINDINGS).get_json()["items"]] == [False]


def test_a_binding_on_another_module_does_not_start(admin):
    admin.deploy(crm("follow_up.bpmn"))
    bind(admin, module="Leads", event="create", process_key="crm_follow_up")

    deal = create(admin, "Deals", deal_name="Acme")

    assert instances_of(admin, "Deals", deal["id"]) == []


def test_a_binding_to_a_process_that_is_not_deployed_is_refused(admin):
    response = admin.post(BINDINGS, json={"module": "Deals", "event": "create", "process_key": "crm_not_deployed"})

    problem = assert_problem(response, 400)
    assert "crm_not_deployed" in problem["errors"]["process_key"][0]
    assert admin.get(BINDINGS).get_json()["total"] == 0
    assert admin.post(records("Deals"), json={"deal_name": "Acme"}).status_code == 201


# -- defining bindings ------------------------------------------------------------------------------------

def test_bindings_are_listed_and_removed_by_an_admin_only(admin, make):
    rep = make.client("rita")
    admin.deploy(crm("follow_up.bpmn"))
    binding = bind(admin, event="create", process_key="crm_follow_up", criteria="amount > 12")
    assert binding["name"] == "crm_follow_up on Deals create" and binding["kind"] == "process"

    listed = rep.get(BINDINGS).get_json()
    refused = rep.delete(f"{BINDINGS}/{binding['id']}")

    assert listed["total"] == 1 and listed["items"][0]["criteria"] == "amount > 12"
    assert_problem(refused, 403)
    assert admin.get(BINDINGS).get_json()["total"] == 1
    assert_problem(admin.delete(f"{BINDINGS}/nope"), 404)


def test_only_an_admin_binds_a_process(admin, make):
    rep = make.client("rita")

    assert_problem(rep.post(BINDINGS, json={"module": "Deals", "event": "create", "process_key": "x"}), 403)

    assert admin.get(BINDINGS).get_json()["total"] == 0


@pytest.mark.parametrize("spec, field", [
    ({"event": "saved"}, "event"),
    ({"event": "field_change"}, "field"),
    ({"event": "create", "criteria": "().__class__.__base__"}, "criteria"),
    ({"event": "create", "criteria": "amount >"}, "criteria"),
    ({"event": "create", "kind": "magic"}, "kind"),
    ({"event": "create", "kind": "blueprint", "options": {"stage_field": "phase"}}, "options.stage_field"),
])
def test_a_bad_binding_is_refused_with_the_field_named(admin, spec, field):
    admin.deploy(crm("follow_up.bpmn"))
    problem = assert_problem(admin.post(BINDINGS, json={"module": "Deals", "process_key": "crm_follow_up",
                                                        **spec}), 400)

    assert field in problem["errors"]
    assert admin.get(BINDINGS).get_json()["total"] == 0


def test_a_binding_on_an_unknown_module_is_404(admin):
    assert_problem(admin.post(BINDINGS, json={"module": "Trips", "event": "create", "process_key": "x"}), 404)

    assert admin.get(BINDINGS).get_json()["total"] == 0


# -- approvals lock the record ------------------------------------------------------------------------------

@pytest.fixture
def approval(admin, make):
    """Deals with a discount above 12 go to an approval; closing_date stays editable meanwhile."""
    admin.deploy(crm("deal_approval.bpmn"))
    bind(admin, kind="approval", event="create_or_edit", criteria="discount > 12 and not approved",
         process_key="crm_deal_approval", options={"editable": ["closing_date"]})
    return make.client("rita", groups=["sales_reps"]), make.client("maria", groups=["sales_managers"])


def test_a_record_in_approval_is_locked_against_edits_with_the_instance_named(admin, approval):
    rita, _ = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)
    [summary] = instances_of(admin, "Deals", deal["id"])
    assert summary["record_role"] == "approval" and summary["status"] == "running"
    assert deal["locked_by"] == summary["id"]

    problem = assert_problem(rita.patch(f"{records('Deals')}/{deal['id']}", json={"amount": 900}), 423)

    assert problem["type"] == "/problems/record-locked"
    assert problem["instance_id"] == summary["id"] and summary["id"] in problem["detail"]
    assert problem["editable_fields"] == ["closing_date"]
    assert get(admin, "Deals", deal["id"]) == deal
    assert "updated" not in [e["type"] for e in timeline(admin, "Deals", deal["id"])]


@pytest.mark.parametrize("body", [{"amount": 900, "closing_date": "2031-01-31"}, {"owner": "admin"},
                                  {"discount": 10}], ids=["editable-with-locked", "owner", "criteria-field"])
def test_a_locked_record_refuses_any_write_touching_a_field_not_declared_editable(admin, approval, body):
    rita, _ = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)

    assert_problem(rita.patch(f"{records('Deals')}/{deal['id']}", json=body), 423)

    assert get(admin, "Deals", deal["id"]) == deal


def test_a_locked_record_cannot_be_deleted(admin, approval):
    rita, _ = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)

    problem = assert_problem(rita.delete(f"{records('Deals')}/{deal['id']}"), 423)

    assert problem["instance_id"] == deal["locked_by"]
    assert get(admin, "Deals", deal["id"]) == deal
    assert [e["type"] for e in timeline(admin, "Deals", deal["id"])] == ["created", "process_started"]


def test_fields_the_binding_declares_editable_change_while_locked_without_a_second_approval(admin, approval):
    rita, _ = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)

    changed = patch(rita, "Deals", deal["id"], closing_date="2031-01-31")

    assert changed["closing_date"] == "2031-01-31" and changed["locked_by"] == deal["locked_by"]
    assert len(instances_of(admin, "Deals", deal["id"])) == 1  # the edit matched, but one approval at a time


def test_the_lock_is_released_when_the_approval_completes(admin, approval):
    rita, maria = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)
    [task] = admin.instance(deal["locked_by"])["tasks"]
    assert task["candidate_groups"] == ["sales_managers"]

    done = maria.complete(task["id"], {"approved": True})

    assert done["status"] == "completed"
    approved = get(rita, "Deals", deal["id"])
    assert approved["approved"] is True and approved["locked_by"] is None
    assert patch(rita, "Deals", deal["id"], amount=900)["amount"] == 900
    assert len(instances_of(admin, "Deals", deal["id"])) == 1  # approved: the criteria no longer hold
    ended = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "process_ended"]
    assert ended[0]["data"] == {"process_key": "crm_deal_approval", "status": "completed", "role": "approval"}
    assert rita.delete(f"{records('Deals')}/{deal['id']}").status_code == 204


def test_the_lock_is_released_when_the_approval_is_cancelled(admin, approval):
    rita, _ = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)

    assert admin.post(f"/api/v1/process-instances/{deal['locked_by']}/cancel", json={}).status_code == 200

    assert get(rita, "Deals", deal["id"])["locked_by"] is None
    assert rita.delete(f"{records('Deals')}/{deal['id']}").status_code == 204


def test_a_rejected_deal_is_unlocked_and_a_new_edit_asks_again(admin, approval):
    rita, maria = approval
    deal = create(rita, "Deals", deal_name="Acme", amount=1000, discount=15)
    [task] = admin.instance(deal["locked_by"])["tasks"]

    maria.complete(task["id"], {"approved": False})
    again = patch(rita, "Deals", deal["id"], discount=14)

    assert again["approved"] is False
    first, second = sorted(instances_of(admin, "Deals", deal["id"]), key=lambda i: i["started_at"])
    assert first["status"] == "completed" and second["status"] == "running"
    assert again["locked_by"] == second["id"]


# -- blueprints drive the stage --------------------------------------------------------------------------------

@pytest.fixture
def blueprint(admin, make):
    """Deals follow crm_deal_blueprint; rita is a rep, maria a manager, otto in no sales group."""
    admin.deploy(crm("deal_blueprint.bpmn"), crm("deal_qualification.schema.json"),
                 crm("deal_negotiation.schema.json"))
    binding = bind(admin, kind="blueprint", event="create", process_key="crm_deal_blueprint")
    assert binding["options"] == {"stage_field": "stage"}
    return (make.client("rita", groups=["sales_reps"]), make.client("maria", groups=["sales_managers"]),
            make.client("otto"))


def transitions(client, record_id: str) -> list[dict]:
    response = client.get(f"{records('Deals')}/{record_id}/transitions")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def perform(client, record_id: str, transition: str, **fields):
    return client.post(f"{records('Deals')}/{record_id}/transitions/{transition}", json={"fields": fields})


def test_a_new_record_enters_the_blueprints_first_stage(admin, blueprint):
    rita, _, _ = blueprint

    deal = create(rita, "Deals", deal_name="Acme")

    assert get(rita, "Deals", deal["id"])["stage"] == "Qualification"
    [summary] = instances_of(admin, "Deals", deal["id"])
    assert summary["record_role"] == "blueprint" and summary["key"] == "crm_deal_blueprint"
    changed = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "stage_changed"]
    assert [{k: e["data"][k] for k in ("field", "from", "to", "name", "touchpoint", "transition", "who")}
            for e in changed] == [{"field": "stage", "from": None, "to": "Qualification", "name": "Qualification",
                                   "touchpoint": True, "transition": None, "who": "rita"}]


def test_the_stage_cannot_be_edited_directly_while_the_blueprint_governs(admin, blueprint):
    rita, _, _ = blueprint
    deal = get(rita, "Deals", create(rita, "Deals", deal_name="Acme")["id"])

    problem = assert_problem(rita.patch(f"{records('Deals')}/{deal['id']}",
                                        json={"stage": "Closed Won", "amount": 5}), 409)

    assert problem["instance_id"] == instances_of(admin, "Deals", deal["id"])[0]["id"]
    assert "transition" in problem["detail"]
    assert get(admin, "Deals", deal["id"]) == deal
    assert patch(rita, "Deals", deal["id"], amount=5)["amount"] == 5  # other fields stay editable


def test_transitions_list_what_the_caller_may_do_now_with_mandatory_fields(blueprint):
    rita, maria, otto = blueprint
    deal = create(rita, "Deals", deal_name="Acme")

    rep_view = transitions(rita, deal["id"])
    manager_view = transitions(maria, deal["id"])

    assert [(t["name"], t["label"], t["from_stage"], t["mandatory_fields"]) for t in rep_view] == [
        ("advance", "Move to negotiation", "Qualification", ["amount"]),
        ("lose", "lose", "Qualification", ["loss_reason"])]
    assert set(rep_view[0]["fields"]) == {"amount", "loss_reason"}
    assert rep_view[0]["fields"]["amount"]["type"] == "number"
    assert [t["name"] for t in manager_view] == ["lose"]
    assert_problem(otto.get(f"{records('Deals')}/{deal['id']}/transitions"), 404)  # not his to see at all


def test_a_non_owner_may_not_perform_a_transition_and_nothing_changes(admin, blueprint):
    rita, maria, otto = blueprint
    deal = get(rita, "Deals", create(rita, "Deals", deal_name="Acme")["id"])

    by_stranger = assert_problem(perform(otto, deal["id"], "advance", amount=900), 403)
    by_manager = assert_problem(perform(maria, deal["id"], "advance", amount=900), 403)

    assert "advance" in by_stranger["detail"] and by_manager["status"] == 403
    assert get(admin, "Deals", deal["id"]) == deal
    assert [t["name"] for t in transitions(rita, deal["id"])] == ["advance", "lose"]


@pytest.mark.parametrize("fields, errors", [
    ({}, {"amount": ["required"]}),
    ({"amount": "lots"}, {"amount": ["'lots' is not of type 'number'"]}),
    ({"amount": 900, "colour": "red"}, {"colour": ["not a field of this task's form"]}),
], ids=["missing", "wrong-type", "undeclared"])
def test_a_transition_with_bad_fields_is_refused_with_field_errors_and_nothing_changes(admin, blueprint, fields,
                                                                                        errors):
    rita, _, _ = blueprint
    deal = get(rita, "Deals", create(rita, "Deals", deal_name="Acme")["id"])

    problem = assert_problem(perform(rita, deal["id"], "advance", **fields), 400)

    assert problem["errors"] == errors
    assert get(admin, "Deals", deal["id"]) == deal
    assert [t["name"] for t in transitions(rita, deal["id"])] == ["advance", "lose"]


def test_a_transition_whose_field_breaks_the_module_checks_is_refused(admin, blueprint):
    rita, _, _ = blueprint
    admin.patch(f"{MODULES}/Deals", json={"rules": [
        {"name": "big deals", "expression": "amount is None or amount >= 100", "field": "amount"}]})
    deal = get(rita, "Deals", create(rita, "Deals", deal_name="Acme")["id"])

    problem = assert_problem(perform(rita, deal["id"], "advance", amount=50), 400)

    assert list(problem["errors"]) == ["amount"]
    assert get(admin, "Deals", deal["id"]) == deal


def test_an_unknown_transition_is_404_and_a_record_without_blueprint_has_none(admin, blueprint):
    rita, _, _ = blueprint
    deal = create(rita, "Deals", deal_name="Acme")
    admin.delete(f"{BINDINGS}/{admin.get(BINDINGS).get_json()['items'][0]['id']}")
    free = create(rita, "Deals", deal_name="No blueprint")

    assert_problem(perform(rita, deal["id"], "teleport"), 404)
    assert_problem(rita.get(f"{records('Deals')}/{free['id']}/transitions"), 404)
    assert_problem(rita.get(f"{records('Deals')}/nope/transitions"), 404)


def test_a_transition_moves_the_stage_and_writes_the_submitted_record_fields(admin, blueprint):
    rita, _, _ = blueprint
    deal = create(rita, "Deals", deal_name="Acme")

    response = perform(rita, deal["id"], "advance", amount=800)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "running" and [t["element_id"] for t in body["tasks"]] == ["negotiation"]
    after = get(rita, "Deals", deal["id"])
    assert after["stage"] == "Negotiation" and after["amount"] == 800 and after["modified_by"] == "rita"
    events = timeline(admin, "Deals", deal["id"])
    [updated] = [e for e in events if e["type"] == "updated"]
    assert updated["data"] == {"changes": {"amount": [None, 800]}, "source": "blueprint"}
    assert [e["data"]["to"] for e in events if e["type"] == "stage_changed"] == ["Qualification", "Negotiation"]


def test_a_stage_the_blueprint_reaches_is_an_edit_the_records_rules_hear(admin, blueprint):
    """A rule on the stage starts when a transition moves the record there (it waited for some other edit of
    the record before), and not for the stage the record had."""
    rita, _, _ = blueprint
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    bind(admin, event="edit", criteria="stage == 'Negotiation'", process_key="simple_user_task")
    deal = create(rita, "Deals", deal_name="Acme")
    assert [i["key"] for i in instances_of(admin, "Deals", deal["id"])] == ["crm_deal_blueprint"]

    assert perform(rita, deal["id"], "advance", amount=800).status_code == 200

    assert sorted(i["key"] for i in instances_of(admin, "Deals", deal["id"])) == ["crm_deal_blueprint",
                                                                                  "simple_user_task"]


def test_a_transition_is_offered_only_while_its_criteria_hold(admin, blueprint):
    rita, maria, _ = blueprint
    deal = create(rita, "Deals", deal_name="Acme")
    perform(rita, deal["id"], "advance", amount=800)
    before = get(admin, "Deals", deal["id"])

    offered = [t["name"] for t in transitions(maria, deal["id"])]
    problem = assert_problem(perform(maria, deal["id"], "close", closing_date="2031-03-31"), 400)

    assert offered == ["lose"]
    assert list(problem["errors"]) == ["transition"] and "amount >= 1000" in problem["errors"]["transition"][0]
    assert get(admin, "Deals", deal["id"]) == before  # the closing date was not written either

    patch(rita, "Deals", deal["id"], amount=1500)
    [close] = [t for t in transitions(maria, deal["id"]) if t["name"] == "close"]
    assert close["mandatory_fields"] == ["closing_date"] and close["from_stage"] == "Negotiation"


def test_closing_runs_the_after_actions_and_ends_the_blueprint(admin, blueprint):
    rita, maria, _ = blueprint
    deal = create(rita, "Deals", deal_name="Acme")
    perform(rita, deal["id"], "advance", amount=1500)
    assert_problem(perform(rita, deal["id"], "close", closing_date="2031-03-31"), 403)

    response = perform(maria, deal["id"], "close", closing_date="2031-03-31", discount=5)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "completed"
    won = get(rita, "Deals", deal["id"])
    assert (won["stage"], won["closing_date"], won["discount"]) == ("Closed Won", "2031-03-31", 5)
    notes = [e["data"]["text"] for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "note"]
    assert notes == ["Won: Acme"]
    tasks = rita.get("/api/v1/crm-tasks?mine=true").get_json()["items"]
    assert [(t["subject"], t["record_id"]) for t in tasks] == [("Send the contract for Acme", deal["id"])]
    assert_problem(rita.get(f"{records('Deals')}/{deal['id']}/transitions"), 404)
    assert patch(rita, "Deals", deal["id"], stage="Closing")["stage"] == "Closing"  # no blueprint governs now


def test_losing_from_the_first_stage_records_the_reason(admin, blueprint):
    rita, _, _ = blueprint
    deal = create(rita, "Deals", deal_name="Acme")

    response = perform(rita, deal["id"], "lose", loss_reason="went with a competitor")

    assert response.status_code == 200 and response.get_json()["status"] == "completed"
    assert get(rita, "Deals", deal["id"])["stage"] == "Closed Lost"
    notes = [e["data"]["text"] for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "note"]
    assert notes == ["Lost: went with a competitor"]


def test_a_record_is_in_one_blueprint_at_a_time(admin, blueprint):
    rita, _, _ = blueprint
    bind(admin, kind="blueprint", event="edit", process_key="crm_deal_blueprint")
    deal = create(rita, "Deals", deal_name="Acme")

    patch(rita, "Deals", deal["id"], amount=10)

    assert len(instances_of(admin, "Deals", deal["id"])) == 1


# -- CRM functions from scripts ---------------------------------------------------------------------------------

def test_a_script_updates_the_linked_record_and_the_edit_fires_the_other_processes_bindings(admin):
    admin.deploy(crm("update_deal.bpmn"), crm("follow_up.bpmn"))
    bind(admin, event="create", process_key="crm_update_deal")
    bind(admin, event="edit", process_key="crm_follow_up")

    deal = create(admin, "Deals", deal_name="Acme", amount=100)

    assert (deal["amount"], deal["closing_date"]) == (200, "2031-01-31")
    assert get(admin, "Deals", deal["id"]) == deal
    started = [admin.instance(summary["id"]) for summary in instances_of(admin, "Deals", deal["id"])]
    summaries = {instance["definition"]["key"]: instance for instance in started}
    assert set(summaries) == {"crm_update_deal", "crm_follow_up"}  # a process's write is an edit like any other
    update = summaries["crm_update_deal"]
    assert update["status"] == "completed" and update["variables"]["seen_name"] == "Acme"
    [updated] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "updated"]
    assert updated["instance_id"] == update["id"]
    assert updated["data"] == {"changes": {"amount": [100, 200], "closing_date": [None, "2031-01-31"]},
                               "source": "process"}


def test_a_process_writing_its_own_record_does_not_start_itself_again(admin):
    admin.deploy(crm("update_deal.bpmn"))
    bind(admin, event="create_or_edit", process_key="crm_update_deal")

    deal = create(admin, "Deals", deal_name="Acme", amount=100)

    assert deal["amount"] == 200
    assert len(instances_of(admin, "Deals", deal["id"])) == 1


def test_a_script_writing_an_invalid_value_puts_the_instance_in_error_and_the_record_is_unchanged(admin):
    admin.deploy(crm("invalid_update.bpmn"))
    bind(admin, event="create", process_key="crm_invalid_update")

    deal = create(admin, "Deals", deal_name="Acme", discount=5)

    assert get(admin, "Deals", deal["id"])["discount"] == 5
    instance = only_instance(admin, "Deals", deal["id"])
    assert instance["status"] == "error"
    [incident] = instance["incidents"]
    assert incident["element_id"] == "bad_update" and incident["resolved_at"] is None
    assert "discount" in incident["message"] and "must be at most 100" in incident["message"]
    assert "updated" not in [e["type"] for e in timeline(admin, "Deals", deal["id"])]


def test_a_script_creates_a_record_in_another_module_and_its_bindings_fire(admin, make):
    admin.deploy(crm("create_case.bpmn"), crm("follow_up.bpmn"))
    bind(admin, event="create", process_key="crm_create_case")
    bind(admin, module="Cases", event="create", process_key="crm_follow_up")
    rita = make.client("rita")

    deal = create(rita, "Deals", deal_name="Acme")

    [case] = admin.get(records("Cases")).get_json()["items"]
    assert (case["subject"], case["priority"], case["owner"], case["created_by"]) == (
        "Onboard Acme", "High", "rita", "rita")
    deal_instance = only_instance(admin, "Deals", deal["id"])
    assert deal_instance["variables"]["case_id"] == case["id"]
    assert timeline(admin, "Cases", case["id"])[0]["data"]["source"] == "process"
    assert [i["key"] for i in instances_of(admin, "Cases", case["id"])] == ["crm_follow_up"]


def test_converting_a_lead_creates_account_contact_and_deal_and_marks_the_lead(admin, make):
    admin.deploy(crm("convert_lead.bpmn"))
    bind(admin, module="Leads", event="field_change", field="lead_status", criteria="lead_status == 'Qualified'",
         process_key="crm_convert_lead")
    rita = make.client("rita")
    lead = create(rita, "Leads", first_name="Ann", last_name="Lee", company="Initech", email="ann@initech.example",
                  phone="+1 555 0100", lead_status="Contacted")
    assert admin.get(records("Accounts")).get_json()["total"] == 0

    converted = patch(rita, "Leads", lead["id"], lead_status="Qualified")

    assert converted["converted"] is True and converted["lead_status"] == "Converted"
    [account] = admin.get(records("Accounts")).get_json()["items"]
    [contact] = admin.get(records("Contacts")).get_json()["items"]
    [deal] = admin.get(records("Deals")).get_json()["items"]
    assert (account["account_name"], account["phone"], account["owner"]) == ("Initech", "+1 555 0100", "rita")
    assert (contact["first_name"], contact["last_name"], contact["email"], contact["account"]) == (
        "Ann", "Lee", "ann@initech.example", account["id"])
    assert (deal["deal_name"], deal["amount"], deal["stage"]) == ("Initech deal", 5000, "Qualification")
    assert (deal["account"], deal["contact"], deal["owner"]) == (account["id"], contact["id"], "rita")
    ids = {"account_id": account["id"], "contact_id": contact["id"], "deal_id": deal["id"]}
    assert only_instance(admin, "Leads", lead["id"])["variables"]["ids"] == ids
    [event] = [e for e in timeline(admin, "Leads", lead["id"]) if e["type"] == "converted"]
    assert event["data"] == ids


def test_a_converted_lead_is_not_converted_twice(admin):
    admin.deploy(crm("convert_lead.bpmn"))
    bind(admin, module="Leads", event="create", process_key="crm_convert_lead")

    create(admin, "Leads", last_name="Lee", company="Initech", converted=True)

    [summary] = admin.get("/api/v1/process-instances?module=Leads").get_json()["items"]
    instance = admin.instance(summary["id"])
    assert instance["status"] == "error" and "already converted" in instance["incidents"][0]["message"]
    assert admin.get(records("Accounts")).get_json()["total"] == 0


def test_round_robin_gives_each_new_record_to_the_next_member_of_the_group(admin, make):
    admin.deploy(crm("round_robin.bpmn"))
    bind(admin, module="Leads", event="create", process_key="crm_round_robin")
    make.user("ben", groups=["sales_reps"])
    make.user("anna", groups=["sales_reps"])
    make.user("maria", groups=["sales_managers"])

    owners = [create(admin, "Leads", last_name=f"Lead {n}")["owner"] for n in range(3)]

    assert owners == ["anna", "ben", "anna"]
    first = admin.get(records("Leads") + "?owner=anna").get_json()["items"][-1]
    [assigned] = [e for e in timeline(admin, "Leads", first["id"]) if e["type"] == "owner_assigned"]
    assert assigned["data"] == {"from": "admin", "to": "anna"}


@pytest.mark.parametrize("region, owner", [("EU", "eva"), ("NA", "nate"), ("APAC", "dora"), (None, "dora")])
def test_the_owner_is_assigned_by_a_field(admin, make, region, owner):
    admin.deploy(crm("assign_by_region.bpmn"))
    bind(admin, module="Leads", event="create", process_key="crm_assign_by_region")
    for name in ("eva", "nate", "dora"):
        make.user(name)

    lead = create(admin, "Leads", last_name="Lee", region=region)

    assert lead["owner"] == owner
    assert only_instance(admin, "Leads", lead["id"])["variables"]["assigned"] == owner


def test_a_script_creates_a_crm_task_for_the_owner_and_adds_a_note(app, admin, make):
    admin.deploy(crm("welcome_lead.bpmn"))
    bind(admin, module="Leads", event="create", process_key="crm_welcome_lead")
    make.user("sam")

    late_evening = next_at(23, 30)  # half an hour before midnight, UTC: the due date counts UTC days
    due_date = (late_evening.date() + dt.timedelta(days=2)).isoformat()  # the UTC day two days on
    with time_machine.travel(late_evening, tick=False):
        sam = ApiClient.login(app, "sam", "secret")
        boss = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
        lead = create(sam, "Leads", last_name="Lee")
        mine = sam.get("/api/v1/crm-tasks?mine=true").get_json()
        not_mine = boss.get("/api/v1/crm-tasks?mine=true").get_json()
        by_record = boss.get(f"/api/v1/crm-tasks?record_id={lead['id']}").get_json()
        events = timeline(boss, "Leads", lead["id"])

    [task] = mine["items"]
    instance_id = instances_of(admin, "Leads", lead["id"])[0]["id"]
    assert (task["subject"], task["owner"], task["status"]) == ("Call Lee", "sam", "open")
    assert (task["record_id"], task["module"], task["instance_id"]) == (lead["id"], "Leads", instance_id)
    assert task["due_date"] == due_date
    assert not_mine["total"] == 0 and [t["id"] for t in by_record["items"]] == [task["id"]]
    [created] = [e for e in events if e["type"] == "task_created"]
    assert created["data"] == {"task_id": task["id"], "subject": "Call Lee", "owner": "sam",
                               "due_date": due_date}
    [note] = [e for e in events if e["type"] == "note"]
    assert note["data"]["text"] == "Welcome call planned for Lee" and note["instance_id"] == instance_id
    [stored] = admin.get(f"{records('Leads')}/{lead['id']}/notes").get_json()["items"]
    assert (stored["id"], stored["text"]) == (note["data"]["note_id"], "Welcome call planned for Lee")
