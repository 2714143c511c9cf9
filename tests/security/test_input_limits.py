"""Input limits: every bad input is a 4xx naming what is wrong, and a database outage a 503.

NUL characters and over-long keys only fail on PostgreSQL (SQLite stores
them), so these tests pin the refusal itself, which must happen on both.
"""
from __future__ import annotations

import base64
import io
import json
import sqlite3

import pytest
from app import create_app
from app.extensions import db

from ..conftest import make_config
from ..factories import assert_problem, fixture

BASIC = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-password").decode()}
LOGIN = {"username": "admin", "password": "admin-password"}
CHUNKED = {"headers": {"Transfer-Encoding": "chunked"}, "environ_overrides": {"wsgi.input_terminated": True}}


def _camunda_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = json.loads(response.get_data())
    assert body["type"] and body["message"]
    return body


# -- bounded integers and strings --------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ("page=99999999999999999999", "page"), ("page=2147483648", "page"), ("per_page=100000", "per_page"),
    ("page=0", "page"), ("key=" + "k" * 256, "key")])
def test_paging_and_filters_past_their_bounds_are_refused_by_name(admin, query, field):
    body = assert_problem(admin.get(f"/api/v1/process-definitions?{query}"), 400)
    assert list(body["errors"]) == [field]


def test_the_largest_page_is_answered(admin):
    response = admin.get("/api/v1/process-definitions?page=2147483647&per_page=200")
    assert response.status_code == 200
    assert response.get_json()["items"] == []


@pytest.mark.parametrize("query, field", [
    ("firstResult=9223372036854775808", "firstResult"), ("firstResult=-1", "firstResult"),
    ("maxResults=99999999999", "maxResults"), ("priority=2147483648", "priority"),
    ("minPriority=-2147483649", "minPriority"), ("businessKey=" + "k" * 256, "businessKey")])
def test_camunda_paging_and_priorities_past_their_bounds_are_refused(client, query, field):
    path = "/engine-rest/process-instance" if "businessKey" in query else "/engine-rest/task"
    body = _camunda_error(client.get(f"{path}?{query}", headers=BASIC), 400)
    assert body["type"] == "InvalidRequestException"
    assert field in body["message"]


@pytest.mark.parametrize("member, value", [
    ("lockDuration", 2**70), ("lockDuration", 366 * 86_400_000 + 1), ("asyncResponseTimeout", 1_800_001),
    ("maxTasks", 2**63)])
def test_fetch_and_lock_durations_past_their_bounds_are_refused(client, member, value):
    topic = {"topicName": "charge", "lockDuration": value if member == "lockDuration" else 1000}
    body = {"workerId": "w", "topics": [topic]}
    if member != "lockDuration":
        body[member] = value
    error = _camunda_error(client.post("/engine-rest/external-task/fetchAndLock", json=body, headers=BASIC), 400)
    assert member in error["message"]


def test_a_business_key_over_255_characters_is_refused_and_255_is_kept(admin, client):
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    body = assert_problem(admin.post("/api/v1/process-definitions/key/simple_user_task/start",
                                     json={"business_key": "k" * 256}), 400)
    assert list(body["errors"]) == ["business_key"]
    error = _camunda_error(client.post("/engine-rest/process-definition/key/simple_user_task/start",
                                       json={"businessKey": "k" * 256}, headers=BASIC), 400)
    assert "businessKey" in error["message"]
    started = admin.start("simple_user_task", business_key="k" * 255)
    assert admin.instance(started["id"])["business_key"] == "k" * 255


def test_typed_variables_must_fit_their_type(client, admin):
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    for typed in ({"type": "Integer", "value": 2**31}, {"type": "Long", "value": 2**63},
                  {"type": "Short", "value": 2**15}, {"type": "Double", "value": "NaN"},
                  {"type": "Double", "value": "1e999"}, {"type": "Json", "value": "[" * 100 + "]" * 100},
                  {"type": "Json", "value": '{"a": Infinity}'}):
        error = _camunda_error(client.post("/engine-rest/process-definition/key/simple_user_task/start",
                                           json={"variables": {"x": typed}}, headers=BASIC), 400)
        assert "x:" in error["message"], typed


# -- NUL characters, wherever input comes from --------------------------------------------------

