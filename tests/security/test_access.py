"""Who may deploy, start, read and change what: every refusal proves nothing changed, on both APIs."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessDefinition
from config import TestConfig

from ..camunda.test_rest import Camunda, assert_camunda_error
from ..factories import ApiClient, assert_problem, fixture

INSTANCES = "/api/v1/process-instances"
THREE = fixture("valid", "three_tasks.bpmn")  # task_a for the group staff
SIMPLE = fixture("valid", "simple_user_task.bpmn")  # review, assigned to alice


def definitions(app, key: str) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.key == key))
        db.session.remove()
    return n


def ids(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return {item["id"] for item in (body["items"] if isinstance(body, dict) else body)}


# -- deploying ---------------------------------------------------------------------------------------------

def test_a_plain_user_may_not_deploy_not_even_a_new_version_of_a_running_process(app, make, admin, tmp_path):
    admin.deploy(THREE)
    mallory = make.client("mallory")
    changed = tmp_path / "three_tasks.bpmn"
    changed.write_text(THREE.read_text().replace('name="Task A"', 'name="Approve everything"'))

    over_api = mallory.post("/api/v1/deployments", data={"files": [(open(changed, "rb"), changed.name)]},
                            content_type="multipart/form-data")
    over_rest = Camunda(app, "mallory").deploy(changed)
    dry_run = mallory.post("/api/v1/deployments?dry_run=true", data={"files": [(open(changed, "rb"), changed.name)]},
                           content_type="multipart/form-data")

    assert_problem(over_api, 403)
    assert_camunda_error(over_rest, 403, "AuthorizationException")
    assert_problem(dry_run, 403)
    assert definitions(app, "three_tasks") == 1


def test_the_modelers_group_deploys_by_default(make):
    modeler = make.client("mona", groups=["modelers"])
    modeler.deploy(THREE)
    assert modeler.start("three_tasks")["status"] == "running"


def test_a_deploy_grant_on_one_key_deploys_that_key_only_and_a_mixed_upload_stores_nothing(app, make):
    make.grant("deploy", "process", "simple_user_task", user="dora")
    dora = make.client("dora")

    dora.deploy(SIMPLE)
    mixed = dora.post("/api/v1/deployments", data={"files": [(open(SIMPLE, "rb"), SIMPLE.name),
                                                             (open(THREE, "rb"), THREE.name)]},
                      content_type="multipart/form-data")

    problem = assert_problem(mixed, 403)
    assert "three_tasks" in problem["detail"]
    assert (definitions(app, "simple_user_task"), definitions(app, "three_tasks")) == (1, 0)
    # a dry run makes the same checks: it answers what deploying would
    dry_run = dora.post("/api/v1/deployments?dry_run=true", data={"files": [(open(SIMPLE, "rb"), SIMPLE.name),
                                                                            (open(THREE, "rb"), THREE.name)]},
                        content_type="multipart/form-data")
    assert "three_tasks" in assert_problem(dry_run, 403)["detail"]


# -- starting ----------------------------------------------------------------------------------------------

def test_without_the_default_start_grant_only_granted_users_start(app, make, admin):
    admin.deploy(THREE)
    assert admin.delete("/api/v1/authorizations/default-start").status_code == 204
    make.grant("start", "process", "three_tasks", group="sales")
    outsider, seller = make.client("olga"), make.client("sid", groups=["sales"])

    assert_problem(outsider.post("/api/v1/process-definitions/key/three_tasks/start", json={}), 403)
    assert_camunda_error(Camunda(app, "olga").post("/process-definition/key/three_tasks/start", json={}), 403,
                         "AuthorizationException")
    assert seller.start("three_tasks")["status"] == "running"
    assert admin.get(INSTANCES).get_json()["total"] == 1


# -- reading instances -------------------------------------------------------------------------------------

@pytest.fixture
def started(admin, make):
    """An instance of three_tasks started by sue, waiting at task_a for the group staff."""
    admin.deploy(THREE)
    sue = make.client("sue")
    return sue, sue.start("three_tasks", {"secret": "margin 40%"})


def test_an_instance_is_hidden_from_those_it_does_not_concern(app, make, started):
    _, instance = started
    eve, eve_rest = make.client("eve"), Camunda(app, "eve")
    iid = instance["id"]

    assert eve.get(INSTANCES).get_json()["total"] == 0
    for path in (f"{INSTANCES}/{iid}", f"{INSTANCES}/{iid}/history"):
        assert_problem(eve.get(path), 404)
    for path in (f"/process-instance/{iid}", f"/process-instance/{iid}/variables",
                 f"/process-instance/{iid}/activity-instances"):
        assert_camunda_error(eve_rest.get(path), 404, "InvalidRequestException")
    for path in ("/process-instance", "/history/process-instance", f"/history/activity-instance?processInstanceId={iid}",
                 f"/history/task?processInstanceId={iid}", "/incident"):
        assert eve_rest.ok(eve_rest.get(path)) == [], path
    assert eve_rest.ok(eve_rest.get("/process-instance/count")) == {"count": 0}


def test_the_starter_a_candidate_and_a_reader_of_the_key_see_it(app, make, started):
    sue, instance = started
    staff = make.client("sam", groups=["staff"])
    make.grant("read", "process", "three_tasks", group="auditors")
    auditor = make.client("ada", groups=["auditors"])

    for who in (sue, staff, auditor):
        assert ids(who.get(INSTANCES)) == {instance["id"]}
        assert who.instance(instance["id"])["variables"]["secret"] == "margin 40%"
    assert [i["id"] for i in Camunda(app, "sam").ok(Camunda(app, "sam").get("/history/process-instance"))] == [
        instance["id"]]


def test_each_candidate_reads_the_instance_that_offers_them_a_task_and_no_other(app, admin, make):
    """Offered by name, computed per instance: each candidate lists and opens their own instance only, in the
    whole list and among one business key's; once the task closes, the offer (and what it let them read) goes."""
    admin.deploy(fixture("crm", "manager_approval.bpmn"))
    mia, max_ = make.client("mia"), make.client("max")
    for_mia = admin.start("crm_manager_approval", {"owner_manager": "mia"}, business_key="DEAL-1")
    for_max = admin.start("crm_manager_approval", {"owner_manager": "max"}, business_key="DEAL-1")

    for who, own, other in ((mia, for_mia, for_max), (max_, for_max, for_mia)):
        assert ids(who.get(INSTANCES)) == {own["id"]}
        assert ids(who.get(f"{INSTANCES}?business_key=DEAL-1")) == {own["id"]}
        assert who.instance(own["id"])["variables"]["owner_manager"] in ("mia", "max")
        assert_problem(who.get(f"{INSTANCES}/{other['id']}"), 404)

    admin.complete(for_mia["tasks"][0]["id"], {"approved": True})
    assert ids(mia.get(INSTANCES)) == set()
    assert ids(max_.get(INSTANCES)) == {for_max["id"]}


