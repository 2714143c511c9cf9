"""Start forms under /engine-rest, as Camunda Tasklist and custom start UIs call them: the start event's
form variables, its form key, its deployed Camunda form, and submit-form checked against the form."""
from __future__ import annotations

import json

import pytest

from config import TestConfig

from ..factories import fixture
from .test_rest import Camunda, assert_camunda_error


@pytest.fixture
def rest(app) -> Camunda:
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "start_form.bpmn")))
    return rest


def test_the_start_form_variables_are_typed_with_their_defaults(rest):
    variables = rest.ok(rest.get("/process-definition/key/start_form/form-variables"))
    assert variables == {
        "amount": {"type": "Long", "value": None, "valueInfo": {}},
        "creditor": {"type": "String", "value": "ACME", "valueInfo": {}},
        "urgent": {"type": "Boolean", "value": None, "valueInfo": {}},
    }
    definition_id = rest.ok(rest.get("/process-definition/key/start_form"))["id"]
    assert rest.ok(rest.get(f"/process-definition/{definition_id}/form-variables")) == variables


def test_the_start_form_key_is_served(rest):
    assert rest.ok(rest.get("/process-definition/key/start_form/startForm")) == {
        "key": "embedded:app:forms/start.html", "contextPath": None, "camundaFormRef": None}


def test_submit_form_starts_an_instance_with_the_form_s_data(rest, admin):
    started = rest.ok(rest.post("/process-definition/key/start_form/submit-form", json={
        "variables": {"amount": {"value": 250, "type": "Long"}, "urgent": {"value": True, "type": "Boolean"}},
        "businessKey": "INV-7"}))
    assert started["businessKey"] == "INV-7" and started["ended"] is False
    variables = admin.instance(started["id"])["variables"]
    assert variables["amount"] == 250 and variables["urgent"] is True


@pytest.mark.parametrize("variables", [
    {},  # amount is required
    {"amount": {"value": 0, "type": "Long"}},  # below the min constraint
    {"amount": {"value": 5, "type": "Long"}, "approved": {"value": True, "type": "Boolean"}},  # not a form field
])
def test_submit_form_data_that_does_not_fit_the_form_starts_nothing(rest, admin, variables):
    response = rest.post("/process-definition/key/start_form/submit-form", json={"variables": variables})
    assert_camunda_error(response, 400, "InvalidRequestException")
    assert admin.get("/api/v1/process-instances?key=start_form").get_json()["total"] == 0


def test_a_camunda_start_form_is_deployed_and_served(rest, tmp_path):
    diagram = tmp_path / "camunda_form_invoice.bpmn"
    diagram.write_bytes(fixture("valid", "camunda_form_invoice.bpmn").read_bytes().replace(
        b'<bpmn:startEvent id="start">', b'<bpmn:startEvent id="start" camunda:formRef="invoice_approval_form">'))
    form = fixture("valid", "camunda_form_invoice.form")
    rest.ok(rest.deploy(diagram, form))
    assert rest.ok(rest.get("/process-definition/key/invoice_form/deployed-start-form")) == json.loads(
        form.read_text())
    assert rest.ok(rest.get("/process-definition/key/invoice_form/startForm"))["camundaFormRef"] == {
        "key": "invoice_approval_form", "binding": "latest", "version": None}
    bad = rest.post("/process-definition/key/invoice_form/submit-form", json={"variables": {}})
    assert_camunda_error(bad, 400, "InvalidRequestException")  # amount is required
    assert rest.get("/process-definition/key/start_form/deployed-start-form").status_code == 404


def test_without_a_start_form_submit_form_starts_with_any_variables(rest):
    rest.ok(rest.deploy(fixture("valid", "simple_user_task.bpmn")))
    key = "simple_user_task"
    assert rest.ok(rest.get(f"/process-definition/key/{key}/form-variables")) == {}
    started = rest.ok(rest.post(f"/process-definition/key/{key}/submit-form",
                                json={"variables": {"note": {"value": "hi", "type": "String"}}}))
    assert started["ended"] is False


def test_the_api_shows_a_definition_s_start_form(rest, admin):
    [definition] = admin.get("/api/v1/process-definitions?key=start_form").get_json()["items"]
    form = definition["start_form"]
    assert form["required"] == ["amount"] and form["properties"]["creditor"]["default"] == "ACME"