def test_nul_is_refused_in_the_unauthenticated_token_request(client):
    for body in ({"username": "ad\x00min", "password": "x"}, {"username": "admin", "password": "p\x00"},
                 {"username": "admin", "password": "x", "\x00": 1}):
        problem = assert_problem(client.post("/api/v1/auth/token", json=body), 400)
        assert "NUL" in problem["errors"][next(iter(problem["errors"]))][0]
    assert "\x00" not in client.post("/api/v1/auth/token", json={"\x00": 1}).get_data(as_text=True)


@pytest.mark.parametrize("how", ["path", "query", "query name", "header", "json", "nested json"])
def test_nul_is_refused_in_every_place_a_string_comes_from(admin, how):
    kwargs, path = {}, "/api/v1/tasks"
    if how == "path":
        path = "/api/v1/tasks/ab%00cd"
    elif how == "query":
        path = "/api/v1/tasks?assignee=a%00b"
    elif how == "query name":
        path = "/api/v1/tasks?a%00b=1"
    elif how == "header":
        kwargs["headers"] = {"X-Request-Id": "a\x00b"}
    elif how == "json":
        path, kwargs["json"] = "/api/v1/messages", {"name": "m", "business_key": "a\x00b"}
    else:
        path, kwargs["json"] = "/api/v1/messages", {"name": "m", "variables": {"list": ["ok", {"deep": "\x00"}]}}
    body = assert_problem(admin.post(path, **kwargs) if "json" in kwargs else admin.get(path, **kwargs), 400)
    assert any("NUL" in message for messages in body["errors"].values() for message in messages)
    if how == "nested json":
        assert list(body["errors"]) == ["variables.list[1].deep"]


def test_nul_is_refused_in_basic_credentials_form_fields_and_file_names(client):
    credentials = "Basic " + base64.b64encode(b"adm\x00in:admin-password").decode()
    _camunda_error(client.get("/engine-rest/task", headers={"Authorization": credentials}), 400)
    bpmn = fixture("valid", "simple_user_task.bpmn").read_bytes()
    for form in ({"deployment-name": "a\x00b", "data": (io.BytesIO(bpmn), "a.bpmn")},
                 {"data": (io.BytesIO(bpmn), "a\x00.bpmn")},
                 {"data": (io.BytesIO(bpmn), "k" * 300 + ".bpmn")},
                 {"deployment-name": "n" * 256, "data": (io.BytesIO(bpmn), "a.bpmn")}):
        _camunda_error(client.post("/engine-rest/deployment/create", data=form, headers=BASIC,
                                   content_type="multipart/form-data"), 400)


def test_a_lone_surrogate_is_refused(client):
    response = client.post("/api/v1/auth/token", data=b'{"username": "\\ud800", "password": "x"}',
                           content_type="application/json")
    assert list(assert_problem(response, 400)["errors"]) == ["username"]


# -- JSON: depth and numbers --------------------------------------------------------------------

def test_json_nested_deeper_than_the_limit_is_refused_without_recursing(client, app):
    limit = app.config["JSON_MAX_DEPTH"]
    for depth in (limit + 1, 100_000):
        response = client.post("/api/v1/auth/token", data="[" * depth + "]" * depth, content_type="application/json")
        assert f"more than {limit} deep" in assert_problem(response, 400)["detail"]
        response = client.post("/engine-rest/message", data="{\"a\":" * depth + "1" + "}" * depth,
                               content_type="application/json", headers=BASIC)
        _camunda_error(response, 400)


def test_json_at_the_depth_limit_is_read(client, app):
    nested = 1
    for _ in range(app.config["JSON_MAX_DEPTH"] - 1):  # the body object is the first level
        nested = [nested]
    response = client.post("/engine-rest/process-instance", json={"ignored": nested}, headers=BASIC)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_numbers_that_are_not_finite_doubles_are_refused(client, number):
    response = client.post("/api/v1/auth/token", data=f'{{"username": {number}, "password": "x"}}',
                           content_type="application/json")
    assert_problem(response, 400)
    response = client.post("/engine-rest/signal", data=f'{{"name": "s", "variables": {{"x": {number}}}}}',
                           content_type="application/json", headers=BASIC)
    _camunda_error(response, 400)


# -- content types and sizes ----------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", None])
def test_a_body_that_is_not_json_is_refused_with_415(client, content_type):
    data = {"username": "admin", "password": "admin-password"} if content_type and "form" in content_type \
        else json.dumps(LOGIN)
    assert_problem(client.post("/api/v1/auth/token", data=data, content_type=content_type), 415)
    error = _camunda_error(client.post("/engine-rest/signal", data=data, content_type=content_type,
                                       headers=BASIC), 415)
    assert error["type"] == "NotSupportedException"


