"""Messages and signals over HTTP: correlation (business key, instance id, variables), buffering with a ttl,
ambiguity, message and signal start events, the event-based gateway race, a boundary message, record edits
delivered as messages, and broadcasts.

Scenarios that involve a timer travel in time (time-machine, clock frozen) and fire due jobs with
`run_due_jobs()`; they run twice, on one server and across a restart (a new app on the same database).
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import EventSubscription
from config import TestConfig

from ..factories import ApiClient, assert_problem, fixture

START = dt.datetime(2031, 3, 3, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)
MESSAGES = "/api/v1/messages"
SIGNALS = "/api/v1/signals"


def send(client, name: str, expect: int = 200, **body):
    """POST a message; returns the JSON body (a delivery or a problem)."""
    response = client.post(MESSAGES, json={"name": name, **body})
    if expect >= 400:
        return assert_problem(response, expect)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def signal(client, name: str, variables: dict | None = None) -> dict:
    response = client.post(SIGNALS, json={"name": name, "variables": variables or {}})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def jobs(admin) -> list[dict]:
    response = admin.get("/api/v1/jobs")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def history(admin, instance_id: str) -> list[dict]:
    response = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def subscriptions(app, instance_id: str) -> list[str]:
    """The message/signal names the instance is indexed as waiting for."""
    with app.app_context():
        names = list(db.session.scalars(select(EventSubscription.name)
                                        .where(EventSubscription.instance_id == instance_id)))
        db.session.remove()
    return names


def waiting_for_reply(admin, count: int = 1, **start) -> list[dict]:
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    return [admin.start("wait_for_reply", **start) for _ in range(count)]


# -- correlation --------------------------------------------------------------------------------------------------

def test_a_message_by_business_key_reaches_only_the_instance_with_that_key(admin):
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    other = admin.start("wait_for_reply", business_key="DEAL-1")
    target = admin.start("wait_for_reply", business_key="DEAL-2")

    delivery = send(admin, "reply", business_key="DEAL-2", variables={"answer": "yes"})

    assert delivery == {"delivered": [target["id"]], "started": [], "buffered": None}
    replied = admin.instance(target["id"])
    assert replied["status"] == "completed"
    assert replied["variables"]["outcome"] == "replied" and replied["variables"]["answer"] == "yes"
    assert admin.instance(other["id"])["status"] == "running"
    [received] = [h for h in history(admin, target["id"]) if h["type"] == "message_received"]
    assert received["user"] == "admin"
    assert received["data"] == {"name": "reply", "variables": {"answer": "yes"}}


def test_a_message_by_process_instance_id_reaches_that_instance(admin):
    first, second = waiting_for_reply(admin, 2)

    delivery = send(admin, "reply", process_instance_id=second["id"])

    assert delivery["delivered"] == [second["id"]]
    assert admin.instance(second["id"])["variables"]["outcome"] == "replied"
    assert admin.instance(first["id"])["status"] == "running"


@pytest.mark.parametrize("mine, theirs", [("T-8", "T-7"), (42, 43), (True, False)],
                         ids=["text", "number", "boolean"])
def test_a_message_by_correlation_reaches_the_instance_whose_variable_matches(admin, mine, theirs):
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    other = admin.start("wait_for_reply", {"ticket": theirs})
    target = admin.start("wait_for_reply", {"ticket": mine})

    delivery = send(admin, "reply", correlation={"ticket": mine}, variables={"answer": "ok"})

    assert delivery["delivered"] == [target["id"]]
    assert admin.instance(target["id"])["variables"]["outcome"] == "replied"
    assert admin.instance(other["id"])["status"] == "running"


def test_a_message_nobody_waits_for_is_a_404_problem(admin):
    [waiting] = waiting_for_reply(admin, business_key="DEAL-1")

    unknown_name = send(admin, "no_such_message", 404)
    wrong_key = send(admin, "reply", 404, business_key="DEAL-2")
    wrong_id = send(admin, "reply", 404, process_instance_id="0" * 32)
    wrong_variable = send(admin, "reply", 404, correlation={"ticket": "T-404"})

    assert "no_such_message" in unknown_name["detail"]
    assert {p["title"] for p in (wrong_key, wrong_id, wrong_variable)} == {"Not found"}
    assert admin.instance(waiting["id"])["status"] == "running"


def test_a_message_names_one_target_at_most(admin):
    problem = send(admin, "reply", 400, business_key="DEAL-1", process_instance_id="x")
    assert "business_key" in problem["errors"]


def test_a_delivered_message_is_not_delivered_again(app, admin):
    [waiting] = waiting_for_reply(admin, business_key="DEAL-1")
    assert subscriptions(app, waiting["id"]) == ["reply"]

    first = send(admin, "reply", business_key="DEAL-1")
    second = send(admin, "reply", 404, business_key="DEAL-1")

    assert first["delivered"] == [waiting["id"]]
    assert second["status"] == 404
    assert subscriptions(app, waiting["id"]) == []
    assert sum(1 for h in history(admin, waiting["id"]) if h["type"] == "message_received") == 1


# -- ambiguity ------------------------------------------------------------------------------------------------------

def test_two_waiting_instances_are_a_409_naming_both_unless_all_is_sent(admin):
    first, second = waiting_for_reply(admin, 2, business_key="ACME")

    ambiguous = send(admin, "reply", 409, business_key="ACME")
    still_waiting = [admin.instance(i["id"])["status"] for i in (first, second)]
    delivery = send(admin, "reply", business_key="ACME", all=True, variables={"answer": "both"})

    assert sorted(ambiguous["instance_ids"]) == sorted([first["id"], second["id"]])
    assert "all=true" in ambiguous["detail"]
    assert still_waiting == ["running", "running"]
    assert sorted(delivery["delivered"]) == sorted([first["id"], second["id"]])
    for instance in (first, second):
        variables = admin.instance(instance["id"])["variables"]
        assert (variables["outcome"], variables["answer"]) == ("replied", "both")


# -- buffering with a ttl -------------------------------------------------------------------------------------------

def test_a_buffered_message_is_delivered_to_an_instance_that_starts_waiting_before_it_expires(app):
    with time_machine.travel(START, tick=False) as clock:
        admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
        admin.deploy(fixture("events", "wait_for_reply.bpmn"))
        buffered = send(admin, "reply", business_key="DEAL-9", ttl=3600, variables={"answer": "early"})
        clock.shift(dt.timedelta(minutes=59))

        started = admin.start("wait_for_reply", business_key="DEAL-9")
        instance = admin.instance(started["id"])
        later = admin.start("wait_for_reply", business_key="DEAL-9")
        later_instance = admin.instance(later["id"])
        events = history(admin, started["id"])

    assert buffered["delivered"] == [] and buffered["started"] == [] and buffered["buffered"]
    assert instance["status"] == "completed"
    assert instance["variables"]["outcome"] == "replied" and instance["variables"]["answer"] == "early"
    assert [h["user"] for h in events if h["type"] == "message_received"] == ["system"]
    assert later_instance["status"] == "running"  # the buffered message went to the first receiver only


def test_the_start_response_shows_an_instance_that_a_buffered_message_completed(app):
    with time_machine.travel(START, tick=False):
        admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
        admin.deploy(fixture("events", "wait_for_reply.bpmn"))
        send(admin, "reply", business_key="DEAL-9", ttl=3600, variables={"answer": "early"})

        started = admin.start("wait_for_reply", business_key="DEAL-9")
        stored = admin.instance(started["id"])

    assert stored["status"] == "completed"
    assert (started["status"], started["variables"]) == (stored["status"], stored["variables"])


def test_a_buffered_message_keeps_to_its_business_key(app):
    with time_machine.travel(START, tick=False):
        admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
        admin.deploy(fixture("events", "wait_for_reply.bpmn"))
        send(admin, "reply", business_key="DEAL-9", ttl=3600)

        stranger = admin.start("wait_for_reply", business_key="DEAL-10")
        owner = admin.start("wait_for_reply", business_key="DEAL-9")
        statuses = [admin.instance(i["id"])["status"] for i in (stranger, owner)]

    assert statuses == ["running", "completed"]


def test_a_buffered_message_is_not_delivered_after_it_expires(app):
    with time_machine.travel(START, tick=False) as clock:
        admin = ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
        admin.deploy(fixture("events", "wait_for_reply.bpmn"))
        send(admin, "reply", business_key="DEAL-9", ttl=60)
        clock.shift(dt.timedelta(seconds=61))

        started = admin.start("wait_for_reply", business_key="DEAL-9")
        instance = admin.instance(started["id"])
        pending = [j["instance_id"] for j in jobs(admin)]
        fresh = send(admin, "reply", business_key="DEAL-9", variables={"answer": "late"})
        answered = admin.instance(started["id"])

    assert instance["status"] == "running" and "outcome" not in instance["variables"]
    assert pending == [started["id"]]
    assert fresh["delivered"] == [started["id"]]
    assert answered["variables"]["answer"] == "late"


# -- message start events -------------------------------------------------------------------------------------------

def test_a_message_start_event_starts_an_instance_with_the_message_variables(admin):
    admin.deploy(fixture("events", "web_lead_message_start.bpmn"))

    delivery = send(admin, "web_lead", business_key="LEAD-1", variables={"lead_name": "Ada"})

    assert delivery["delivered"] == [] and delivery["buffered"] is None
    [instance_id] = delivery["started"]
    instance = admin.instance(instance_id)
    assert instance["definition"]["key"] == "web_lead_message_start"
    assert instance["status"] == "completed" and instance["business_key"] == "LEAD-1"
    assert instance["variables"]["lead_name"] == "Ada" and instance["variables"]["greeting"] == "Welcome Ada"
    types = [h["type"] for h in history(admin, instance_id)]
    assert types[0] == "instance_started" and "message_received" in types


# -- the event-based gateway race -----------------------------------------------------------------------------------

def test_a_reply_before_the_deadline_takes_the_replied_path_and_removes_the_timer(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        [started] = waiting_for_reply(admin, business_key="DEAL-3")
        [job] = jobs(admin)
        clock.shift(DAY)
        admin = server.login()
        delivery = send(admin, "reply", business_key="DEAL-3")
        left = jobs(admin)
        server.restart()
        clock.shift(2 * DAY)
        server.login()

        counts = server.fire()
        instance = server.admin.instance(started["id"])

    assert job["due_at"] == (START + 2 * DAY).isoformat()
    assert delivery["delivered"] == [started["id"]]
    assert left == [] and counts["done"] == 0
    assert instance["status"] == "completed" and instance["variables"]["outcome"] == "replied"


def test_the_deadline_before_a_reply_takes_the_timed_out_path_and_a_later_reply_is_a_404(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        [started] = waiting_for_reply(admin, business_key="DEAL-4")
        server.restart()
        clock.shift(2 * DAY + SECOND)
        server.login()

        counts = server.fire()
        instance = server.admin.instance(started["id"])
        late_reply = send(server.admin, "reply", 404, business_key="DEAL-4")
        indexed = subscriptions(server.app, started["id"])

    assert counts["done"] == 1
    assert instance["status"] == "completed" and instance["variables"]["outcome"] == "timed out"
    assert late_reply["status"] == 404
    assert indexed == []


# -- boundary message -----------------------------------------------------------------------------------------------

def test_a_boundary_message_withdraws_the_task_and_takes_its_path(admin, make):
    sam = make.client("sam", groups=["staff"])
    admin.deploy(fixture("events", "negotiate_until_lost.bpmn"))
    started = admin.start("negotiate_until_lost", business_key="DEAL-5")
    [negotiate] = started["tasks"]

    delivery = send(admin, "deal_lost", business_key="DEAL-5", variables={"reason": "price"})

    assert delivery["delivered"] == [started["id"]]
    instance = admin.instance(started["id"])
    assert instance["status"] == "completed" and instance["tasks"] == []
    assert instance["variables"]["outcome"] == "lost" and instance["variables"]["reason"] == "price"
    assert sam.get(f"/api/v1/tasks/{negotiate['id']}").get_json()["state"] == "cancelled"
    assert sam.get("/api/v1/tasks?mine=true").get_json()["total"] == 0
    assert_problem(sam.post(f"/api/v1/tasks/{negotiate['id']}/complete", json={"variables": {}}), 409)


def test_completing_the_task_first_ends_the_wait_for_the_boundary_message(admin):
    admin.deploy(fixture("events", "negotiate_until_lost.bpmn"))
    started = admin.start("negotiate_until_lost", business_key="DEAL-6")

    done = admin.complete(started["tasks"][0]["id"])
    late = send(admin, "deal_lost", 404, business_key="DEAL-6")

    assert done["status"] == "completed"
    assert admin.instance(started["id"])["variables"]["outcome"] == "won"
    assert late["status"] == 404


# -- record edits delivered as messages -----------------------------------------------------------------------------

def _watch_deals(admin) -> None:
    admin.deploy(fixture("events", "deal_not_updated.bpmn"))
    response = admin.post("/api/v1/bindings", json={"module": "Deals", "event": "create",
                                                    "process_key": "deal_not_updated", "kind": "process"})
    assert response.status_code == 201, response.get_json()


def _create_deal(admin, **fields) -> dict:
    response = admin.post("/api/v1/modules/Deals/records", json={"deal_name": "Acme renewal", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _watcher(admin, deal_id: str) -> dict:
    response = admin.get(f"/api/v1/process-instances?module=Deals&record_id={deal_id}")
    assert response.status_code == 200, response.get_json()
    [summary] = response.get_json()["items"]
    return admin.instance(summary["id"])


def test_editing_a_record_starts_its_quiet_days_again(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        _watch_deals(admin)
        deal = _create_deal(admin, amount=1000)
        watching = _watcher(admin, deal["id"])
        first_due = [j["due_at"] for j in jobs(admin)]

        clock.shift(DAY)
        admin = server.login()
        edit = admin.patch(f"/api/v1/modules/Deals/records/{deal['id']}", json={"amount": 1200})
        after_edit = _watcher(admin, deal["id"])
        second_due = [j["due_at"] for j in jobs(admin)]
        server.restart()

        clock.shift(1.5 * DAY)  # two and a half days after creation, one and a half after the edit
        server.login()
        early = server.fire()
        still_watching = _watcher(server.admin, deal["id"])

        clock.shift(DAY / 2 + SECOND)
        server.login()
        on_time = server.fire()
        stale = _watcher(server.admin, deal["id"])

    assert watching["status"] == "running" and watching["variables"]["edits"] == 0
    assert watching["variables"]["record_id"] == deal["id"] and watching["business_key"] == deal["id"]
    assert first_due == [(START + 2 * DAY).isoformat()]
    assert edit.status_code == 200
    assert after_edit["status"] == "running"
    assert after_edit["variables"]["edits"] == 1 and after_edit["variables"]["changed_fields"] == ["amount"]
    assert second_due == [(START + 3 * DAY).isoformat()]
    assert early["done"] == 0 and still_watching["status"] == "running"
    assert on_time["done"] == 1
    assert stale["status"] == "completed"
    assert stale["variables"]["stale"] is True and stale["variables"]["edits"] == 1


def test_a_record_left_alone_for_two_days_takes_the_timer_path(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        _watch_deals(admin)
        deal = _create_deal(admin)
        server.restart()
        clock.shift(2 * DAY + SECOND)
        server.login()

        counts = server.fire()
        stale = _watcher(server.admin, deal["id"])
        later_edit = server.admin.patch(f"/api/v1/modules/Deals/records/{deal['id']}", json={"amount": 5})
        after_edit = _watcher(server.admin, deal["id"])

    assert counts["done"] == 1
    assert stale["status"] == "completed"
    assert stale["variables"]["stale"] is True and stale["variables"]["edits"] == 0
    assert later_edit.status_code == 200
    assert after_edit["status"] == "completed" and after_edit["variables"]["edits"] == 0


# -- signals --------------------------------------------------------------------------------------------------------

def test_one_signal_reaches_every_waiting_instance(admin):
    admin.deploy(fixture("events", "quarter_close_wait.bpmn"))
    started = [admin.start("quarter_close_wait", {"deal": n})["id"] for n in range(10)]

    broadcast = signal(admin, "quarter_closed", {"quarter": "2031-Q1"})

    assert sorted(broadcast["delivered"]) == sorted(started) and broadcast["started"] == []
    for instance_id in started:
        instance = admin.instance(instance_id)
        assert instance["status"] == "completed" and instance["variables"]["booked_in"] == "2031-Q1"
    assert signal(admin, "quarter_closed") == {"delivered": [], "started": []}


def test_a_signal_start_event_starts_an_instance_with_the_signal_variables(admin):
    admin.deploy(fixture("events", "price_list_signal_start.bpmn"))

    broadcast = signal(admin, "price_list_published", {"version": "2031.1"})

    assert broadcast["delivered"] == []
    [instance_id] = broadcast["started"]
    instance = admin.instance(instance_id)
    assert instance["definition"]["key"] == "price_list_signal_start" and instance["status"] == "completed"
    assert instance["variables"]["noted"] == "price list 2031.1"


def test_a_signal_nobody_waits_for_is_accepted_and_reaches_no_one(admin):
    admin.deploy(fixture("events", "quarter_close_wait.bpmn"))

    assert signal(admin, "nobody_listens", {"x": 1}) == {"delivered": [], "started": []}


def test_a_message_variable_replaces_an_instance_variable_of_the_same_name(admin):
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    started = admin.start("wait_for_reply", {"text": "old"}, business_key="OVERWRITE-1")

    response = admin.post("/api/v1/messages", json={"name": "reply", "business_key": "OVERWRITE-1",
                                                    "variables": {"text": "new"}})

    assert response.status_code == 200, response.get_json()
    assert admin.instance(started["id"])["variables"]["text"] == "new"


# -- what a caught message leaves --------------------------------------------------------------------------------------

PAID = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="d_paid" targetNamespace="t">
  <bpmn:message id="m_paid" name="paid" />
  <bpmn:process id="wait_paid" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="paid" />
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m_paid" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="ship" />
    <bpmn:userTask id="ship" camunda:assignee="admin" />
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_caught_message_sets_its_variables_and_nothing_else(admin, tmp_path):
    """As in Camunda: the message's variables, and no extra variable holding its payload."""
    path = tmp_path / "wait_paid.bpmn"
    path.write_text(PAID)
    admin.deploy(path)
    started = admin.start("wait_paid", business_key="ORDER-1", variables={"order": 1})
    delivery = send(admin, "paid", business_key="ORDER-1", variables={"amount": 5})
    assert delivery["delivered"] == [started["id"]]
    instance = admin.instance(started["id"])
    assert instance["variables"] == {"order": 1, "amount": 5}
    [ship] = instance["tasks"]
    done = admin.post(f"/api/v1/tasks/{ship['id']}/complete", json={"variables": {}})
    assert done.status_code == 200
    assert admin.instance(started["id"])["variables"] == {"order": 1, "amount": 5}


# -- names that belong to the engine ------------------------------------------------------------------------------

def test_variables_named_as_the_engines_own_are_refused_at_start_and_in_messages(admin):
    """Names starting with `_` belong to the engine and the script sandbox (`_getattr_`, `__builtins__`...):
    refused naming each, whoever sends them, and nothing starts."""
    admin.deploy(fixture("events", "web_lead_message_start.bpmn"))
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    bad = {"_getattr_": 1, "__builtins__": {}, "fine": 2}
    for response in (admin.post("/api/v1/process-definitions/key/three_tasks/start", json={"variables": bad}),
                     admin.post(MESSAGES, json={"name": "web_lead", "variables": bad}),
                     admin.post(SIGNALS, json={"name": "anything", "variables": bad})):
        problem = assert_problem(response, 400)
        assert set(problem["errors"]) == {"_getattr_", "__builtins__"}
    camunda = admin.post("/engine-rest/process-definition/key/three_tasks/start",
                         json={"variables": {"__builtins__": {"value": 1, "type": "Integer"}}})
    assert camunda.status_code == 400 and "__builtins__" in camunda.get_json()["message"]
    assert admin.get("/api/v1/process-instances").get_json()["items"] == []
