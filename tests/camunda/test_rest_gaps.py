"""/engine-rest resources Camunda 7 clients call beyond the basics, in the shapes of Camunda 7.20's REST reference.

The version, a deployment and its resources (and their bytes), duplicate filtering on deploy, an external
task's error details, a variable's bytes, historic variables, where a historic instance started and ended,
and the `...Like` filters of definition, deployment, instance and task queries.
"""
from __future__ import annotations

import json

import pytest

from app.api.camunda.common import CAMUNDA_VERSION
from ..factories import fixture
from .test_external_tasks import TOPIC, fetch
from .test_rest import Camunda, admin_rest, assert_camunda_error, deployed  # noqa: F401  (fixtures)

# A process whose start and end events have ids of their own, to see them in history.
ENTRY_EXIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_entry_exit"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="entry_exit" name="Entry and exit" isExecutable="true">
    <bpmn:startEvent id="came_in" />
    <bpmn:sequenceFlow id="f1" sourceRef="came_in" targetRef="look" />
    <bpmn:userTask id="look" name="Look" />
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="went_out" />
    <bpmn:endEvent id="went_out" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def entry_exit(tmp_path, admin_rest):
    path = tmp_path / "entry_exit.bpmn"
    path.write_text(ENTRY_EXIT)
    admin_rest.ok(admin_rest.deploy(path))
    return admin_rest


def _complete_all(rest: Camunda, instance_id: str, variables: dict | None = None) -> None:
    for task in rest.ok(rest.get(f"/task?processInstanceId={instance_id}")):
        rest.ok(rest.post(f"/task/{task['id']}/complete", json={"variables": variables or {}}), 204)


# -- version ----------------------------------------------------------------------------------

def test_version_names_the_camunda_release_whose_api_is_followed(admin_rest):
    assert admin_rest.ok(admin_rest.get("/version")) == {"version": CAMUNDA_VERSION}
    assert CAMUNDA_VERSION.startswith("7.") and CAMUNDA_VERSION.endswith(".0")


def test_version_needs_credentials_like_every_engine_rest_call(client):
    assert_camunda_error(client.get("/engine-rest/version"), 401, "AuthenticationException")


# -- deployments and their resources -------------------------------------------------------------

def test_a_deployment_its_resources_and_their_bytes_are_served(deployed):
    [deployment] = deployed.ok(deployed.get("/deployment"))
    one = deployed.ok(deployed.get(f"/deployment/{deployment['id']}"))
    assert one == {**deployment, "source": None}
    resources = deployed.ok(deployed.get(f"/deployment/{deployment['id']}/resources"))
    assert [r["name"] for r in resources] == ["simple_user_task.bpmn", "three_tasks.bpmn"]
    assert all(r["deploymentId"] == deployment["id"] for r in resources)

    first = resources[0]
    assert deployed.ok(deployed.get(f"/deployment/{deployment['id']}/resources/{first['id']}")) == first
    data = deployed.get(f"/deployment/{deployment['id']}/resources/{first['id']}/data")
    assert data.status_code == 200
    assert data.mimetype == "application/xml"
    assert data.get_data() == fixture("valid", "simple_user_task.bpmn").read_bytes()


def test_resource_data_media_types_follow_the_extension():
    from app.api.camunda.deployment import media_type

    assert media_type("p.bpmn") == "application/xml"
    assert media_type("d.dmn") == "application/xml"
    assert media_type("f.form") == "application/json"
    assert media_type("notes.unknownext") == "application/octet-stream"
    assert media_type("noext") == "application/octet-stream"


def test_unknown_deployments_and_resources_answer_404(deployed):
    [deployment] = deployed.ok(deployed.get("/deployment"))
    for path in ("/deployment/nope", "/deployment/nope/resources", "/deployment/nope/resources/x",
                 f"/deployment/{deployment['id']}/resources/nope", f"/deployment/{deployment['id']}/resources/nope/data"):
        body = assert_camunda_error(deployed.get(path), 404, "InvalidRequestException")
        assert "nope" in body["message"]


def test_a_resource_is_found_only_under_its_own_deployment(admin_rest):
    first = admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn"), name="one"))
    second = admin_rest.ok(admin_rest.deploy(fixture("valid", "three_tasks.bpmn"), name="two"))
    [resource] = admin_rest.ok(admin_rest.get(f"/deployment/{first['id']}/resources"))
    assert_camunda_error(admin_rest.get(f"/deployment/{second['id']}/resources/{resource['id']}/data"),
                         404, "InvalidRequestException")


def test_deployment_lists_filter_by_name_like(admin_rest):
    admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn"), name="orders v1"))
    admin_rest.ok(admin_rest.deploy(fixture("valid", "three_tasks.bpmn"), name="billing"))
    assert [d["name"] for d in admin_rest.ok(admin_rest.get("/deployment?nameLike=orders%25"))] == ["orders v1"]
    assert admin_rest.ok(admin_rest.get("/deployment/count?nameLike=%25i%25")) == {"count": 1}


# -- duplicate filtering -----------------------------------------------------------------------

