"""A PostgreSQL role that may create tables but not extensions (a managed database where the server's role
does not own the database): the migrations run to the end without pg_trgm, leaving out the trigram index
of business keys only, and business keys are still matched by any part."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from config import TestConfig

from ..conftest import make_config
from ..factories import ApiClient, fixture


@pytest.mark.postgres
def test_the_schema_is_built_without_the_right_to_create_an_extension(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the suite runs on SQLite (set TEST_DATABASE_URL to a PostgreSQL database)")
    url = make_url(database_url)
    name = f"{url.database}_no_extensions"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # owned by the suite's role: no CREATE for the new one
    granting = create_engine(url.set(database=name), isolation_level="AUTOCOMMIT")
    with granting.connect() as conn:
        conn.execute(text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{name}"'))  # tables, not extensions
    granting.dispose()
    limited = None
    try:
        limited = create_app(make_config(url.set(database=name, username=name).render_as_string(
            hide_password=False)))
        with limited.app_context():
            indexes = set(db.session.scalars(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'process_instance'")))
            extensions = set(db.session.scalars(text("SELECT extname FROM pg_extension")))
            version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
            db.session.remove()
        assert "pg_trgm" not in extensions
        assert "ix_process_instance_business_key_trgm" not in indexes
        assert {"ix_process_instance_business_key", "ix_process_instance_started_by"} <= indexes
        from alembic.script import ScriptDirectory
        assert version == ScriptDirectory.from_config(_alembic_config()).get_current_head()

        admin = ApiClient.login(limited, "admin", TestConfig.ADMIN_PASSWORD)
        admin.deploy(fixture("valid", "three_tasks.bpmn"))
        started = admin.start("three_tasks", business_key="ACME-2026")["id"]
        admin.start("three_tasks", business_key="ACME-2025")
        found = admin.get("/engine-rest/process-instance?businessKeyLike=%25-2026").get_json()
        assert [i["id"] for i in found] == [started]
    finally:
        if limited is not None:
            with limited.app_context():
                db.engine.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        server.dispose()


def _alembic_config():
    from pathlib import Path

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parents[2] / "migrations"))
    return config
