"""camunda-external-task-client-python3 (Camunda's community worker library on PyPI) drives /engine-rest over HTTP.

Its ExternalTaskClient fetches, completes and fails external tasks and throws BPMN errors; its
EngineClient starts processes, lists instances, correlates messages and reads a variable's data;
ProcessDefinitionClient lists definitions. The library has no deploy, task, history, extendLock or
unlock calls (the other client tests cover those), and its jobs calls (/job) name a resource
Stagecoach does not have. Assertions read what the library parsed and the server's state.
"""
from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from camunda.client.engine_client import EngineClient
from camunda.client.external_task_client import ExternalTaskClient
from camunda.external_task.external_task_worker import ExternalTaskWorker
from camunda.process_definition.process_definition_client import ProcessDefinitionClient

from .conftest import ADMIN

TOPIC = "charge-card"
AUTH = {"auth_basic": {"username": "billing", "password": "secret"}}


@pytest.fixture
def engine(orders, engine_rest) -> EngineClient:
    return EngineClient(engine_rest, config={"auth_basic": dict(zip(("username", "password"), ADMIN))})


@pytest.fixture
def client(orders, make, engine_rest) -> ExternalTaskClient:
    """A worker's client, signed in as `billing` of the group workers (who may work every topic)."""
    make.user("billing", groups=["workers"])
    return ExternalTaskClient("w1", engine_rest, config={**AUTH, "lockDuration": 10_000, "asyncResponseTimeout": 0,
                                                          "maxTasks": 5})


def test_start_a_process_by_key_with_variables_and_a_business_key(orders, engine):
    started = engine.start_process("client_order", {"amount": 42, "customer": "Ada"}, business_key="order-1")

    assert started["businessKey"] == "order-1" and started["ended"] is False
    assert orders.variables(started["id"]) == {"amount": 42, "customer": "Ada"}
    assert orders.open_tasks(started["id"]) == ["review"]
    listed = engine.get_process_instance(process_key="client_order")
    assert [i["id"] for i in listed] == [started["id"]] and listed[0]["definitionId"] == started["definitionId"]


def test_definitions_are_listed_newest_first_and_started_by_version(orders, engine_rest):
    definitions = ProcessDefinitionClient(engine_rest, config={"auth_basic": dict(zip(("username", "password"),
                                                                                      ADMIN))})
    xml = orders.rest.ok(orders.rest.get("/process-definition/key/client_order/xml"))["bpmn20Xml"]
    second = io.BytesIO(xml.replace("Review order", "Review the order").encode())
    orders.rest.ok(orders.rest.post("/deployment/create", data={  # a second version of client_order
        "deployment-name": "v2", "client_order.bpmn": (second, "client_order.bpmn")},
        content_type="multipart/form-data"))

    [newest] = definitions.get_process_definitions("client_order", None, None)  # sortBy=version desc, maxResults=1
    assert newest["key"] == "client_order" and newest["version"] == 2
    started = definitions.start_process_by_version("client_order", None, {"amount": 1}, business_key="v2-order")
    assert started["definitionId"] == newest["id"] and started["businessKey"] == "v2-order"
    [task] = orders.rest.ok(orders.rest.get(f"/task?processInstanceId={started['id']}"))
    assert task["name"] == "Review the order"


def test_fetch_with_variables_and_a_process_variable_filter_then_complete(orders, client):
    mine, other = orders.start("order-2", amount=20, region="north"), orders.start("order-3", amount=30, region="south")
    for instance_id in (mine, other):
        orders.approve(instance_id)

    [task] = client.fetch_and_lock(TOPIC, process_variables={"region": "north"}, variables=["amount"])
    assert task["processInstanceId"] == mine and task["businessKey"] == "order-2"
    assert task["workerId"] == "w1" and task["topicName"] == TOPIC and task["activityId"] == "charge"
    assert task["variables"] == {"amount": {"value": 20, "type": "Integer", "valueInfo": {}}}

    assert client.complete(task["id"], {"receipt": "r-20", "paid": True}) is True
    assert orders.variables(mine)["receipt"] == "r-20" and orders.variables(mine)["paid"] is True
    assert orders.waiting_at(mine) == ["paid"]
    assert [t["processInstanceId"] for t in client.fetch_and_lock(TOPIC)] == [other]


