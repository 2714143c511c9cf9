"""Scripts through HTTP: escapes refused at deploy, run-time failures become incidents, repair and retry."""
from __future__ import annotations

from pathlib import Path

import pytest

from ..factories import fixture, shipped

FIXABLE = fixture("valid", "sandbox_fixable_script.bpmn")
FIXABLE_LINE = "result = 100 / divisor"


def _variant(tmp_path: Path, source: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of `source` with `old` replaced by `new`; returns it and the file line where `new` starts."""
    text = source.read_text()
    assert text.count(old) == 1
    changed = text.replace(old, new)
    path = tmp_path / source.name
    path.write_text(changed)
    return path, changed[: changed.index(new)].count("\n") + 1


def _history(client, instance_id: str) -> list[dict]:
    response = client.get(f"/api/v1/process-instances/{instance_id}/history")
    assert response.status_code == 200
    return response.get_json()["items"]


def _definitions(client, key: str) -> int:
    return client.get(f"/api/v1/process-definitions?key={key}").get_json()["total"]


# -- escapes are refused at deploy ------------------------------------------------------------------------

@pytest.mark.parametrize("escape", [
    "import os",
    "from subprocess import run",
    "classes = ().__class__.__base__.__subclasses__()",
    "m = __import__('os')",
    "code = eval('1')",
], ids=["import", "from-import", "subclasses-walk", "dunder-import", "eval"])
def test_a_script_that_tries_to_escape_is_refused_at_deploy_naming_element_and_line(admin, tmp_path, escape):
    path, line = _variant(tmp_path, FIXABLE, FIXABLE_LINE, escape)

    response = admin.deploy(path, expect=422)

    assert response["status"] == 422 and response["type"] == "/problems/invalid-bpmn"
    [problem] = response["bpmn"]
    assert problem["file"] == path.name
    assert problem["element_id"] == "compute" and problem["element_type"] == "scriptTask"
    assert problem["line"] == line
    assert "script cannot run" in problem["message"]
    assert _definitions(admin, "sandbox_fixable_script") == 0


def test_a_gateway_condition_that_tries_to_escape_is_refused_at_deploy(admin, tmp_path):
    path, line = _variant(tmp_path, shipped("approvals", "discount_approval.bpmn"),
                          "discount &gt; 12", "().__class__.__base__.__subclasses__()")

    response = admin.deploy(path, expect=422)

    [problem] = response["bpmn"]
    assert problem["element_id"] == "flow_discount_above_limit" and problem["line"] == line
    assert "expression cannot run" in problem["message"]
    assert _definitions(admin, "discount_approval") == 0


def test_a_dry_run_reports_the_same_problem(admin, tmp_path):
    path, line = _variant(tmp_path, FIXABLE, FIXABLE_LINE, "import os")
    with open(path, "rb") as f:
        response = admin.post("/api/v1/deployments?dry_run=true", data={"files": [(f, path.name)]},
                              content_type="multipart/form-data")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    [problem] = response.get_json()["bpmn"]
    assert (problem["element_id"], problem["line"]) == ("compute", line)


# -- run-time failures become incidents -------------------------------------------------------------------

def test_a_runaway_script_puts_the_instance_in_error_with_an_open_incident(admin):
    admin.deploy(fixture("valid", "sandbox_runaway_script.bpmn"))

    started = admin.start("sandbox_runaway_script")

    assert started["status"] == "error" and started["tasks"] == []
    instance = admin.instance(started["id"])
    assert instance["status"] == "error" and instance["ended_at"] is None
    [incident] = instance["incidents"]
    assert incident["element_id"] == "spin" and incident["element_name"] == "Spin forever"
    assert "exceeded" in incident["message"]  # its step or its time limit
    assert incident["created_at"] is not None and incident["resolved_at"] is None
    assert "laps" not in instance["variables"]
    [error] = [h for h in _history(admin, started["id"]) if h["type"] == "error"]
    assert error["element_id"] == "spin" and "exceeded" in error["message"]


def test_a_failed_script_is_repaired_with_a_variables_patch_and_a_retry(admin, make):
    admin.deploy(FIXABLE)
    started = admin.start("sandbox_fixable_script", {"divisor": 0})
    assert started["status"] == "error"
    [incident] = admin.instance(started["id"])["incidents"]
    assert incident["element_id"] == "compute" and incident["line"] == 2
    assert "ZeroDivisionError" in incident["message"]
    assert admin.instance(started["id"])["variables"] == {"divisor": 0}  # nothing half-written

    patched = admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"divisor": 4}})
    assert patched.status_code == 200
    assert patched.get_json()["variables"] == {"divisor": 4} and patched.get_json()["status"] == "error"

    retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert retried.status_code == 200
    body = retried.get_json()
    assert body["status"] == "running"
    assert [t["element_id"] for t in body["tasks"]] == ["after"]

    instance = admin.instance(started["id"])
    assert instance["status"] == "running"
    assert instance["variables"] == {"divisor": 4, "progress": "done", "result": 25.0}
    [resolved] = instance["incidents"]
    assert resolved["resolved_at"] is not None and resolved["resolution"] == "retried"
    types = [h["type"] for h in _history(admin, started["id"])]
    assert types.index("error") < types.index("variables_updated") < types.index("retried")

    staff = make.client("sam", groups=["staff"])
    done = staff.complete(body["tasks"][0]["id"])
    assert done["status"] == "completed"


def test_retrying_without_a_fix_opens_a_new_incident(admin):
    admin.deploy(FIXABLE)
    started = admin.start("sandbox_fixable_script", {"divisor": 0})

    retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry")

    assert retried.status_code == 200 and retried.get_json()["status"] == "error"
    incidents = admin.instance(started["id"])["incidents"]
    assert len(incidents) == 2
    assert incidents[0]["resolution"] == "retried" and incidents[1]["resolved_at"] is None


def test_only_an_admin_may_patch_variables_or_retry(admin, make):
    admin.deploy(FIXABLE)
    started = admin.start("sandbox_fixable_script", {"divisor": 0})
    staff = make.client("sam", groups=["staff"])
    make.grant("read", "process", "sandbox_fixable_script", group="staff")  # she sees it, may not change it

    patch = staff.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"divisor": 4}})
    retry = staff.post(f"/api/v1/process-instances/{started['id']}/retry")

    assert patch.status_code == 403 and retry.status_code == 403
    instance = admin.instance(started["id"])
    assert instance["status"] == "error" and instance["variables"] == {"divisor": 0}


def test_retrying_an_instance_that_is_not_in_error_is_a_conflict(admin):
    admin.deploy(FIXABLE)
    started = admin.start("sandbox_fixable_script", {"divisor": 2})
    assert started["status"] == "running"

    response = admin.post(f"/api/v1/process-instances/{started['id']}/retry")

    assert response.status_code == 409 and response.mimetype == "application/problem+json"
