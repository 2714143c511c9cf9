"""Fixtures of the service-level tests."""
from __future__ import annotations

import pytest

from app.extensions import db

from ..conftest import make_config

SHORT_LOCK_TIMEOUT_MS = 200


@pytest.fixture
def short_lock_app(database_url):
    """An app whose writes wait at most SHORT_LOCK_TIMEOUT_MS for a lock (PostgreSQL: an instance's row;
    SQLite: the database's write lock)."""
    from app import create_app

    short = create_app(make_config(database_url, LOCK_TIMEOUT_MS=SHORT_LOCK_TIMEOUT_MS))
    yield short
    with short.app_context():
        db.session.remove()
        db.engine.dispose()
