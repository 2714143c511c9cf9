"""Camunda Forms (form-js, from Camunda Modeler's form editor) deployed with a diagram: the task's form is
checked against them and served to clients that render them."""
from __future__ import annotations

import base64
import json

from app.engine.formjs import form_schema
from config import TestConfig

from ..factories import fixture

FORM = fixture("valid", "camunda_form_invoice.form")
DIAGRAM = fixture("valid", "camunda_form_invoice.bpmn")
GOOD = {"amount": 120.5, "creditor": {"name": "Acme"}, "approved": True, "category": "travel"}


def test_a_form_js_form_becomes_the_json_schema_of_its_fields():
    schema = form_schema(json.loads(FORM.read_text()))
    assert set(schema["properties"]) == {"amount", "creditor", "approved", "category", "reason"}  # no text, button
    assert schema["properties"]["amount"] == {"type": "number", "minimum": 0, "maximum": 100000, "title": "Amount"}
    assert schema["properties"]["creditor"]["properties"]["name"]["minLength"] == 2
    assert schema["properties"]["creditor"]["required"] == ["name"]
    assert schema["properties"]["category"]["enum"] == ["travel", "software"]
    assert schema["properties"]["approved"]["default"] is False
    assert schema["required"] == ["amount"]  # reason is required only when shown: not checked here
    assert schema["additionalProperties"] is False


def _task(admin, instance_id):
    [task] = admin.get(f"/api/v1/tasks?process_instance_id={instance_id}").get_json()["items"]
    return admin.get(f"/api/v1/tasks/{task['id']}").get_json()


def test_completion_data_is_checked_against_the_deployed_camunda_form(admin):
    admin.deploy(DIAGRAM, FORM)
    started = admin.start("invoice_form")
    task = _task(admin, started["id"])
    assert task["camunda_form"]["id"] == "invoice_approval_form"
    assert task["form"]["properties"]["amount"]["type"] == "number"

    response = admin.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {
        "amount": -5, "creditor": {"name": "A"}, "category": "food", "extra": 1}})
    assert response.status_code == 400 and response.get_json()["type"] == "/problems/invalid-form-data"
    errors = response.get_json()["errors"]
    assert {"amount", "category", "extra"} <= set(errors) and any("creditor" in k for k in errors)

    admin.complete(task["id"], GOOD)
    review = _task(admin, started["id"])  # named by camunda-forms:deployment:<file>
    assert review["element_id"] == "review" and review["camunda_form"]["id"] == "invoice_approval_form"
    assert admin.instance(started["id"])["variables"]["creditor"] == {"name": "Acme"}


def test_camunda_clients_get_the_deployed_form(app, admin):
    admin.deploy(DIAGRAM, FORM)
    started = admin.start("invoice_form")
    task = _task(admin, started["id"])
    client = app.test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{TestConfig.ADMIN_PASSWORD}".encode()).decode()}
    deployed = client.get(f"/engine-rest/task/{task['id']}/deployed-form", headers=auth)
    assert deployed.status_code == 200 and deployed.get_json() == json.loads(FORM.read_text())
    dto = client.get(f"/engine-rest/task/{task['id']}", headers=auth).get_json()
    assert dto["camundaFormRef"] == {"key": "invoice_approval_form", "binding": "latest", "version": None}


def test_a_task_naming_a_form_that_is_not_deployed_is_refused(admin, tmp_path):
    body = admin.deploy(DIAGRAM, expect=422)
    problems = {p["element_id"]: p["message"] for p in body["bpmn"]}
    assert "'invoice_approval_form' is not part of the deployment" in problems["approve"]
    assert "'camunda_form_invoice.form' is not part of the deployment" in problems["review"]

    broken = tmp_path / "camunda_form_invoice.form"
    broken.write_text('{"id": "invoice_approval_form", "components": "none"}')
    body = admin.deploy(DIAGRAM, broken, expect=422)
    assert any(p["file"] == "camunda_form_invoice.form" and "not a Camunda form" in p["message"]
               for p in body["bpmn"])


ZEEBE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="embedded_form" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:userTaskForm id="UserTaskForm_1">{"components": [{"type": "textfield", "key": "city", "label": "City", "validate": {"required": true}}], "id": "city_form"}</zeebe:userTaskForm>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ask"><bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:UserTaskForm_1" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask" />
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_camunda_8_form_embedded_in_the_diagram_is_the_task_s_form(admin, tmp_path):
    path = tmp_path / "embedded_form.bpmn"
    path.write_text(ZEEBE)
    admin.deploy(path)
    started = admin.start("embedded_form")
    task = _task(admin, started["id"])
    assert task["form"]["required"] == ["city"] and task["camunda_form"]["id"] == "city_form"
    assert admin.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).status_code == 400
    admin.complete(task["id"], {"city": "Lisbon"})
    assert admin.instance(started["id"])["status"] == "completed"
