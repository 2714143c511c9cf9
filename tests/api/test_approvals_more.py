"""Approvals as their people use them, over HTTP: the submitter recalls a pending request, an approver
approves, rejects with a reason or delegates, approvers are chosen by role (the owner's manager, a
group, a user field of the record), and a record is submitted by hand when an approval's criteria
match. The record stays locked on every path until the approval ends, and every refusal changes
nothing."""
from __future__ import annotations

import pytest

from ..factories import assert_problem, fixture
from .test_bindings import bind, create, get, instances_of, records, timeline


def crm(name: str):
    return fixture("crm", name)


def approval(record_id: str, action: str | None = None, module: str = "Deals") -> str:
    url = f"{records(module)}/{record_id}/approval"
    return f"{url}/{action}" if action else url


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def events(client, record_id: str, type_: str, module: str = "Deals") -> list[dict]:
    return [e for e in timeline(client, module, record_id) if e["type"] == type_]


@pytest.fixture
def team(admin, make):
    """rita (a rep reporting to sam), sam (her manager), mia and ben (sales managers), olga (another rep)."""
    sam = make.client("sam")
    return {"sam": sam, "rita": make.client("rita", manager="sam"), "mia": make.client("mia", groups=["sales_managers"]),
            "ben": make.client("ben", groups=["sales_managers"]), "olga": make.client("olga"), "admin": admin}


def discount_approval(admin, *, event="create_or_edit", process="deal_approval.bpmn", key="crm_deal_approval",
                      criteria="discount > 12", **options) -> dict:
    admin.deploy(crm(process))
    return bind(admin, event=event, criteria=criteria, process_key=key, kind="approval", options=options)


def pending_deal(team, **fields) -> tuple[dict, dict]:
    """rita saves a deal whose discount starts the approval; returns (deal, approval state)."""
    deal = create(team["rita"], "Deals", deal_name="Acme", discount=15, **fields)
    state = ok(team["rita"].get(approval(deal["id"])))
    assert state["pending"] and state["locked_by"] == state["instance_id"] and state["submitted_by"] == "rita"
    return deal, state


def task_state(admin, instance_id: str) -> list[tuple[str, str | None]]:
    return [(t["state"], t["assignee"]) for state in ("open", "completed", "cancelled") for t in
            ok(admin.get(f"/api/v1/tasks?process_instance_id={instance_id}&state={state}"))["items"]]


# -- recall ----------------------------------------------------------------------------------------

def test_the_submitter_recalls_a_pending_approval_and_the_record_is_unlocked(admin, team):
    discount_approval(admin)
    deal, state = pending_deal(team)
    assert_problem(team["rita"].patch(f"{records('Deals')}/{deal['id']}", json={"amount": 5}), 423)

    recalled = ok(team["rita"].post(approval(deal["id"], "recall"), json={"reason": "wrong discount"}))

    assert recalled["pending"] is False and recalled["status"] == "cancelled" and recalled["locked_by"] is None
    assert admin.instance(state["instance_id"])["status"] == "cancelled"
    assert [s for s, _ in task_state(admin, state["instance_id"])] == ["cancelled"]
    assert get(team["rita"], "Deals", deal["id"])["locked_by"] is None
    [event] = events(admin, deal["id"], "approval_recalled")
    assert event["user"] == "rita" and event["instance_id"] == state["instance_id"]
    assert event["data"] == {"process_key": "crm_deal_approval", "submitted_by": "rita", "reason": "wrong discount"}
    [ended] = events(admin, deal["id"], "process_ended")
    assert ended["data"]["status"] == "cancelled"
    ok(team["rita"].patch(f"{records('Deals')}/{deal['id']}", json={"amount": 5}))  # writable again


@pytest.mark.parametrize("who, status", [("sam", 403), ("mia", 403), ("olga", 404)])
def test_only_the_submitter_the_owner_or_an_admin_may_recall(admin, team, who, status):
    discount_approval(admin)
    deal, state = pending_deal(team)
    before = get(admin, "Deals", deal["id"])

    assert_problem(team[who].post(approval(deal["id"], "recall"), json={}), status)

    assert get(admin, "Deals", deal["id"]) == before
    assert admin.instance(state["instance_id"])["status"] == "running"
    assert task_state(admin, state["instance_id"]) == [("open", None)]
    assert events(admin, deal["id"], "approval_recalled") == []


