"""pycamunda (a Camunda 7 REST client on PyPI) drives /engine-rest over HTTP.

Each test calls the library's request classes against the served app and asserts on the
library's parsed dataclasses (which read Camunda's field names strictly: a missing field is a
KeyError) and on the server's state. pycamunda has no history, form-variables or submit-form
requests; the other client tests cover those.
"""
from __future__ import annotations

import datetime as dt

import pycamunda.deployment
import pycamunda.externaltask
import pycamunda.incident
import pycamunda.message
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.task
import pycamunda.version
import pytest
from requests.auth import HTTPBasicAuth

from .conftest import ADMIN, CLIENT_BPMN

TOPIC = "charge-card"


SAM = ("sam", "secret")


def send(request, user=ADMIN):
    """Send a pycamunda request with HTTP Basic credentials (the library's `auth` attribute)."""
    request.auth = HTTPBasicAuth(*user)
    return request()


def with_credentials(engine_rest: str, user=ADMIN) -> str:
    """The base URL with the credentials in it.

    pycamunda 0.6.1 drops the request's `auth` in externaltask.py: Get and GetList read each
    task's errorDetails with a bare `requests.get`, and Count sends its request without it.
    requests takes credentials from the URL for those requests too.
    """
    return engine_rest.replace("http://", "http://{}:{}@".format(*user))


def test_deploy_then_read_definitions_by_id_key_and_xml(app, make, engine_rest):
    create = pycamunda.deployment.Create(engine_rest, name="client orders", source="pycamunda")
    with open(CLIENT_BPMN, "rb") as bpmn:
        create.add_resource(bpmn)
        deployment = send(create)

    assert deployment.name == "client orders"
    assert deployment.source == "pycamunda"
    assert isinstance(deployment.deployment_time, dt.datetime)
    definitions = deployment.deployed_process_definitions
    assert sorted(d.key for d in definitions.values()) == ["client_order", "client_refund"]
    assert all(d.deployment_id == deployment.id_ and d.version == 1 for d in definitions.values())
    assert {d.resource for d in definitions.values()} == {"client_order.bpmn"}

    [listed] = send(pycamunda.processdef.GetList(engine_rest, key="client_order"))
    assert listed.name == "Client order"
    assert listed.id_ in definitions
    by_id = send(pycamunda.processdef.Get(engine_rest, id_=listed.id_))
    by_key = send(pycamunda.processdef.Get(engine_rest, key="client_order"))
    assert by_id == by_key == listed
    xml = send(pycamunda.processdef.GetXML(engine_rest, key="client_order"))
    assert xml == CLIENT_BPMN.read_text()
    assert send(pycamunda.processdef.GetXML(engine_rest, id_=listed.id_)) == xml

    [resource] = send(pycamunda.deployment.GetResources(engine_rest, id_=deployment.id_))
    assert resource.name == "client_order.bpmn"
    data = send(pycamunda.deployment.GetResource(engine_rest, id_=deployment.id_, resource_id=resource.id_,
                                                 binary=True))
    assert data == CLIENT_BPMN.read_bytes()


def test_version(engine_rest):
    assert send(pycamunda.version.Get(engine_rest)) == "7.20.0"


def test_start_by_key_with_variables_and_a_business_key(orders, engine_rest):
    start = pycamunda.processdef.StartInstance(engine_rest, key="client_order", business_key="order-7",
                                               with_variables_in_return=True)
    start.add_variable("amount", 42, "Integer")
    start.add_variable("customer", "Ada")  # no type: the value's own
    instance = send(start)

    assert instance.business_key == "order-7"
    assert instance.suspended is False
    assert instance.variables["amount"].value == 42 and instance.variables["amount"].type_ == "Integer"
    assert instance.variables["customer"].value == "Ada" and instance.variables["customer"].type_ == "String"
    assert orders.variables(instance.id_) == {"amount": 42, "customer": "Ada"}
    assert orders.open_tasks(instance.id_) == ["review"]
    [listed] = send(pycamunda.processinst.GetList(engine_rest, business_key="order-7"))
    assert listed.id_ == instance.id_ and listed.definition_id == instance.definition_id
    tree = send(pycamunda.processinst.GetActivityInstance(engine_rest, id_=instance.id_))  # reads `name` too
    assert [child.activity_id for child in tree.child_activity_instances] == ["review"]


