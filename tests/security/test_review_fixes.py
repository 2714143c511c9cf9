"""Pattern filters cannot make the server backtrack, and touchpoints cannot pose as the server's entries."""
from __future__ import annotations

import pytest

from app.services import history

from ..factories import assert_problem, fixture


def test_a_like_filter_is_matched_on_re2(monkeypatch):
    compiled = []
    original = history.patterns.compile_pattern
    monkeypatch.setattr(history.patterns, "compile_pattern", lambda p: compiled.append(p) or original(p))
    matches = history._like_matcher("%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b")  # backtracking's worst case
    assert not matches("a" * 60) and matches("a" * 20 + "b")
    assert compiled, "the LIKE pattern must be compiled by RE2 (app.patterns), never by re"


def test_a_wildcard_heavy_variable_filter_answers_like_a_plain_one(make):
    mallory = make.client("mallory", groups=["modelers"])
    mallory.deploy(fixture("valid", "simple_user_task.bpmn"))
    mallory.start("simple_user_task", {"a" * 40: 1, "ab": 2})
    from ..camunda.test_rest import Camunda
    rest = Camunda(mallory.app, "mallory")
    heavy = rest.ok(rest.get("/history/variable-instance/count?variableNameLike=" + "%a" * 20 + "%b"))
    assert heavy == {"count": 0}
    assert rest.ok(rest.get("/history/variable-instance/count?variableNameLike=%b")) == {"count": 1}


@pytest.fixture
def lead(make):
    rita = make.client("rita")
    response = rita.post("/api/v1/modules/Leads/records", json={"last_name": "Lima", "company": "Acme"})
    assert response.status_code == 201, response.get_json()
    return rita, response.get_json()


@pytest.mark.parametrize("kind", ["attachment_added", "task_completed", "rule_failed", "email_sent", "note_edited"])
def test_a_touchpoint_may_not_pose_as_an_entry_the_server_writes(lead, kind):
    rita, record = lead
    path = f"/api/v1/modules/Leads/records/{record['id']}"
    refused = assert_problem(rita.post(f"{path}/touchpoints", json={"type": kind}), 400)
    assert "type" in refused["errors"]
    assert kind not in {e["type"] for e in rita.get(f"{path}/timeline").get_json()["items"]}


def test_a_touchpoint_is_marked_as_one_whatever_its_data_says(lead):
    rita, record = lead
    path = f"/api/v1/modules/Leads/records/{record['id']}"
    posted = rita.post(f"{path}/touchpoints", json={"type": "webinar_attended", "data": {"touchpoint": False}})
    assert posted.status_code == 201, posted.get_json()
    [entry] = [e for e in rita.get(f"{path}/timeline").get_json()["items"] if e["type"] == "webinar_attended"]
    assert entry["data"]["touchpoint"] is True