def test_the_record_owner_may_recall_what_someone_else_submitted(admin, team):
    discount_approval(admin)
    deal = create(admin, "Deals", deal_name="Acme", discount=20, owner="rita")
    assert ok(team["rita"].get(approval(deal["id"])))["submitted_by"] == "admin"

    recalled = ok(team["rita"].post(approval(deal["id"], "recall"), json={}))

    assert recalled["status"] == "cancelled" and get(admin, "Deals", deal["id"])["locked_by"] is None
    assert events(admin, deal["id"], "approval_recalled")[0]["user"] == "rita"


def test_recalling_when_nothing_is_pending_is_a_conflict(admin, team):
    discount_approval(admin)
    deal = create(team["rita"], "Deals", deal_name="Small", discount=5)

    assert_problem(team["rita"].post(approval(deal["id"], "recall"), json={}), 409)
    assert ok(team["rita"].get(approval(deal["id"])))["pending"] is False


# -- approve, reject with a reason -----------------------------------------------------------------

def test_an_approver_of_the_group_approves_and_the_lock_goes(admin, team):
    discount_approval(admin)
    deal, state = pending_deal(team)
    assert [(t["candidate_groups"], t["assignee"]) for t in state["tasks"]] == [(["sales_managers"], None)]

    done = ok(team["mia"].post(approval(deal["id"], "approve"), json={"comment": "fine"}))

    assert done["pending"] is False and done["status"] == "completed"
    after = get(team["rita"], "Deals", deal["id"])
    assert after["approved"] is True and after["locked_by"] is None
    [event] = events(admin, deal["id"], "approval_approved")
    assert event["user"] == "mia" and event["data"]["reason"] == "fine"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}])
def test_a_rejection_without_a_reason_is_refused_and_changes_nothing(admin, team, body):
    discount_approval(admin)
    deal, state = pending_deal(team)
    before = get(admin, "Deals", deal["id"])

    problem = assert_problem(team["mia"].post(approval(deal["id"], "reject"), json=body), 400)

    assert problem["errors"] == {"reason": ["required when rejecting"]}
    assert get(admin, "Deals", deal["id"]) == before
    assert admin.instance(state["instance_id"])["status"] == "running"
    assert task_state(admin, state["instance_id"]) == [("open", None)]
    assert events(admin, deal["id"], "approval_rejected") == []


def test_a_rejection_with_a_reason_ends_the_approval_and_shows_the_reason(admin, team):
    discount_approval(admin, process="manager_approval.bpmn", key="crm_manager_approval")
    deal, state = pending_deal(team)

    done = ok(team["sam"].post(approval(deal["id"], "reject"), json={"reason": "Margin too thin"}))

    assert done["status"] == "completed"
    after = get(team["rita"], "Deals", deal["id"])
    assert after["approved"] is False and after["locked_by"] is None
    [event] = events(admin, deal["id"], "approval_rejected")
    assert event["user"] == "sam" and event["data"]["reason"] == "Margin too thin"
    # the form's own comment field received the reason too
    assert admin.instance(state["instance_id"])["variables"]["comment"] == "Margin too thin"


def test_someone_who_is_not_an_approver_cannot_decide(admin, team):
    discount_approval(admin)
    deal, state = pending_deal(team)

    for who in ("rita", "sam"):  # the owner and her manager read the deal but have no task in it
        assert_problem(team[who].post(approval(deal["id"], "approve"), json={}), 403)
        assert_problem(team[who].post(approval(deal["id"], "reject"), json={"reason": "no"}), 403)

    assert admin.instance(state["instance_id"])["status"] == "running"
    assert get(admin, "Deals", deal["id"]).get("approved") is None


# -- approvers by role ---------------------------------------------------------------------------

def test_the_owners_manager_is_the_approver_by_role(admin, team):
    discount_approval(admin, process="manager_approval.bpmn", key="crm_manager_approval")
    deal, state = pending_deal(team)

    assert [(t["candidate_users"], t["candidate_groups"]) for t in state["tasks"]] == [(["sam"], [])]
    variables = admin.instance(state["instance_id"])["variables"]
    assert variables["owner_manager"] == "sam" and variables["submitted_by"] == "rita"
    assert_problem(team["mia"].post(approval(deal["id"], "approve"), json={}), 404)  # a manager, not hers: unseen

    ok(team["sam"].post(approval(deal["id"], "approve"), json={}))

    assert get(team["rita"], "Deals", deal["id"])["approved"] is True


