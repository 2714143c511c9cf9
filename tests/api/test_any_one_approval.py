"""An "any one" approval level over HTTP: a parallel multi-instance user task (Camunda dialect) gives
each approver a task of their own; the first approval completes the level (completionCondition) and
withdraws the other tasks; a rejection leaves the others open; if everyone rejects, the deal is rejected.
The approval binding locks the deal until the instance ends."""
from __future__ import annotations

import pytest

from ..factories import assert_problem, fixture

DEALS = "/api/v1/modules/Deals/records"
APPROVERS = ("a1", "a2", "a3")


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def deal_of(client, deal_id: str) -> dict:
    return ok(client.get(f"{DEALS}/{deal_id}"))


def inbox(client) -> list[dict]:
    return ok(client.get("/api/v1/tasks?mine=true&per_page=100"))["items"]


def tasks_of(client, instance_id: str, state: str) -> list[dict]:
    return ok(client.get(f"/api/v1/tasks?state={state}&process_instance_id={instance_id}&per_page=100"))["items"]


def decide(client, task_id: str, decision: str) -> dict:
    return ok(client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"decision": decision}}))


@pytest.fixture
def any_approval(admin, make):
    """Deals with a discount above 12 go to crm_deal_any_approval; rita is a rep, a1..a3 the approvers."""
    admin.deploy(fixture("crm", "deal_any_approval.bpmn"))
    binding = ok(admin.post("/api/v1/bindings", json={
        "module": "Deals", "kind": "approval", "event": "create_or_edit",
        "criteria": "discount > 12 and not approved", "process_key": "crm_deal_any_approval"}), 201)
    assert binding["kind"] == "approval"
    rita = make.client("rita", groups=["sales_reps"])
    approvers = {name: make.client(name) for name in APPROVERS}
    return rita, approvers


def submit(admin, rita, approvers) -> tuple[dict, str, dict[str, dict]]:
    """Create a deal that needs approval; return it, its approval instance id and each approver's task."""
    deal = ok(rita.post(DEALS, json={"deal_name": "Acme", "amount": 1000, "discount": 15}), 201)
    [summary] = ok(admin.get(f"/api/v1/process-instances?module=Deals&record_id={deal['id']}"))["items"]
    assert summary["key"] == "crm_deal_any_approval" and summary["record_role"] == "approval"
    assert summary["status"] == "running" and deal["locked_by"] == summary["id"]
    instance_id = summary["id"]

    mine = {}
    for name, client in approvers.items():
        [task] = inbox(client)  # exactly one task each, assigned to them
        assert task["assignee"] == name and task["element_id"] == "approve_any"
        assert task["process_instance_id"] == instance_id and task["state"] == "open"
        mine[name] = task
    assert len({t["id"] for t in mine.values()}) == 3
    assert sorted(t["assignee"] for t in tasks_of(admin, instance_id, "open")) == list(APPROVERS)
    assert inbox(rita) == []

    # the deal is locked while the approval runs
    problem = assert_problem(rita.patch(f"{DEALS}/{deal['id']}", json={"amount": 900}), 423)
    assert problem["instance_id"] == instance_id
    return deal, instance_id, mine


def test_the_first_approval_completes_the_level_and_withdraws_the_other_tasks(admin, any_approval):
    rita, approvers = any_approval
    deal, instance_id, mine = submit(admin, rita, approvers)
    assert_problem(approvers["a1"].post(f"/api/v1/tasks/{mine['a2']['id']}/complete",
                                        json={"variables": {"decision": "approved"}}), 403)

    done = decide(approvers["a2"], mine["a2"]["id"], "approved")

    assert done["status"] == "completed" and done["tasks"] == []
    assert admin.instance(instance_id)["status"] == "completed"
    assert [t["id"] for t in tasks_of(admin, instance_id, "completed")] == [mine["a2"]["id"]]
    cancelled = tasks_of(admin, instance_id, "cancelled")
    assert sorted(t["id"] for t in cancelled) == sorted([mine["a1"]["id"], mine["a3"]["id"]])
    assert {t["state"] for t in cancelled} == {"cancelled"}
    assert tasks_of(admin, instance_id, "open") == []
    for name in APPROVERS:
        assert inbox(approvers[name]) == []
    assert_problem(approvers["a1"].post(f"/api/v1/tasks/{mine['a1']['id']}/complete",
                                        json={"variables": {"decision": "approved"}}), 409)

    approved = deal_of(rita, deal["id"])
    assert approved["approved"] is True and approved["locked_by"] is None
    assert ok(rita.patch(f"{DEALS}/{deal['id']}", json={"amount": 900}))["amount"] == 900  # unlocked
    history = ok(admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=200"))["items"]
    entered = [h["element_id"] for h in history if h["type"] == "element_entered"]
    assert "mark_approved" in entered and "mark_rejected" not in entered


def test_a_rejection_leaves_the_level_open_for_another_approver_to_approve(admin, any_approval):
    rita, approvers = any_approval
    deal, instance_id, mine = submit(admin, rita, approvers)

    after_rejection = decide(approvers["a1"], mine["a1"]["id"], "rejected")

    assert after_rejection["status"] == "running"
    assert sorted(t["id"] for t in after_rejection["tasks"]) == sorted([mine["a2"]["id"], mine["a3"]["id"]])
    assert inbox(approvers["a1"]) == []
    assert [t["id"] for t in inbox(approvers["a2"])] == [mine["a2"]["id"]]
    assert [t["id"] for t in inbox(approvers["a3"])] == [mine["a3"]["id"]]
    assert tasks_of(admin, instance_id, "cancelled") == []
    waiting = deal_of(rita, deal["id"])
    assert waiting["locked_by"] == instance_id and waiting.get("approved") is None
    assert_problem(rita.patch(f"{DEALS}/{deal['id']}", json={"amount": 900}), 423)

    done = decide(approvers["a3"], mine["a3"]["id"], "approved")

    assert done["status"] == "completed" and done["tasks"] == []
    assert [t["id"] for t in tasks_of(admin, instance_id, "cancelled")] == [mine["a2"]["id"]]
    assert sorted(t["id"] for t in tasks_of(admin, instance_id, "completed")) == sorted(
        [mine["a1"]["id"], mine["a3"]["id"]])
    assert inbox(approvers["a2"]) == []
    approved = deal_of(rita, deal["id"])
    assert approved["approved"] is True and approved["locked_by"] is None


def test_when_every_approver_rejects_the_deal_is_rejected(admin, any_approval):
    rita, approvers = any_approval
    deal, instance_id, mine = submit(admin, rita, approvers)

    for name in ("a3", "a1"):
        still = decide(approvers[name], mine[name]["id"], "rejected")
        assert still["status"] == "running"
        assert deal_of(rita, deal["id"])["locked_by"] == instance_id
    done = decide(approvers["a2"], mine["a2"]["id"], "rejected")

    assert done["status"] == "completed" and done["tasks"] == []
    assert tasks_of(admin, instance_id, "cancelled") == []
    assert len(tasks_of(admin, instance_id, "completed")) == 3
    for name in APPROVERS:
        assert inbox(approvers[name]) == []
    rejected = deal_of(rita, deal["id"])
    assert rejected["approved"] is False and rejected["locked_by"] is None
    history = ok(admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=200"))["items"]
    entered = [h["element_id"] for h in history if h["type"] == "element_entered"]
    assert "mark_rejected" in entered and "mark_approved" not in entered
