"""/engine-rest migration (generate, validate, execute, executeAsync, batch) and process instance modification,
in Camunda 7.20's request and response shapes. Diagrams: tests/fixtures/bpmn/migration."""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.jobs.runner import run_due_jobs

from config import TestConfig

from ..factories import ApiClient, fixture
from .test_rest import Camunda, assert_camunda_error


@pytest.fixture
def rest(app) -> Camunda:
    return Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)


def _deploy(rest: Camunda, name: str) -> str:
    body = rest.ok(rest.deploy(fixture("migration", name), name=name, changed_only=False))
    [definition_id] = body["deployedProcessDefinitions"]
    return definition_id


def _task(rest: Camunda, instance_id: str) -> dict:
    [task] = rest.ok(rest.get(f"/task?processInstanceId={instance_id}"))
    return task


def _plan(source: str, target: str, *pairs: tuple[str, str]) -> dict:
    return {"sourceProcessDefinitionId": source, "targetProcessDefinitionId": target,
            "instructions": [{"sourceActivityIds": [s], "targetActivityIds": [t]} for s, t in pairs]}


def test_generate_maps_the_activities_of_the_same_id_and_type(rest):
    v1, v2 = _deploy(rest, "order_v1.bpmn"), _deploy(rest, "order_v2.bpmn")

    plan = rest.ok(rest.post("/migration/generate", json={"sourceProcessDefinitionId": v1,
                                                          "targetProcessDefinitionId": v2}))

    assert plan["sourceProcessDefinitionId"] == v1 and plan["targetProcessDefinitionId"] == v2
    pairs = {(i["sourceActivityIds"][0], i["targetActivityIds"][0]) for i in plan["instructions"]}
    assert pairs == {("start", "start"), ("review", "review"), ("end", "end")}
    assert all(i["updateEventTrigger"] is False for i in plan["instructions"])


def test_validate_reports_the_failures_of_each_instruction(rest):
    v1, v2 = _deploy(rest, "order_v1.bpmn"), _deploy(rest, "order_v2.bpmn")

    valid = rest.ok(rest.post("/migration/validate", json=_plan(v1, v2, ("review", "review"), ("ship", "dispatch"))))
    invalid = rest.ok(rest.post("/migration/validate", json=_plan(v1, v2, ("ship", "nowhere"),
                                                                   ("review", "check_stock"))))

    assert valid == {"instructionReports": [], "variableReports": {}}
    reports = {r["instruction"]["sourceActivityIds"][0]: r["failures"] for r in invalid["instructionReports"]}
    assert set(reports) == {"ship", "review"}
    assert "nowhere" in reports["ship"][0]
    assert "ScriptTask" in reports["review"][0]  # a user task cannot become a script task


def test_execute_migrates_every_instance_or_none(rest):
    v1 = _deploy(rest, "order_v1.bpmn")
    first = rest.start("order")["id"]
    second = rest.start("order")["id"]
    rest.ok(rest.post(f"/task/{_task(rest, second)['id']}/complete", json={}), 204)  # now at ship
    v2 = _deploy(rest, "order_v2.bpmn")
    only_review = {"migrationPlan": _plan(v1, v2, ("review", "review")), "processInstanceIds": [first, second]}

    refused = assert_camunda_error(rest.post("/migration/execute", json=only_review), 400,
                                   "MigratingProcessInstanceValidationException")

    report = refused["validationReport"]
    assert report["processInstanceId"] == second
    [activity] = report["activityInstanceValidationReports"]
    assert activity["sourceScopeId"] == "ship" and "no instruction" in activity["failures"][0]
    assert rest.ok(rest.get(f"/process-instance/{first}"))["definitionId"] == v1  # none moved

    both = {"migrationPlan": _plan(v1, v2, ("review", "review"), ("ship", "dispatch")),
            "processInstanceIds": [first, second], "skipCustomListeners": True, "skipIoMappings": True}
    rest.ok(rest.post("/migration/execute", json=both), 204)

    assert rest.ok(rest.get(f"/process-instance/{first}"))["definitionId"] == v2
    task = _task(rest, second)
    assert (task["taskDefinitionKey"], task["processDefinitionId"]) == ("dispatch", v2)
    rest.ok(rest.post(f"/task/{task['id']}/complete", json={}), 204)
    assert_camunda_error(rest.get(f"/process-instance/{second}"), 404, "InvalidRequestException")  # ended


