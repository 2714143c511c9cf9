"""Process analytics over rows the runtime wrote: real instances of the rework loop (draft, offered to staff;
approved? yes: end, no: draft again), claimed and completed at known moments of the test's clock."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from ..factories import fixture

API = "/api/v1/analytics"
XSD = Path(__file__).resolve().parents[1] / "fixtures" / "xes" / "xes-ieee-1849-2016.xsd"


@pytest.fixture
def loops(clock, admin, make):
    """t=0: A, B and C start at draft. t=60 s: sam claims A's and B's drafts. t=90 s: A approved (ends), B sent
    back (a second draft). t=150 s: sam claims B's second draft. t=270 s: B approved (ends). C waits unclaimed."""
    definition_id = admin.deploy(fixture("valid", "rework_loop.bpmn"))["definitions"][0]["id"]
    sam = make.client("sam", groups=["staff"])
    a, b, c = (admin.start("rework_loop", business_key=f"LOOP-{n}")["id"] for n in "ABC")

    def draft(instance_id):
        [task] = admin.instance(instance_id)["tasks"]
        return task["id"]

    clock.shift(dt.timedelta(seconds=60))
    first_a, first_b = draft(a), draft(b)
    for task in (first_a, first_b):
        assert sam.post(f"/api/v1/tasks/{task}/claim").status_code in (200, 204)
    clock.shift(dt.timedelta(seconds=30))
    sam.complete(first_a, {"approved": True})
    sam.complete(first_b, {"approved": False})
    clock.shift(dt.timedelta(seconds=60))
    second_b = draft(b)
    assert sam.post(f"/api/v1/tasks/{second_b}/claim").status_code in (200, 204)
    clock.shift(dt.timedelta(seconds=120))
    sam.complete(second_b, {"approved": True})
    return definition_id, (a, b, c)


def test_the_heat_map_of_real_instances(admin, loops):
    body = admin.get(f"{API}/heat-map?key=rework_loop").get_json()

    elements = {e["element_id"]: e for e in body["elements"]}
    draft = elements["draft"]
    assert (draft["count"], draft["completed"], draft["active"], draft["cancelled"]) == (4, 3, 1, 0)
    assert (draft["p50_ms"], draft["p90_ms"]) == (90_000, 180_000)  # 90 s, 90 s, 180 s
    assert (elements["approved_gateway"]["count"], elements["end"]["count"]) == (3, 2)
    taken = {f["flow_id"]: f["taken"] for f in body["flows"]}
    assert taken == {"flow_start_to_draft": 3, "flow_draft_to_gateway": 3, "flow_done": 2, "flow_rework": 1}


def test_branches_waits_and_durations_of_real_instances(admin, loops):
    [gateway] = admin.get(f"{API}/gateways?key=rework_loop").get_json()["gateways"]
    bottlenecks = admin.get(f"{API}/bottlenecks?key=rework_loop").get_json()
    durations = admin.get(f"{API}/durations?key=rework_loop").get_json()["definitions"][0]

    branches = {b["flow_id"]: b for b in gateway["branches"]}
    assert (branches["flow_done"]["taken"], branches["flow_done"]["instances"]) == (2, 2)
    assert (branches["flow_rework"]["taken"], branches["flow_rework"]["instances"]) == (1, 1)
    assert branches["flow_rework"]["outcomes"] == [{"status": "completed", "end_element_id": "end", "instances": 1}]
    [staff] = bottlenecks["human_tasks"]
    assert (staff["element_id"], staff["candidate_group"], staff["tasks"], staff["claimed"]) == ("draft", "staff", 4, 3)
    assert (staff["queue_p50_ms"], staff["queue_p90_ms"]) == (60_000, 60_000)
    assert (staff["work_p50_ms"], staff["work_p90_ms"]) == (30_000, 120_000)
    assert bottlenecks["elements"][0] == {"element_id": "draft", "name": "Draft", "type": "userTask", "completed": 3,
                                          "p50_ms": 90_000, "p90_ms": 180_000, "score_ms": 270_000}
    assert (durations["instances"], durations["by_status"]) == (3, {"completed": 2, "running": 1})
    assert (durations["p50_ms"], durations["p90_ms"]) == (90_000, 270_000)
    assert durations["end_events"] == [{"end_element_id": "end", "name": "Done", "completed": 2,
                                        "p50_ms": 90_000, "p90_ms": 270_000}]


def test_the_event_log_of_real_instances(admin, loops):
    _, (a, b, c) = loops
    log = etree.fromstring(admin.get(f"{API}/event-log?key=rework_loop&format=xes").data)

    assert etree.XMLSchema(etree.parse(str(XSD))).validate(log)
    traces = {t.find("string[@key='concept:name']").get("value"): t for t in log.findall("trace")}
    assert set(traces) == {a, b, c}

    def events(instance_id):
        return [(e.find("*[@key='concept:name']").get("value"), e.find("*[@key='lifecycle:transition']").get("value"),
                 getattr(e.find("*[@key='org:resource']"), "get", lambda _: None)("value"))
                for e in traces[instance_id].findall("event")]

    drafts_of_b = [e for e in events(b) if e[0] == "Draft"]
    assert drafts_of_b == [("Draft", "start", None), ("Draft", "complete", "sam")] * 2
    assert [e for e in events(c) if e[0] == "Draft"] == [("Draft", "start", None)]
