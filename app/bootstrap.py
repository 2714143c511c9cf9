"""Start-up chores: upgrade the schema, create the first admin."""
from __future__ import annotations

import os

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from .extensions import db


def prepare_database(app: Flask) -> None:
    """Upgrade the schema to the newest revision and make sure `admin` exists.

    On PostgreSQL an advisory lock keeps several starting processes from
    upgrading at once.
    """
    from .services.modules import ensure_builtin_modules
    from .services.users import ensure_admin

    pg = db.engine.dialect.name == "postgresql"
    with db.engine.connect() as conn:
        if pg:
            conn.execute(text("SELECT pg_advisory_lock(7406551)"))
            conn.commit()
        try:
            upgrade(directory=app.extensions["migrate"].directory)
            generated = ensure_admin(app.config.get("ADMIN_PASSWORD"))
            ensure_builtin_modules()
            db.session.remove()
        finally:
            if pg:
                conn.execute(text("SELECT pg_advisory_unlock(7406551)"))
                conn.commit()
    if generated:
        path = app.config.get("INITIAL_ADMIN_PASSWORD_FILE")
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(generated + "\n")
        click.echo(f"Created user 'admin' with password: {generated}  (also in {path}; "
                   "set STAGECOACH_ADMIN_PASSWORD to choose it)", err=True)


def settle_heap() -> int:
    """Leave what start-up made out of the garbage collector's full passes; the number of objects set aside.

    A server process holds some 300,000 objects once its app is made (schemas, mappers, parsed diagrams),
    nearly all kept for its whole life; each full collection walked them all, about 0.1 s of one request
    every few dozen. Called once the process is ready to serve (gunicorn's post_worker_init): what is made
    from then on is collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
