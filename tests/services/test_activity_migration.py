"""Migration 0019 moves the two-event activity history (entered, left) into one activity row per occurrence.

Runs on its own SQLite file, whatever TEST_DATABASE_URL says: the schema is upgraded to 0018, history
is written as the server then wrote it, and the upgrade must pair it into activity rows, keep every other
history row, and name the end event of a completed instance.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from ..migrating import DatabaseAt
from ..timing import real_now

T0 = real_now().replace(microsecond=0) - dt.timedelta(days=2)  # rows written before the upgrade


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _instance(instance_id: str, status: str, ended: bool) -> dict:
    return {"id": instance_id, "definition_id": "d1", "process_key": "p", "status": status, "variables": {},
            "state": "{}", "state_version": 1, "started_at": at(0), "ended_at": at(100) if ended else None,
            "updated_at": at(100), "lock_version": 1, "subscribed": False}


def _event(instance_id: str, type_: str, seconds: int, element_id: str | None = None,
           element_type: str | None = None) -> dict:
    return {"instance_id": instance_id, "type": type_, "at": at(seconds), "element_id": element_id,
            "element_name": element_id, "element_type": element_type}


def test_upgrading_to_0019_pairs_entered_and_left_into_activity_rows(tmp_path):
    database = DatabaseAt(tmp_path, "0018_open_task_due")
    engine = database.engine
    instances, history = database.table("process_instance"), database.table("history_event")
    with engine.begin() as conn:
        conn.execute(instances.insert(), [_instance("done", "completed", True), _instance("open", "running", False)])
        conn.execute(history.insert(), [
            _event("done", "instance_started", 0),
            _event("done", "element_entered", 0, "start", "StartEvent"),
            _event("done", "element_left", 0, "start", "StartEvent"),
            _event("done", "element_entered", 1, "review", "UserTask"),  # a loop: entered twice
            _event("done", "element_left", 11, "review", "UserTask"),
            _event("done", "element_entered", 12, "review", "UserTask"),
            _event("done", "element_cancelled", 14, "review", "UserTask"),
            _event("done", "element_entered", 15, "end", "EndEvent"),
            _event("done", "element_left", 15, "end", "EndEvent"),
            _event("done", "status_changed", 15),
            _event("open", "element_entered", 5, "wait", "ReceiveTask"),
        ])

    database.upgrade()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT instance_id, element_id, state, duration_ms, task_id, definition_id, process_key "
            "FROM activity_instance ORDER BY id")).all()
        left = [r.type for r in conn.execute(sa.text("SELECT type FROM history_event ORDER BY id"))]
        ends = dict(conn.execute(sa.text("SELECT id, end_element_id FROM process_instance")).all())
    assert [tuple(r) for r in rows] == [
        ("done", "start", "completed", 0, None, "d1", "p"),
        ("done", "review", "completed", 10_000, None, "d1", "p"),
        ("done", "review", "cancelled", 2_000, None, "d1", "p"),
        ("done", "end", "completed", 0, None, "d1", "p"),
        ("open", "wait", "active", None, None, "d1", "p"),
    ]
    assert left == ["instance_started", "status_changed"]
    assert ends == {"done": "end", "open": None}
