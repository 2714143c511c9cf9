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


class Orders:
    """Set-up steps the client tests do not test, sent in-process as admin: deploy, start, review, read state."""

    def __init__(self, app):
        from .test_rest import Camunda

        self.rest = Camunda(app, *ADMIN)

    def deploy(self) -> dict:
        return self.rest.ok(self.rest.deploy(CLIENT_BPMN, name="client orders"))

    def start(self, business_key: str | None = None, **variables) -> str:
        typed = {name: {"value": value} for name, value in variables.items()}
        return self.rest.start("client_order", typed, business_key=business_key)["id"]

    def approve(self, instance_id: str) -> None:
        """Complete the review with approved=true: the instance waits at the external task `charge`."""
        [task] = self.rest.ok(self.rest.get(f"/task?processInstanceId={instance_id}"))
        self.rest.ok(self.rest.post(f"/task/{task['id']}/complete", json={
            "variables": {"approved": {"value": True, "type": "Boolean"}}}), 204)

    def open_tasks(self, instance_id: str) -> list[str]:
        return [t["taskDefinitionKey"] for t in self.rest.ok(self.rest.get(f"/task?processInstanceId={instance_id}"))]

    def variables(self, instance_id: str) -> dict:
        """The instance's variables as plain values."""
        typed = self.rest.ok(self.rest.get(f"/process-instance/{instance_id}/variables"))
        return {name: entry["value"] for name, entry in typed.items()}

    def state(self, instance_id: str) -> str:
        """The historic state: ACTIVE, COMPLETED, ..."""
        [row] = self.rest.ok(self.rest.get(f"/history/process-instance?processInstanceId={instance_id}"))
        return row["state"]

    def waiting_at(self, instance_id: str) -> list[str]:
        tree = self.rest.ok(self.rest.get(f"/process-instance/{instance_id}/activity-instances"))
        return sorted(child["activityId"] for child in tree["childActivityInstances"])


@pytest.fixture
def orders(app, make) -> Orders:
    """client_order.bpmn deployed (not by the client under test), and `sam` of the group sales."""
    make.user("sam", groups=["sales"])
    orders = Orders(app)
    orders.deploy()
    return orders
