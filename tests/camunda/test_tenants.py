"""Tenants under /engine-rest, as Camunda 7.20's REST reference documents them.

A deployment's `tenant-id` is kept on it and on every definition it creates; instances, tasks,
external tasks, history and incidents carry their definition's. Versions count per key and tenant.
`/process-definition/key/{key}` names the line without a tenant (as in Camunda);
`/key/{key}/tenant-id/{tenant-id}` a tenant's. Lists filter with `tenantIdIn` and `withoutTenantId`
(and `include...WithoutTenantId` where Camunda has it).
"""
from __future__ import annotations

import io

import pytest

from config import TestConfig

from ..factories import ApiClient, fixture
from .test_rest import Camunda, assert_camunda_error

START_FORM = fixture("valid", "start_form.bpmn").read_bytes()


def _variant(creditor: str) -> bytes:
    """start_form.bpmn whose start form's creditor defaults to `creditor` (a change of content)."""
    return START_FORM.replace(b'defaultValue="ACME"', f'defaultValue="{creditor}"'.encode())


def deploy(rest: Camunda, files: dict[str, bytes], tenant: str | None = None, name: str = "invoices",
           duplicates: bool = False, status: int = 200):
    data = {"deployment-name": name, "enable-duplicate-filtering": "true" if duplicates else "false"}
    if tenant is not None:
        data["tenant-id"] = tenant
    for file_name, content in files.items():
        data[file_name] = (io.BytesIO(content), file_name)
    return rest.ok(rest.post("/deployment/create", data=data, content_type="multipart/form-data"), status)


@pytest.fixture
def rest(app) -> Camunda:
    return Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)


@pytest.fixture
def lines(rest):
    """start_form deployed without a tenant (default creditor ACME), for tenant-a (twice: versions 1 and 2,
    Alpha then Alpha2) and for tenant-b (Beta)."""
    return {"none": deploy(rest, {"start_form.bpmn": START_FORM}),
            "a1": deploy(rest, {"start_form.bpmn": _variant("Alpha")}, "tenant-a"),
            "a2": deploy(rest, {"start_form.bpmn": _variant("Alpha2")}, "tenant-a"),
            "b": deploy(rest, {"start_form.bpmn": _variant("Beta")}, "tenant-b")}


def _only_definition(deployment: dict) -> dict:
    [definition] = deployment["deployedProcessDefinitions"].values()
    return definition


# -- deploying for a tenant ---------------------------------------------------------------------------

def test_tenant_id_is_kept_on_the_deployment_and_its_definitions(rest, lines):
    assert lines["a1"]["tenantId"] == "tenant-a" and lines["none"]["tenantId"] is None
    assert _only_definition(lines["a1"])["tenantId"] == "tenant-a"
    assert _only_definition(lines["none"])["tenantId"] is None
    assert rest.ok(rest.get(f"/deployment/{lines['b']['id']}"))["tenantId"] == "tenant-b"
    definition = rest.ok(rest.get(f"/process-definition/{_only_definition(lines['b'])['id']}"))
    assert definition["tenantId"] == "tenant-b"


def test_versions_count_per_key_and_tenant(rest, lines):
    versions = {(_only_definition(d)["tenantId"], _only_definition(d)["version"]) for d in lines.values()}
    assert versions == {(None, 1), ("tenant-a", 1), ("tenant-a", 2), ("tenant-b", 1)}
    # a new version in one line leaves the others where they were
    deploy(rest, {"start_form.bpmn": _variant("Beta2")}, "tenant-b")
    latest = rest.ok(rest.get("/process-definition?key=start_form&latestVersion=true"))
    assert sorted((d["tenantId"] or "", d["version"]) for d in latest) == [("", 1), ("tenant-a", 2), ("tenant-b", 2)]


def test_unchanged_content_keeps_its_version_within_its_tenant_only(rest, lines):
    again = deploy(rest, {"start_form.bpmn": _variant("Alpha2")}, "tenant-a", name="other name")
    assert again["deployedProcessDefinitions"] is None  # tenant-a's latest has that content
    elsewhere = _only_definition(deploy(rest, {"start_form.bpmn": _variant("Alpha2")}, "tenant-b"))
    assert (elsewhere["tenantId"], elsewhere["version"]) == ("tenant-b", 2)


def test_duplicate_filtering_compares_with_the_same_tenant_s_deployments(rest):
    files = {"start_form.bpmn": START_FORM}
    first = deploy(rest, files, "tenant-a", duplicates=True)
    assert deploy(rest, files, "tenant-a", duplicates=True)["id"] == first["id"]  # nothing new for tenant-a
    other = deploy(rest, files, "tenant-b", duplicates=True)
    assert other["id"] != first["id"] and other["tenantId"] == "tenant-b"
    assert _only_definition(other)["version"] == 1
    none = deploy(rest, files, duplicates=True)
    assert none["id"] not in (first["id"], other["id"]) and none["tenantId"] is None
    assert rest.ok(rest.get("/deployment/count")) == {"count": 3}


