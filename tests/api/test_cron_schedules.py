"""A process on a Quartz cron schedule (Camunda 7's `0 0/5 * * * ?` in a timer start event's timeCycle) runs at every
occurrence, with its next run listed as a timer job; it survives a restart. Time travels, nothing sleeps."""
from __future__ import annotations

import datetime as dt

import time_machine

from ..factories import fixture
from ..timing import iso, next_at

NINE_O_ONE = next_at(9, 1, weekday=0)  # the next Monday, 09:01 UTC


def at(minute: int, second: int = 0) -> dt.datetime:
    """A moment of NINE_O_ONE's hour."""
    return NINE_O_ONE.replace(minute=minute, second=second)


def _instances(admin):
    return admin.get("/api/v1/process-instances?key=scheduled_cron").get_json()["items"]


def _jobs(admin):
    return admin.get("/api/v1/jobs").get_json()["items"]


def _ticks(admin, instance_id):
    history = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=1000").get_json()["items"]
    return sum(1 for h in history if h["type"] == "element_left" and h["element_id"] == "tick")


def test_a_cron_schedule_runs_at_every_occurrence_and_lists_the_next_one(server):
    with time_machine.travel(NINE_O_ONE, tick=False) as clock:
        admin = server.login()
        admin.deploy(fixture("events", "scheduled_cron.bpmn"))
        [instance] = _instances(admin)
        first = [j["due_at"] for j in _jobs(admin)]
        server.restart()

        clock.move_to(at(4, 59))
        early = server.fire()
        clock.move_to(at(5, 1))
        on_time = server.fire()
        ticks_after_one = _ticks(server.admin, instance["id"])
        second = [j["due_at"] for j in _jobs(server.admin)]

        server.restart()
        clock.move_to(at(10, 1))
        again = server.fire()
        ticks = _ticks(server.admin, instance["id"])
        still = server.admin.instance(instance["id"])

    assert instance["status"] == "running"
    assert first == [iso(at(5))]
    assert early["done"] == 0 and on_time["done"] == 1 and again["done"] == 1
    assert ticks_after_one == 1 and ticks == 2
    assert second == [iso(at(10))]
    assert still["status"] == "running"
