"""Fixtures shared by the /engine-rest tests: the app served over real HTTP, for third-party Camunda clients.

A client library talks HTTP, not Flask's test client: `served` runs the session's app in a
werkzeug server on a free localhost port, in a daemon thread, for the whole session (each test
still gets clean tables). `engine_rest` is its Camunda REST base URL.
"""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from config import TestConfig

from ..factories import fixture

CLIENT_BPMN = fixture("valid", "client_order.bpmn")
ADMIN = ("admin", TestConfig.ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def served(app) -> str:
    """The app's root URL (`http://127.0.0.1:PORT`), answered by a threaded werkzeug server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="served-app", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def engine_rest(served) -> str:
    return f"{served}/engine-rest"