def test_an_invalid_plan_is_refused_before_any_instance(rest):
    v1 = _deploy(rest, "order_v1.bpmn")
    instance = rest.start("order")["id"]
    v2 = _deploy(rest, "order_v2.bpmn")

    body = assert_camunda_error(rest.post("/migration/execute", json={
        "migrationPlan": _plan(v1, v2, ("review", "nowhere")), "processInstanceIds": [instance]}),
        400, "MigrationPlanValidationException")

    assert body["validationReport"]["instructionReports"][0]["instruction"]["sourceActivityIds"] == ["review"]
    unknown = assert_camunda_error(rest.post("/migration/generate", json={"sourceProcessDefinitionId": "nope",
                                                                         "targetProcessDefinitionId": v2}),
                                   400, "InvalidRequestException")
    assert "nope" in unknown["message"]
    assert_camunda_error(rest.post("/migration/execute", json={"migrationPlan": _plan(v1, v2, ("review", "review"))}),
                         400, "InvalidRequestException")


def test_execute_async_returns_a_batch_the_job_runner_works_through(app, clock, rest):
    v1 = _deploy(rest, "reply_v1.bpmn")
    instances = [rest.start("reply", business_key=f"R-{n}")["id"] for n in range(3)]
    v2 = _deploy(rest, "reply_v2.bpmn")

    batch = rest.ok(rest.post("/migration/executeAsync", json={
        "migrationPlan": _plan(v1, v2, ("await_reply", "await_reply")),
        "processInstanceQuery": {"businessKeyLike": "R-%"}}))

    assert batch["type"] == "instance-migration" and batch["totalJobs"] == 3 and batch["jobsCreated"] == 0
    assert batch["createUserId"] == "admin" and batch["suspended"] is False
    clock.shift(dt.timedelta(seconds=1))
    with app.app_context():
        assert run_due_jobs()["done"] >= 1
        db.session.remove()
    assert rest.ok(rest.get(f"/batch/{batch['id']}"))["jobsCreated"] == 3
    for instance in instances:
        assert rest.ok(rest.get(f"/process-instance/{instance}"))["definitionId"] == v2
    rest.ok(rest.post("/message", json={"messageName": "customer-reply", "businessKey": "R-1"}), 204)
    assert _task(rest, instances[1])["taskDefinitionKey"] == "handle_reply"


def test_a_user_without_migrate_gets_an_authorization_exception(app, rest, make):
    v1 = _deploy(rest, "order_v1.bpmn")
    v2 = _deploy(rest, "order_v2.bpmn")
    make.user("pat")

    assert_camunda_error(Camunda(app, "pat").post("/migration/generate", json={
        "sourceProcessDefinitionId": v1, "targetProcessDefinitionId": v2}), 403, "AuthorizationException")


# -- modification -------------------------------------------------------------------------------------------------

def test_modification_cancels_and_starts_before_an_activity_with_typed_variables(app, rest):
    _deploy(rest, "order_v1.bpmn")
    instance = rest.start("order")["id"]

    rest.ok(rest.post(f"/process-instance/{instance}/modification", json={
        "instructions": [{"type": "startBeforeActivity", "activityId": "ship",
                          "variables": {"rush": {"value": True, "type": "Boolean", "local": False}}},
                         {"type": "cancel", "activityId": "review"}],
        "annotation": "skip the review for this customer", "skipCustomListeners": False}), 204)

    assert _task(rest, instance)["taskDefinitionKey"] == "ship"
    assert rest.ok(rest.get(f"/process-instance/{instance}/variables/rush"))["value"] is True
    history = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD).get(
        f"/api/v1/process-instances/{instance}/history?per_page=500").get_json()["items"]
    [audit] = [e for e in history if e["type"] == "modified"]
    assert audit["message"] == "skip the review for this customer" and audit["user"] == "admin"


@pytest.mark.parametrize("body, words", [
    ({"instructions": [{"type": "cancel", "activityId": "nowhere"}], "annotation": "why"}, "nowhere"),
    ({"instructions": [{"type": "cancel", "activityId": "review"}]}, "annotation"),
    ({"instructions": [{"type": "startTransition", "transitionId": "f2"}], "annotation": "why"}, "startTransition"),
    ({"instructions": [{"type": "cancel", "activityInstanceId": "review:1"}], "annotation": "why"}, "activityId"),
    ({"instructions": [{"type": "cancel", "activityId": "review"}], "annotation": "why", "skipIoMappings": True},
     "skipIoMappings"),
    ({"instructions": [{"type": "startBeforeActivity", "activityId": "ship",
                        "ancestorActivityInstanceId": "elsewhere"}], "annotation": "why"},
     "ancestorActivityInstanceId"),
    ({"instructions": [], "annotation": "why"}, "instructions"),
])
def test_a_modification_the_server_cannot_do_is_refused_clearly(rest, body, words):
    _deploy(rest, "order_v1.bpmn")
    instance = rest.start("order")["id"]

    error = assert_camunda_error(rest.post(f"/process-instance/{instance}/modification", json=body), 400,
                                 "InvalidRequestException")

    assert words in error["message"]
    assert _task(rest, instance)["taskDefinitionKey"] == "review"
