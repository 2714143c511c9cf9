"""Every /engine-rest route refuses hostile input with a 4xx and an error body, never a 5xx.

/engine-rest has no OpenAPI document of ours to fuzz from, so the routes are
read from the app's URL map and each is sent, as an admin over HTTP Basic,
against real ids (a deployed definition, a running instance, an open task,
an external task): hostile path segments, every paging, priority, id and
name parameter at out-of-range or unstorable values, and bodies that are
nested too deep, not JSON numbers, of the wrong type or content type, or
carry out-of-range durations, priorities, retries and names. An answer of
400 or more must be Camunda's `{type, message}` (or a problem document for
routing errors).
"""
from __future__ import annotations

import base64
import json
import logging

import pytest

from ..factories import fixture

BASIC = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-password").decode()}
HUGE = [2**31, 2**63, 2**64, 10**30, -(2**63) - 1]
NUMBER_TEXTS = ["99999999999999999999999", "-1", "NaN", "Infinity", "1e400", "1.5", "x"]
HOSTILE_TEXTS = ["a\x00b", "k" * 10_000, "\u202e\U0001f600", "%00", "../../etc/passwd"]
NUMBER_PARAMS = ["firstResult", "maxResults", "priority", "minPriority", "maxPriority"]
TEXT_PARAMS = ["businessKey", "processDefinitionKey", "processDefinitionId", "processInstanceId", "assignee",
               "candidateUser", "candidateGroup", "taskDefinitionKey", "owner", "name", "topicName", "workerId",
               "activityId", "taskAssignee", "processInstanceBusinessKey", "sortBy", "sortOrder",
               "delegationState", "keyLike", "nameLike", "businessKeyLike", "assigneeLike",
               "taskDefinitionKeyLike", "variableName", "variableNameLike", "incidentId"]
OTHER_PARAMS = {"latestVersion": "maybe", "dueDate": "99999-12-31T00:00:00", "dueBefore": "0000-00-00",
                "followUpAfter": "2013-01-23T13:42:42.000+9999", "locked": "sometimes", "finished": "2"}
# What a body may carry, each in turn at a hostile value; the other members stay sane, so each reaches its check.
BASE_BODY = {"workerId": "worker", "topics": [{"topicName": "charge", "lockDuration": 1000}], "messageName": "m",
             "name": "signal", "retries": 0, "newDuration": 1000, "errorCode": "E", "userId": "admin",
             "suspended": True, "variables": {}, "modifications": {}, "deletions": []}
HOSTILE_MEMBERS = [
    ("businessKey", "k" * 256), ("businessKey", "a\x00b"), ("workerId", "w" * 256), ("workerId", 2**70),
    ("maxTasks", 2**70), ("asyncResponseTimeout", 2**70), ("asyncResponseTimeout", -1),
    ("topics", [{"topicName": "charge", "lockDuration": 2**70}]), ("topics", [{"topicName": "t" * 300,
                                                                               "lockDuration": 1000}]),
    ("topics", [{"topicName": "charge", "lockDuration": 1000, "processVariables": {"k": "v\x00"}}]),
    ("topics", "charge"), ("retries", 2**70), ("retryTimeout", 2**70), ("newDuration", 2**70),
    ("newDuration", 0), ("priority", 2**70), ("userId", "u" * 10_000), ("userId", ["admin"]),
    ("messageName", "m" * 300), ("processInstanceId", "p" * 300), ("suspended", "maybe"),
    ("variables", {"x": {"type": "Integer", "value": 2**40}}), ("variables", {"x": {"type": "Long", "value": 2**70}}),
    ("variables", {"x": {"type": "Double", "value": "NaN"}}), ("variables", {"x": {"type": "Double", "value": "1e999"}}),
    ("variables", {"x": {"type": "Json", "value": "[" * 5000 + "]" * 5000}}),
    ("variables", {"x": {"type": "Json", "value": '{"a": NaN}'}}), ("variables", {"x": {"type": "Bytes", "value": ""}}),
    ("variables", {"k" * 300: {"type": "String", "value": "v"}}), ("variables", ["x"]),
    ("modifications", {"x": {"type": "Short", "value": 2**20}}), ("deletions", [1, None]),
    ("sorting", [{"sortBy": "created", "sortOrder": "sideways"}]), ("withVariablesInReturn", "yes"),
]
RAW_BODIES = ["[" * 100_000 + "]" * 100_000, '{"workerId": NaN}', '{"retries": Infinity}', '{"newDuration": 1e400}',
              '{"userId": "\\u0000"}', '{"\\u0000": 1}', '{"userId": "\\ud800"}', "[]", '"text"', "1", "null",
              "{", '{"a": 1} trailing', "\xff\xfe"]
WRONG_TYPES = [("text/plain", "{}"), ("application/x-www-form-urlencoded", "workerId=w"),
               ("application/xml", "<x/>"), ("", "{}")]


def _engine_rest_rules(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/engine-rest")),
                  key=lambda rule: rule.rule)


