"""SQLite's write lock: a write waits for it up to LOCK_TIMEOUT_MS, then answers 409 instance-busy; reads go on.

A request reads who is calling in a read transaction, then begins its write transaction with
`BEGIN IMMEDIATE` on the same connection. Another connection holds the database's write lock here (as a long
write elsewhere would); nothing sleeps: the request itself waits for the busy timeout.
"""
from __future__ import annotations

import sqlite3

import pytest

from ..factories import ApiClient, fixture


@pytest.fixture(autouse=True)
def _sqlite_only(is_postgres):
    if is_postgres:
        pytest.skip("SQLite's database-wide write lock; test_locking covers PostgreSQL's row locks")


@pytest.fixture
def write_lock(database_url):
    """Another connection holding the database's write lock until the test ends the `with`."""
    class Holder:
        def __enter__(self):
            self.conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
            return self

        def __exit__(self, *exc):
            self.conn.execute("ROLLBACK")
            self.conn.close()
    return Holder()


def test_a_write_while_another_holds_the_lock_is_409_instance_busy_then_succeeds(admin, make, short_lock_app,
                                                                                 write_lock):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")
    task = started["tasks"][0]
    make.user("wendy", groups=["staff"])
    worker = ApiClient.login(short_lock_app, "wendy", "secret")

    with write_lock:
        response = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
        read = worker.get(f"/api/v1/tasks/{task['id']}")  # reading needs no write lock
        claim = worker.post(f"/api/v1/tasks/{task['id']}/claim")

    assert response.status_code == 409, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/instance-busy"
    assert int(response.headers["Retry-After"]) >= 1
    assert read.status_code == 200 and read.get_json()["state"] == "open"
    assert claim.status_code == 409 and claim.get_json()["type"] == "/problems/instance-busy"

    done = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
    assert done.status_code == 200, done.get_json()
    assert [t["element_id"] for t in done.get_json()["tasks"]] == ["task_b"]


def test_a_write_transaction_begun_afresh_waits_for_the_lock_then_is_instance_busy(short_lock_app, write_lock):
    """A write transaction on a session that has read nothing begins with BEGIN IMMEDIATE as the connection
    begins (not by switching a read transaction): the same wait, and the same InstanceBusyError."""
    from sqlalchemy import text

    from app.errors import InstanceBusyError
    from app.extensions import db
    from app.services.core.transactions import write_transaction

    with short_lock_app.app_context():
        db.session.remove()
        with write_lock:
            with pytest.raises(InstanceBusyError):
                with write_transaction():
                    pytest.fail("the transaction began without the write lock")
        with write_transaction():
            db.session.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER)"))
            db.session.execute(text("INSERT INTO lock_probe VALUES (1)"))
        assert db.session.execute(text("SELECT count(*) FROM lock_probe")).scalar() == 1
        db.session.rollback()
        with write_transaction():
            db.session.execute(text("DROP TABLE lock_probe"))
