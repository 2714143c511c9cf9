"""Delegation never bypasses a task's form, only the delegate resolves, and tasks go only to enabled users.

The process is the shipped discount approval: a discount above 12% opens
"Approve discount" for the candidate group sales_managers, with a form of a
required boolean `approved` and an optional string `comment`. The attack: a
candidate delegates the task to herself, then resolves it with values the
form never asked for (`discount=99`), which completing it would refuse.
Resolving exists only on /engine-rest; delegating on both APIs.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import User
from config import TestConfig

from ..camunda.test_rest import Camunda, assert_camunda_error
from ..factories import ApiClient, assert_problem, shipped

APPROVED = {"value": True, "type": "Boolean"}
DISCOUNT_99 = {"value": 99, "type": "Integer"}


@pytest.fixture
def admin_rest(app) -> Camunda:
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(shipped("approvals", "discount_approval.bpmn")))
    return rest


@pytest.fixture
def users(app, make) -> dict[str, Camunda]:
    """sara and sam: sales managers (candidates); dave: a plain user; olga: disabled."""
    for name, groups in (("sara", ["sales_managers"]), ("sam", ["sales_managers"]), ("dave", []), ("olga", [])):
        make.user(name, groups=groups)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "olga").values(disabled=True))
        db.session.commit()
        db.session.remove()
    return {name: Camunda(app, name) for name in ("sara", "sam", "dave")}


def open_approval(admin: Camunda) -> tuple[dict, dict]:
    instance = admin.start("discount_approval", {"discount": {"value": 20, "type": "Integer"}})
    [task] = admin.ok(admin.get(f"/task?processInstanceId={instance['id']}"))
    assert task["taskDefinitionKey"] == "approve_discount"
    return instance, task


def state(admin: Camunda, instance: dict, task: dict) -> dict:
    """What a refused attempt must not change: the task's hands and delegation, and the instance's variables."""
    current = admin.ok(admin.get(f"/task/{task['id']}"))
    return {"task": (current["assignee"], current["owner"], current["delegationState"]),
            "variables": admin.ok(admin.get(f"/process-instance/{instance['id']}/variables"))}


# -- resolve checks the form ---------------------------------------------------------------------

@pytest.mark.parametrize("variables, fields", [
    ({"approved": APPROVED, "discount": DISCOUNT_99}, ["discount"]),                 # a field the form lacks
    ({"discount": DISCOUNT_99}, ["discount", "approved"]),                           # and the required one missing
    ({"approved": {"value": "yes", "type": "String"}}, ["approved"]),                # the wrong type
])
def test_a_candidate_who_delegates_to_herself_cannot_resolve_past_the_form(admin_rest, users, variables, fields):
    instance, task = open_approval(admin_rest)
    sara = users["sara"]
    sara.ok(sara.post(f"/task/{task['id']}/delegate", json={"userId": "sara"}), 204)
    before = state(admin_rest, instance, task)
    assert before["task"] == ("sara", None, "PENDING")

    body = assert_camunda_error(sara.post(f"/task/{task['id']}/resolve", json={"variables": variables}),
                                400, "InvalidRequestException")
    for field in fields:
        assert f"{field}:" in body["message"]
    assert state(admin_rest, instance, task) == before
    assert before["variables"]["discount"]["value"] == 20 and "approved" not in before["variables"]


def test_resolve_refuses_what_submit_form_refuses_with_the_same_answer(admin_rest, users):
    sara = users["sara"]
    _, delegated = open_approval(admin_rest)
    _, plain = open_approval(admin_rest)
    sara.ok(sara.post(f"/task/{delegated['id']}/delegate", json={"userId": "sara"}), 204)
    values = {"variables": {"approved": APPROVED, "discount": DISCOUNT_99}}

    completed = assert_camunda_error(sara.post(f"/task/{plain['id']}/submit-form", json=values), 400,
                                     "InvalidRequestException")
    resolved = assert_camunda_error(sara.post(f"/task/{delegated['id']}/resolve", json=values), 400,
                                    "InvalidRequestException")
    assert resolved == completed


def test_the_delegate_resolves_with_the_forms_values_and_the_candidates_complete(admin, admin_rest, users):
    instance, task = open_approval(admin_rest)
    sara, dave = users["sara"], users["dave"]
    sara.ok(sara.post(f"/task/{task['id']}/delegate", json={"userId": "dave"}), 204)
    dave.ok(dave.post(f"/task/{task['id']}/resolve", json={"variables": {
        "approved": APPROVED, "comment": {"value": "margin is fine", "type": "String"}}}), 204)
    after = state(admin_rest, instance, task)
    assert after["task"] == (None, None, "RESOLVED")  # delegated while unassigned: back to the candidates
    assert after["variables"]["approved"]["value"] is True
    assert after["variables"]["comment"]["value"] == "margin is fine"
    assert after["variables"]["discount"]["value"] == 20

    sara.ok(sara.post(f"/task/{task['id']}/complete", json={"variables": {"approved": APPROVED}}), 204)
    done = admin.instance(instance["id"])
    assert done["status"] == "completed" and done["variables"]["approval_status"] == "approved"


def test_resolving_without_variables_only_hands_the_task_back(admin_rest, users):
    instance, task = open_approval(admin_rest)
    sara, dave = users["sara"], users["dave"]
    sara.ok(sara.post(f"/task/{task['id']}/claim", json={"userId": "sara"}), 204)
    sara.ok(sara.post(f"/task/{task['id']}/delegate", json={"userId": "dave"}), 204)
    before = state(admin_rest, instance, task)
    dave.ok(dave.post(f"/task/{task['id']}/resolve", json={}), 204)
    after = state(admin_rest, instance, task)
    assert after == {**before, "task": ("sara", "sara", "RESOLVED")}


# -- only the delegate resolves ------------------------------------------------------------------

@pytest.mark.parametrize("who", ["sara", "sam", "admin"])  # the owner, another candidate, an admin
def test_only_the_delegate_may_resolve(app, admin_rest, users, who):
    instance, task = open_approval(admin_rest)
    sara = users["sara"]
    sara.ok(sara.post(f"/task/{task['id']}/claim", json={"userId": "sara"}), 204)
    sara.ok(sara.post(f"/task/{task['id']}/delegate", json={"userId": "dave"}), 204)
    before = state(admin_rest, instance, task)
    caller = admin_rest if who == "admin" else users[who]

    assert_camunda_error(caller.post(f"/task/{task['id']}/resolve", json={"variables": {"approved": APPROVED}}),
                         403, "AuthorizationException")
    assert state(admin_rest, instance, task) == before
    assert before["task"] == ("dave", "sara", "PENDING")


# -- a task goes only to an existing, enabled user -----------------------------------------------

@pytest.mark.parametrize("target, status", [("ghost", 404), ("olga", 400)])
def test_a_task_is_not_handed_to_a_missing_or_disabled_user_on_engine_rest(admin_rest, users, target, status):
    instance, task = open_approval(admin_rest)
    sara = users["sara"]
    before = state(admin_rest, instance, task)
    for path in ("delegate", "assignee"):
        body = assert_camunda_error(sara.post(f"/task/{task['id']}/{path}", json={"userId": target}),
                                    status, "InvalidRequestException")
        assert target in body["message"]
    assert state(admin_rest, instance, task) == before


@pytest.mark.parametrize("target, status", [("ghost", 404), ("olga", 400)])
def test_a_task_is_not_handed_to_a_missing_or_disabled_user_on_api_v1(app, admin_rest, users, target, status):
    instance, task = open_approval(admin_rest)
    sara = ApiClient.login(app, "sara", "secret")
    before = state(admin_rest, instance, task)
    body = assert_problem(sara.post(f"/api/v1/tasks/{task['id']}/delegate", json={"user": target}), status)
    assert target in body["detail"]
    assert state(admin_rest, instance, task) == before

    handed = sara.post(f"/api/v1/tasks/{task['id']}/delegate", json={"user": "dave"})  # an enabled user
    assert handed.status_code == 200, handed.get_json()
    assert handed.get_json()["assignee"] == "dave"
