"""GET /api/v1/blueprints/{key}/stages: the stages a blueprint leads a record through, in flow order.

A stage is what the record-sync hook sets the record's stage field to: an element's `stage` property,
else a user or manual task's name. The fixture lists its elements scrambled, with two review branches
that join, a loop back to Draft and a second way out.
"""
from __future__ import annotations

import pytest

from ..factories import assert_problem, fixture, shipped

STAGES = "/api/v1/blueprints/article_stages/stages"
ARTICLE = fixture("crm", "article_stages.bpmn")


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [stage["name"] for stage in response.get_json()["stages"]]


def test_stages_follow_the_flows_and_name_where_each_is_first_reached(admin):
    admin.deploy(ARTICLE)

    body = admin.get(STAGES).get_json()

    assert names(admin.get(STAGES)) == ["Draft", "Legal review", "Finance review", "Approval", "Published", "Withdrawn"]
    assert [s["element_id"] for s in body["stages"]] == ["draft", "legal", "finance", "approval", "published",
                                                          "withdrawn"]
    assert body["stages"][4]["element_type"] == "endEvent"
    assert (body["key"], body["definition"]["version"], body["bindings"]) == ("article_stages", 1, [])


def test_the_modules_a_process_is_the_blueprint_of_are_listed(admin, make):
    admin.deploy(ARTICLE)
    created = admin.post("/api/v1/bindings", json={"name": "Articles", "module": "Deals", "event": "create",
                                                   "process_key": "article_stages", "kind": "blueprint",
                                                   "options": {"stage_field": "stage"}})
    assert created.status_code == 201, created.get_json()

    reader = make.client("olga")  # definitions and bindings are for every signed-in user to read

    assert reader.get(STAGES).get_json()["bindings"] == [{"module": "Deals", "field": "stage", "active": True}]


def test_a_version_is_chosen_by_number_and_the_latest_is_the_default(admin, tmp_path):
    admin.deploy(ARTICLE)
    renamed = tmp_path / "article_stages.bpmn"
    renamed.write_bytes(ARTICLE.read_bytes().replace(b'name="Approval"', b'name="Sign-off"'))
    admin.deploy(renamed)

    assert "Sign-off" in names(admin.get(STAGES)) and "Approval" not in names(admin.get(STAGES))
    assert "Approval" in names(admin.get(f"{STAGES}?version=1"))


def test_a_shipped_blueprint_lists_the_stages_of_its_module_in_order(admin):
    folder = shipped("electronics")
    admin.deploy(*[p for p in sorted(folder.iterdir()) if p.suffix in (".bpmn", ".json") and p.name != "stagecoach.json"])

    assert names(admin.get("/api/v1/blueprints/electronics_deal_followup/stages")) == [
        "Qualification", "Negotiation", "Closing", "Closed Won", "Closed Lost"]


@pytest.mark.parametrize("url, status", [("/api/v1/blueprints/nope/stages", 404), (f"{STAGES}?version=9", 404),
                                         (f"{STAGES}?version=0", 400), (f"{STAGES}?version=x", 400)])
def test_unknown_processes_and_versions_and_bad_versions_are_problems(admin, url, status):
    admin.deploy(ARTICLE)
    assert_problem(admin.get(url), status)


def test_without_a_token_the_stages_are_refused(client):
    assert_problem(client.get(STAGES), 401)
