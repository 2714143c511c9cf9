"""Test factories: users, authenticated clients, deployments, started instances."""
from __future__ import annotations

from pathlib import Path

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


def fixture(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


def shipped(*parts: str) -> Path:
    return SHIPPED.joinpath(*parts)
