"""Fixtures of the HTTP tests."""
from __future__ import annotations

import pytest

from app.extensions import db

from .servers import Server


@pytest.fixture(params=["one_server", "restarted"])
def server(request, app, database_url):
    srv = Server(app, database_url, restarts=request.param == "restarted")
    yield srv
    for built in srv.built:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()
