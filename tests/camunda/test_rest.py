"""The Camunda 7 REST subset under /engine-rest: Camunda's request and response shapes over HTTP Basic.

Shapes follow Camunda 7's REST reference: string ids, camelCase fields, typed
variables `{"value": ..., "type": ...}`, `{"count": n}`, 204 for commands and
`{"type": "...Exception", "message": ...}` for errors.
"""
from __future__ import annotations

import base64
import json
import re

import pytest

from config import TestConfig

from ..factories import fixture

BASE = "/engine-rest"
CAMUNDA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")


def basic(username: str, password: str = "secret") -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Camunda:
    """A test client speaking to /engine-rest as one user, with HTTP Basic."""

    def __init__(self, app, username: str, password: str = "secret"):
        self.client = app.test_client()
        self.headers = basic(username, password)

    def get(self, path, **kw):
        return self.client.get(BASE + path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(BASE + path, headers=self.headers, **kw)

    def put(self, path, **kw):
        return self.client.put(BASE + path, headers=self.headers, **kw)

    def delete(self, path, **kw):
        return self.client.delete(BASE + path, headers=self.headers, **kw)

    def ok(self, response, status: int = 200):
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json() if status != 204 else None

    def deploy(self, *paths, name: str = "from the modeler", changed_only: bool = True):
        """Deploy as the Camunda Modeler does: one part per file, named after it, plus its option fields."""
        data = {"deployment-name": name, "deploy-changed-only": "true" if changed_only else "false",
                "deployment-source": "Camunda Modeler"}
        for path in paths:
            data[path.name] = (open(path, "rb"), path.name)
        return self.post("/deployment/create", data=data, content_type="multipart/form-data")

    def start(self, key: str, variables: dict | None = None, business_key: str | None = None, **extra):
        body = {"variables": variables or {}, **extra}
        if business_key:
            body["businessKey"] = business_key
        return self.ok(self.post(f"/process-definition/key/{key}/start", json=body))


def assert_camunda_error(response, status: int, camunda_type: str) -> dict:
    """The response is Camunda's error body with `status`; return it."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"] == camunda_type
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture
def admin_rest(app) -> Camunda:
    return Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)


@pytest.fixture
def deployed(admin_rest):
    """simple_user_task (review, assigned to alice) and three_tasks (task_a.., group staff) deployed."""
    admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn")))
    return admin_rest


# -- authentication and errors -----------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, basic("admin", "wrong"), basic("nobody"), {"Authorization": "Bearer x"}],
                         ids=["none", "wrong-password", "unknown-user", "bearer"])
def test_requests_without_valid_basic_credentials_get_401_with_a_basic_challenge(client, headers):
    response = client.get(f"{BASE}/task", headers=headers)
    assert_camunda_error(response, 401, "AuthenticationException")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="stagecoach"'


def test_any_stagecoach_user_authenticates_with_http_basic(app, make):
    make.user("bob")
    response = Camunda(app, "bob").get("/process-definition")
    assert response.status_code == 200
    assert response.get_json() == []


def test_unknown_ids_answer_camunda_404_bodies(deployed):
    for path in ("/process-definition/nope", "/process-definition/nope/xml",
                 "/process-instance/nope", "/task/nope", "/process-instance/nope/variables"):
        body = assert_camunda_error(deployed.get(path), 404, "InvalidRequestException")
        assert "nope" in body["message"]
    # a key that names no definition: Camunda's RestException, in its words
    body = assert_camunda_error(deployed.get("/process-definition/key/nope"), 404, "RestException")
    assert body["message"] == "No matching process definition with key: nope and no tenant-id"


def test_malformed_requests_answer_camunda_400_bodies(deployed):
    assert_camunda_error(deployed.get("/task?firstResult=-1"), 400, "InvalidRequestException")
    assert_camunda_error(deployed.post("/process-definition/key/simple_user_task/start", data="not json",
                                       content_type="application/json"), 400, "InvalidRequestException")
    body = assert_camunda_error(deployed.post("/process-definition/key/simple_user_task/start",
                                              json={"variables": {"n": {"value": "x", "type": "Integer"}}}),
                                400, "InvalidRequestException")
    assert "n" in body["message"]
    assert_camunda_error(deployed.post("/process-definition/key/simple_user_task/start",
                                       json={"variables": {"f": {"value": "AAE=", "type": "Bytes"}}}),
                         400, "InvalidRequestException")


def test_commands_a_user_may_not_run_answer_403_authorization_exception(app, make, deployed):
    instance = deployed.start("simple_user_task")
    make.user("bob")
    bob = Camunda(app, "bob")
    assert_camunda_error(bob.delete(f"/process-instance/{instance['id']}"), 404, "InvalidRequestException")
    make.grant("read", "process", "simple_user_task", user="bob")  # now he sees it, and still may not delete it
    assert_camunda_error(bob.delete(f"/process-instance/{instance['id']}"), 403, "AuthorizationException")
    task = deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}"))[0]
    assert_camunda_error(bob.post(f"/task/{task['id']}/complete", json={}), 403, "AuthorizationException")


# -- deployments ------------------------------------------------------------------------------

def test_deploy_like_the_camunda_modeler(admin_rest):
    body = admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn"), name="review"))
    assert body["name"] == "review"
    assert body["source"] == "Camunda Modeler"
    assert isinstance(body["id"], str)
    assert CAMUNDA_TIME.match(body["deploymentTime"])
    (definition_id, definition), = body["deployedProcessDefinitions"].items()
    assert definition["id"] == definition_id
    assert definition["key"] == "simple_user_task"
    assert definition["name"] == "Simple user task"
    assert definition["version"] == 1
    assert definition["deploymentId"] == body["id"]
    assert definition["resource"] == "simple_user_task.bpmn"
    assert definition["suspended"] is False


def test_deploying_an_unchanged_diagram_again_deploys_no_new_definition(admin_rest):
    first = admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn")))
    again = admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn"), changed_only=False))
    assert again["id"] != first["id"]  # a new deployment (no duplicate filtering), and no new version
    assert again["deployedProcessDefinitions"] is None
    assert admin_rest.ok(admin_rest.get("/process-definition/count")) == {"count": 1}


def test_deployments_are_listed_newest_first_and_counted(admin_rest):
    admin_rest.ok(admin_rest.deploy(fixture("valid", "simple_user_task.bpmn"), name="one"))
    admin_rest.ok(admin_rest.deploy(fixture("valid", "three_tasks.bpmn"), name="two"))
    listed = admin_rest.ok(admin_rest.get("/deployment"))
    assert {d["name"] for d in listed} == {"one", "two"}
    assert all(CAMUNDA_TIME.match(d["deploymentTime"]) for d in listed)
    assert admin_rest.ok(admin_rest.get("/deployment/count")) == {"count": 2}
    assert [d["name"] for d in admin_rest.ok(admin_rest.get("/deployment?name=two"))] == ["two"]


def test_an_invalid_diagram_answers_a_parse_exception_listing_its_problems(admin_rest):
    response = admin_rest.deploy(fixture("invalid", "dangling_flow.bpmn"))
    body = assert_camunda_error(response, 400, "ParseException")
    assert "dangling_flow.bpmn" in body["message"]
    assert body["details"]["dangling_flow.bpmn"]["errors"]
    assert admin_rest.ok(admin_rest.get("/process-definition/count")) == {"count": 0}


def test_a_deployment_without_diagram_parts_is_rejected(admin_rest):
    response = admin_rest.post("/deployment/create", data={"deployment-name": "empty"},
                               content_type="multipart/form-data")
    assert_camunda_error(response, 400, "InvalidRequestException")


# -- process definitions ---------------------------------------------------------------------

def test_definitions_are_listed_filtered_and_counted(deployed, tmp_path):
    changed = tmp_path / "simple_user_task.bpmn"
    changed.write_bytes(fixture("valid", "simple_user_task.bpmn").read_bytes().replace(b'name="Review"',
                                                                                        b'name="Review it"'))
    deployed.ok(deployed.deploy(changed))
    everything = deployed.ok(deployed.get("/process-definition"))
    assert sorted((d["key"], d["version"]) for d in everything) == [
        ("simple_user_task", 1), ("simple_user_task", 2), ("three_tasks", 1)]
    latest = deployed.ok(deployed.get("/process-definition?key=simple_user_task&latestVersion=true"))
    assert [d["version"] for d in latest] == [2]
    assert deployed.ok(deployed.get("/process-definition/count?latestVersion=true")) == {"count": 2}
    page = deployed.ok(deployed.get("/process-definition?firstResult=1&maxResults=1"))
    assert len(page) == 1 and page[0]["id"] == everything[1]["id"]


def test_a_definition_is_read_by_key_or_id_with_its_xml(deployed):
    by_key = deployed.ok(deployed.get("/process-definition/key/three_tasks"))
    assert by_key["key"] == "three_tasks" and by_key["version"] == 1
    assert deployed.ok(deployed.get(f"/process-definition/{by_key['id']}")) == by_key
    xml = deployed.ok(deployed.get(f"/process-definition/{by_key['id']}/xml"))
    assert xml["id"] == by_key["id"]
    assert xml["bpmn20Xml"] == fixture("valid", "three_tasks.bpmn").read_text()
    assert deployed.ok(deployed.get("/process-definition/key/three_tasks/xml")) == xml


def test_starting_by_key_returns_the_instance_with_typed_variables(deployed):
    variables = {"amount": {"value": 12, "type": "Integer"}, "rate": {"value": 0.5, "type": "Double"},
                 "big": {"value": 2**40, "type": "Long"}, "name": {"value": "Ada", "type": "String"},
                 "vip": {"value": True, "type": "Boolean"}, "nothing": {"value": None, "type": "Null"},
                 "address": {"value": json.dumps({"city": "Oslo"}), "type": "Json"}}
    instance = deployed.start("simple_user_task", variables, business_key="order-1", withVariablesInReturn=True)
    assert instance["definitionId"] == deployed.ok(deployed.get("/process-definition/key/simple_user_task"))["id"]
    assert instance["businessKey"] == "order-1"
    assert instance["ended"] is False and instance["suspended"] is False
    assert instance["links"] == []
    returned = {name: (v["type"], v["value"]) for name, v in instance["variables"].items()}
    assert returned == {"amount": ("Integer", 12), "rate": ("Double", 0.5), "big": ("Long", 2**40),
                        "name": ("String", "Ada"), "vip": ("Boolean", True), "nothing": ("Null", None),
                        "address": ("Json", json.dumps({"city": "Oslo"}))}


def test_starting_a_version_by_id(deployed):
    definition = deployed.ok(deployed.get("/process-definition/key/three_tasks"))
    response = deployed.post(f"/process-definition/{definition['id']}/start", json={})
    instance = deployed.ok(response)
    assert instance["definitionId"] == definition["id"]
    assert "variables" not in instance


# -- process instances ----------------------------------------------------------------------

def test_instances_are_listed_filtered_and_counted(deployed):
    a = deployed.start("simple_user_task", business_key="a")
    b = deployed.start("three_tasks", business_key="b")
    listed = deployed.ok(deployed.get("/process-instance"))
    assert {i["id"] for i in listed} == {a["id"], b["id"]}
    assert deployed.ok(deployed.get("/process-instance?businessKey=b")) == [deployed.ok(
        deployed.get(f"/process-instance/{b['id']}"))]
    assert [i["id"] for i in deployed.ok(deployed.get("/process-instance?processDefinitionKey=simple_user_task"))] \
        == [a["id"]]
    assert deployed.ok(deployed.get("/process-instance/count")) == {"count": 2}
    assert deployed.ok(deployed.post("/process-instance/count", json={"businessKey": "a"})) == {"count": 1}


def test_suspending_and_resuming_an_instance(deployed):
    instance = deployed.start("simple_user_task")
    path = f"/process-instance/{instance['id']}"
    deployed.ok(deployed.put(f"{path}/suspended", json={"suspended": True}), 204)
    assert deployed.ok(deployed.get(path))["suspended"] is True
    assert [i["id"] for i in deployed.ok(deployed.get("/process-instance?suspended=true"))] == [instance["id"]]
    deployed.ok(deployed.put(f"{path}/suspended", json={"suspended": True}), 204)  # already: no error
    deployed.ok(deployed.put(f"{path}/suspended", json={"suspended": False}), 204)
    assert deployed.ok(deployed.get(path))["suspended"] is False
    assert_camunda_error(deployed.put(f"{path}/suspended", json={}), 400, "InvalidRequestException")


def test_the_tasks_of_a_suspended_instance_say_suspended_until_it_is_resumed(deployed):
    held, other = deployed.start("three_tasks"), deployed.start("three_tasks")
    path = f"/process-instance/{held['id']}"

    def flags() -> dict:
        listed = {t["processInstanceId"]: t["suspended"] for t in deployed.ok(deployed.get("/task"))}
        posted = {t["processInstanceId"]: t["suspended"] for t in deployed.ok(deployed.post("/task", json={}))}
        [task] = deployed.ok(deployed.get(f"/task?processInstanceId={held['id']}"))
        assert listed == posted and deployed.ok(deployed.get(f"/task/{task['id']}"))["suspended"] is listed[held["id"]]
        return listed

    assert flags() == {held["id"]: False, other["id"]: False}
    deployed.ok(deployed.put(f"{path}/suspended", json={"suspended": True}), 204)
    assert flags() == {held["id"]: True, other["id"]: False}
    deployed.ok(deployed.put(f"{path}/suspended", json={"suspended": False}), 204)
    assert flags() == {held["id"]: False, other["id"]: False}


def test_deleting_an_instance_cancels_it(deployed):
    instance = deployed.start("simple_user_task")
    deployed.ok(deployed.delete(f"/process-instance/{instance['id']}"), 204)
    assert_camunda_error(deployed.get(f"/process-instance/{instance['id']}"), 404, "InvalidRequestException")
    assert deployed.ok(deployed.get("/process-instance/count")) == {"count": 0}
    assert deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}")) == []
    assert_camunda_error(deployed.delete(f"/process-instance/{instance['id']}"), 404,  # a second delete, as Camunda
                         "InvalidRequestException")


def test_instance_variables_are_read_typed_and_modified(deployed):
    instance = deployed.start("simple_user_task", {"amount": {"value": 5, "type": "Integer"},
                                                   "note": {"value": "old", "type": "String"}})
    path = f"/process-instance/{instance['id']}/variables"
    assert deployed.ok(deployed.get(path)) == {
        "amount": {"type": "Integer", "value": 5, "valueInfo": {}},
        "note": {"type": "String", "value": "old", "valueInfo": {}}}
    deployed.ok(deployed.post(path, json={"modifications": {"amount": {"value": 7, "type": "Long"},
                                                            "tags": {"value": '["a"]', "type": "Json"}},
                                          "deletions": ["note"]}), 204)
    variables = deployed.ok(deployed.get(path))
    assert {k: v["value"] for k, v in variables.items()} == {"amount": 7, "tags": '["a"]'}
    assert variables["tags"]["type"] == "Json"
    assert deployed.ok(deployed.get(f"{path}/amount"))["value"] == 7
    assert_camunda_error(deployed.get(f"{path}/nope"), 404, "InvalidRequestException")


def test_typed_values_are_checked_against_their_type_as_camunda_checks_them(deployed):
    started = deployed.start("simple_user_task", {
        "flag": {"value": True, "type": "String"}, "count": {"value": 3, "type": "String"},
        "when": {"value": "2026-01-02T03:04:05.000+0100", "type": "Date"},
        "doc": {"value": '{"a": 1}', "type": "Object",
                "valueInfo": {"serializationDataFormat": "application/json"}}})
    variables = deployed.ok(deployed.get(f"/process-instance/{started['id']}/variables"))
    assert (variables["flag"]["value"], variables["count"]["value"]) == ("true", "3")  # not "True"
    assert variables["when"]["value"] == "2026-01-02T03:04:05.000+0100" and variables["doc"]["value"] is not None
    for bad in ({"value": {"a": 1}, "type": "String"}, {"value": "not a date", "type": "Date"},
                {"value": "<a/>", "type": "Object", "valueInfo": {"serializationDataFormat": "application/xml"}}):
        response = deployed.post("/process-definition/key/simple_user_task/start", json={"variables": {"x": bad}})
        assert_camunda_error(response, 400, "InvalidRequestException")


# -- tasks ---------------------------------------------------------------------------------

def test_tasks_are_found_by_instance_assignee_and_candidates(deployed):
    review = deployed.start("simple_user_task")
    staff = deployed.start("three_tasks")
    by_instance = deployed.ok(deployed.get(f"/task?processInstanceId={review['id']}"))
    assert len(by_instance) == 1
    task = by_instance[0]
    assert task["name"] == "Review" and task["assignee"] == "alice"
    assert task["taskDefinitionKey"] == "review"
    assert task["processInstanceId"] == review["id"]
    assert task["processDefinitionId"] == review["definitionId"]
    assert CAMUNDA_TIME.match(task["created"]) and task["due"] is None
    assert [t["id"] for t in deployed.ok(deployed.get("/task?assignee=alice"))] == [task["id"]]
    group = deployed.ok(deployed.get("/task?candidateGroup=staff"))
    assert [t["processInstanceId"] for t in group] == [staff["id"]]
    assert deployed.ok(deployed.get("/task?candidateUser=carol")) == []
    assert deployed.ok(deployed.post("/task", json={"candidateGroup": "staff"})) == group
    assert deployed.ok(deployed.get("/task/count")) == {"count": 2}
    assert deployed.ok(deployed.post("/task/count", json={"assignee": "alice"})) == {"count": 1}
    assert deployed.ok(deployed.get(f"/task/{task['id']}")) == task


def test_a_candidate_claims_unclaims_and_hands_over_a_task(app, make, deployed):
    instance = deployed.start("three_tasks")
    task_id = deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}"))[0]["id"]
    make.user("sam", groups=["staff"])
    make.user("kim", groups=["staff"])
    sam = Camunda(app, "sam")
    sam.ok(sam.post(f"/task/{task_id}/claim", json={"userId": "sam"}), 204)
    assert sam.ok(sam.get(f"/task/{task_id}"))["assignee"] == "sam"
    assert_camunda_error(sam.post(f"/task/{task_id}/claim", json={"userId": "kim"}), 403, "AuthorizationException")
    sam.ok(sam.post(f"/task/{task_id}/unclaim"), 204)
    assert sam.ok(sam.get(f"/task/{task_id}"))["assignee"] is None
    sam.ok(sam.post(f"/task/{task_id}/assignee", json={"userId": "kim"}), 204)
    assert sam.ok(sam.get(f"/task/{task_id}"))["assignee"] == "kim"
    assert_camunda_error(sam.post(f"/task/{task_id}/unclaim"), 403, "AuthorizationException")  # kim's now
    kim = Camunda(app, "kim")
    assert_camunda_error(kim.post(f"/task/{task_id}/assignee", json={"userId": "ghost"}), 404,
                         "InvalidRequestException")


def test_completing_a_task_moves_the_instance_on(deployed):
    instance = deployed.start("three_tasks")
    first = deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}"))[0]
    deployed.ok(deployed.post(f"/task/{first['id']}/complete",
                              json={"variables": {"note": {"value": "done", "type": "String"}}}), 204)
    assert_camunda_error(deployed.get(f"/task/{first['id']}"), 404, "InvalidRequestException")
    second = deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}"))[0]
    assert second["taskDefinitionKey"] == "task_b"
    assert deployed.ok(deployed.get(f"/task/{second['id']}/variables")) == {
        "note": {"type": "String", "value": "done", "valueInfo": {}}}
    returned = deployed.ok(deployed.post(f"/task/{second['id']}/submit-form",
                                         json={"variables": {"note": {"value": "b", "type": "String"}},
                                               "withVariablesInReturn": True}))
    assert returned == {"note": {"type": "String", "value": "b", "valueInfo": {}}}


def test_submitting_data_the_form_refuses_answers_400(app, make, deployed):
    instance = deployed.start("simple_user_task")
    task_id = deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}"))[0]["id"]
    make.user("alice")
    alice = Camunda(app, "alice")
    body = assert_camunda_error(alice.post(f"/task/{task_id}/submit-form",
                                           json={"variables": {"ok": {"value": "yes", "type": "String"}}}),
                                400, "InvalidRequestException")
    assert "ok" in body["message"]
    alice.ok(alice.post(f"/task/{task_id}/submit-form",
                        json={"variables": {"ok": {"value": True, "type": "Boolean"}}}), 204)
    assert_camunda_error(alice.get(f"/process-instance/{instance['id']}"), 404, "InvalidRequestException")


def test_form_variables_are_typed_from_the_form_and_the_instance(deployed):
    instance = deployed.start("three_tasks", {"note": {"value": "from start", "type": "String"}})
    task_id = deployed.ok(deployed.get(f"/task?processInstanceId={instance['id']}"))[0]["id"]
    assert deployed.ok(deployed.get(f"/task/{task_id}/form-variables")) == {
        "note": {"type": "String", "value": "from start", "valueInfo": {}}}
    review = deployed.start("simple_user_task")
    review_task = deployed.ok(deployed.get(f"/task?processInstanceId={review['id']}"))[0]["id"]
    assert deployed.ok(deployed.get(f"/task/{review_task}/form-variables")) == {
        "ok": {"type": "Boolean", "value": None, "valueInfo": {}}}


# -- messages and signals ------------------------------------------------------------------

@pytest.fixture
def waiting(admin_rest):
    admin_rest.ok(admin_rest.deploy(fixture("events", "wait_for_reply.bpmn")))
    return admin_rest.start("wait_for_reply", business_key="case-7")


def test_a_message_is_correlated_by_business_key(admin_rest, admin, waiting):
    response = admin_rest.post("/message", json={"messageName": "reply", "businessKey": "case-7",
                                                 "processVariables": {"answer": {"value": "yes", "type": "String"}}})
    admin_rest.ok(response, 204)
    assert admin.instance(waiting["id"])["variables"] == {"answer": "yes", "outcome": "replied"}


def test_a_message_with_result_enabled_returns_camunda_correlation_results(admin_rest, waiting):
    results = admin_rest.ok(admin_rest.post("/message", json={
        "messageName": "reply", "businessKey": "case-7", "resultEnabled": True, "variablesInResultEnabled": True}))
    assert len(results) == 1
    assert results[0]["resultType"] == "Execution"
    assert results[0]["execution"]["processInstanceId"] == waiting["id"]
    assert results[0]["variables"]["outcome"] == {"type": "String", "value": "replied", "valueInfo": {}}


def test_a_message_nobody_waits_for_answers_400_mismatching_correlation(admin_rest, waiting):
    response = admin_rest.post("/message", json={"messageName": "reply", "businessKey": "other"})
    assert_camunda_error(response, 400, "MismatchingMessageCorrelationException")
    assert_camunda_error(admin_rest.post("/message", json={}), 400, "InvalidRequestException")


def test_a_signal_is_thrown_with_typed_variables(admin_rest, admin):
    admin_rest.ok(admin_rest.deploy(fixture("events", "price_list_signal_start.bpmn")))
    admin_rest.ok(admin_rest.post("/signal", json={"name": "price_list_published",
                                                   "variables": {"version": {"value": 3, "type": "Integer"}}}), 204)
    started = admin.get("/api/v1/process-instances?key=price_list_signal_start").get_json()["items"]
    assert len(started) == 1
    admin_rest.ok(admin_rest.post("/signal", json={"name": "nobody_listens"}), 204)
    assert_camunda_error(admin_rest.post("/signal", json={}), 400, "InvalidRequestException")


def test_a_signal_with_an_execution_id_notifies_that_instance_only(admin_rest, admin):
    """Camunda's `executionId` (an instance id here, its only execution): the others keep waiting, no process
    starts; an instance that does not wait for the signal is a 400."""
    admin_rest.ok(admin_rest.deploy(fixture("events", "quarter_close_wait.bpmn")))
    first, second = (admin_rest.start("quarter_close_wait")["id"] for _ in range(2))
    admin_rest.ok(admin_rest.post("/signal", json={"name": "quarter_closed", "executionId": first}), 204)
    assert admin.instance(first)["status"] != admin.instance(second)["status"]
    assert admin.instance(second)["status"] == "running"
    assert_camunda_error(admin_rest.post("/signal", json={"name": "quarter_closed", "executionId": first}), 400,
                         "InvalidRequestException")


def test_unknown_paths_and_methods_under_engine_rest_answer_in_camundas_error_shape(admin_rest, admin):
    for response, status in ((admin_rest.get("/nonexistent"), 404), (admin_rest.delete("/deployment/x/nothing"), 404),
                             (admin_rest.put("/version"), 405)):
        assert_camunda_error(response, status, response.get_json()["type"])  # {type, message}, not a problem
        assert response.mimetype == "application/json"
    assert "GET" in admin_rest.put("/version").headers["Allow"]
    elsewhere = admin.get("/api/v1/nonexistent")  # the rest of the server keeps problem+json
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "application/problem+json"