def test_reading_is_not_changing_a_reader_may_not_repair_or_cancel(app, make, started):
    _, instance = started
    make.grant("read", "process", "three_tasks", user="ada")
    ada = make.client("ada")
    iid = instance["id"]

    for action, body in (("suspend", {}), ("cancel", {}), ("retry", None)):
        assert_problem(ada.post(f"{INSTANCES}/{iid}/{action}", json=body), 403)
    assert_problem(ada.patch(f"{INSTANCES}/{iid}/variables", json={"variables": {"secret": "x"}}), 403)
    assert_camunda_error(Camunda(app, "ada").delete(f"/process-instance/{iid}"), 403, "AuthorizationException")
    assert ada.instance(iid)["status"] == "running"
    assert ada.instance(iid)["variables"]["secret"] == "margin 40%"


def test_a_repair_grant_lets_an_operator_suspend_and_resume_but_not_cancel(make, started):
    _, instance = started
    make.grant(["read", "repair"], "process", "three_tasks", group="operators")
    ops = make.client("otto", groups=["operators"])
    iid = instance["id"]

    assert ops.post(f"{INSTANCES}/{iid}/suspend", json={}).get_json()["status"] == "suspended"
    assert ops.post(f"{INSTANCES}/{iid}/resume", json={}).get_json()["status"] == "running"
    assert_problem(ops.post(f"{INSTANCES}/{iid}/cancel", json={}), 403)


