"""External tasks are worked only by those who may work their topic, and a lock is its taker's.

Each attack is made by an ordinary account and must fail to get in: the
answer is refused, and the proof that nothing changed is read back as an
admin (the task still locked by its worker until the same moment, the
instance's variables as they were, no next task). External tasks exist only
on /engine-rest.

The diagram is external_charge.bpmn with its topic read from the variable
`desk`, so one process gives tasks of the topics "charge-card" and "refund".
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ExternalTask
from config import TestConfig

from ..camunda.test_rest import Camunda, assert_camunda_error
from ..factories import fixture
from ..migrating import DatabaseAt

CHARGE, REFUND = "charge-card", "refund"


@pytest.fixture
def admin_rest(app, tmp_path) -> Camunda:
    path = tmp_path / "external_charge.bpmn"
    path.write_bytes(fixture("valid", "external_charge.bpmn").read_bytes().replace(
        b'camunda:topic="charge-card"', b'camunda:topic="${desk}"'))
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(path))
    return rest


@pytest.fixture
def users(app, make) -> dict[str, Camunda]:
    """worker and eve: in `workers` (every topic); refunder: granted the refund topic only; mallory: nothing."""
    make.user("worker", groups=["workers"])
    make.user("eve", groups=["workers"])
    make.user("refunder")
    make.grant("work", "topic", REFUND, user="refunder")
    make.user("mallory")
    return {name: Camunda(app, name) for name in ("worker", "eve", "refunder", "mallory")}


def start(rest: Camunda, desk: str = CHARGE) -> dict:
    return rest.start("external_charge", {"desk": {"value": desk, "type": "String"},
                                          "amount": {"value": 42, "type": "Integer"}})


def fetch_request(rest: Camunda, *topics: str, worker: str = "worker-1", lock_ms: int = 60_000):
    return rest.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": 10, "topics": [{"topicName": t, "lockDuration": lock_ms} for t in topics]})


def fetch(rest: Camunda, *topics: str, worker: str = "worker-1", lock_ms: int = 60_000) -> list[dict]:
    return rest.ok(fetch_request(rest, *topics, worker=worker, lock_ms=lock_ms))


def user_tasks(admin: Camunda, instance_id: str) -> list[str]:
    return [t["taskDefinitionKey"] for t in admin.ok(admin.get(f"/task?processInstanceId={instance_id}"))]


def state(admin: Camunda, instance_id: str) -> dict:
    """What an attack must not change, as an admin reads it: the task's lock, the variables, the user tasks."""
    [task] = admin.ok(admin.get(f"/external-task?processInstanceId={instance_id}"))
    return {"lock": (task["id"], task["workerId"], task["lockExpirationTime"], task["retries"]),
            "variables": admin.ok(admin.get(f"/process-instance/{instance_id}/variables")),
            "tasks": user_tasks(admin, instance_id)}


def commands(task_id: str, worker: str = "worker-1") -> dict[str, tuple[str, dict]]:
    """Every command on a locked task, as an attacker would send it."""
    return {
        "complete": (f"/external-task/{task_id}/complete", {
            "workerId": worker, "variables": {"paid": {"value": True, "type": "Boolean"},
                                              "amount": {"value": 0, "type": "Integer"}}}),
        "failure": (f"/external-task/{task_id}/failure", {"workerId": worker, "retries": 0, "errorMessage": "x"}),
        "bpmnError": (f"/external-task/{task_id}/bpmnError", {"workerId": worker, "errorCode": "card-declined"}),
        "extendLock": (f"/external-task/{task_id}/extendLock", {"workerId": worker, "newDuration": 1}),
        "unlock": (f"/external-task/{task_id}/unlock", {}),
    }


# -- fetching ----------------------------------------------------------------------------------

def test_a_user_who_may_not_work_the_topic_cannot_fetch_it_and_nothing_is_locked(admin_rest, users):
    instance = start(admin_rest)
    before = state(admin_rest, instance["id"])

    body = assert_camunda_error(fetch_request(users["mallory"], CHARGE), 403, "AuthorizationException")
    assert "'charge-card'" in body["message"]
    assert state(admin_rest, instance["id"]) == before
    assert before["lock"][1] is None  # not locked: the worker still gets it
    [task] = fetch(users["worker"], CHARGE)
    assert task["processInstanceId"] == instance["id"]


