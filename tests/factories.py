"""Test factories: users, authenticated clients, deployments, started instances."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bpmn"
SHIPPED = ROOT / "bpmn"
PROBLEM = "application/problem+json"


def tracking_tokens(body: str, kind: str) -> list[str]:
    """The tokens of a tracked email's click links (`kind` "c") or open pixel ("o"), in order."""
    import re

    from config import TestConfig
    return re.findall(rf"{re.escape(TestConfig.TRACKING_BASE_URL)}/t/{kind}/([A-Za-z0-9_.-]+)", body)


def signed_links(body: str) -> list[str]:
    """Where the click links of a tracked email body lead: the URLs signed in their tokens."""
    from app.crm import tracking

    from config import TestConfig
    return [tracking.read(TestConfig.SECRET_KEY, tracking.CLICK, token)[1] for token in tracking_tokens(body, "c")]


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem with `status`; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return body


class ApiClient:
    """A test client that sends a bearer token and speaks JSON."""

    def __init__(self, app: Flask, token: str | None, username: str | None = None):
        self.app = app
        self.client = app.test_client()
        self.token = token
        self.username = username

    @classmethod
    def login(cls, app: Flask, username: str, password: str) -> "ApiClient":
        response = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        return cls(app, response.get_json()["token"], username)

    def _headers(self, headers=None):
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url, **kw):
        return self.client.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url, **kw):
        return self.client.put(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)

    # conveniences ---------------------------------------------------------------
    def deploy(self, *paths: Path, expect: int = 201):
        data = {"files": [(open(p, "rb"), Path(p).name) for p in paths]}
        response = self.post("/api/v1/deployments", data=data, content_type="multipart/form-data")
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def start(self, key: str, variables: dict | None = None, business_key: str | None = None, expect: int = 201):
        body = {"variables": variables or {}}
        if business_key:
            body["business_key"] = business_key
        response = self.post(f"/api/v1/process-definitions/key/{key}/start", json=body)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def complete(self, task_id: str, variables: dict | None = None, expect: int = 200):
        response = self.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": variables or {}})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def instance(self, instance_id: str):
        response = self.get(f"/api/v1/process-instances/{instance_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()


class Factories:
    """`make.user(...)`, `make.client(...)`: build what a test needs, with overrides."""

    def __init__(self, app: Flask):
        self.app = app
        self._n = 0

    def user(self, name: str | None = None, *, groups=(), admin: bool = False, password: str = "secret",
             email: str | None = None, manager: str | None = None) -> str:
        from app.services.core import SYSTEM
        from app.services.users import create_user

        self._n += 1
        name = name or f"user{self._n}"
        with self.app.app_context():
            create_user(name, password, list(groups), admin, email=email, manager=manager, actor=SYSTEM)
        return name

    def client(self, name: str | None = None, *, groups=(), admin: bool = False, email: str | None = None,
               manager: str | None = None) -> ApiClient:
        name = self.user(name, groups=groups, admin=admin, email=email, manager=manager)
        return ApiClient.login(self.app, name, "secret")

    def grant(self, permissions, resource_type: str = "process", resource_id: str = "*", *,
              user: str | None = None, group: str | None = None) -> str:
        """Grant `permissions` (a list, or one name) on a resource to a user or a group; return the grant id."""
        from app.services.authorizations import create_grant
        from app.services.core import SYSTEM

        permissions = [permissions] if isinstance(permissions, str) else list(permissions)
        with self.app.app_context():
            return create_grant({"user_id": user, "group_id": group, "resource_type": resource_type,
                                 "resource_id": resource_id, "permissions": permissions}, SYSTEM).id

    def process_instance(self, definition_id: str, *, started_at, status: str = "completed", ended_at=None,
                         end_element_id: str | None = None, business_key: str | None = None,
                         started_by: str | None = None, record_module: str | None = None) -> str:
        """A `process_instance` row of a deployed definition, as analytics read it (no runnable state)."""
        from app.extensions import db
        from app.models import ProcessDefinition, ProcessInstance

        with self.app.app_context():
            key = db.session.get(ProcessDefinition, definition_id).key
            row = ProcessInstance(definition_id=definition_id, process_key=key, status=status, variables={},
                                  state="{}", state_version=1, started_at=started_at, ended_at=ended_at,
                                  end_element_id=end_element_id, business_key=business_key,
                                  started_by=started_by, record_module=record_module)
            db.session.add(row)
            db.session.commit()
            return row.id

    def activity(self, instance_id: str, element_id: str, *, started_at, ended_at=None, state: str | None = None,
                 element_type: str = "task", name: str | None = None, from_element_id: str | None = None,
                 from_flow_id: str | None = None, claimed_at=None, actor: str | None = None,
                 outcome: str | None = None, task_id: str | None = None, candidate_groups=None, due_at=None) -> int:
        """An `activity_instance` row (state: completed when it has an end, else active); with
        `candidate_groups` or `due_at`, the human task row it belongs to as well (its id is `task_id`)."""
        import uuid

        from app.extensions import db
        from app.models import ActivityInstance, HumanTask, ProcessInstance

        with self.app.app_context():
            instance = db.session.get(ProcessInstance, instance_id)
            state = state or ("completed" if ended_at else "active")
            if candidate_groups is not None or due_at is not None:
                task_id = task_id or str(uuid.uuid4())
                db.session.add(HumanTask(
                    id=task_id, instance_id=instance_id, definition_id=instance.definition_id,
                    process_key=instance.process_key, element_id=element_id, name=name or element_id,
                    assignee=actor if claimed_at else None, candidate_users=[],
                    candidate_groups=list(candidate_groups or []), created_at=started_at, due_at=due_at,
                    state={"completed": "completed", "active": "open"}.get(state, "cancelled"),
                    completed_at=ended_at if state == "completed" else None,
                    completed_by=actor if state == "completed" else None))
            row = ActivityInstance(
                instance_id=instance_id, definition_id=instance.definition_id, process_key=instance.process_key,
                task_id=task_id, element_id=element_id, element_name=name, element_type=element_type,
                from_element_id=from_element_id, from_flow_id=from_flow_id, started_at=started_at,
                claimed_at=claimed_at, ended_at=ended_at, state=state, actor=actor, outcome=outcome,
                duration_ms=round((ended_at - started_at).total_seconds() * 1000) if ended_at else None)
            db.session.add(row)
            db.session.commit()
            return row.id


@contextmanager
def sql_sent(app: Flask) -> Iterator[list[str]]:
    """The statements the app sends to its database inside the `with` (each as sent, in order)."""
    from sqlalchemy import event

    from app.extensions import db

    sent: list[str] = []

    def note(conn, cursor, statement, *args):
        sent.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def fixture(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


def shipped(*parts: str) -> Path:
    return SHIPPED.joinpath(*parts)
