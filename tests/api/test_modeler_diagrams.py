"""Diagrams as modelers draw them, over HTTP: a start event whose id is `Start`, a loop through a timer without a
gateway, a DMN 1.1 decision requirements graph; and a deployment whose files are all wrong is refused with the
problems of every file in one problem+json, never a 500."""
from __future__ import annotations

import io

from ..engine.test_decisions import DISCOUNT, DMN_NAMESPACES, TIER, dmn, process
from ..engine.test_standard_reading import LOOP, RESERVED
from ..factories import assert_problem


def deploy(admin, *named: tuple[str, str], expect: int = 201):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in named]}
    response = admin.post("/api/v1/deployments", data=data, content_type="multipart/form-data")
    if expect == 201:
        assert response.status_code == 201, response.get_json()
    return response


def test_a_start_event_named_start_deploys_starts_and_keeps_its_id_in_every_answer(admin):
    deploy(admin, ("reserved.bpmn", RESERVED))

    started = admin.start("p")
    assert [t["element_id"] for t in started["tasks"]] == ["Root"]
    done = admin.complete(started["tasks"][0]["id"])

    assert done["status"] == "completed"
    assert admin.instance(started["id"])["variables"]["checked"] is True
    history = admin.get(f"/api/v1/process-instances/{started['id']}/history").get_json()["items"]
    left = [h["element_id"] for h in history if h["type"] == "element_left"]
    assert left == ["Start", "Root", "p.EndJoin", "End"]
    assert not any("_element" in (h["element_id"] or "") for h in history)


def test_a_loop_through_a_timer_without_a_gateway_starts_and_waits_for_its_timer(admin):
    deploy(admin, ("loop.bpmn", LOOP))

    started = admin.start("p")
    [task] = started["tasks"]
    assert task["element_id"] == "call"
    waiting = admin.complete(task["id"])

    assert waiting["status"] == "running" and waiting["tasks"] == []
    assert [a["element_id"] for a in admin.instance(started["id"])["active_activities"]] == ["wait"]


def test_a_dmn_1_1_decision_requirements_graph_decides_over_http(admin):
    table = dmn(DISCOUNT.format(required="tier"), TIER, namespace=DMN_NAMESPACES["1.1 (dmn11.xsd)"])
    deploy(admin, ("pricing.bpmn", process("discount")), ("pricing.dmn", table))

    started = admin.start("pricing", {"revenue": 250000})

    assert admin.instance(started["id"])["variables"]["discount"] == 15


def test_a_refusal_lists_the_problems_of_every_file_of_the_deployment(admin):
    broken_dmn = dmn(DISCOUNT.format(required="segment"))
    broken_bpmn = RESERVED.replace("checked = True", "checked = = True")

    response = deploy(admin, ("reserved.bpmn", broken_bpmn), ("pricing.dmn", broken_dmn),
                      ("pricing.bpmn", process("discount")), expect=422)

    body = assert_problem(response, 422)
    named = {(p["file"], p.get("element_id")) for p in body["bpmn"]}
    assert {("reserved.bpmn", "p.EndJoin"), ("pricing.dmn", "discount"), ("pricing.bpmn", "decide")} <= named
    assert all(p.get("line") for p in body["bpmn"])
    assert "Traceback" not in response.get_data(as_text=True)
