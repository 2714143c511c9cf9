"""POST /api/v1/migrations and POST /api/v1/process-instances/{id}/modification over HTTP.

Scenarios run on one server and again across a restart between the migration (or modification) and
the rest of the run, so the state the migration stored is what a fresh engine loads and runs to its end.
Diagrams: tests/fixtures/bpmn/migration (written for these tests).
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.jobs.runner import run_due_jobs
from app.extensions import db

from ..factories import ApiClient, assert_problem, fixture

PATH = "/api/v1/migrations"


def _deploy(client: ApiClient, name: str) -> str:
    [definition] = client.deploy(fixture("migration", name))["definitions"]
    return definition["id"]


def _history(client: ApiClient, instance_id: str) -> list[dict]:
    response = client.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _task(client: ApiClient, instance_id: str) -> dict:
    [task] = client.instance(instance_id)["tasks"]
    return task


def _migrate(client: ApiClient, expect: int = 200, **body) -> dict:
    response = client.post(PATH, json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def _by_instance(answer: dict) -> dict[str, dict]:
    return {item["instance_id"]: item for item in answer["instances"]}


# -- elements added, removed, renamed; a waiting user task -------------------------------------------------------

def test_waiting_tasks_move_across_added_removed_and_renamed_elements_keeping_their_people_and_data(server, make):
    admin = server.login()
    make.user("sam", groups=["staff"])
    sam = ApiClient.login(server.app, "sam", "secret")
    v1 = _deploy(admin, "order_v1.bpmn")
    at_review = admin.start("order", {"customer": "ACME"})["id"]
    at_ship = admin.start("order", {"customer": "Globex"})["id"]
    admin.complete(_task(admin, at_ship)["id"], {"note": "checked"})
    ship_task = _task(admin, at_ship)
    assert sam.post(f"/api/v1/tasks/{ship_task['id']}/claim").status_code == 200
    admin.patch(f"/api/v1/process-instances/{at_ship}/variables", json={"variables": {"note": "fragile"}})
    at_notify = admin.start("order", {"customer": "Initech"})["id"]
    admin.complete(_task(admin, at_notify)["id"])
    admin.complete(_task(admin, at_notify)["id"])
    v2 = _deploy(admin, "order_v2.bpmn")

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=v2, mapping={"ship": "dispatch"},
                      instance_ids=[at_review, at_ship, at_notify])

    assert answer["status"] == "completed" and answer["id"]
    assert (answer["total"], answer["migrated"], answer["refused"], answer["pending"]) == (3, 2, 1, 0)
    items = _by_instance(answer)
    assert items[at_review]["status"] == items[at_ship]["status"] == "migrated"
    assert items[at_notify]["status"] == "refused"
    assert [(r["element_id"], r["reason"]) for r in items[at_notify]["reasons"]] == [("notify", "no-counterpart")]

    moved = _task(admin, at_ship)
    assert moved["id"] == ship_task["id"]  # the same task, renamed: not a new one
    assert (moved["element_id"], moved["name"]) == ("dispatch", "Dispatch order")
    assert moved["assignee"] == "sam" and moved["candidate_groups"] == ["staff"]
    assert admin.instance(at_ship)["definition"] == {"id": v2, "key": "order", "version": 2}
    assert admin.instance(at_notify)["definition"]["id"] == v1
    [migrated] = [e for e in _history(admin, at_ship) if e["type"] == "migrated"]
    assert migrated["user"] == "admin"
    assert migrated["data"]["from"] == {"definition_id": v1, "key": "order", "version": 1}
    assert migrated["data"]["to"] == {"definition_id": v2, "key": "order", "version": 2}
    assert not [e for e in _history(admin, at_notify) if e["type"] == "migrated"]

    server.restart()
    admin = server.admin
    sam = ApiClient.login(server.app, "sam", "secret")
    form = sam.get(f"/engine-rest/task/{moved['id']}/form-variables",
                   headers={"Authorization": f"Bearer {sam.token}"}).get_json()
    assert form["note"]["value"] == "fragile"
    assert sam.complete(moved["id"], {"note": "sent"})["status"] == "completed"
    after_review = admin.complete(_task(admin, at_review)["id"], {"note": "ok"})
    assert [t["element_id"] for t in after_review["tasks"]] == ["dispatch"]  # through the added stock check
    assert admin.instance(at_review)["variables"]["in_stock"] is True
    assert admin.complete(after_review["tasks"][0]["id"])["status"] == "completed"
    assert admin.complete(_task(admin, at_notify)["id"])["status"] == "completed"  # the refused one runs on v1


def test_a_dry_run_answers_per_instance_and_changes_nothing(admin):
    v1 = _deploy(admin, "order_v1.bpmn")
    at_review = admin.start("order")["id"]
    at_ship = admin.start("order")["id"]
    admin.complete(_task(admin, at_ship)["id"])
    v2 = _deploy(admin, "order_v2.bpmn")
    before = {i: (admin.instance(i), _history(admin, i)) for i in (at_review, at_ship)}

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=v2, filter={}, dry_run=True)

    assert answer["dry_run"] is True and answer["id"] is None
    assert (answer["total"], answer["migratable"], answer["refused"]) == (2, 1, 1)
    items = _by_instance(answer)
    assert items[at_review]["status"] == "migratable"
    assert [r["element_id"] for r in items[at_ship]["reasons"]] == ["ship"]
    assert answer["changes"]["added"] == ["check_stock", "dispatch"]
    assert answer["changes"]["removed"] == ["notify", "ship"]
    assert {i: (admin.instance(i), _history(admin, i)) for i in (at_review, at_ship)} == before
    assert admin.get(PATH).get_json()["total"] == 0  # no batch was made


def test_an_instance_may_move_to_another_process(server):
    admin = server.login()
    v1 = _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order")["id"]
    other = _deploy(admin, "shipment.bpmn")

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=other, instance_ids=[instance])

    assert answer["migrated"] == 1
    details = admin.instance(instance)
    assert details["definition"]["key"] == "shipment"
    assert admin.get(f"/api/v1/process-instances?key=shipment").get_json()["total"] == 1
    server.restart()
    done = server.admin.complete(_task(server.admin, instance)["id"])
    assert done["status"] == "running"  # at the external task of the new process
    assert [a["element_id"] for a in server.admin.instance(instance)["active_activities"]] == ["label"]


# -- a waiting timer --------------------------------------------------------------------------------------------

def test_a_waiting_timer_keeps_its_due_time_and_fires_onto_the_targets_path(clock, server):
    admin = server.login()
    v1 = _deploy(admin, "reminder_v1.bpmn")
    instance = admin.start("reminder")["id"]
    [job] = admin.get("/api/v1/jobs").get_json()["items"]
    v2 = _deploy(admin, "reminder_v2.bpmn")  # waits three hours, not one

    assert _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[instance])["migrated"] == 1

    [after] = [j for j in admin.get("/api/v1/jobs").get_json()["items"] if j["kind"] == "timer"]
    assert after["due_at"] == job["due_at"]
    server.restart()
    clock.shift(dt.timedelta(minutes=59))
    assert server.fire()["done"] == 0
    clock.shift(dt.timedelta(minutes=2))  # past the hour the instance was waiting for; v2's three are far off
    assert server.fire()["done"] == 1
    details = server.login().instance(instance)
    assert details["variables"]["path"] == "new"
    assert [t["element_id"] for t in details["tasks"]] == ["follow_up"]


# -- a waiting message catch ----------------------------------------------------------------------------------------

def test_a_message_sent_after_migration_reaches_the_migrated_catch(server):
    admin = server.login()
    v1 = _deploy(admin, "reply_v1.bpmn")
    instance = admin.start("reply", business_key="R-1")["id"]
    v2 = _deploy(admin, "reply_v2.bpmn")

    assert _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[instance])["migrated"] == 1

    server.restart()
    admin = server.admin
    sent = admin.post("/api/v1/messages", json={"name": "customer-reply", "business_key": "R-1",
                                                "variables": {"answer": "yes"}})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["delivered"] == [instance]
    details = admin.instance(instance)
    assert [t["element_id"] for t in details["tasks"]] == ["handle_reply"]
    assert details["variables"]["answer"] == "yes"


# -- multi-instance ---------------------------------------------------------------------------------------------

def test_an_unchanged_multi_instance_migrates_and_a_changed_one_is_refused(server):
    admin = server.login()
    v1 = _deploy(admin, "signoff_v1.bpmn")
    instance = admin.start("signoff", {"approvers": ["ann", "bob", "cy"]})["id"]
    tasks = admin.instance(instance)["tasks"]
    admin.complete(tasks[0]["id"])
    v2 = _deploy(admin, "signoff_v2.bpmn")
    v3 = _deploy(admin, "signoff_v3.bpmn")

    refused = _migrate(admin, source_definition_id=v1, target_definition_id=v3, instance_ids=[instance])
    [item] = refused["instances"]
    assert item["status"] == "refused"
    assert [(r["element_id"], r["reason"]) for r in item["reasons"]] == [("approve", "multi-instance-changed")]
    assert "sequential" in item["reasons"][0]["message"]

    assert _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[instance])["migrated"] == 1
    server.restart()
    admin = server.admin
    open_tasks = admin.instance(instance)["tasks"]
    assert sorted(t["assignee"] for t in open_tasks) == ["bob", "cy"]
    for task in open_tasks:
        last = admin.complete(task["id"])
    assert [t["element_id"] for t in last["tasks"]] == ["summary"]