def _rule_ids(app) -> list[str]:
    return [f"{'/'.join(sorted(r.methods - {'HEAD', 'OPTIONS'}))} {r.rule}" for r in _engine_rest_rules(app)]


@pytest.fixture
def ids(admin, client) -> dict:
    """Real ids for the path parameters, so hostile input reaches past the lookups."""
    deployed = admin.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "external_charge.bpmn"))
    definition = next(d for d in deployed["definitions"] if d["key"] == "simple_user_task")
    started = admin.start("simple_user_task", {"amount": 10}, business_key="order-1")
    admin.start("external_charge", {"amount": 10})
    external = client.get("/engine-rest/external-task", headers=BASIC).get_json()
    with open(fixture("valid", "simple_user_task.bpmn"), "rb") as diagram:  # the key in a tenant's line too
        assert admin.post("/api/v1/deployments?tenant_id=tenant-a", data={"files": [(diagram, "t.bpmn")]},
                          content_type="multipart/form-data").status_code == 201
    deployment_id = client.get("/engine-rest/deployment?withoutTenantId=true", headers=BASIC).get_json()[0]["id"]
    resource = client.get(f"/engine-rest/deployment/{deployment_id}/resources", headers=BASIC).get_json()[0]
    other = next(d for d in deployed["definitions"] if d["key"] == "external_charge")
    batch = admin.post("/api/v1/migrations", json={"source_definition_id": definition["id"],
                                                   "target_definition_id": other["id"],
                                                   "filter": {"business_key": "none"}, "async": True}).get_json()
    return {"key": "simple_user_task", "definition_id": definition["id"], "instance_id": started["id"],
            "task_id": started["tasks"][0]["id"], "external_task_id": external[0]["id"], "name": "amount",
            "deployment_id": deployment_id, "resource_id": resource["id"], "tenant_id": "tenant-a",
            "batch_id": batch["id"],
            "incident_id": "no-open-incident"}  # none is open: the lookup answers 404 after the input checks


def _path(rule, ids: dict, hostile: str | None = None) -> str:
    values = {}
    for name in rule.arguments:
        real = ids["external_task_id"] if name == "task_id" and "/external-task/" in rule.rule else ids[name]
        values[name] = hostile if hostile is not None else real
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
    return path


def _check(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    if response.status_code >= 400:
        try:
            body = json.loads(response.get_data())
        except ValueError:
            body = None
        assert isinstance(body, dict), f"{what}: {response.status_code} without a JSON error body"
        if response.mimetype == "application/problem+json":
            assert body["status"] == response.status_code, what
        else:
            assert body.get("type") and body.get("message"), f"{what}: not a Camunda error: {body}"


@pytest.fixture(autouse=True)
def _no_value_refused_by_the_database(caplog):
    with caplog.at_level(logging.WARNING):
        yield
    refused = [r.getMessage() for r in caplog.records if "refused by the database" in r.getMessage()]
    assert not refused, refused


def pytest_generate_tests(metafunc):
    if "route" in metafunc.fixturenames:
        from app import create_app

        from ..conftest import make_config
        listing = create_app(make_config("sqlite://", AUTO_UPGRADE=False))
        metafunc.parametrize("route", _rule_ids(listing))


def test_hostile_input_gets_a_client_error(app, client, ids, route):
    method_list, rule_text = route.split(" ", 1)
    rule = next(r for r in _engine_rest_rules(app) if r.rule == rule_text)
    for method in method_list.split("/"):
        send = getattr(client, method.lower())
        for hostile in HOSTILE_TEXTS:
            if rule.arguments:
                _check(send(_path(rule, ids, hostile), headers=BASIC, json=BASE_BODY if method != "GET" else None),
                       f"{method} {rule.rule} with path {hostile[:20]!r}")
        path = _path(rule, ids)
        if method == "GET":
            params = [(name, value) for name in NUMBER_PARAMS for value in [*HUGE, *NUMBER_TEXTS]]
            params += [(name, value) for name in TEXT_PARAMS for value in HOSTILE_TEXTS]
            params += list(OTHER_PARAMS.items())
            for name, value in params:
                _check(send(path, headers=BASIC, query_string={name: value}), f"GET {path}?{name}={str(value)[:20]}")
            continue
        for name, value in HOSTILE_MEMBERS:
            _check(send(path, headers=BASIC, json={**BASE_BODY, name: value}), f"{method} {path} {name}")
        for raw in RAW_BODIES:
            _check(send(path, headers=BASIC, data=raw.encode("utf-8", "surrogatepass"),
                        content_type="application/json"), f"{method} {path} body {raw[:20]!r}")
        for content_type, data in WRONG_TYPES:
            response = send(path, headers=BASIC, data=data, content_type=content_type or None)
            _check(response, f"{method} {path} as {content_type!r}")
            assert response.status_code == 415, f"{method} {path} as {content_type!r}: {response.status_code}"
