"""Migration 0019 gives the active activities written before it their instance's definition.

Runs on its own SQLite file, whatever TEST_DATABASE_URL says: the schema is upgraded to 0011, rows are
written as the server then wrote them (no definition on an active activity), and the upgrade to 0019
must fill it from each row's instance.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from ..migrating import DatabaseAt
from ..timing import real_now

NOW = real_now().replace(microsecond=0) - dt.timedelta(days=1)


def _instance(instance_id: str, definition_id: str) -> dict:
    return {"id": instance_id, "definition_id": definition_id, "process_key": "p", "status": "running",
            "variables": {}, "state": "{}", "state_version": 1, "started_at": NOW, "updated_at": NOW,
            "lock_version": 1, "subscribed": False}


def _active(instance_id: str, element_id: str) -> dict:
    return {"instance_id": instance_id, "element_id": element_id, "element_name": element_id,
            "element_type": "UserTask", "state": "ready"}


def test_upgrading_to_0017_gives_each_active_activity_its_instances_definition(tmp_path):
    database = DatabaseAt(tmp_path, "0011_scoring")
    engine = database.engine
    instances, active = database.table("process_instance"), database.table("active_activity")
    with engine.begin() as conn:
        conn.execute(instances.insert(), [_instance("i1", "d1"), _instance("i2", "d2")])
        conn.execute(active.insert(), [_active("i1", "a"), _active("i1", "b"), _active("i2", "a")])

    database.upgrade("0017_activity_definition")
    with engine.connect() as conn:
        rows = sorted(conn.execute(sa.text("SELECT instance_id, element_id, definition_id FROM active_activity")))
        indexes = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("active_activity")}
    database.close()

    assert rows == [("i1", "a", "d1"), ("i1", "b", "d1"), ("i2", "a", "d2")]
    assert indexes["ix_active_activity_definition"] == ["definition_id", "element_id", "instance_id"]
