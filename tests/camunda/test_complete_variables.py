"""POST /engine-rest/task/{id}/complete takes variables the task's form does not list, as Camunda's
complete does (Camunda checks a form only in submit-form); submit-form and /api/v1 keep the form's check.
Everything else stays checked on complete: who may complete, the typed values, reserved names, sizes."""
from __future__ import annotations

import pytest

from config import TestConfig

from ..factories import ApiClient, fixture
from .test_rest import Camunda, assert_camunda_error

STRING = "String"


def _typed(**values) -> dict:
    return {"variables": {name: {"value": value, "type": "Boolean" if isinstance(value, bool) else STRING}
                          for name, value in values.items()}}


@pytest.fixture
def review(app, make):
    """simple_user_task started (its task "review", form field `ok`, assigned to alice); (alice, task id, instance id)."""
    admin = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    admin.ok(admin.deploy(fixture("valid", "simple_user_task.bpmn")))
    instance = admin.start("simple_user_task", business_key="r-1")["id"]
    task_id = admin.ok(admin.get(f"/task?processInstanceId={instance}"))[0]["id"]
    make.user("alice")
    return Camunda(app, "alice"), task_id, instance


def _variables(app, instance_id: str) -> dict:
    admin = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rows = admin.ok(admin.get(f"/history/variable-instance?processInstanceId={instance_id}"))
    return {row["name"]: row["value"] for row in rows}


def test_complete_takes_variables_the_form_does_not_list(app, review):
    alice, task_id, instance = review
    alice.ok(alice.post(f"/task/{task_id}/complete", json=_typed(ok=True, approved=True, note="checked twice")), 204)
    assert _variables(app, instance) == {"ok": True, "approved": True, "note": "checked twice"}


def test_complete_does_not_check_the_form_s_fields_either(app, review):
    alice, task_id, instance = review
    # Camunda's complete neither requires `ok` nor checks its type: only submit-form does
    returned = alice.ok(alice.post(f"/task/{task_id}/complete", json={**_typed(ok="later"),
                                                                       "withVariablesInReturn": True}))
    assert returned["ok"] == {"type": "String", "value": "later", "valueInfo": {}}


def test_submit_form_still_takes_only_the_form_s_fields(app, review):
    alice, task_id, instance = review
    body = assert_camunda_error(alice.post(f"/task/{task_id}/submit-form", json=_typed(ok=True, approved=True)),
                                400, "InvalidRequestException")
    assert "approved" in body["message"]
    assert alice.ok(alice.get(f"/task/{task_id}"))["id"] == task_id  # still open, nothing set
    assert "approved" not in _variables(app, instance)


def test_api_v1_still_takes_only_the_form_s_fields(app, review):
    _, task_id, instance = review
    alice = ApiClient.login(app, "alice", "secret")
    response = alice.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"ok": True, "approved": True}})
    assert response.status_code == 400
    assert "approved" in response.get_json()["errors"]
    assert _variables(app, instance) == {}


@pytest.mark.parametrize("name", ["_internal", "__class__", ""])
def test_complete_refuses_reserved_names(app, review, name):
    alice, task_id, instance = review
    body = assert_camunda_error(alice.post(f"/task/{task_id}/complete",
                                           json={"variables": {name: {"value": 1, "type": "Integer"}}}),
                                400, "InvalidRequestException")
    assert "variable" in body["message"]
    assert _variables(app, instance) == {}


def test_complete_keeps_the_typed_value_and_size_checks(app, review):
    alice, task_id, instance = review
    assert_camunda_error(alice.post(f"/task/{task_id}/complete",
                                    json={"variables": {"n": {"value": 2**40, "type": "Integer"}}}),
                         400, "InvalidRequestException")
    huge = alice.post(f"/task/{task_id}/complete", json=_typed(blob="x" * (1024 * 1024 + 1)))
    assert huge.status_code == 422, huge.get_data(as_text=True)
    assert huge.get_json()["type"]
    assert alice.ok(alice.get(f"/task/{task_id}"))["id"] == task_id
    assert _variables(app, instance) == {}


def test_complete_keeps_the_authorization_check(app, make, review):
    _, task_id, instance = review
    make.user("mallory")
    mallory = Camunda(app, "mallory")
    response = mallory.post(f"/task/{task_id}/complete", json=_typed(approved=True))
    assert response.status_code in (403, 404)
    assert _variables(app, instance) == {}