def test_a_user_task_is_queried_claimed_unclaimed_assigned_and_completed(orders, engine_rest):
    instance_id = orders.start("order-1", amount=10)
    orders.start("order-2", amount=20)

    [task] = send(pycamunda.task.GetList(engine_rest, process_instance_id=instance_id, candidate_group="sales",
                                         unassigned=True, task_definition_key="review"), SAM)
    assert task.name == "Review order"
    assert task.priority == 70
    assert task.assignee is None
    assert isinstance(task.created, dt.datetime)
    # offered to sam's group; a candidate query leaves out assigned tasks (includeAssignedTasks)
    assert len(send(pycamunda.task.GetList(engine_rest, candidate_user="sam", sort_by="priority"), SAM)) == 2

    send(pycamunda.task.Claim(engine_rest, id_=task.id_, user_id="sam"), SAM)
    assert send(pycamunda.task.Get(engine_rest, id_=task.id_)).assignee == "sam"
    assert [t.id_ for t in send(pycamunda.task.GetList(engine_rest, assignee="sam"))] == [task.id_]
    assert len(send(pycamunda.task.GetList(engine_rest, candidate_user="sam"), SAM)) == 1
    assert len(send(pycamunda.task.GetList(engine_rest, candidate_user="sam", include_assigned_tasks=True), SAM)) == 2
    send(pycamunda.task.Unclaim(engine_rest, id_=task.id_), SAM)
    assert send(pycamunda.task.Get(engine_rest, id_=task.id_)).assignee is None
    send(pycamunda.task.SetAssignee(engine_rest, id_=task.id_, user_id="sam"))  # admin hands it to sam
    assert send(pycamunda.task.Get(engine_rest, id_=task.id_), SAM).assignee == "sam"

    complete = pycamunda.task.Complete(engine_rest, id_=task.id_, with_variables_in_return=True)
    complete.add_variable("approved", True, "Boolean")
    complete.add_variable("note", "paid in advance", "String")
    returned = send(complete, SAM)

    assert returned["approved"].value is True and returned["approved"].type_ == "Boolean"
    assert returned["amount"].value == 10
    assert orders.variables(instance_id) == {"amount": 10, "approved": True, "note": "paid in advance"}
    assert orders.waiting_at(instance_id) == ["charge"]  # the gateway read approved
    with pytest.raises(pycamunda.NotFound):
        send(pycamunda.task.Get(engine_rest, id_=task.id_))


def test_an_external_task_is_fetched_locked_extended_unlocked_failed_and_completed(orders, engine_rest, clock):
    instance_id = orders.start("order-3", amount=30, card="visa")
    orders.approve(instance_id)

    fetch = pycamunda.externaltask.FetchAndLock(engine_rest, worker_id="w1", max_tasks=5)
    fetch.add_topic(TOPIC, lock_duration=10_000, variables=["amount"])
    [task] = send(fetch)
    assert task.topic_name == TOPIC and task.activity_id == "charge" and task.worker_id == "w1"
    assert task.process_instance_id == instance_id and task.business_key == "order-3"
    assert task.process_definition_key == "client_order"
    assert set(task.variables) == {"amount"} and task.variables["amount"].value == 30
    assert task.lock_expiration_time > dt.datetime.now(dt.timezone.utc)

    send(pycamunda.externaltask.ExtendLock(engine_rest, id_=task.id_, new_duration=60_000, worker_id="w1"))
    clock.shift(dt.timedelta(seconds=30))
    assert send(fetch) == ()  # the extension holds the lock past the first 10 s
    send(pycamunda.externaltask.Unlock(engine_rest, id_=task.id_))
    [again] = send(fetch)
    assert again.id_ == task.id_

    send(pycamunda.externaltask.HandleFailure(engine_rest, id_=task.id_, worker_id="w1", error_message="gateway down",
                                              error_details="Traceback: timeout", retries=2, retry_timeout=5_000))
    assert send(fetch) == ()  # not before the retry timeout
    failed = pycamunda.externaltask.Get(with_credentials(engine_rest), id_=task.id_)()
    assert failed.retries == 2 and failed.error_message == "gateway down"
    assert failed.error_details == "Traceback: timeout"
    [listed] = pycamunda.externaltask.GetList(with_credentials(engine_rest), topic_name=TOPIC,
                                              process_instance_id=instance_id)()
    assert listed.id_ == task.id_ and listed.retries == 2 and listed.error_details == "Traceback: timeout"

    clock.shift(dt.timedelta(seconds=6))
    [retried] = send(fetch)
    complete = pycamunda.externaltask.Complete(engine_rest, id_=retried.id_, worker_id="w1")
    complete.add_variable("receipt", "r-30", "String")
    send(complete)
    assert orders.variables(instance_id)["receipt"] == "r-30"
    assert orders.waiting_at(instance_id) == ["paid"]
    assert pycamunda.externaltask.Count(with_credentials(engine_rest), topic_name=TOPIC)() == 0


def test_a_bpmn_error_with_variables_is_caught_by_the_error_boundary_event(orders, engine_rest):
    instance_id = orders.start("order-4")
    orders.approve(instance_id)
    fetch = pycamunda.externaltask.FetchAndLock(engine_rest, worker_id="w1", max_tasks=1)
    fetch.add_topic(TOPIC, lock_duration=10_000)
    [task] = send(fetch)

    error = pycamunda.externaltask.HandleBPMNError(engine_rest, id_=task.id_, worker_id="w1",
                                                   error_code="card-declined", error_message="insufficient funds")
    error.add_variable("reason", "funds", "String")
    send(error)

    assert orders.open_tasks(instance_id) == ["call_customer"]
    assert orders.variables(instance_id)["reason"] == "funds"


