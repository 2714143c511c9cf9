"""A variables patch on an instance that waits at an event holds: the next look at the event (a timer checked,
a message delivered) does not bring the old values back. Each scenario on one server and across a restart."""
from __future__ import annotations

import datetime as dt

import time_machine

from ..factories import fixture
from ..timing import next_at

START = next_at(9, weekday=0)
HOUR = dt.timedelta(hours=1)


def patch(admin, instance_id: str, variables: dict):
    response = admin.patch(f"/api/v1/process-instances/{instance_id}/variables", json={"variables": variables})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_patch_while_a_timer_waits_holds_through_checks_and_the_firing(server):
    with time_machine.travel(START, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "timer_then_task.bpmn"))
        started = admin.start("timer_then_task", {"note": "old", "gone": 1})
        patch(admin, started["id"], {"note": "new", "gone": None})
        clock.shift(HOUR / 2)
        server.restart()
        server.fire()  # nothing due: the waiting timer is looked at again
        assert server.admin.instance(started["id"])["variables"] == {"note": "new"}
        clock.shift(HOUR)
        server.fire()
        instance = server.admin.instance(started["id"])
    assert instance["status"] == "completed"
    assert instance["variables"] == {"note": "new", "waited": True}


def test_a_patch_while_a_message_is_awaited_holds_when_it_arrives(server):
    admin = server.login()
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    started = admin.start("wait_for_reply", {"stage": "asked"}, business_key="LEAD-9")
    patch(admin, started["id"], {"stage": "chased"})
    server.restart()
    response = server.admin.post("/api/v1/messages", json={"name": "reply", "business_key": "LEAD-9",
                                                           "variables": {"answer": "yes"}})
    assert response.status_code == 200, response.get_json()
    variables = server.admin.instance(started["id"])["variables"]
    assert variables["stage"] == "chased" and variables["answer"] == "yes"


def test_names_the_engine_keeps_cannot_be_patched_or_set_by_a_modification(server):
    from ..factories import assert_problem
    admin = server.login()
    admin.deploy(fixture("events", "wait_for_reply.bpmn"))
    started = admin.start("wait_for_reply", {"stage": "asked"}, business_key="LEAD-10")
    refused = admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"_x": 1}})
    assert "_x" in assert_problem(refused, 400)["errors"]
    modified = admin.post(f"/api/v1/process-instances/{started['id']}/modification", json={
        "annotation": "try a reserved name", "instructions": [
            {"type": "start_before", "element_id": "got_reply", "variables": {"__class__": 1}}]})
    assert_problem(modified, 400)
    assert "_x" not in admin.instance(started["id"])["variables"]