@pytest.mark.parametrize("tenant", ["a b", "x" * 65, "-start", "a,b", "ü"])
def test_a_tenant_id_that_does_not_fit_is_refused(rest, tenant):
    data = {"deployment-name": "bad", "tenant-id": tenant,
            "start_form.bpmn": (io.BytesIO(START_FORM), "start_form.bpmn")}
    body = assert_camunda_error(rest.post("/deployment/create", data=data, content_type="multipart/form-data"),
                                400, "InvalidRequestException")
    assert "tenant-id" in body["message"]
    assert rest.ok(rest.get("/deployment/count")) == {"count": 0}


def test_an_empty_tenant_id_means_no_tenant(rest):
    deployment = deploy(rest, {"start_form.bpmn": START_FORM}, "")
    assert deployment["tenantId"] is None


# -- lists filtered by tenant ----------------------------------------------------------------------

def test_definitions_filter_by_tenant(rest, lines):
    def tenants_of(query):
        return sorted(d["tenantId"] or "-" for d in rest.ok(rest.get(f"/process-definition?{query}")))

    assert tenants_of("tenantIdIn=tenant-a") == ["tenant-a", "tenant-a"]
    assert tenants_of("tenantIdIn=tenant-a,tenant-b&latestVersion=true") == ["tenant-a", "tenant-b"]
    assert tenants_of("withoutTenantId=true") == ["-"]
    assert tenants_of("tenantIdIn=tenant-b&includeProcessDefinitionsWithoutTenantId=true") == ["-", "tenant-b"]
    assert tenants_of("includeProcessDefinitionsWithoutTenantId=true") == ["-", "tenant-a", "tenant-a", "tenant-b"]
    assert tenants_of("tenantIdIn=nobody") == []
    assert rest.ok(rest.get("/process-definition/count?tenantIdIn=tenant-a")) == {"count": 2}


def test_deployments_filter_by_tenant(rest, lines):
    def ids(query):
        return {d["id"] for d in rest.ok(rest.get(f"/deployment?{query}"))}

    assert ids("tenantIdIn=tenant-a") == {lines["a1"]["id"], lines["a2"]["id"]}
    assert ids("withoutTenantId=true") == {lines["none"]["id"]}
    assert ids("tenantIdIn=tenant-b&includeDeploymentsWithoutTenantId=true") == {lines["b"]["id"], lines["none"]["id"]}
    assert rest.ok(rest.get("/deployment/count?tenantIdIn=tenant-a,tenant-b")) == {"count": 3}


# -- by key: no tenant, or one tenant ---------------------------------------------------------------

def test_a_key_alone_names_the_line_without_a_tenant(rest, lines):
    assert rest.ok(rest.get("/process-definition/key/start_form"))["tenantId"] is None
    assert rest.ok(rest.get("/process-definition/key/start_form/form-variables"))["creditor"]["value"] == "ACME"
    started = rest.ok(rest.post("/process-definition/key/start_form/start", json={}))
    assert started["tenantId"] is None


def test_a_key_only_tenants_have_is_not_found_by_its_key_alone(rest):
    deploy(rest, {"start_form.bpmn": START_FORM}, "tenant-a")
    for request in (rest.get("/process-definition/key/start_form"),
                    rest.get("/process-definition/key/start_form/xml"),
                    rest.post("/process-definition/key/start_form/start", json={}),
                    rest.post("/process-definition/key/start_form/submit-form", json={}),
                    rest.get("/process-definition/key/start_form/form-variables")):
        body = assert_camunda_error(request, 404, "RestException")
        assert body["message"] == "No matching process definition with key: start_form and no tenant-id"
    assert rest.ok(rest.get("/process-instance/count")) == {"count": 0}