@pytest.mark.parametrize("option", ["deploy-changed-only", "enable-duplicate-filtering"])
def test_redeploying_unchanged_files_with_duplicate_filtering_answers_the_existing_deployment(admin_rest, option):
    files = (fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn"))
    first = admin_rest.ok(admin_rest.deploy(*files, changed_only=False))
    again = admin_rest.post("/deployment/create", data={
        "deployment-name": "from the modeler", option: "true",
        **{p.name: (open(p, "rb"), p.name) for p in files}}, content_type="multipart/form-data")
    body = admin_rest.ok(again)
    assert body["id"] == first["id"]
    assert body["deployedProcessDefinitions"] is None
    assert admin_rest.ok(admin_rest.get("/deployment/count")) == {"count": 1}


def test_duplicate_filtering_deploys_when_a_file_or_the_name_differs(tmp_path, admin_rest):
    original = fixture("valid", "simple_user_task.bpmn")
    first = admin_rest.ok(admin_rest.deploy(original))
    changed = tmp_path / original.name
    changed.write_bytes(original.read_bytes().replace(b'name="Review"', b'name="Review it"'))
    second = admin_rest.ok(admin_rest.deploy(changed))
    assert second["id"] != first["id"]
    assert [d["version"] for d in second["deployedProcessDefinitions"].values()] == [2]
    third = admin_rest.ok(admin_rest.deploy(changed, name="another name"))
    assert third["id"] not in (first["id"], second["id"])
    # without duplicate filtering, unchanged files still make a new deployment (keeping the version)
    fourth = admin_rest.ok(admin_rest.deploy(changed, changed_only=False))
    assert fourth["id"] not in (first["id"], second["id"], third["id"])
    assert admin_rest.ok(admin_rest.get("/deployment/count")) == {"count": 4}


def test_duplicate_filtering_still_needs_the_deploy_permission(app, make, admin_rest):
    admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn")))
    make.user("bob")
    response = Camunda(app, "bob").deploy(fixture("valid", "simple_user_task.bpmn"))
    assert_camunda_error(response, 403, "AuthorizationException")


# -- external task error details ------------------------------------------------------------------

@pytest.fixture
def external(admin_rest):
    admin_rest.ok(admin_rest.deploy(fixture("valid", "external_charge.bpmn")))
    return admin_rest


def test_error_details_are_what_the_worker_sent_with_its_failure(external):
    external.start("external_charge")
    [task] = fetch(external)
    assert external.get(f"/external-task/{task['id']}/errorDetails").status_code == 204
    external.ok(external.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "worker-1", "errorMessage": "gateway down", "errorDetails": "Traceback:\n  line 1\u00e9",
        "retries": 3, "retryTimeout": 0}), 204)
    response = external.get(f"/external-task/{task['id']}/errorDetails")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "Traceback:\n  line 1\u00e9"


def test_error_details_answer_404_as_reading_the_task_does(app, make, external):
    external.start("external_charge")
    [task] = fetch(external, topics=TOPIC)
    assert_camunda_error(external.get("/external-task/nope/errorDetails"), 404, "InvalidRequestException")
    make.user("bob")  # may not work the topic, so the task is not found for him
    assert_camunda_error(Camunda(app, "bob").get(f"/external-task/{task['id']}/errorDetails"),
                         404, "InvalidRequestException")


# -- a variable's bytes ---------------------------------------------------------------------------

def test_variable_data_is_its_serialized_value_as_bytes(deployed):
    instance = deployed.start("simple_user_task", {
        "note": {"value": "h\u00e9llo", "type": "String"}, "n": {"value": 7, "type": "Integer"},
        "doc": {"value": json.dumps({"a": [1, 2]}), "type": "Json"}})
    base = f"/process-instance/{instance['id']}/variables"
    note = deployed.get(f"{base}/note/data")
    assert note.status_code == 200 and note.mimetype == "application/octet-stream"
    assert note.get_data() == "h\u00e9llo".encode()
    assert deployed.get(f"{base}/n/data").get_data() == b"7"
    assert json.loads(deployed.get(f"{base}/doc/data").get_data()) == {"a": [1, 2]}
    assert_camunda_error(deployed.get(f"{base}/missing/data"), 404, "InvalidRequestException")


def test_variable_data_is_refused_like_reading_the_instance(app, make, deployed):
    instance = deployed.start("simple_user_task", {"note": {"value": "x", "type": "String"}})
    make.user("bob")
    assert_camunda_error(Camunda(app, "bob").get(f"/process-instance/{instance['id']}/variables/note/data"),
                         404, "InvalidRequestException")
    assert_camunda_error(deployed.get("/process-instance/nope/variables/note/data"), 404, "InvalidRequestException")


# -- historic variables --------------------------------------------------------------------------

