"""Backup and restore: a database holding a waiting instance is backed up while its server runs, restored into
a fresh database, and a server started on the copy runs the instance to its end (its task, then its timer).

SQLite always (the online backup of `flask db-backup`, restored by copying the file); PostgreSQL when the
suite runs on it and pg_dump / pg_restore are on PATH (`flask db-backup` runs pg_dump, restored with pg_restore
into a new database, as docs/operations.md says).
"""
from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.jobs.runner import run_due_jobs

from ..conftest import make_config
from ..factories import ApiClient, fixture

REVIEW = fixture("operations", "review_then_wait.bpmn")
PASSWORD = "admin-password"


def back_up(app, target) -> None:
    result = app.test_cli_runner().invoke(args=["db-backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.exists()


def start_waiting(admin: ApiClient) -> tuple[str, str]:
    """An instance waiting at its review task: (instance id, task id)."""
    admin.deploy(REVIEW)
    started = admin.start("review_then_wait")
    (task,) = started["tasks"]
    return started["id"], task["id"]


def continue_to_the_end(app, instance_id: str, task_id: str, clock) -> None:
    """On the restored server: the task is still open; complete it, let the hour pass, fire the timer."""
    admin = ApiClient.login(app, "admin", PASSWORD)
    assert admin.instance(instance_id)["status"] == "running"
    admin.complete(task_id)
    clock.shift(dt.timedelta(hours=1, seconds=1))
    with app.app_context():
        assert run_due_jobs()["done"] == 1
        db.session.remove()
    assert admin.instance(instance_id)["status"] == "completed"


def dispose(*apps) -> None:
    for built in apps:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_sqlite_backup_restored_into_a_fresh_database_runs_the_waiting_instance_to_its_end(clock, tmp_path):
    live = create_app(make_config(f"sqlite:///{tmp_path / 'live.db'}"))
    admin = ApiClient.login(live, "admin", PASSWORD)
    instance_id, task_id = start_waiting(admin)
    backup = tmp_path / "backup" / "stagecoach-backup.db"
    backup.parent.mkdir()
    back_up(live, backup)
    admin.complete(task_id)  # the live server goes on: the backup keeps the moment it was taken

    with sqlite3.connect(backup) as check:  # one self-contained file, sound
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    restored_path = tmp_path / "restored" / "stagecoach.db"
    restored_path.parent.mkdir()
    shutil.copyfile(backup, restored_path)  # restoring: the backup file becomes the database file
    restored = create_app(make_config(f"sqlite:///{restored_path}"))
    try:
        continue_to_the_end(restored, instance_id, task_id, clock)
        assert ApiClient.login(live, "admin", PASSWORD).instance(instance_id)["status"] == "running"  # untouched
    finally:
        dispose(live, restored)


def test_a_backup_of_a_database_that_is_no_file_is_refused(tmp_path):
    missing = create_app(make_config(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}", AUTO_UPGRADE=False))
    try:
        result = missing.test_cli_runner().invoke(args=["db-backup", str(tmp_path / "b.db")])
    finally:
        dispose(missing)
    assert result.exit_code != 0
    assert "not a file that exists" in result.output
    assert not (tmp_path / "b.db").exists()


@pytest.mark.postgres
def test_a_postgresql_dump_restored_into_a_new_database_runs_the_waiting_instance_to_its_end(
        clock, app, admin, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the suite runs on SQLite (set TEST_DATABASE_URL to a PostgreSQL database)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not on PATH")
    instance_id, task_id = start_waiting(admin)
    dump = tmp_path / "stagecoach.dump"
    back_up(app, dump)

    url = make_url(database_url)
    fresh = url.set(database=f"{url.database}_restore")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}"'))
        conn.execute(text(f'CREATE DATABASE "{fresh.database}"'))
    restored = None
    try:
        result = subprocess.run(
            ["pg_restore", "--no-owner", "--clean", "--if-exists", "--exit-on-error", "--dbname",
             fresh.set(drivername="postgresql").render_as_string(hide_password=False), str(dump)],
            capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        restored = create_app(make_config(fresh.render_as_string(hide_password=False)))
        continue_to_the_end(restored, instance_id, task_id, clock)
        assert admin.instance(instance_id)["status"] == "running"  # the original is untouched
    finally:
        if restored is not None:
            dispose(restored)
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))
        server.dispose()
