"""Fixtures: app (migrated once per session), clean tables per test, client, factories.

TEST_DATABASE_URL picks the database (default: a SQLite file in a temporary
folder). Services commit for real (concurrency and restart tests need real
commits), so isolation comes from emptying every table after each test
rather than from a rolled-back outer transaction.
"""
from __future__ import annotations

import os
from pathlib import Path

import datetime as dt

import pytest
import time_machine
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from config import TestConfig, normalise_database_url

from .factories import ApiClient, Factories

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bpmn"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        if url.startswith("postgresql"):
            _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'stagecoach-test.db'}"


def make_config(database_url: str, **overrides):
    return type("Cfg", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@pytest.fixture(scope="session")
def app(database_url):
    application = create_app(make_config(database_url))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


def _active_rows_disagree() -> list:
    """The instances whose active_activity rows are not their stored workflow's active elements: after
    every test, whatever it drove, the rows a step writes only where they changed say what the state says."""
    from collections import Counter

    from app.engine.outcome import active_elements
    from app.models import ActiveActivity, ProcessInstance
    from app.services.core import definition_info, load_workflow

    wrong = []
    for inst in db.session.query(ProcessInstance).filter(ProcessInstance.ended_at.is_(None)).all():
        if not inst.state:
            continue
        try:
            wf = load_workflow(definition_info(inst.definition_id), inst.state)
        except Exception:  # noqa: BLE001 - a state a test wrote by hand, which no step wrote rows for
            continue
        want = Counter((a["element_id"], a["state"]) for a in active_elements(wf))
        have = Counter((r.element_id, r.state) for r in db.session.query(ActiveActivity)
                       .filter(ActiveActivity.instance_id == inst.id))
        if want != have:
            wrong.append((inst.id, inst.status, dict(want), dict(have)))
    return wrong


@pytest.fixture(autouse=True)
def _clean_tables(request, app):
    yield
    with app.app_context():
        db.session.remove()
        if request.node.get_closest_marker("hand_written_rows") is None:
            wrong = _active_rows_disagree()
            db.session.remove()
            assert not wrong, f"active_activity rows differ from the stored state (instance, status, state, rows): {wrong}"
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in {"app_user", "app_group", "user_group"}:
                    conn.execute(table.delete())
            conn.execute(db.metadata.tables["user_group"].delete())
            conn.execute(db.metadata.tables["app_group"].delete())
            conn.execute(text("DELETE FROM app_user WHERE username <> 'admin'"))
        from app.services.modules import ensure_builtin_modules
        ensure_builtin_modules()  # the cleaning removed them with every other module
        from app.services.authorizations import restore_default_grants
        restore_default_grants()
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make(app) -> Factories:
    return Factories(app)


@pytest.fixture
def clock():
    """Time the test owns: frozen at the real now, moved with `clock.shift(timedelta)` or `clock.move_to(moment)`.

    time-machine patches the clock for the whole process (the app's clock, SpiffWorkflow's timers,
    token signatures, worker threads), so everything the test drives sees the same moment. Ask for
    it before `admin` (or log in after it) so tokens are issued by the frozen clock.
    """
    with time_machine.travel(dt.datetime.now(dt.timezone.utc), tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(app) -> ApiClient:
    return ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)


@pytest.fixture
def bpmn_path():
    def path(*parts: str) -> Path:
        return FIXTURES.joinpath(*parts)
    return path


@pytest.fixture(params=["one_server", "restarted"])
def server(request, app, database_url):
    """The server a scenario talks to: one app, or a new one on the same database after `restart()`
    (`tests/api/servers.py`), so a scenario runs on one server and across a restart."""
    from .api.servers import Server  # it builds apps with this module's make_config

    srv = Server(app, database_url, restarts=request.param == "restarted")
    yield srv
    for built in srv.built:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def case_sla(clock, admin, make):
    """The shipped Case SLA deployed, and the analytics scenario's twelve cases written as its activity rows
    (tests/api/analytics_data.py): (definition id, the cases)."""
    from .api import analytics_data as data
    from .factories import shipped

    definition_id = admin.deploy(shipped("sla", "case_sla.bpmn"))["definitions"][0]["id"]
    made = data.cases(dt.datetime.now(dt.timezone.utc))
    data.write(make, definition_id, made)
    return definition_id, made
