"""Migration 0006 carries delegations made before it (kept only in the history) over into the new task columns.

Runs on its own SQLite file, whatever TEST_DATABASE_URL says: the schema is
upgraded to 0005, rows are written as the server then wrote them, and the
upgrade to 0006 must fill `owner` and `delegation_state`.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from ..migrating import DatabaseAt
from ..timing import real_now

NOW = real_now().replace(microsecond=0) - dt.timedelta(days=1)  # rows written the day before the upgrade


def _task(task_id: str, assignee: str | None, state: str = "open") -> dict:
    return {"id": task_id, "instance_id": "i1", "definition_id": "d1", "process_key": "p", "element_id": task_id,
            "name": task_id, "assignee": assignee, "candidate_users": [], "candidate_groups": [], "state": state,
            "created_at": NOW}


def _event(type_: str, task_id: str, **data) -> dict:
    return {"instance_id": "i1", "type": type_, "at": NOW, "element_id": task_id, "data": {"task_id": task_id, **data}}


def test_upgrading_to_0006_fills_owner_and_delegation_state_from_the_history(tmp_path):
    database = DatabaseAt(tmp_path, "0005_task_follow_up_priority")
    engine = database.engine
    tasks, history = database.table("human_task"), database.table("history_event")
    with engine.begin() as conn:
        conn.execute(tasks.insert(), [_task("pending", "dave"), _task("twice", "erin"), _task("resolved", "alice"),
                                      _task("handed", "bob"), _task("done", "carol", state="completed")])
        conn.execute(history.insert(), [
            _event("task_delegated", "pending", delegation="pending", **{"from": "alice", "to": "dave"}),
            _event("task_delegated", "twice", delegation="pending", **{"from": "alice", "to": "dave"}),
            _event("task_delegated", "twice", delegation="pending", **{"from": "dave", "to": "erin"}),
            _event("task_delegated", "resolved", delegation="pending", **{"from": "alice", "to": "dave"}),
            _event("task_resolved", "resolved", **{"from": "dave", "to": "alice"}),
            {**_event("task_delegated", "handed"), "data": {"from": "amy", "to": "bob"}},  # /api/v1: no task_id
            _event("task_delegated", "done", delegation="pending", **{"from": "amy", "to": "carol"}),
        ])

    database.upgrade()
    with engine.connect() as conn:
        rows = {r.id: (r.owner, r.delegation_state) for r in conn.execute(sa.text(
            "SELECT id, owner, delegation_state FROM human_task"))}
    database.close()

    assert rows == {"pending": ("alice", "PENDING"), "twice": ("alice", "PENDING"),
                    "resolved": ("alice", "RESOLVED"), "handed": (None, None), "done": (None, None)}
