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
