"""Pattern filters cannot make the server backtrack, and touchpoints cannot pose as the server's entries."""
from __future__ import annotations

import pytest

from ..factories import assert_problem, fixture


def test_a_wildcard_heavy_variable_filter_answers_like_a_plain_one(make):
    """The database's LIKE does not backtrack: twenty `%a` against forty a's would take a matcher that tries
    every split about 10^11 steps; the count answers at once."""
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
