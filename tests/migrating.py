"""A database at an earlier migration, to write rows as the server then wrote them and upgrade them.

Always its own SQLite file, whatever TEST_DATABASE_URL says. Rows are written through a plain engine
(no foreign keys enforced: only the rows under test are written).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app

from .conftest import make_config


class DatabaseAt:
    """`DatabaseAt(tmp_path, "0018_open_task_due")`: a fresh file migrated to that revision."""

    def __init__(self, tmp_path: Path, revision: str):
        self.url = f"sqlite:///{tmp_path / f'before-{revision}.db'}"
        self.app = create_app(make_config(self.url, AUTO_UPGRADE=False))
        self.directory = self.app.extensions["migrate"].directory
        self.upgrade(revision)
        self.engine = sa.create_engine(self.url)
        self.metadata = sa.MetaData()

    def table(self, name: str) -> sa.Table:
        """The table as the database has it now (reflected; its expression indexes, which SQLAlchemy does not
        reflect and rows do not need, left out)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index",
                                    sa.exc.SAWarning)
            return sa.Table(name, self.metadata, autoload_with=self.engine)

    def upgrade(self, revision: str = "head") -> None:
        with self.app.app_context():
            upgrade(directory=self.directory, revision=revision)

    def close(self) -> None:
        from app.extensions import db

        self.engine.dispose()
        with self.app.app_context():
            db.engine.dispose()