def test_a_failure_with_retries_comes_back_after_its_timeout_then_an_incident(orders, client, clock):
    instance_id = orders.start("order-4")
    orders.approve(instance_id)
    [task] = client.fetch_and_lock(TOPIC)

    assert client.failure(task["id"], "gateway down", "Traceback: timeout", retries=1, retry_timeout=5_000) is True
    assert client.fetch_and_lock(TOPIC) == []  # not before the retry timeout
    clock.shift(dt.timedelta(seconds=6))
    [again] = client.fetch_and_lock(TOPIC)
    assert again["id"] == task["id"] and again["retries"] == 1
    assert again["errorMessage"] == "gateway down" and again["errorDetails"] == "Traceback: timeout"

    client.failure(again["id"], "card service gone", None, retries=0, retry_timeout=0)
    clock.shift(dt.timedelta(minutes=10))
    assert client.fetch_and_lock(TOPIC) == []
    [incident] = orders.rest.ok(orders.rest.get(f"/incident?processInstanceId={instance_id}"))
    assert (incident["incidentType"], incident["incidentMessage"]) == ("failedExternalTask", "card service gone")


def test_a_worker_throws_a_bpmn_error_with_variables_to_the_error_boundary_event(orders, make, engine_rest):
    make.user("billing", groups=["workers"])
    instance_id = orders.start("order-5", amount=5)
    orders.approve(instance_id)
    worker = ExternalTaskWorker("py-worker", engine_rest, config={**AUTH, "asyncResponseTimeout": 0,
                                                                  "sleepSeconds": 0})
    seen = []

    def charge(task):
        seen.append(task.get_variable("amount"))
        return task.bpmn_error("card-declined", "insufficient funds", {"reason": "funds"})

    worker.fetch_and_execute(TOPIC, charge)

    assert seen == [5]
    assert orders.open_tasks(instance_id) == ["call_customer"]
    assert orders.variables(instance_id)["reason"] == "funds"


def test_messages_correlate_by_business_key_and_start_a_process(orders, engine, client):
    first, second = orders.start("order-a"), orders.start("order-b")
    for instance_id in (first, second):
        orders.approve(instance_id)
    for task in client.fetch_and_lock(TOPIC):
        client.complete(task["id"], {})

    [result] = engine.correlate_message("payment-confirmed", business_key="order-b",
                                        process_variables={"paid_by": "card"})
    assert result["resultType"] == "Execution" and result["execution"]["processInstanceId"] == second
    assert orders.state(second) == "COMPLETED" and orders.state(first) == "ACTIVE"
    [result] = engine.correlate_message("payment-confirmed", process_instance_id=first)
    assert result["execution"]["processInstanceId"] == first and orders.state(first) == "COMPLETED"

    [started] = engine.correlate_message("refund-requested", business_key="refund-1",
                                         process_variables={"amount": 12})
    assert started["resultType"] == "ProcessDefinition"
    instance = started["processInstance"]
    assert instance["businessKey"] == "refund-1" and orders.open_tasks(instance["id"]) == ["refund"]
    assert orders.variables(instance["id"])["amount"] == 12

    with pytest.raises(Exception, match="400 : MismatchingMessageCorrelationException"):
        engine.correlate_message("payment-confirmed", business_key="order-a")


def test_a_variable_and_its_data(orders, engine):
    instance_id = orders.start("order-6", note="rush order", amount=7)

    assert base64.b64decode(engine.get_process_instance_variable(instance_id, "note")) == b"rush order"
    meta = engine.get_process_instance_variable(instance_id, "amount", with_meta=True)
    assert meta["type"] == "Integer" and base64.b64decode(meta["value"]) == b"7"
    with pytest.raises(Exception, match="404 : InvalidRequestException"):
        engine.get_process_instance_variable(instance_id, "missing")


def test_instances_are_filtered_by_variable_values(orders, engine):
    wanted, _ = orders.start("order-7", order_no=7), orders.start("order-8", order_no=8)
    assert [i["id"] for i in engine.get_process_instance(variables=["order_no_eq_7"])] == [wanted]
