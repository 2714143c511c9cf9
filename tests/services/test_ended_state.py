"""An instance that ends (completed or cancelled) keeps no engine state; one that lives keeps it, across steps.

Nothing acts on an ended instance, so its serialized workflow is dropped as it ends (migration 0024 drops
the states instances that ended before kept). What it did stays readable from its history, activity
rows and variables.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from app.models import ENDED_STATE

from ..factories import fixture
from ..migrating import DatabaseAt
from ..timing import real_now

INSTANCES = "/api/v1/process-instances"


def _state(app, instance_id: str) -> str:
    from app.extensions import db

    with app.app_context():
        state = db.session.execute(sa.text("SELECT state FROM process_instance WHERE id = :i"),
                                   {"i": instance_id}).scalar_one()
        db.session.remove()
    return state


def _complete_all(admin, started: dict) -> dict:
    body = started
    while body["tasks"]:
        body = admin.complete(body["tasks"][0]["id"], {})
    return body


def test_a_completed_instance_keeps_no_state_and_still_tells_what_it_did(app, admin):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks", {"customer": "Okafor"})
    after_one = admin.complete(started["tasks"][0]["id"], {})
    state = _state(app, started["id"])
    assert json.loads(state)["workflow"], "a running instance keeps its workflow between steps"

    done = _complete_all(admin, after_one)
    assert done["status"] == "completed"
    assert _state(app, started["id"]) == ENDED_STATE

    details = admin.get(f"{INSTANCES}/{started['id']}")
    assert details.status_code == 200, details.get_json()
    assert details.get_json()["status"] == "completed"
    assert details.get_json()["variables"] == {"customer": "Okafor"}
    history = admin.get(f"{INSTANCES}/{started['id']}/history").get_json()
    items = history["items"] if isinstance(history, dict) else history
    completed = [e for e in items if e["type"] == "task_completed"]
    assert [e["element_id"] for e in completed] == ["task_a", "task_b", "task_c"]


def test_a_cancelled_instance_keeps_no_state_and_commands_on_it_are_refused(app, admin):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")
    running = admin.start("three_tasks")
    assert admin.post(f"{INSTANCES}/{started['id']}/cancel", json={"reason": "duplicate"}).status_code == 200
    assert _state(app, started["id"]) == ENDED_STATE
    assert json.loads(_state(app, running["id"]))["workflow"], "the other instance is untouched"

    for refused in (admin.post(f"{INSTANCES}/{started['id']}/retry"),
                    admin.patch(f"{INSTANCES}/{started['id']}/variables", json={"modifications": {"x": 1}}),
                    admin.post(f"{INSTANCES}/{started['id']}/suspend")):
        assert 400 <= refused.status_code < 500, refused.get_json()
        assert refused.content_type == "application/problem+json"
    # the running one still runs to its end after a restore of its state
    assert _complete_all(admin, running)["status"] == "completed"


def _instance(instance_id: str, status: str, state: str) -> dict:
    return {"id": instance_id, "definition_id": "d1", "process_key": "k", "status": status, "variables": {},
            "state": state, "state_version": 1, "started_at": real_now(), "updated_at": real_now(),
            "lock_version": 1, "subscribed": False}


def test_upgrading_to_0024_empties_the_state_of_ended_instances_only(tmp_path):
    database = DatabaseAt(tmp_path, "0023_timeline_node")
    kept = '{"workflow": {"tasks": {}}}'
    with database.engine.begin() as conn:
        conn.execute(database.table("process_instance").insert(), [
            _instance(iid, status, kept) for iid, status in
            (("i1", "completed"), ("i2", "cancelled"), ("i3", "running"), ("i4", "error"), ("i5", "suspended"))])

    database.upgrade()
    with database.engine.connect() as conn:
        states = dict(conn.execute(sa.text("SELECT id, state FROM process_instance ORDER BY id")).all())
    database.close()
    assert states == {"i1": ENDED_STATE, "i2": ENDED_STATE, "i3": kept, "i4": kept, "i5": kept}