def test_a_user_granted_one_topic_fetches_only_that_topic(admin_rest, users):
    charge, refund = start(admin_rest, CHARGE), start(admin_rest, REFUND)
    refunder = users["refunder"]

    body = assert_camunda_error(fetch_request(refunder, REFUND, CHARGE), 403, "AuthorizationException")
    assert "'charge-card'" in body["message"] and "'refund'" not in body["message"]
    assert state(admin_rest, refund["id"])["lock"][1] is None  # a refused request locks nothing, not even refunds

    [task] = fetch(refunder, REFUND)
    assert (task["topicName"], task["processInstanceId"]) == (REFUND, refund["id"])
    assert state(admin_rest, charge["id"])["lock"][1] is None
    refunder.ok(refunder.post(f"/external-task/{task['id']}/complete", json={"workerId": "worker-1"}), 204)
    assert user_tasks(admin_rest, charge["id"]) == []
    assert user_tasks(admin_rest, refund["id"]) == ["ship"]


def test_lists_and_reads_show_only_the_topics_one_may_work(admin_rest, users):
    charge, refund = start(admin_rest, CHARGE), start(admin_rest, REFUND)
    [charge_task] = admin_rest.ok(admin_rest.get(f"/external-task?processInstanceId={charge['id']}"))
    [refund_task] = admin_rest.ok(admin_rest.get(f"/external-task?processInstanceId={refund['id']}"))
    refunder, mallory, worker = users["refunder"], users["mallory"], users["worker"]

    assert [t["id"] for t in refunder.ok(refunder.get("/external-task"))] == [refund_task["id"]]
    assert refunder.ok(refunder.get("/external-task/count")) == {"count": 1}
    assert refunder.ok(refunder.get(f"/external-task?topicName={CHARGE}")) == []
    assert refunder.ok(refunder.get(f"/external-task/{refund_task['id']}"))["topicName"] == REFUND
    assert_camunda_error(refunder.get(f"/external-task/{charge_task['id']}"), 404, "InvalidRequestException")

    assert mallory.ok(mallory.get("/external-task")) == []
    assert mallory.ok(mallory.get("/external-task/count")) == {"count": 0}
    assert_camunda_error(mallory.get(f"/external-task/{refund_task['id']}"), 404, "InvalidRequestException")

    assert worker.ok(worker.get("/external-task/count")) == {"count": 2}
    assert admin_rest.ok(admin_rest.get("/external-task/count")) == {"count": 2}


# -- commands on a task locked by someone else ------------------------------------------------

@pytest.mark.parametrize("command", ["complete", "failure", "bpmnError", "extendLock", "unlock"])
def test_a_user_who_may_not_work_the_topic_cannot_touch_a_locked_task(admin_rest, users, command):
    instance = start(admin_rest)
    [task] = fetch(users["worker"], CHARGE)
    before = state(admin_rest, instance["id"])
    assert before["lock"][1] == "worker-1"

    path, body = commands(task["id"])[command]  # the worker id, read or guessed, sent along
    refused = assert_camunda_error(users["mallory"].post(path, json=body), 403, "AuthorizationException")
    assert "'charge-card'" in refused["message"]
    assert state(admin_rest, instance["id"]) == before


@pytest.mark.parametrize("command", ["complete", "failure", "bpmnError", "extendLock", "unlock"])
def test_another_worker_sending_the_same_worker_id_is_refused(admin_rest, users, command):
    instance = start(admin_rest)
    [task] = fetch(users["worker"], CHARGE)
    before = state(admin_rest, instance["id"])

    path, body = commands(task["id"])[command]
    refused = assert_camunda_error(users["eve"].post(path, json=body), 403, "AuthorizationException")
    assert "worker-1" not in refused["message"]
    assert state(admin_rest, instance["id"]) == before

    # the lock is still the worker's, who finishes the job
    worker = users["worker"]
    worker.ok(worker.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "worker-1", "variables": {"receipt": {"value": "r-42", "type": "String"}}}), 204)
    after = admin_rest.ok(admin_rest.get(f"/process-instance/{instance['id']}/variables"))
    assert after["receipt"]["value"] == "r-42" and after["amount"]["value"] == 42