def test_json_vendor_types_are_json(client):
    response = client.post("/api/v1/auth/token", data=json.dumps(LOGIN), content_type="application/merge-patch+json")
    assert response.status_code == 200


def test_a_deployment_is_not_json(admin):
    assert_problem(admin.post("/api/v1/deployments", json={"files": []}), 415)


def test_a_chunked_body_is_read_whole_under_the_limit(client):
    response = client.post("/api/v1/auth/token", input_stream=io.BytesIO(json.dumps(LOGIN).encode()),
                           content_type="application/json", **CHUNKED)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("chunked", [True, False])
def test_a_body_over_the_limit_is_refused_with_413_never_cut(app, client, chunked):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"username": "' + b"a" * limit + b'", "password": "x"}'
    kwargs = {"input_stream": io.BytesIO(body), **CHUNKED} if chunked else {"data": body}
    assert_problem(client.post("/api/v1/auth/token", content_type="application/json", **kwargs), 413)
    kwargs = {"input_stream": io.BytesIO(body), **CHUNKED} if chunked else {"data": body}
    _camunda_error(client.post("/engine-rest/signal", content_type="application/json",
                               headers={**BASIC, **kwargs.pop("headers", {})}, **kwargs), 413)


class _Unreadable(io.RawIOBase):
    """A request body the server cannot read past its first bytes (as gunicorn raises InvalidChunkSize)."""

    def __init__(self):
        self.sent = False

    def readable(self):
        return True

    def read(self, size=-1):
        if not self.sent:
            self.sent = True
            return b'{"user'
        raise ValueError("Invalid chunk size: b'ZZ'")


def _unreadable() -> dict:
    return {"headers": CHUNKED["headers"],
            "environ_overrides": dict(CHUNKED["environ_overrides"], **{"wsgi.input": _Unreadable()})}


def test_a_chunked_body_the_server_cannot_read_is_400_in_each_apis_shape(client):
    body = assert_problem(client.post("/api/v1/auth/token", content_type="application/json", **_unreadable()), 400)
    assert "chunked body cannot be read" in body["detail"] and "Invalid chunk size" in body["detail"]
    assert body["errors"] == {"body": ["malformed chunked transfer coding, or the body ended early"]}
    camunda = _unreadable()
    _camunda_error(client.post("/engine-rest/signal", content_type="application/json",
                               headers={**BASIC, **camunda.pop("headers")}, **camunda), 400)
    console = client.post("/console/login", content_type="application/x-www-form-urlencoded", **_unreadable())
    assert console.status_code == 400


# -- the database out of reach --------------------------------------------------------------------

def _app_on(url: str, **overrides):
    return create_app(make_config(url, AUTO_UPGRADE=False, **overrides))


def _assert_unavailable(app) -> None:
    client = app.test_client()
    problem = assert_problem(client.post("/api/v1/auth/token", json=LOGIN), 503)
    assert problem["type"] == "/problems/database-unavailable"
    response = client.post("/api/v1/auth/token", json=LOGIN)
    assert response.headers["Retry-After"] == str(app.config["DATABASE_RETRY_AFTER_SECONDS"])
    response = client.get("/engine-rest/process-definition", headers=BASIC)
    assert _camunda_error(response, 503)["type"] == "ProcessEngineException"
    assert response.headers["Retry-After"]


def test_postgresql_down_is_a_503_with_retry_after():
    down = _app_on("postgresql+psycopg://postgres@127.0.0.1:1/stagecoach",
                   SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    _assert_unavailable(down)
    with down.app_context():
        db.engine.dispose()


def test_an_exhausted_connection_pool_is_a_503(app, database_url):
    busy = _app_on(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.05})
    with busy.app_context():
        held = db.engine.connect()  # the pool's only connection
        try:
            _assert_unavailable(busy)
        finally:
            held.close()
            db.engine.dispose()


def test_a_locked_sqlite_database_is_a_503(tmp_path):
    path = tmp_path / "locked.db"
    locked = _app_on(f"sqlite:///{path}", LOCK_TIMEOUT_MS=50,
                     SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.05}})
    with sqlite3.connect(path, isolation_level=None) as setup:
        setup.execute("PRAGMA journal_mode=DELETE")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the whole file
    with locked.app_context():
        try:
            _assert_unavailable(locked)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            db.engine.dispose()
