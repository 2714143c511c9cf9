"""A server restart in the middle of a process loses nothing.

A "restart" is a new app object built on the same database: a fresh
SQLAlchemy engine, a fresh workflow engine with empty spec caches, and the
start-up chores (migrations, `ensure_admin`) run again. Everything an
instance needs must therefore come from the database.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import ProcessDefinition, User
from config import TestConfig

from ..conftest import make_config
from ..factories import ApiClient, fixture


@pytest.fixture
def restart(database_url):
    """Build a new app on the test database, as a restarted server would be; disposed after the test."""
    apps = []

    def build(**overrides):
        new_app = create_app(make_config(database_url, **overrides))
        apps.append(new_app)
        return new_app

    yield build
    for new_app in apps:
        with new_app.app_context():
            db.session.remove()
            db.engine.dispose()


def _events(client: ApiClient, instance_id: str) -> list[dict]:
    response = client.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_an_instance_started_before_a_restart_completes_after_it(app, admin, make, restart):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks", {"customer": "ACME", "amount": 42}, business_key="DEAL-7")
    admin.complete(started["tasks"][0]["id"], {"note": "a"})

    new_app = restart()
    assert new_app.extensions["stagecoach.engine"] is not app.extensions["stagecoach.engine"]
    make.user("sam", groups=["staff"])
    sam = ApiClient.login(new_app, "sam", "secret")

    inbox = sam.get("/api/v1/tasks?mine=true").get_json()
    assert [t["element_id"] for t in inbox["items"]] == ["task_b"]
    after_b = sam.complete(inbox["items"][0]["id"], {"note": "b"})
    assert after_b["status"] == "running"
    [task_c] = after_b["tasks"]
    assert task_c["element_id"] == "task_c" and task_c["candidate_groups"] == ["staff"]
    done = sam.complete(task_c["id"], {"note": "c"})
    assert done == {"process_instance_id": started["id"], "status": "completed", "tasks": []}

    new_admin = ApiClient.login(new_app, "admin", TestConfig.ADMIN_PASSWORD)
    instance = new_admin.instance(started["id"])
    assert instance["status"] == "completed" and instance["business_key"] == "DEAL-7"
    assert instance["variables"] == {"customer": "ACME", "amount": 42, "note": "c"}
    events = _events(new_admin, started["id"])
    assert events[0]["type"] == "instance_started"
    assert [(e["element_id"], e["user"], e["data"]) for e in events if e["type"] == "task_completed"] == [
        ("task_a", "admin", {"note": "a"}), ("task_b", "sam", {"note": "b"}), ("task_c", "sam", {"note": "c"})]
    assert events[-1]["type"] == "status_changed" and events[-1]["data"] == {"from": "running", "to": "completed"}


def test_a_parallel_instance_half_done_before_a_restart_joins_after_it(admin, restart):
    admin.deploy(fixture("valid", "parallel_tasks.bpmn"))
    started = admin.start("parallel_tasks", {"case": 1})
    ids = {t["element_id"]: t["id"] for t in started["tasks"]}
    admin.complete(ids["left"])

    new_admin = ApiClient.login(restart(), "admin", TestConfig.ADMIN_PASSWORD)
    assert [t["element_id"] for t in new_admin.instance(started["id"])["tasks"]] == ["right"]
    done = new_admin.complete(ids["right"])

    assert done["status"] == "completed"
    instance = new_admin.instance(started["id"])
    assert instance["variables"] == {"case": 1}
    assert instance["tasks"] == [] and instance["active_activities"] == []
    assert sorted(e["element_id"] for e in _events(new_admin, started["id"]) if e["type"] == "task_completed") \
        == ["left", "right"]


def test_an_instance_in_error_before_a_restart_is_repaired_and_retried_after_it(admin, restart):
    admin.deploy(fixture("valid", "failing_script.bpmn"))
    started = admin.start("failing_script", {"divisor": 0})
    assert started["status"] == "error" and started["tasks"] == []

    new_admin = ApiClient.login(restart(), "admin", TestConfig.ADMIN_PASSWORD)
    broken = new_admin.instance(started["id"])
    assert broken["status"] == "error"
    [incident] = broken["incidents"]
    assert incident["element_id"] == "compute" and "ZeroDivisionError" in incident["message"]
    assert incident["resolved_at"] is None

    patched = new_admin.patch(f"/api/v1/process-instances/{started['id']}/variables",
                              json={"variables": {"divisor": 4}})
    assert patched.status_code == 200, patched.get_json()
    retried = new_admin.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    body = retried.get_json()
    assert body["status"] == "running"
    assert [t["element_id"] for t in body["tasks"]] == ["after"]
    assert body["variables"] == {"divisor": 4, "result": 25.0}

    new_admin.complete(body["tasks"][0]["id"])
    repaired = new_admin.instance(started["id"])
    assert repaired["status"] == "completed"
    assert repaired["variables"] == {"divisor": 4, "result": 25.0}
    [incident] = repaired["incidents"]
    assert incident["resolved_at"] is not None and incident["resolution"] == "retried"


def test_restarting_runs_migrations_and_admin_creation_again_harmlessly(app, admin, make, restart):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    make.user("alice", groups=["staff", "sales"])

    first, second = restart(), restart()

    for new_app in (first, second):
        with new_app.app_context():
            assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "admin")) == 1
            alice = db.session.scalar(select(User).where(User.username == "alice"))
            assert alice.group_names == ["sales", "staff"]
            assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 1
            db.session.remove()
        new_admin = ApiClient.login(new_app, "admin", TestConfig.ADMIN_PASSWORD)
        assert new_admin.get("/api/v1/process-definitions").get_json()["total"] == 1
        ApiClient.login(new_app, "alice", "secret")
    # The admin's password is the one set on first start, not overwritten by a restart.
    assert ApiClient(second, None).client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "something-else"}).status_code == 401


def test_a_token_issued_before_a_restart_is_accepted_after_it(admin, restart):
    """Tokens are signed with SECRET_KEY, so they survive a restart when the key is configured."""
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")

    same_token = ApiClient(restart(), admin.token, "admin")

    assert same_token.instance(started["id"])["status"] == "running"
    assert same_token.complete(started["tasks"][0]["id"])["status"] == "running"