def test_another_worker_with_its_own_worker_id_does_not_learn_the_holders(admin_rest, users):
    instance = start(admin_rest)
    [task] = fetch(users["worker"], CHARGE)
    before = state(admin_rest, instance["id"])
    refused = assert_camunda_error(users["eve"].post(f"/external-task/{task['id']}/complete",
                                                     json={"workerId": "eve-1"}), 403, "AuthorizationException")
    assert "worker-1" not in refused["message"]
    assert state(admin_rest, instance["id"]) == before


def test_an_expired_lock_taken_by_another_user_is_theirs(clock, admin_rest, users):
    instance = start(admin_rest)
    [task] = fetch(users["worker"], CHARGE, lock_ms=1_000)
    clock.shift(dt.timedelta(seconds=2))
    [again] = fetch(users["eve"], CHARGE)  # the same worker id, now eve's lock
    assert again["id"] == task["id"]
    before = state(admin_rest, instance["id"])

    assert_camunda_error(users["worker"].post(f"/external-task/{task['id']}/complete",
                                              json={"workerId": "worker-1"}), 403, "AuthorizationException")
    assert state(admin_rest, instance["id"]) == before
    users["eve"].ok(users["eve"].post(f"/external-task/{task['id']}/complete", json={"workerId": "worker-1"}), 204)
    assert user_tasks(admin_rest, instance["id"]) == ["ship"]


# -- the legitimate path -----------------------------------------------------------------------

def test_a_worker_fetches_extends_and_completes_and_its_taker_or_an_admin_unlocks(clock, admin_rest, users):
    instance = start(admin_rest)
    worker = users["worker"]
    [task] = fetch(worker, CHARGE, lock_ms=1_000)
    worker.ok(worker.post(f"/external-task/{task['id']}/extendLock",
                          json={"workerId": "worker-1", "newDuration": 60_000}), 204)
    clock.shift(dt.timedelta(seconds=30))
    assert fetch(users["eve"], CHARGE) == []  # still the worker's
    worker.ok(worker.post(f"/external-task/{task['id']}/unlock"), 204)
    [again] = fetch(worker, CHARGE, worker="worker-2")
    admin_rest.ok(admin_rest.post(f"/external-task/{task['id']}/unlock"), 204)  # an admin may release any lock
    [last] = fetch(worker, CHARGE, worker="worker-3")
    assert again["id"] == last["id"] == task["id"]

    worker.ok(worker.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "worker-3", "variables": {"receipt": {"value": "r-42", "type": "String"}}}), 204)
    assert user_tasks(admin_rest, instance["id"]) == ["ship"]
    assert admin_rest.ok(admin_rest.get(f"/process-instance/{instance['id']}/variables"))["receipt"]["value"] == "r-42"


# -- locks taken before their user was recorded (migration 0008) --------------------------------

def test_a_lock_from_before_the_upgrade_stays_with_its_worker_id_and_only_an_admin_unlocks_it(app, admin_rest, users):
    instance = start(admin_rest)
    [task] = fetch(users["worker"], CHARGE)
    with app.app_context():
        db.session.execute(sa.update(ExternalTask).where(ExternalTask.id == task["id"]).values(locked_by=None))
        db.session.commit()
        db.session.remove()
    before = state(admin_rest, instance["id"])

    assert_camunda_error(users["eve"].post(f"/external-task/{task['id']}/unlock"), 403, "AuthorizationException")
    assert_camunda_error(users["mallory"].post(f"/external-task/{task['id']}/complete",
                                               json={"workerId": "worker-1"}), 403, "AuthorizationException")
    assert state(admin_rest, instance["id"]) == before
    users["worker"].ok(users["worker"].post(f"/external-task/{task['id']}/complete",
                                            json={"workerId": "worker-1"}), 204)


def test_the_upgrade_to_0008_adds_an_empty_lock_owner_and_keeps_the_locks(tmp_path):
    database = DatabaseAt(tmp_path, "0007_security")
    engine = database.engine
    tasks = database.table("external_task")
    assert "locked_by" not in tasks.c
    with engine.begin() as conn:
        conn.execute(tasks.insert(), [{"id": "t1", "instance_id": "i1", "definition_id": "d1", "element_id": "charge",
                                       "topic": CHARGE, "worker_id": "worker-1", "priority": 0,
                                       "created_at": dt.datetime.now(dt.timezone.utc)}])
    database.upgrade()
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT worker_id, locked_by FROM external_task WHERE id = 't1'")).one()
    database.close()
    assert tuple(row) == ("worker-1", None)
