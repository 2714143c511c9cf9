"""Fixtures of the console tests: a browser-like client that logs in and sends CSRF tokens, and scenarios."""
from __future__ import annotations

import json
import re

import pytest

from ..factories import ApiClient, shipped

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """A test client that uses the console as a browser does: a session cookie and the pages' CSRF tokens."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token: str | None = None
        self.username: str | None = None

    def csrf_token(self) -> str:
        """A CSRF token of this session, read from a page as a browser would."""
        if self.token is None:
            page = self.client.get("/console/jobs" if self.username else "/console/login")
            self.token = CSRF.search(page.get_data(as_text=True)).group(1)
        return self.token

    def login(self, username: str, password: str = "secret"):
        response = self.client.post("/console/login", data={
            "username": username, "password": password, "csrf_token": self.csrf_token()})
        self.token = None  # a new session: its own CSRF token
        if response.status_code == 302:
            self.username = username
        return response

    def get(self, url: str, htmx: bool = False, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers.update({"HX-Request": "true"})
        return self.client.get(url, headers=headers, **kw)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, htmx: bool = False, **kw):
        data = dict(data or {})
        headers = kw.pop("headers", {})
        if htmx:  # htmx sends the token in a header, as the console's pages configure it
            headers.update({"HX-Request": "true", "X-CSRFToken": self.csrf_token()})
        elif csrf:
            data.setdefault("csrf_token", self.csrf_token())
        return self.client.post(url, data=data, headers=headers, **kw)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def console(app):
    """A fresh browser session; `console.login(name)` signs in."""
    def make(username: str | None = None, password: str = "secret") -> Console:
        session = Console(app)
        if username:
            assert session.login(username, password).status_code == 302
        return session
    return make


@pytest.fixture
def discount(app, admin, make):
    """The shipped discount approval, bound to Deals as an approval of discounts above 12%, and a deal
    with 18% that started it: the record is locked and the task is offered to sales_managers.

    Users: maria (sales_managers)."""
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import create_binding

    admin.deploy(shipped("approvals", "discount_approval.bpmn"))
    with app.app_context():
        create_binding({"name": "Deal discount approval", "module": "Deals", "event": "create",
                        "criteria": "discount > 12", "process_key": "discount_approval", "kind": "approval"}, SYSTEM)
        db.session.remove()
    make.user("maria", groups=["sales_managers"])
    created = admin.post("/api/v1/modules/Deals/records", json={"deal_name": "Zylker fleet", "discount": 18})
    assert created.status_code == 201, created.get_json()
    [task] = admin.get("/api/v1/tasks?key=discount_approval").get_json()["items"]
    return {"instance_id": task["process_instance_id"], "task_id": task["id"], "record_id": created.get_json()["id"]}


@pytest.fixture
def deals(app, admin, make):
    """The shipped Explore Electronics deal blueprint on Deals, and a deal ravi (sales_reps) created.

    Users: ravi (sales_reps, reports to maya), maya (sales_managers)."""
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import apply_manifest

    folder = shipped("electronics")
    admin.deploy(*[p for p in sorted(folder.iterdir()) if p.suffix in (".bpmn", ".json") and p.name != "stagecoach.json"])
    with app.app_context():
        apply_manifest(json.loads((folder / "stagecoach.json").read_text()), SYSTEM)
        db.session.remove()
    make.user("maya", groups=["sales_managers"], email="maya@explore.test")
    make.user("ravi", groups=["sales_reps"], email="ravi@explore.test", manager="maya")
    ravi = ApiClient.login(app, "ravi", "secret")
    created = ravi.post("/api/v1/modules/Deals/records", json={"deal_name": "Fleet of laptops", "amount": 12000})
    assert created.status_code == 201, created.get_json()
    return {"record_id": created.get_json()["id"], "ravi": ravi}


@pytest.fixture
def olga(make) -> str:
    """A user in no group, who owns nothing: she must not see others' tasks and records."""
    return make.user("olga")