def test_the_tenant_endpoints_name_the_latest_version_of_that_tenant(rest, lines):
    base = "/process-definition/key/start_form/tenant-id/tenant-a"
    definition = rest.ok(rest.get(base))
    assert (definition["tenantId"], definition["version"]) == ("tenant-a", 2)
    assert definition["id"] == _only_definition(lines["a2"])["id"]
    xml = rest.ok(rest.get(f"{base}/xml"))
    assert xml["id"] == definition["id"] and 'defaultValue="Alpha2"' in xml["bpmn20Xml"]
    assert rest.ok(rest.get(f"{base}/form-variables"))["creditor"]["value"] == "Alpha2"
    assert rest.ok(rest.get(f"{base}/startForm"))["key"] == "embedded:app:forms/start.html"

    started = rest.ok(rest.post(f"{base}/start", json={"businessKey": "inv-1"}))
    assert started["tenantId"] == "tenant-a" and started["definitionId"] == definition["id"]
    submitted = rest.ok(rest.post(f"{base}/submit-form", json={
        "variables": {"amount": {"value": 5, "type": "Long"}}}))
    assert submitted["tenantId"] == "tenant-a"
    refused = rest.post(f"{base}/submit-form", json={"variables": {"approved": {"value": True, "type": "Boolean"}}})
    assert_camunda_error(refused, 400, "InvalidRequestException")  # the form's check holds per tenant too

    b = rest.ok(rest.get("/process-definition/key/start_form/tenant-id/tenant-b"))
    assert (b["tenantId"], b["version"]) == ("tenant-b", 1)
    body = assert_camunda_error(rest.get("/process-definition/key/start_form/tenant-id/nobody"), 404, "RestException")
    assert body["message"] == "No matching process definition with key: start_form and tenant-id: nobody"


# -- what runs carries the tenant -------------------------------------------------------------------

def test_instances_tasks_and_history_carry_and_filter_by_tenant(rest, lines):
    in_a = rest.ok(rest.post("/process-definition/key/start_form/tenant-id/tenant-a/start", json={}))["id"]
    in_b = rest.ok(rest.post("/process-definition/key/start_form/tenant-id/tenant-b/start",
                             json={"variables": {"amount": {"value": 1, "type": "Long"}}}))["id"]
    plain = rest.ok(rest.post("/process-definition/key/start_form/start", json={}))["id"]

    def ids(path, query, field="id"):
        return sorted(row[field] for row in rest.ok(rest.get(f"{path}?{query}")))

    assert rest.ok(rest.get(f"/process-instance/{in_a}"))["tenantId"] == "tenant-a"
    assert ids("/process-instance", "tenantIdIn=tenant-a") == [in_a]
    assert ids("/process-instance", "tenantIdIn=tenant-a,tenant-b") == sorted([in_a, in_b])
    assert ids("/process-instance", "withoutTenantId=true") == [plain]
    assert rest.ok(rest.post("/process-instance", json={"tenantIdIn": ["tenant-b"]}))[0]["id"] == in_b
    assert rest.ok(rest.get("/process-instance/count?tenantIdIn=tenant-b")) == {"count": 1}

    tasks = {t["processInstanceId"]: t for t in rest.ok(rest.get("/task"))}
    assert {i: t["tenantId"] for i, t in tasks.items()} == {in_a: "tenant-a", in_b: "tenant-b", plain: None}
    assert ids("/task", "tenantIdIn=tenant-b", "processInstanceId") == [in_b]
    assert ids("/task", "withoutTenantId=true", "processInstanceId") == [plain]
    assert rest.ok(rest.post("/task/count", json={"tenantIdIn": ["tenant-a"]})) == {"count": 1}

    historic = {h["id"]: h["tenantId"] for h in rest.ok(rest.get("/history/process-instance"))}
    assert historic == {in_a: "tenant-a", in_b: "tenant-b", plain: None}
    assert ids("/history/process-instance", "tenantIdIn=tenant-a") == [in_a]
    assert ids("/history/process-instance", "withoutTenantId=true") == [plain]
    activities = rest.ok(rest.get("/history/activity-instance?tenantIdIn=tenant-b"))
    assert activities and {a["processInstanceId"] for a in activities} == {in_b}
    assert {a["tenantId"] for a in activities} == {"tenant-b"}
    assert ids("/history/task", "tenantIdIn=tenant-a", "processInstanceId") == [in_a]
    assert {t["tenantId"] for t in rest.ok(rest.get("/history/task?withoutTenantId=true"))} == {None}
    variables = rest.ok(rest.get("/history/variable-instance?tenantIdIn=tenant-b"))
    assert variables and {v["processInstanceId"] for v in variables} == {in_b}
    assert {v["tenantId"] for v in variables} == {"tenant-b"}


