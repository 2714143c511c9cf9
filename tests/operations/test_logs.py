"""Logs on standard output: one JSON line per request and per job, with the request id the client sees,
and never a password, a token or a secret query value."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from app import create_app
from app.extensions import db
from app.jobs.runner import run_due_jobs
from app.operations.logs import REDACTED, configure_logging

from ..conftest import make_config
from ..factories import fixture

REVIEW = fixture("operations", "review_then_wait.bpmn")
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/stagecoach"


def lines(captured: str) -> list[dict]:
    """Every line of `captured`, each of which must be one JSON object."""
    parsed = []
    for line in captured.splitlines():
        if line.strip():
            parsed.append(json.loads(line))  # a line that is not JSON fails the test here
    return parsed


def request_lines(capsys) -> list[dict]:
    return [line for line in lines(capsys.readouterr().out) if line["logger"] == "stagecoach.requests"]


def test_a_request_is_one_json_line_with_its_id_route_status_user_and_duration(admin, capsys):
    capsys.readouterr()
    response = admin.get("/api/v1/tasks?per_page=5")
    assert response.status_code == 200
    (line,) = request_lines(capsys)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert len(line["request_id"]) == 32
    assert (line["level"], line["method"], line["route"], line["status"], line["user"]) == \
        ("INFO", "GET", "/api/v1/tasks", 200, "admin")
    assert line["query"] == "per_page=5"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    logged_at = dt.datetime.fromisoformat(line["time"])
    assert abs((dt.datetime.now(dt.timezone.utc) - logged_at).total_seconds()) < 60


@pytest.mark.parametrize("sent, kept", [
    ("req-2026.abc_DEF:42", True),
    ("Root=1-67891233-abcdef012345678912345678", True),
    ("has spaces in it", False),
    ("<script>alert(1)</script>", False),
    ("x" * 129, False),
    ("", False),
])
def test_a_client_request_id_is_kept_only_when_safe(client, capsys, sent, kept):
    capsys.readouterr()
    response = client.get("/health/live?probe=1", headers={"X-Request-ID": sent})
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == sent
    else:
        assert returned != sent and len(returned) == 32 and returned.isalnum()


def test_a_record_logged_during_a_request_carries_its_request_id(capsys):
    down = create_app(make_config(DOWN_URL, AUTO_UPGRADE=False,
                                  SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}}))
    try:
        capsys.readouterr()
        response = down.test_client().post("/api/v1/auth/token", json={"username": "a", "password": "b"},
                                           headers={"X-Request-ID": "outage-1"})
    finally:
        with down.app_context():
            db.engine.dispose()
    assert response.status_code == 503
    logged = lines(capsys.readouterr().out)
    warning = next(line for line in logged if line["logger"] == "app.errors")
    assert warning["level"] == "WARNING" and warning["request_id"] == "outage-1"
    assert next(line for line in logged if line["logger"] == "stagecoach.requests")["status"] == 503


def test_passwords_and_tokens_are_never_logged(app, client, make, capsys, caplog):
    password, wrong = "Plum-Orchard-7741", "Plum-Orchard-7742"
    make.user("pat", password=password)
    capsys.readouterr()
    with caplog.at_level("DEBUG"):
        token = client.post("/api/v1/auth/token", json={"username": "pat", "password": password}).get_json()["token"]
        assert client.post("/api/v1/auth/token", json={"username": "pat", "password": wrong}).status_code == 401
        basic = base64.b64encode(f"pat:{password}".encode()).decode()
        client.get("/engine-rest/task", headers={"Authorization": f"Basic {basic}"})
        client.get(f"/api/v1/tasks?access_token={token}&password={password}&client_secret=s3cr3t&page=1",
                   headers={"Authorization": f"Bearer {token}"})
        client.patch("/api/v1/users/me", json={"current_password": password, "password": wrong},
                     headers={"Authorization": f"Bearer {token}"})
    captured = capsys.readouterr()
    everything = captured.out + captured.err + "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for secret in (password, wrong, token, basic, "s3cr3t"):
        assert secret not in everything
    logged = [line for line in lines(captured.out) if line["logger"] == "stagecoach.requests"]
    assert [line["status"] for line in logged] == [200, 401, 200, 200, 200]
    query = logged[3]["query"]
    assert query == f"access_token={REDACTED}&password={REDACTED}&client_secret={REDACTED}&page=1"


def test_a_request_on_an_instance_logs_its_id(admin, capsys):
    admin.deploy(REVIEW)
    capsys.readouterr()
    started = admin.start("review_then_wait")
    admin.get(f"/api/v1/process-instances/{started['id']}")
    task = admin.get(f"/api/v1/tasks?instance_id={started['id']}").get_json()["items"][0]
    admin.complete(task["id"])
    start_line, read_line, _, complete_line = request_lines(capsys)
    assert start_line["instance_id"] == started["id"]  # the step it started
    assert read_line["instance_id"] == started["id"]  # the URL names it
    assert complete_line["instance_id"] == started["id"]  # the step the completion ran
    assert complete_line["route"] == "/api/v1/tasks/<task_id>/complete"


def test_a_job_is_one_json_line_with_its_kind_id_instance_outcome_and_lateness(clock, admin, app, capsys):
    admin.deploy(REVIEW)
    started = admin.start("review_then_wait")
    task = admin.get(f"/api/v1/tasks?instance_id={started['id']}").get_json()["items"][0]
    admin.complete(task["id"])
    clock.shift(dt.timedelta(hours=1, seconds=30))
    capsys.readouterr()
    with app.app_context():
        run_due_jobs(worker="test-worker")
        db.session.remove()
    (job,) = [line for line in lines(capsys.readouterr().out) if line["logger"] == "stagecoach.jobs"]
    assert (job["level"], job["kind"], job["instance_id"], job["outcome"], job["worker"]) == \
        ("INFO", "timer", started["id"], "done", "test-worker")
    assert len(job["job_id"]) == 32
    assert job["late_ms"] == pytest.approx(30_000, abs=500)
    assert job["duration_ms"] >= 0


def test_secret_parameters_are_redacted_however_they_are_spelled():
    from app.operations.logs import redact_query

    assert redact_query("Password=a&api%5Fkey=b&x-signature=c&q=token&sort=name") == \
        f"Password={REDACTED}&api%5Fkey={REDACTED}&x-signature={REDACTED}&q=token&sort=name"


def test_successful_probes_are_not_logged_at_info(client, capsys):
    capsys.readouterr()
    assert client.get("/health/live").status_code == 200
    assert request_lines(capsys) == []


def test_plain_text_lines_for_development(database_url, capsys):
    text_app = create_app(make_config(database_url, AUTO_UPGRADE=False, LOG_FORMAT="text"))
    try:
        capsys.readouterr()
        response = text_app.test_client().get("/api/v1/tasks")
        out = capsys.readouterr().out
    finally:
        configure_logging("json", "INFO")
        with text_app.app_context():
            db.engine.dispose()
    (line,) = [line for line in out.splitlines() if "stagecoach.requests" in line]
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    assert " INFO stagecoach.requests: GET /api/v1/tasks 401 " in line
    assert f"request_id={response.headers['X-Request-ID']}" in line
