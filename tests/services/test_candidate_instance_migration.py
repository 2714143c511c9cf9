"""Migration 0027: each candidate row of an open task carries the task's instance."""
from __future__ import annotations

import sqlalchemy as sa

from ..migrating import DatabaseAt
from ..timing import real_now


def _task(task_id: str, instance_id: str) -> dict:
    return {"id": task_id, "instance_id": instance_id, "definition_id": "d1", "process_key": "k", "element_id": "a",
            "name": "A", "candidate_users": [], "candidate_groups": [], "state": "open", "created_at": real_now()}


def test_upgrading_to_0027_gives_each_candidate_row_its_tasks_instance(tmp_path):
    database = DatabaseAt(tmp_path, "0026_open_task_by_id")
    with database.engine.begin() as conn:
        conn.execute(database.table("human_task").insert(), [_task("t1", "i1"), _task("t2", "i2")])
        conn.execute(database.table("task_candidate").insert(), [
            {"task_id": "t1", "kind": "group", "name": "staff"}, {"task_id": "t1", "kind": "user", "name": "sam"},
            {"task_id": "t2", "kind": "group", "name": "staff"}])

    database.upgrade()
    with database.engine.connect() as conn:
        rows = set(conn.execute(sa.text("SELECT task_id, kind, name, instance_id FROM task_candidate")).all())
    database.close()
    assert rows == {("t1", "group", "staff", "i1"), ("t1", "user", "sam", "i1"), ("t2", "group", "staff", "i2")}


def test_upgrading_to_0031_drops_the_rows_of_closed_tasks_and_closing_a_task_drops_its_rows(tmp_path):
    database = DatabaseAt(tmp_path, "0030_open_task_priority")
    with database.engine.begin() as conn:
        conn.execute(database.table("human_task").insert(),
                     [_task("t1", "i1"), dict(_task("t2", "i2"), state="completed"), _task("t3", "i3")])
        conn.execute(database.table("task_candidate").insert(), [
            {"task_id": "t1", "kind": "group", "name": "staff", "instance_id": "i1"},
            {"task_id": "t2", "kind": "group", "name": "staff", "instance_id": "i2"},
            {"task_id": "t3", "kind": "user", "name": "sam", "instance_id": "i3"}])

    database.upgrade()
    with database.engine.begin() as conn:
        after_upgrade = set(conn.execute(sa.text("SELECT task_id FROM task_candidate")).scalars())
        conn.execute(sa.text("UPDATE human_task SET assignee = 'sam' WHERE id = 't3'"))  # still open: kept
        conn.execute(sa.text("UPDATE human_task SET state = 'cancelled' WHERE id = 't1'"))
        after_close = set(conn.execute(sa.text("SELECT task_id FROM task_candidate")).scalars())
    database.close()
    assert after_upgrade == {"t1", "t3"}
    assert after_close == {"t3"}