def test_historic_variables_include_ended_instances(deployed):
    done = deployed.start("simple_user_task", {"amount": {"value": 5, "type": "Integer"},
                                               "customer": {"value": "ada", "type": "String"}})
    _complete_all(deployed, done["id"], {"ok": {"value": True, "type": "Boolean"}})
    running = deployed.start("simple_user_task", {"amount": {"value": 9, "type": "Integer"}})

    amounts = deployed.ok(deployed.get("/history/variable-instance?variableName=amount"))
    assert [(v["processInstanceId"], v["value"], v["type"]) for v in amounts] == [
        (done["id"], 5, "Integer"), (running["id"], 9, "Integer")]
    assert amounts[0]["processDefinitionKey"] == "simple_user_task"
    assert amounts[0]["state"] == "CREATED"
    mine = deployed.ok(deployed.get(f"/history/variable-instance?processInstanceId={done['id']}"))
    assert sorted(v["name"] for v in mine) == ["amount", "customer", "ok"]
    assert deployed.ok(deployed.get("/history/variable-instance/count?variableNameLike=cust%25")) == {"count": 1}
    assert deployed.ok(deployed.get(
        f"/history/variable-instance/count?processInstanceId={running['id']}&variableName=customer")) == {"count": 0}
    page = deployed.ok(deployed.get("/history/variable-instance?firstResult=1&maxResults=1"))
    assert len(page) == 1


def test_historic_variables_are_only_those_of_readable_instances(app, make, deployed):
    deployed.start("simple_user_task", {"amount": {"value": 5, "type": "Integer"}})
    make.user("bob")
    bob = Camunda(app, "bob")
    assert bob.ok(bob.get("/history/variable-instance")) == []
    make.grant("read", "process", "simple_user_task", user="bob")
    assert bob.ok(bob.get("/history/variable-instance/count")) == {"count": 1}


@pytest.mark.parametrize("query", ["maxResults=10001", "firstResult=-1", "firstResult=99999999999",
                                   "variableName=" + "v" * 300])
def test_historic_variable_queries_reject_bad_input_with_400(deployed, query):
    assert_camunda_error(deployed.get(f"/history/variable-instance?{query}"), 400, "InvalidRequestException")


# -- start and end activity of historic instances ------------------------------------------------

def test_historic_instances_name_their_start_and_end_activities(entry_exit):
    running = entry_exit.start("entry_exit")
    done = entry_exit.start("entry_exit")
    _complete_all(entry_exit, done["id"])
    cancelled = entry_exit.start("entry_exit")
    entry_exit.ok(entry_exit.delete(f"/process-instance/{cancelled['id']}"), 204)

    rows = {h["id"]: h for h in entry_exit.ok(entry_exit.get("/history/process-instance"))}
    assert {(rows[i]["startActivityId"], rows[i]["endActivityId"]) for i in (running["id"],)} == {("came_in", None)}
    assert (rows[done["id"]]["startActivityId"], rows[done["id"]]["endActivityId"]) == ("came_in", "went_out")
    assert (rows[cancelled["id"]]["startActivityId"], rows[cancelled["id"]]["endActivityId"]) == ("came_in", None)


# -- ...Like filters -----------------------------------------------------------------------------

def test_definition_queries_filter_by_key_like_and_name_like(deployed):
    def keys(query):
        return sorted(d["key"] for d in deployed.ok(deployed.get(f"/process-definition?{query}")))

    assert keys("keyLike=simple%25") == ["simple_user_task"]
    assert keys("keyLike=%25task%25") == ["simple_user_task", "three_tasks"]
    assert keys("keyLike=nothing%25") == []
    assert keys("nameLike=Simple%25") == ["simple_user_task"]
    assert keys("name=Simple%20user%20task") == ["simple_user_task"]
    assert deployed.ok(deployed.get("/process-definition/count?keyLike=three%25")) == {"count": 1}


def test_instance_queries_filter_by_business_key_like(deployed):
    a = deployed.start("simple_user_task", business_key="order-1")
    deployed.start("simple_user_task", business_key="invoice-1")
    found = deployed.ok(deployed.get("/process-instance?businessKeyLike=order-%25"))
    assert [i["id"] for i in found] == [a["id"]]
    assert deployed.ok(deployed.post("/process-instance/count", json={"businessKeyLike": "%-1"})) == {"count": 2}


def test_task_queries_filter_by_name_like_assignee_like_and_task_definition_key_like(deployed):
    review = deployed.start("simple_user_task")  # Review, assigned to alice
    deployed.start("three_tasks")  # task_a for the staff group

    def ids(query):
        return [t["taskDefinitionKey"] for t in deployed.ok(deployed.get(f"/task?{query}"))]

    assert ids("nameLike=Rev%25") == ["review"]
    assert ids("assigneeLike=ali%25") == ["review"]
    assert ids("taskDefinitionKeyLike=task_%25") == ["task_a"]
    assert ids("name=Review") == ["review"]
    assert deployed.ok(deployed.post("/task/count", json={"nameLike": "%"})) == {"count": 2}
    assert review["id"]


@pytest.mark.parametrize("path", ["/process-definition?keyLike=", "/task?nameLike=", "/process-instance?businessKeyLike=",
                                  "/deployment?nameLike="])
def test_like_filters_reject_overlong_patterns_with_400(deployed, path):
    assert_camunda_error(deployed.get(path + "k" * 300), 400, "InvalidRequestException")