def test_a_failure_without_retries_is_an_incident(orders, engine_rest):
    instance_id = orders.start("order-5")
    orders.approve(instance_id)
    fetch = pycamunda.externaltask.FetchAndLock(engine_rest, worker_id="w1", max_tasks=1)
    fetch.add_topic(TOPIC, lock_duration=10_000)
    [task] = send(fetch)
    send(pycamunda.externaltask.HandleFailure(engine_rest, id_=task.id_, worker_id="w1",
                                              error_message="card service gone", error_details=None, retries=0,
                                              retry_timeout=0))

    [incident] = send(pycamunda.incident.GetList(engine_rest, process_instance_id=instance_id))
    assert incident.incident_type == pycamunda.incident.IncidentType.failed_external_task
    assert incident.activity_id == "charge"
    assert incident.incident_message == "card service gone"
    assert isinstance(incident.incident_timestamp, dt.datetime)
    assert send(pycamunda.incident.Get(engine_rest, id_=incident.id_)) == incident


def test_messages_correlate_by_business_key_or_variables_and_start_a_process(orders, engine_rest):
    first, second = orders.start("order-a", order_no=1), orders.start("order-b", order_no=2)
    for instance_id in (first, second):
        orders.approve(instance_id)
    fetch = pycamunda.externaltask.FetchAndLock(engine_rest, worker_id="w1", max_tasks=2)
    fetch.add_topic(TOPIC, lock_duration=10_000)
    for task in send(fetch):
        send(pycamunda.externaltask.Complete(engine_rest, id_=task.id_, worker_id="w1"))
    assert orders.waiting_at(first) == orders.waiting_at(second) == ["paid"]

    by_key = pycamunda.message.CorrelateSingle(engine_rest, "payment-confirmed", business_key="order-b",
                                               result_enabled=True)
    by_key.add_process_variable("paid_by", "card", "String")
    [result] = send(by_key)
    assert result.result_type == pycamunda.message.ResultType.execution
    assert result.execution.process_instance_id == second
    assert orders.state(second) == "COMPLETED"
    assert orders.state(first) == "ACTIVE"

    by_variable = pycamunda.message.CorrelateSingle(engine_rest, "payment-confirmed", result_enabled=True)
    by_variable.add_correlation_key("order_no", 1, "Integer")
    [result] = send(by_variable)
    assert result.execution.process_instance_id == first
    assert orders.state(first) == "COMPLETED"

    start = pycamunda.message.CorrelateSingle(engine_rest, "refund-requested", business_key="refund-1",
                                              result_enabled=True)
    start.add_process_variable("amount", 12, "Integer")
    [started] = send(start)
    assert started.result_type == pycamunda.message.ResultType.process_definition
    assert started.process_instance.business_key == "refund-1"
    assert orders.open_tasks(started.process_instance.id_) == ["refund"]
    assert orders.variables(started.process_instance.id_)["amount"] == 12

    with pytest.raises(pycamunda.BadRequest):  # nobody waits: MismatchingMessageCorrelationException
        send(pycamunda.message.CorrelateSingle(engine_rest, "payment-confirmed", business_key="order-a"))


def test_a_message_sets_only_its_process_variables(orders, engine_rest):
    start = pycamunda.message.CorrelateSingle(engine_rest, "refund-requested", result_enabled=True)
    start.add_process_variable("amount", 12, "Integer")
    [started] = send(start)
    assert orders.variables(started.process_instance.id_) == {"amount": 12}


def test_process_instance_variables_are_read_set_modified_and_deleted(orders, engine_rest):
    instance_id = orders.start("order-6", amount=5, note="first")

    variables = send(pycamunda.processinst.VariablesGetList(engine_rest, process_instance_id=instance_id))
    assert {name: v.value for name, v in variables.items()} == {"amount": 5, "note": "first"}
    one = send(pycamunda.processinst.VariablesGet(engine_rest, process_instance_id=instance_id, var_name="amount"))
    assert one.value == 5 and one.type_ == "Integer"
    data = send(pycamunda.processinst.VariablesGet(engine_rest, process_instance_id=instance_id, var_name="note",
                                                   binary=True))
    assert data == b"first"

    send(pycamunda.processinst.VariablesUpdate(engine_rest, process_instance_id=instance_id, var_name="amount",
                                               value=7, type_="Long"))
    assert orders.variables(instance_id)["amount"] == 7
    modify = pycamunda.processinst.VariablesModify(engine_rest, process_instance_id=instance_id, deletions=["note"])
    modify.add_variable("tags", '["a", "b"]', "Json")
    send(modify)
    assert orders.variables(instance_id) == {"amount": 7, "tags": '["a", "b"]'}
    send(pycamunda.processinst.VariablesDelete(engine_rest, process_instance_id=instance_id, var_name="tags"))
    assert orders.variables(instance_id) == {"amount": 7}
    with pytest.raises(pycamunda.NotFound):
        send(pycamunda.processinst.VariablesGet(engine_rest, process_instance_id=instance_id, var_name="tags"))
