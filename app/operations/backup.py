"""Backing the database up while the server runs (`flask db-backup FILE`).

- SQLite: sqlite3's online backup API copies the database into FILE, a
  complete SQLite database of one consistent moment (the WAL's committed
  pages included). It copies in one step, as one read transaction: in WAL
  mode writers go on meanwhile (copying in several steps would start over
  each time another process writes, and never end on a busy server).
- PostgreSQL: `pg_dump --format=custom` (it reads one snapshot; writers go
  on), run with the password in its environment, never on its command line.

Restoring is done with the server stopped (docs/operations.md): an SQLite
backup file becomes the database file; a PostgreSQL dump goes into an empty
database with `pg_restore`.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be taken (nothing usable was written)."""


def backup(database_url: str, target: Path) -> str:
    """Copy the database at `database_url` into `target`; returns a one-line description."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_backup(url.database, target)
    if url.get_backend_name() == "postgresql":
        return _pg_dump(url, target)
    raise BackupError(f"no backup method for {url.get_backend_name()} databases")


def _sqlite_backup(path: str | None, target: Path) -> str:
    if not path or path == ":memory:" or not Path(path).exists():
        raise BackupError("the SQLite database is not a file that exists")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(path, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, whatever the original's journal
    finally:
        copy.close()
        source.close()
    os.replace(partial, target)
    return f"SQLite database copied to {target} ({target.stat().st_size} bytes)"


def _pg_dump(url, target: Path) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not on PATH (install PostgreSQL's client programs)")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    partial = target.with_name(target.name + ".partial")
    result = subprocess.run([pg_dump, "--format=custom", "--no-owner", "--file", str(partial), "--dbname", dsn],
                            env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    os.replace(partial, target)
    return f"PostgreSQL database dumped to {target} ({target.stat().st_size} bytes, pg_dump custom format)"
