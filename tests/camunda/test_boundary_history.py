"""The activity history of boundary events, as Camunda's /history/activity-instance lists it.

The general rule: a boundary event is no activity while it only waits on its task; each time it
fires it is listed once (entered and left at once). An interrupting one ends the task it is attached
to, which is listed as `canceled: true` with an `endTime`; a non-interrupting one leaves the task
active. Every command here loads the instance's saved state and saves it again (a save/restore round
trip per step).
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.jobs.runner import run_due_jobs
from config import TestConfig

from ..factories import fixture
from .test_rest import CAMUNDA_TIME, Camunda

DIAGRAM = fixture("events", "boundary_history.bpmn")


@pytest.fixture
def rest(app, clock) -> Camunda:
    client = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    client.ok(client.deploy(DIAGRAM, fixture("valid", "external_charge.bpmn")))
    return client


def _fire_timers(app, clock, after: dt.timedelta) -> None:
    clock.shift(after)
    with app.app_context():
        run_due_jobs()
        db.session.remove()


def _history(rest: Camunda, instance_id: str) -> list[dict]:
    return rest.ok(rest.get(f"/history/activity-instance?processInstanceId={instance_id}"))


def _occurrences(rest: Camunda, instance_id: str, activity_id: str) -> list[tuple[bool, bool]]:
    """(ended, canceled) of each occurrence of one activity, in order."""
    return [(a["endTime"] is not None, a["canceled"]) for a in _history(rest, instance_id)
            if a["activityId"] == activity_id]


def test_a_non_interrupting_timer_is_listed_once_per_firing_and_the_task_stays_active(app, clock, rest):
    instance = rest.start("boundary_timers")["id"]
    assert _occurrences(rest, instance, "remind") == []  # waiting on its task: no activity yet
    assert _occurrences(rest, instance, "work") == [(False, False)]

    _fire_timers(app, clock, dt.timedelta(minutes=10, seconds=1))
    assert _occurrences(rest, instance, "remind") == [(True, False)]
    assert _occurrences(rest, instance, "send_reminder") == [(True, False)]
    assert _occurrences(rest, instance, "work") == [(False, False)]

    _fire_timers(app, clock, dt.timedelta(minutes=10, seconds=1))
    assert _occurrences(rest, instance, "remind") == [(True, False), (True, False)]
    assert _occurrences(rest, instance, "work") == [(False, False)]
    assert rest.ok(rest.get(f"/task?processInstanceId={instance}"))[0]["taskDefinitionKey"] == "work"


def test_an_interrupting_timer_cancels_the_task_and_is_listed_once(app, clock, rest):
    instance = rest.start("boundary_timers")["id"]
    _fire_timers(app, clock, dt.timedelta(hours=1, seconds=1))
    history = _history(rest, instance)
    [work] = [a for a in history if a["activityId"] == "work"]
    assert work["canceled"] is True and CAMUNDA_TIME.match(work["endTime"])
    assert isinstance(work["durationInMillis"], int)
    [deadline] = [a for a in history if a["activityId"] == "deadline"]
    assert deadline["activityType"] == "boundaryEvent" and deadline["canceled"] is False
    assert deadline["endTime"] is not None
    assert _occurrences(rest, instance, "escalate") == [(False, False)]
    # the reminder fired on the way is listed once per firing (one path each); none is left waiting
    reminders = _occurrences(rest, instance, "send_reminder")
    assert reminders and _occurrences(rest, instance, "remind") == reminders == [(True, False)] * len(reminders)
    assert [a["activityId"] for a in history if a["endTime"] is None] == ["escalate"]
    tasks = rest.ok(rest.get(f"/history/task?processInstanceId={instance}"))
    assert {t["taskDefinitionKey"]: t["deleteReason"] for t in tasks} == {"work": "deleted", "escalate": None}


def test_a_non_interrupting_message_leaves_the_task_active(rest):
    instance = rest.start("boundary_messages")["id"]
    rest.ok(rest.post("/message", json={"messageName": "note_added", "processInstanceId": instance}), 204)
    assert _occurrences(rest, instance, "note") == [(True, False)]
    assert _occurrences(rest, instance, "noted") == [(True, False)]
    assert _occurrences(rest, instance, "m_work") == [(False, False)]
    assert rest.ok(rest.get(f"/task?processInstanceId={instance}"))[0]["taskDefinitionKey"] == "m_work"
    assert _occurrences(rest, instance, "withdrawn") == []


def test_an_interrupting_message_cancels_the_task(rest):
    instance = rest.start("boundary_messages")["id"]
    rest.ok(rest.post("/message", json={"messageName": "order_withdrawn", "processInstanceId": instance}), 204)
    assert _occurrences(rest, instance, "m_work") == [(True, True)]
    assert _occurrences(rest, instance, "withdrawn") == [(True, False)]
    assert _occurrences(rest, instance, "ended_withdrawn") == [(True, False)]
    assert _occurrences(rest, instance, "note") == []
    state = rest.ok(rest.get(f"/history/process-instance?processInstanceId={instance}"))[0]["state"]
    assert state == "COMPLETED"


def test_an_error_on_an_external_task_cancels_it_and_lists_the_boundary_once(rest):
    instance = rest.start("external_charge")["id"]
    assert _occurrences(rest, instance, "charge") == [(False, False)]  # at the task while a worker has it
    [task] = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "charge-card", "lockDuration": 60000}]}))
    rest.ok(rest.post(f"/external-task/{task['id']}/bpmnError",
                      json={"workerId": "w1", "errorCode": "card-declined"}), 204)
    assert _occurrences(rest, instance, "charge") == [(True, True)]
    assert _occurrences(rest, instance, "declined") == [(True, False)]
    assert _occurrences(rest, instance, "call_customer") == [(False, False)]
    assert rest.ok(rest.get(f"/history/activity-instance/count?processInstanceId={instance}")) == {"count": 4}


def test_a_completed_external_task_is_left_not_cancelled(rest):
    instance = rest.start("external_charge")["id"]
    [task] = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "charge-card", "lockDuration": 60000}]}))
    rest.ok(rest.post(f"/external-task/{task['id']}/complete", json={"workerId": "w1"}), 204)
    assert _occurrences(rest, instance, "charge") == [(True, False)]
    assert _occurrences(rest, instance, "declined") == []
    assert _occurrences(rest, instance, "ship") == [(False, False)]


def test_error_and_escalation_boundaries_of_a_sub_process(rest):
    instance = rest.start("boundary_subprocess")["id"]
    order = [a["activityId"] for a in _history(rest, instance)]
    assert order[:3] == ["s_start", "attempt", "a_start"]  # the sub-process is entered before what it runs
    assert _occurrences(rest, instance, "attempt") == [(True, True)]  # ended by the error it threw
    assert _occurrences(rest, instance, "caught") == [(True, False)]
    assert _occurrences(rest, instance, "flagged") == [(True, False)]  # non-interrupting: once
    assert _occurrences(rest, instance, "looked_at") == [(True, False)]
    assert _occurrences(rest, instance, "try_it") == [(True, False)]
    assert _occurrences(rest, instance, "recover") == [(False, False)]
    assert rest.ok(rest.get(f"/task?processInstanceId={instance}"))[0]["taskDefinitionKey"] == "recover"