def test_a_user_field_of_the_record_names_the_approver(admin, team, make):
    quinn = make.client("quinn")
    ok(admin.post("/api/v1/modules", json={"api_name": "Quotes", "fields": [
        {"name": "quote_name", "type": "text", "required": True},
        {"name": "discount", "type": "percent"},
        {"name": "account_manager", "type": "user"},
        {"name": "approved", "type": "boolean"}]}), 201)
    admin.deploy(crm("field_approval.bpmn"))
    bind(admin, module="Quotes", event="create", criteria="discount > 12", process_key="crm_field_approval",
         kind="approval")
    quote = create(team["rita"], "Quotes", quote_name="Q-1", discount=30, account_manager="quinn")

    state = ok(team["rita"].get(approval(quote["id"], module="Quotes")))
    assert [t["assignee"] for t in state["tasks"]] == ["quinn"]
    assert_problem(team["sam"].post(approval(quote["id"], "approve", "Quotes"), json={}), 403)

    ok(quinn.post(approval(quote["id"], "approve", "Quotes"), json={}))

    assert get(team["rita"], "Quotes", quote["id"])["approved"] is True


# -- delegate ------------------------------------------------------------------------------------

def test_an_approver_delegates_and_the_delegate_decides(admin, team, make):
    discount_approval(admin)
    deal, state = pending_deal(team)
    noah = make.client("noah")

    assert_problem(team["mia"].post(approval(deal["id"], "delegate"), json={"user": "nobody"}), 404)
    assert task_state(admin, state["instance_id"]) == [("open", None)]

    delegated = ok(team["mia"].post(approval(deal["id"], "delegate"), json={"user": "noah"}))

    assert [t["assignee"] for t in delegated["tasks"]] == ["noah"]
    [event] = events(admin, deal["id"], "approval_delegated")
    assert event["user"] == "mia" and event["data"]["to"] == "noah"
    assert_problem(team["mia"].post(approval(deal["id"], "approve"), json={}), 403)  # handed over
    ok(noah.post(approval(deal["id"], "reject"), json={"reason": "not now"}))
    assert get(admin, "Deals", deal["id"])["approved"] is False


# -- submit by hand ------------------------------------------------------------------------------

def test_a_record_is_submitted_by_hand_when_its_criteria_match(admin, team):
    admin.deploy(crm("deal_approval.bpmn"))
    bind(admin, event="delete", criteria="discount > 12", process_key="crm_deal_approval", kind="approval",
         options={"editable": ["amount"]})
    deal = create(team["rita"], "Deals", deal_name="Acme", discount=15)
    assert instances_of(admin, "Deals", deal["id"]) == []  # the binding's own event did not happen

    submitted = ok(team["rita"].post(approval(deal["id"], "submit")), 201)

    assert submitted["pending"] and submitted["submitted_by"] == "rita"
    assert get(admin, "Deals", deal["id"])["locked_by"] == submitted["instance_id"]
    assert_problem(team["rita"].patch(f"{records('Deals')}/{deal['id']}", json={"discount": 10}), 423)
    ok(team["rita"].patch(f"{records('Deals')}/{deal['id']}", json={"amount": 10}))  # editable while locked
    assert events(admin, deal["id"], "approval_submitted")[0]["user"] == "rita"

    again = assert_problem(team["rita"].post(approval(deal["id"], "submit")), 409)
    assert again["instance_id"] == submitted["instance_id"]
    assert len(instances_of(admin, "Deals", deal["id"])) == 1


def test_submitting_without_a_matching_approval_is_a_conflict_and_starts_nothing(admin, team):
    discount_approval(admin, event="delete")
    deal = create(team["rita"], "Deals", deal_name="Small", discount=5)

    assert_problem(team["rita"].post(approval(deal["id"], "submit")), 409)

    assert instances_of(admin, "Deals", deal["id"]) == []
    assert get(admin, "Deals", deal["id"])["locked_by"] is None


def test_only_who_may_change_the_record_may_submit_it(admin, team):
    discount_approval(admin, event="delete")
    deal = create(team["rita"], "Deals", deal_name="Acme", discount=15)

    assert_problem(team["olga"].post(approval(deal["id"], "submit")), 404)  # cannot even read it

    assert instances_of(admin, "Deals", deal["id"]) == []
    ok(team["sam"].post(approval(deal["id"], "submit")), 201)  # her manager may