def test_a_message_to_someone_elses_instance_needs_update_on_its_key(make, admin):
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    target = admin.start("wait_for_reply", business_key="DEAL-9")
    mallory = make.client("mallory")

    refused = mallory.post("/api/v1/messages", json={"name": "reply", "business_key": "DEAL-9",
                                                      "variables": {"answer": "forged"}})

    assert_problem(refused, 403)
    after = admin.instance(target["id"])
    assert after["status"] == "running" and "answer" not in after["variables"]
    make.grant("update", "process", "wait_for_reply", user="mallory")
    assert mallory.post("/api/v1/messages", json={"name": "reply", "business_key": "DEAL-9"}).status_code == 200
    assert admin.instance(target["id"])["status"] == "completed"


# -- records -----------------------------------------------------------------------------------------------

def _deal(client, **fields) -> dict:
    response = client.post("/api/v1/modules/Deals/records", json={"deal_name": "Acme", "amount": 1000, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_record_is_hidden_from_a_colleague_and_refused_to_her_changes(make, admin):
    rita, carla = make.client("rita"), make.client("carla")
    deal = _deal(rita)
    path = f"/api/v1/modules/Deals/records/{deal['id']}"

    assert carla.get("/api/v1/modules/Deals/records").get_json()["total"] == 0
    for response in (carla.get(path), carla.get(f"{path}/timeline"), carla.patch(path, json={"amount": 1}),
                     carla.delete(path)):
        assert_problem(response, 404)
    after = admin.get(path).get_json()
    assert after["amount"] == 1000 and after["modified_by"] == "rita"


def test_the_owners_manager_chain_reads_and_changes_the_record(make):
    make.user("ceo")
    make.user("lead", manager="ceo")
    rita = make.client("rita", manager="lead")
    deal = _deal(rita)
    path = f"/api/v1/modules/Deals/records/{deal['id']}"
    lead, ceo = (ApiClient.login(rita.app, name, "secret") for name in ("lead", "ceo"))
    peer = make.client("peer")

    assert lead.patch(path, json={"amount": 2000}).get_json()["amount"] == 2000
    assert ceo.get(path).get_json()["amount"] == 2000
    assert ids(ceo.get("/api/v1/modules/Deals/records")) == {deal["id"]}
    assert_problem(peer.get(path), 404)  # a colleague outside the chain


def test_a_module_read_grant_reads_all_records_but_changes_none(make, admin):
    rita = make.client("rita")
    make.grant("read", "module", "Deals", group="analysts")
    ann = make.client("ann", groups=["analysts"])
    deal = _deal(rita)
    path = f"/api/v1/modules/Deals/records/{deal['id']}"

    assert ann.get(path).status_code == 200
    assert_problem(ann.patch(path, json={"amount": 1}), 403)
    assert_problem(ann.delete(path), 403)
    assert admin.get(path).get_json()["amount"] == 1000


def test_without_the_create_grant_a_user_creates_no_record(make, admin):
    assert admin.delete("/api/v1/authorizations/default-records").status_code == 204
    rita = make.client("rita")
    assert_problem(rita.post("/api/v1/modules/Deals/records", json={"deal_name": "Acme"}), 403)
    assert admin.get("/api/v1/modules/Deals/records").get_json()["total"] == 0


# -- managing grants ---------------------------------------------------------------------------------------

def test_only_an_admin_manages_grants(make):
    mallory = make.client("mallory")
    grant = {"user_id": "mallory", "resource_type": "process", "permissions": ["deploy"]}
    assert_problem(mallory.post("/api/v1/authorizations", json=grant), 403)
    assert_problem(mallory.get("/api/v1/authorizations"), 403)
    assert_problem(mallory.delete("/api/v1/authorizations/default-deploy"), 403)


def test_an_admin_grants_changes_and_removes_permissions(admin):
    created = admin.post("/api/v1/authorizations", json={"group_id": "sales", "resource_type": "process",
                                                          "resource_id": "discount_approval",
                                                          "permissions": ["start", "read", "start"]})
    assert created.status_code == 201, created.get_json()
    grant = created.get_json()
    assert grant["permissions"] == ["start", "read"] and grant["created_by"] == "admin"

    changed = admin.patch(f"/api/v1/authorizations/{grant['id']}", json={"permissions": ["read"]})
    assert changed.get_json()["permissions"] == ["read"]
    listed = admin.get("/api/v1/authorizations?group_id=sales").get_json()
    assert [g["id"] for g in listed["items"]] == [grant["id"]]
    assert admin.delete(f"/api/v1/authorizations/{grant['id']}").status_code == 204
    assert_problem(admin.get(f"/api/v1/authorizations/{grant['id']}"), 404)


@pytest.mark.parametrize("body, field", [
    ({"resource_type": "process", "permissions": ["start"]}, "user_id"),
    ({"user_id": "a", "group_id": "b", "resource_type": "process", "permissions": ["start"]}, "user_id"),
    ({"user_id": "a", "resource_type": "topic", "permissions": ["deploy"]}, "permissions"),
    ({"user_id": "a", "resource_type": "process", "permissions": ["fly"]}, "permissions"),
], ids=["no-holder", "two-holders", "wrong-permission-for-type", "unknown-permission"])
def test_a_grant_that_makes_no_sense_is_refused_naming_the_field(admin, body, field):
    problem = assert_problem(admin.post("/api/v1/authorizations", json=body), 400)
    assert field in problem["errors"]


def test_a_second_grant_for_the_same_holder_and_resource_is_a_conflict(admin):
    body = {"user_id": "rita", "resource_type": "module", "resource_id": "Deals", "permissions": ["read"]}
    assert admin.post("/api/v1/authorizations", json=body).status_code == 201
    assert_problem(admin.post("/api/v1/authorizations", json=body), 409)


def test_the_default_grants_are_listed(admin):
    listed = admin.get("/api/v1/authorizations?per_page=50").get_json()["items"]
    assert {g["id"] for g in listed} >= {"default-start", "default-records", "default-deploy", "default-topics"}
    assert TestConfig.ADMIN_PASSWORD  # the admin needs no grant: it holds every permission


# -- tasks -------------------------------------------------------------------------------------------------

def test_a_task_and_its_variables_are_hidden_from_those_it_is_not_offered_to(app, make, started):
    _, instance = started
    staff = make.client("sam", groups=["staff"])
    [task] = [t for t in staff.get("/api/v1/tasks?mine=true").get_json()["items"]]
    olga, olga_rest = make.client("olga"), Camunda(app, "olga")

    assert_problem(olga.get(f"/api/v1/tasks/{task['id']}"), 404)
    assert olga.get("/api/v1/tasks").get_json()["total"] == 0
    for path in (f"/task/{task['id']}", f"/task/{task['id']}/variables", f"/task/{task['id']}/form-variables"):
        assert_camunda_error(olga_rest.get(path), 404, "InvalidRequestException")
    assert olga_rest.ok(olga_rest.get("/task")) == []
    assert staff.get(f"/api/v1/tasks/{task['id']}").status_code == 200
    assert Camunda(app, "sam").ok(Camunda(app, "sam").get(f"/task/{task['id']}/variables"))["secret"]["value"] == \
        "margin 40%"


# -- the command line ----------------------------------------------------------------------------------

def test_an_operator_grants_lists_revokes_and_restores_grants_from_the_command_line(app, make, admin):
    admin.deploy(THREE)
    gus = make.client("gus")
    runner = app.test_cli_runner()

    granted = runner.invoke(args=["authorizations", "grant", "process", "three_tasks", "read", "--user", "gus"])
    assert granted.exit_code == 0, granted.output
    grant_id = granted.output.split()[-1]
    assert f"{grant_id}\tuser gus\tprocess three_tasks\tread" in runner.invoke(args=["authorizations", "list"]).output
    started = admin.start("three_tasks")
    assert gus.get(f"{INSTANCES}/{started['id']}").status_code == 200

    assert runner.invoke(args=["authorizations", "revoke", grant_id]).exit_code == 0
    assert_problem(gus.get(f"{INSTANCES}/{started['id']}"), 404)
    bad = runner.invoke(args=["authorizations", "grant", "topic", "*", "deploy", "--group", "x"])
    assert bad.exit_code != 0 and "permissions" in bad.output

    assert admin.delete("/api/v1/authorizations/default-deploy").status_code == 204
    assert runner.invoke(args=["authorizations", "restore-defaults"]).exit_code == 0
    assert admin.get("/api/v1/authorizations/default-deploy").status_code == 200
