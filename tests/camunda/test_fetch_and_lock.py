"""fetchAndLock's options: usePriority and sorting by createTime, the per-topic filters, localVariables,
external task priorities from camunda:taskPriority, and long polling under a controlled clock.

Priorities and creation times are written onto the external_task rows, so an
order is asserted by the exact sequence of ids and a filter by the tasks it
leaves out.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from app.engine import Engine
from app.extensions import db
from app.models import ExternalTask
from app.services import external_tasks as service
from app.services.core import SYSTEM, Actor
from config import TestConfig

from ..factories import fixture
from ..timing import real_now
from .test_rest import Camunda, assert_camunda_error

UTC = dt.timezone.utc
T0 = real_now().replace(microsecond=0) - dt.timedelta(hours=1)  # the creation times written are an hour old
TOPIC = {"topicName": "charge-card", "lockDuration": 60_000}


@pytest.fixture
def rest(app) -> Camunda:
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("valid", "external_charge.bpmn"), fixture("valid", "zeebe_tasks.bpmn")))
    return rest


def set_row(app, task_id: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(ExternalTask).where(ExternalTask.id == task_id).values(**values))
        db.session.commit()
        db.session.remove()


def task_of(rest: Camunda, instance_id: str) -> str:
    [task] = rest.ok(rest.get(f"/external-task?processInstanceId={instance_id}"))
    return task["id"]


def fetch(rest: Camunda, topic: dict | None = None, max_tasks: int = 10, **options) -> list[dict]:
    return rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": max_tasks, "topics": [{**TOPIC, **(topic or {})}], **options}))


@pytest.fixture
def ranked(app, rest) -> dict[str, str]:
    """Three charge-card tasks: a (priority 1, oldest), b (priority 9), c (priority 5, newest)."""
    ids = {}
    for minute, (name, priority) in enumerate([("a", 1), ("b", 9), ("c", 5)]):
        ids[name] = task_of(rest, rest.start("external_charge")["id"])
        set_row(app, ids[name], priority=priority, created_at=T0 + dt.timedelta(minutes=minute))
    return ids


def names(ranked: dict, tasks: list[dict]) -> list[str]:
    by_id = {task_id: name for name, task_id in ranked.items()}
    return [by_id[t["id"]] for t in tasks]


# -- usePriority and sorting ---------------------------------------------------------------------------

@pytest.mark.parametrize("options, expected", [
    ({}, ["b", "c", "a"]),
    ({"usePriority": True}, ["b", "c", "a"]),
    ({"usePriority": False}, ["a", "b", "c"]),
    ({"usePriority": False, "sorting": None}, ["a", "b", "c"]),  # what camunda-external-task-client-python3 sends
    ({"usePriority": False, "sorting": [{"sortBy": "createTime", "sortOrder": "desc"}]}, ["c", "b", "a"]),
    ({"usePriority": False, "sorting": [{"sortBy": "createTime", "sortOrder": "asc"}]}, ["a", "b", "c"]),
])
def test_fetch_orders_by_priority_unless_told_not_to_then_by_creation(rest, ranked, options, expected):
    assert names(ranked, fetch(rest, **options)) == expected


@pytest.mark.parametrize("options, expected", [
    ({"usePriority": True}, "b"),
    ({"usePriority": False}, "a"),
    ({"usePriority": False, "sorting": [{"sortBy": "createTime", "sortOrder": "desc"}]}, "c"),
])
def test_the_order_decides_which_task_a_worker_taking_one_gets(rest, ranked, options, expected):
    assert names(ranked, fetch(rest, max_tasks=1, **options)) == [expected]


def test_create_time_breaks_ties_between_equal_priorities(app, rest, ranked):
    set_row(app, ranked["a"], priority=5)  # a and c now share priority 5; a is older
    assert names(ranked, fetch(rest, usePriority=True,
                               sorting=[{"sortBy": "createTime", "sortOrder": "desc"}])) == ["b", "c", "a"]


@pytest.mark.parametrize("sorting", [
    [{"sortBy": "priority", "sortOrder": "desc"}],
    [{"sortBy": "createTime"}],
    [{"sortBy": "createTime", "sortOrder": "newest"}],
    [{"sortBy": "createTime", "sortOrder": "asc"}, {"sortBy": "createTime", "sortOrder": "desc"}],
])
def test_a_sorting_fetch_and_lock_cannot_follow_is_refused(rest, ranked, sorting):
    assert_camunda_error(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 1, "topics": [TOPIC], "sorting": sorting}), 400, "InvalidRequestException")
    assert fetch(rest) != []  # nothing was locked


# -- per-topic filters -------------------------------------------------------------------------------------

@pytest.fixture
def mixed(rest) -> dict[str, str]:
    """charge-card tasks of three instances: two of external_charge (k1 with amount 42 and vip, k2 with
    amount 41 and vip as the number 1), one of zeebe_tasks (k3)."""
    visa = {"value": "visa", "type": "String"}
    starts = {
        "k1": ("external_charge", {"amount": {"value": 42, "type": "Integer"},
                                   "vip": {"value": True, "type": "Boolean"}, "card": visa}),
        "k2": ("external_charge", {"amount": {"value": 41, "type": "Integer"},
                                   "vip": {"value": 1, "type": "Integer"}, "card": visa}),
        "k3": ("zeebe_tasks", {"owner": {"value": "carol", "type": "String"},
                               "amount": {"value": 42, "type": "Integer"}}),
    }
    return {key: task_of(rest, rest.start(process, variables, business_key=key)["id"])
            for key, (process, variables) in starts.items()}


def definition_id(rest: Camunda, key: str) -> str:
    return rest.ok(rest.get(f"/process-definition/key/{key}"))["id"]


@pytest.mark.parametrize("topic, expected", [
    ({"businessKey": "k2"}, {"k2"}),
    ({"processDefinitionKey": "zeebe_tasks"}, {"k3"}),
    ({"processDefinitionKeyIn": ["external_charge"]}, {"k1", "k2"}),
    ({"processDefinitionKeyIn": []}, {"k1", "k2", "k3"}),  # an empty list filters nothing
    ({"processVariables": {"amount": 42}}, {"k1", "k3"}),
    ({"processVariables": {"amount": 42, "card": "visa"}}, {"k1"}),
    ({"processVariables": {"vip": True}}, {"k1"}),  # the Integer 1 is not the Boolean true
    ({"processVariables": {"amount": 7}}, set()),
    ({"processVariables": {}}, {"k1", "k2", "k3"}),  # what the Python client sends without filters
    ({"businessKey": "k1", "processDefinitionKey": "zeebe_tasks"}, set()),
])
def test_topic_filters_narrow_what_is_fetched(rest, mixed, topic, expected):
    fetched = fetch(rest, topic)
    assert {t["businessKey"] for t in fetched} == expected
    others = {t["businessKey"] for t in fetch(rest)}  # the tasks left out are still there for others
    assert others == {"k1", "k2", "k3"} - expected


def test_topics_filter_by_process_definition_id(rest, mixed):
    zeebe, charge = definition_id(rest, "zeebe_tasks"), definition_id(rest, "external_charge")
    assert {t["businessKey"] for t in fetch(rest, {"processDefinitionId": zeebe})} == {"k3"}
    assert {t["businessKey"] for t in fetch(rest, {"processDefinitionIdIn": [charge, "nope"]})} == {"k1", "k2"}


def test_a_process_variables_filter_looks_past_tasks_that_do_not_match(app, rest, mixed):
    set_row(app, mixed["k2"], priority=100)  # the first task in line does not match
    [task] = fetch(rest, {"processVariables": {"amount": 42}}, max_tasks=1, usePriority=True)
    assert task["id"] in (mixed["k1"], mixed["k3"])


def test_local_variables_are_the_tasks_own_its_input_parameters(app, rest):
    rest.ok(rest.deploy(fixture("valid", "zeebe_io.bpmn")))
    order = {"order": {"value": '{"total": 75}', "type": "Json"}, "note": {"value": "n", "type": "String"}}
    mapped = rest.start("zeebe_io", order, business_key="mapped")["id"]
    plain = rest.start("external_charge", {"amount": {"value": 41, "type": "Integer"}}, business_key="plain")["id"]

    fetched = {t["processInstanceId"]: t["variables"] for t in fetch(rest, {"localVariables": True})}
    assert {name: v["value"] for name, v in fetched[mapped].items()} == {"amount": 75, "currency": "EUR"}
    assert fetched[plain] == {}  # no input parameters, so no variables of its own

    for instance_id in (mapped, plain):
        rest.ok(rest.post(f"/external-task/{task_of(rest, instance_id)}/unlock"), 204)
    fetched = {t["processInstanceId"]: t["variables"] for t in fetch(rest, {"localVariables": False})}
    assert {"order", "note", "amount", "currency"} <= set(fetched[mapped])
    assert fetched[plain]["amount"]["value"] == 41


# -- priority from camunda:taskPriority ------------------------------------------------------------------------

@pytest.mark.parametrize("priority, variables, expected", [
    (None, {}, 0),  # Camunda's default for external tasks
    ("7", {}, 7),
    ("-3", {}, -3),
    ("${urgency}", {"urgency": 12}, 12),
    ("${urgency}", {"urgency": "15"}, 15),
    ("${urgency}", {"urgency": 4.0}, 4),
    ("${urgency}", {}, 0),  # missing variable
    ("${urgency}", {"urgency": "high"}, 0),  # not a number
    ("${order.urgency}", {"order": {"urgency": 3}}, 3),
    ("99999999999", {}, 2**31 - 1),  # kept within the column
])
def test_priority_of_reads_camunda_task_priority(priority, variables, expected):
    external = {"topic": "charge-card"} if priority is None else {"topic": "charge-card", "priority": priority}
    assert service.priority_of({"external": external}, variables) == expected


def test_priority_of_reads_what_the_parser_records_of_a_task_and_of_its_process():
    content = fixture("valid", "external_charge.bpmn").read_bytes()
    on_task = content.replace(b'camunda:topic="charge-card"',
                              b'camunda:topic="charge-card" camunda:taskPriority="${urgency}"')
    on_process = content.replace(b'<bpmn:process id="external_charge"',
                                 b'<bpmn:process camunda:taskPriority="20" id="external_charge"')
    [task_model] = Engine().parse([("external_charge.bpmn", on_task)])
    [process_model] = Engine().parse([("external_charge.bpmn", on_process)])
    assert service.priority_of(task_model.elements["charge"], {"urgency": 8}) == 8
    assert service.priority_of(process_model.elements["charge"], {}) == 20
    assert service.priority_of({}, {}) == 0  # an element without external metadata


def test_external_tasks_are_created_with_their_task_priority_and_fetched_by_it(app, tmp_path):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    diagram = tmp_path / "prioritized_charge.bpmn"
    diagram.write_bytes(fixture("valid", "external_charge.bpmn").read_bytes().replace(
        b'camunda:topic="charge-card"', b'camunda:topic="charge-card" camunda:taskPriority="${urgency}"'))
    rest.ok(rest.deploy(diagram))
    started = {urgency: rest.start("external_charge", {"urgency": {"value": urgency, "type": "Integer"}})["id"]
               for urgency in (3, 30, 10)}
    fetched = fetch(rest)
    assert [t["priority"] for t in fetched] == [30, 10, 3]
    assert [t["processInstanceId"] for t in fetched] == [started[30], started[10], started[3]]


# -- long polling under a controlled clock -------------------------------------------------------------------------

class Clock:
    """time.monotonic and time.sleep for fetch_and_lock: sleeping moves the clock; `then` runs on each sleep."""

    def __init__(self, then=None):
        self.now, self.sleeps, self.then = 1000.0, [], then

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.then:
            self.then(len(self.sleeps))


WORKER = Actor("w-user", ("workers",))  # the default grant gives the workers group every topic


def poll(app, clock: Clock, timeout_ms: int) -> list[str]:
    with app.app_context():
        try:
            locked = service.fetch_and_lock(WORKER, "w", 5, [TOPIC], timeout_ms, sleep=clock.sleep,
                                            clock=clock.monotonic)
            return [t.task.id for t in locked]
        finally:
            db.session.remove()


def test_a_task_already_there_is_returned_at_once_however_long_the_poll(app, rest):
    task_id = task_of(rest, rest.start("external_charge")["id"])
    clock = Clock()
    assert poll(app, clock, 60_000) == [task_id]
    assert clock.sleeps == []


def test_timeout_zero_looks_once_and_returns(app, rest):
    clock = Clock()
    assert poll(app, clock, 0) == []
    assert clock.sleeps == []


def test_a_poll_returns_on_the_first_look_after_a_task_becomes_fetchable(app, rest):
    task_id = task_of(rest, rest.start("external_charge")["id"])
    fetch(rest)  # locked by another worker for a minute

    def unlock_on_second_sleep(count):
        if count == 2:
            service.unlock(task_id, SYSTEM)  # an admin releases the other worker's lock

    clock = Clock(unlock_on_second_sleep)
    assert poll(app, clock, 30_000) == [task_id]
    assert clock.sleeps == [service.POLL_INTERVAL_S] * 2


def test_a_poll_with_nothing_to_fetch_looks_every_interval_until_the_timeout(app, rest):
    clock = Clock()
    assert poll(app, clock, 1_000) == []
    assert sum(clock.sleeps) == pytest.approx(1.0)
    assert max(clock.sleeps) <= service.POLL_INTERVAL_S
    assert len(clock.sleeps) >= 5


def test_a_poll_waits_at_most_sixty_seconds(app, rest):
    clock = Clock()
    assert poll(app, clock, 1_800_000) == []  # Camunda's own maximum, 30 minutes
    assert sum(clock.sleeps) == pytest.approx(service.MAX_LONG_POLL_MS / 1000)
