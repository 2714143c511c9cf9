"""JavaScript diagrams through HTTP: deployed, run across a restart, refused at deploy with their line, and
repaired after a run-time failure like any failing script."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from app.jobs.runner import run_due_jobs

from ..factories import ApiClient, fixture

ORDER = fixture("valid", "javascript_order.bpmn")
FIXABLE = fixture("valid", "javascript_fixable.bpmn")
ASYNC = fixture("events", "async_charge.bpmn")
LIMIT_SETTINGS = ("STAGECOACH_SCRIPT_MAX_ALLOCATION", "STAGECOACH_SCRIPT_MAX_SECONDS")
ITEMS = {"items": [{"qty": 2, "price": 300.0}, {"qty": 1, "price": 500.0}],
         "customer": {"name": "ACME", "currency": "USD"}}


def _open_task(admin, instance_id: str) -> dict:
    [task] = admin.instance(instance_id)["tasks"]
    return task


def _run_jobs(app) -> dict:
    with app.app_context():
        return run_due_jobs()


def _variant(tmp_path: Path, source: Path, old: str, new: str) -> tuple[Path, int]:
    text = source.read_text()
    assert text.count(old) == 1
    changed = text.replace(old, new)
    path = tmp_path / source.name
    path.write_text(changed)
    return path, changed[: changed.index(new)].count("\n") + 1


def test_a_javascript_order_runs_across_a_restart(server):
    admin = server.login()
    admin.deploy(ORDER)
    started = admin.start("js_order", ITEMS, business_key="order-42")
    assert started["status"] == "running"
    variables = admin.instance(started["id"])["variables"]
    assert (variables["total"], variables["currency"], variables["summary"]) == (1100, "USD", "ACME: 1100 USD")

    server.restart()
    admin = server.admin
    admin.complete(_open_task(admin, started["id"])["id"], {"approved": False})

    instance = admin.instance(started["id"])
    assert instance["status"] == "completed"
    assert instance["variables"]["shipped"] == {"total": 1100, "verdict": "rejected", "instance": started["id"],
                                                "business_key": "order-42"}
    assert "summary" not in instance["variables"]


def test_a_failing_javascript_script_is_an_incident_repaired_by_a_patch_and_a_retry(admin):
    admin.deploy(FIXABLE)
    started = admin.start("js_fixable", {"amount": 10, "currency": "GBP", "rates": {"USD": 1.1}})

    assert started["status"] == "error"
    instance = admin.instance(started["id"])
    [incident] = instance["incidents"]
    assert (incident["element_id"], incident["line"]) == ("convert", 2)
    assert "Error: no rate for GBP" in incident["message"]
    assert "converted" not in instance["variables"]

    patched = admin.patch(f"/api/v1/process-instances/{started['id']}/variables",
                          json={"variables": {"rates": {"GBP": 1.17}}})
    assert patched.status_code == 200
    retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry")

    assert retried.status_code == 200 and retried.get_json()["status"] == "running"
    instance = admin.instance(started["id"])
    assert instance["variables"]["converted"] == 11.7
    assert [t["element_id"] for t in instance["tasks"]] == ["after"]
    [resolved] = instance["incidents"]
    assert resolved["resolved_at"] is not None


def test_a_runaway_javascript_script_is_stopped_at_the_time_limit(admin, tmp_path):
    path, _ = _variant(tmp_path, FIXABLE, "var rate = rates[currency];", "while (true) {}")
    admin.deploy(path)

    started = admin.start("js_fixable", {"amount": 1})

    assert started["status"] == "error"
    [incident] = admin.instance(started["id"])["incidents"]
    assert incident["element_id"] == "convert" and "STAGECOACH_SCRIPT_MAX_SECONDS" in incident["message"]


def test_a_javascript_syntax_error_is_refused_at_deploy_with_its_line(admin, tmp_path):
    path, line = _variant(tmp_path, FIXABLE, "converted = Math.round(amount * rate * 100) / 100;",
                          "converted = Math.round(amount * rate * 100) / ;")

    body = admin.deploy(path, expect=422)

    assert body["type"] == "/problems/invalid-bpmn"
    [problem] = body["bpmn"]
    assert (problem["file"], problem["element_id"], problem["line"]) == (path.name, "convert", line)
    assert "SyntaxError" in problem["message"]
    assert admin.get("/api/v1/process-definitions?key=js_fixable").get_json()["total"] == 0


def test_javascript_using_java_is_refused_at_deploy_naming_what_to_do(admin, tmp_path):
    path, line = _variant(tmp_path, ORDER, 'currency = customer.currency || "EUR";',
                          'currency = Java.type("java.util.Currency").getInstance("EUR");')

    body = admin.deploy(path, expect=422)

    [problem] = body["bpmn"]
    assert (problem["element_id"], problem["line"]) == ("price", line)
    assert "Java.type cannot run" in problem["message"] and "external task" in problem["message"]


def test_a_javascript_condition_with_a_syntax_error_names_its_flow(admin, tmp_path):
    path, line = _variant(tmp_path, ORDER, "total &gt; 1000", "total &gt;")

    body = admin.deploy(path, expect=422)

    [problem] = body["bpmn"]
    assert (problem["element_id"], problem["line"]) == ("big", line)
    assert "JavaScript condition cannot run: SyntaxError" in problem["message"]


@pytest.mark.parametrize("attack", [
    "var a = new Array(1e9).fill(0);",  # made V8 abort the server's process ("invalid table size")
    "var a = []; a.length = 5e8; a.fill(1);",
    "var a = new Array(1e8).fill(0);",  # ran far past the time limit inside one builtin
], ids=["array-1e9", "length-5e8", "array-1e8"])
def test_a_script_that_kills_or_holds_v8_is_an_incident_and_the_server_runs_on(admin, tmp_path, attack):
    path, _ = _variant(tmp_path, FIXABLE, "var rate = rates[currency];", attack)
    admin.deploy(path)

    failed = admin.start("js_fixable", {"amount": 1})

    assert failed["status"] == "error"
    [incident] = admin.instance(failed["id"])["incidents"]
    assert incident["element_id"] == "convert"
    assert any(name in incident["message"] for name in LIMIT_SETTINGS)
    admin.deploy(FIXABLE)  # the next JavaScript script, in the same server process, runs
    fine = admin.start("js_fixable", {"amount": 2, "currency": "EUR", "rates": {"EUR": 1.5}})
    assert fine["status"] == "running" and admin.instance(fine["id"])["variables"]["converted"] == 3.0


def test_an_asynchronous_script_that_kills_v8_fails_each_try_then_becomes_an_incident(app, tmp_path):
    text = ASYNC.read_text().replace('scriptFormat="python"', 'scriptFormat="javascript"')
    text = text.replace("charged = 100 / divisor", "var a = new Array(1e9).fill(divisor);")
    path = tmp_path / ASYNC.name
    path.write_text(text)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc), tick=False) as clock:
        admin = ApiClient.login(app, "admin", "admin-password")
        admin.deploy(path)
        started = admin.start("async_charge", {"divisor": 0})
        clock.shift(dt.timedelta(milliseconds=1))

        assert _run_jobs(app) == {"done": 0, "failed": 0, "retried": 1}
        [job] = admin.get("/api/v1/jobs").get_json()["items"]
        assert job["attempts"] == 1 and any(name in job["last_error"] for name in LIMIT_SETTINGS)
        for _ in range(2):
            clock.shift(dt.timedelta(minutes=5, milliseconds=1))
            _run_jobs(app)

        instance = admin.instance(started["id"])
        assert instance["status"] == "error"
        [incident] = instance["incidents"]
        assert incident["element_id"] == "charge" and any(name in incident["message"] for name in LIMIT_SETTINGS)
        assert admin.get("/api/v1/jobs").get_json()["total"] == 0