def test_external_tasks_and_incidents_carry_and_filter_by_tenant(rest):
    charge = fixture("valid", "external_charge.bpmn").read_bytes()
    failing = fixture("valid", "failing_script.bpmn").read_bytes()
    deploy(rest, {"external_charge.bpmn": charge, "failing_script.bpmn": failing}, "tenant-a")
    deploy(rest, {"external_charge.bpmn": charge, "failing_script.bpmn": failing})
    in_a = rest.ok(rest.post("/process-definition/key/external_charge/tenant-id/tenant-a/start", json={}))["id"]
    plain = rest.ok(rest.post("/process-definition/key/external_charge/start", json={}))["id"]

    listed = {t["processInstanceId"]: t["tenantId"] for t in rest.ok(rest.get("/external-task"))}
    assert listed == {in_a: "tenant-a", plain: None}
    assert [t["processInstanceId"] for t in rest.ok(rest.get("/external-task?tenantIdIn=tenant-a"))] == [in_a]
    fetched = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 5,
        "topics": [{"topicName": "charge-card", "lockDuration": 60000, "tenantIdIn": ["tenant-a"]}]}))
    assert [(t["processInstanceId"], t["tenantId"]) for t in fetched] == [(in_a, "tenant-a")]
    fetched = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 5,
        "topics": [{"topicName": "charge-card", "lockDuration": 60000, "withoutTenantId": True}]}))
    assert [(t["processInstanceId"], t["tenantId"]) for t in fetched] == [(plain, None)]

    zero = {"divisor": {"value": 0, "type": "Integer"}}
    broken = rest.ok(rest.post("/process-definition/key/failing_script/tenant-id/tenant-a/start",
                               json={"variables": zero}))["id"]
    rest.ok(rest.post("/process-definition/key/failing_script/start", json={"variables": zero}))
    incidents = rest.ok(rest.get("/incident?tenantIdIn=tenant-a"))
    assert [(i["processInstanceId"], i["tenantId"]) for i in incidents] == [(broken, "tenant-a")]
    assert rest.ok(rest.get("/incident/count")) == {"count": 2}


# -- /api/v1 --------------------------------------------------------------------------------------

def test_api_v1_deploys_shows_and_filters_by_tenant(app, rest):
    admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
    response = admin.post("/api/v1/deployments?tenant_id=tenant-a", data={
        "files": [(io.BytesIO(START_FORM), "start_form.bpmn")]}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["tenant_id"] == "tenant-a" and body["definitions"][0]["tenant_id"] == "tenant-a"
    deploy(rest, {"start_form.bpmn": START_FORM})
    assert admin.post("/api/v1/deployments?tenant_id=a%20b", data={
        "files": [(io.BytesIO(START_FORM), "start_form.bpmn")]},
        content_type="multipart/form-data").status_code == 400

    definitions = admin.get("/api/v1/process-definitions?tenant_id=tenant-a").get_json()["items"]
    assert [(d["key"], d["tenant_id"], d["version"]) for d in definitions] == [("start_form", "tenant-a", 1)]
    without = admin.get("/api/v1/process-definitions?without_tenant_id=true").get_json()["items"]
    assert [d["tenant_id"] for d in without] == [None]

    started = admin.start("start_form", {"amount": 3})  # a key alone: the line without a tenant
    tenant_instance = admin.post(f"/api/v1/process-definitions/{definitions[0]['id']}/start",
                                 json={"variables": {"amount": 3}}).get_json()
    assert admin.instance(tenant_instance["id"])["tenant_id"] == "tenant-a"
    assert admin.instance(started["id"])["tenant_id"] is None
    listed = admin.get("/api/v1/process-instances?tenant_id=tenant-a").get_json()["items"]
    assert [(i["id"], i["tenant_id"]) for i in listed] == [(tenant_instance["id"], "tenant-a")]
    plain = admin.get("/api/v1/process-instances?without_tenant_id=true").get_json()["items"]
    assert [i["id"] for i in plain] == [started["id"]]


# -- messages and signals --------------------------------------------------------------------------

def test_messages_and_signals_keep_to_a_tenant_when_told(rest):
    diagram = fixture("events", "boundary_history.bpmn").read_bytes()
    deploy(rest, {"boundary_history.bpmn": diagram}, "tenant-a")
    deploy(rest, {"boundary_history.bpmn": diagram})
    in_a = rest.ok(rest.post("/process-definition/key/boundary_messages/tenant-id/tenant-a/start", json={}))["id"]
    plain = rest.ok(rest.post("/process-definition/key/boundary_messages/start", json={}))["id"]

    # without a tenant the message finds both waiting instances: several receivers need `all`
    assert_camunda_error(rest.post("/message", json={"messageName": "note_added"}), 400,
                         "MismatchingMessageCorrelationException")
    results = rest.ok(rest.post("/message", json={"messageName": "note_added", "tenantId": "tenant-a",
                                                  "resultEnabled": True}))
    assert [(r["execution"]["processInstanceId"], r["execution"]["tenantId"]) for r in results] == [(in_a, "tenant-a")]
    results = rest.ok(rest.post("/message", json={"messageName": "order_withdrawn", "withoutTenantId": True,
                                                  "resultEnabled": True}))
    assert [r["execution"]["processInstanceId"] for r in results] == [plain]
    assert_camunda_error(rest.post("/message", json={"messageName": "order_withdrawn", "tenantId": "tenant-b"}),
                         400, "MismatchingMessageCorrelationException")
    rest.ok(rest.post("/signal", json={"name": "nothing-waits", "tenantId": "tenant-a"}), 204)
