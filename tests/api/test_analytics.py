"""Process analytics over activity rows: heat map, bottlenecks, gateway branches, durations; who may ask; bad
queries. Every expected number is computed by the test from the rows it wrote (tests/api/analytics_data.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from ..factories import assert_problem, shipped
from . import analytics_data as data

API = "/api/v1/analytics"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def test_the_heat_map_counts_each_element_and_flow_with_nearest_rank_percentiles(admin, case_sla):
    definition_id, made = case_sla
    body = admin.get(f"{API}/heat-map?key=case_sla").get_json()

    elements, flows = data.expected_heat(data.rows_of(made))
    assert body["definition"]["id"] == definition_id
    got = {e["element_id"]: e for e in body["elements"]}
    for element_id, expected in elements.items():
        assert {k: got[element_id][k] for k in expected} == expected, element_id
    assert got["customer_replied"]["count"] == 0 and got["customer_replied"]["p50_ms"] is None  # never reached
    assert got["resolve_case"]["name"] == "Resolve the case" and got["resolve_case"]["type"] == "userTask"
    taken = {f["flow_id"]: f["taken"] for f in body["flows"]}
    assert {k: v for k, v in taken.items() if v} == flows
    assert taken["flow_wait_to_reply"] == 0  # drawn, never taken
    by_id = {f["flow_id"]: f for f in body["flows"]}
    assert (by_id["flow_resolved"]["source"], by_id["flow_resolved"]["target"]) == ("case_outcome", "close_case")
    # the scenario covers every way an occurrence stands
    assert got["resolve_case"]["active"] == 2 and got["resolve_case"]["cancelled"] == 2


@pytest.mark.parametrize("filters", [
    {"business_key_prefix": "VIP-"}, {"owner": "bob"}, {"module": "cases"},
    {"owner": "ann", "business_key_prefix": "CASE-"}, {"period": (5, 11)}])
def test_the_heat_map_filters_by_period_business_key_starter_and_module(admin, case_sla, filters):
    definition_id, made = case_sla
    query = {k: v for k, v in filters.items() if k != "period"}
    selected = dict(prefix=query.get("business_key_prefix"), owner=query.get("owner"), module=query.get("module"))
    if "period" in filters:
        first, last = (made[i].started for i in filters["period"])
        query.update(started_from=iso(first), started_to=iso(last))
        selected.update(started_from=first, started_to=last)
    body = admin.get(f"{API}/heat-map", query_string={"definition_id": definition_id, **query}).get_json()

    elements, flows = data.expected_heat(data.rows_of(made, **selected))
    got = {e["element_id"]: e for e in body["elements"] if e["count"]}
    assert set(got) == set(elements)
    for element_id, expected in elements.items():
        assert {k: got[element_id][k] for k in expected} == expected, element_id
    assert {f["flow_id"]: f["taken"] for f in body["flows"] if f["taken"]} == flows


def test_gateway_branches_count_each_outgoing_flow_and_how_its_instances_ended(admin, case_sla):
    _, made = case_sla
    body = admin.get(f"{API}/gateways?key=case_sla&version=1").get_json()

    expected = data.expected_branches(data.rows_of(made))
    got = {g["gateway_id"]: g for g in body["gateways"]}
    assert set(got) == set(data.GATEWAYS)
    assert got["reply_or_seven_days"]["type"] == "eventBasedGateway"
    for (gateway, flow), want in expected.items():
        [branch] = [b for b in got[gateway]["branches"] if b["flow_id"] == flow]
        assert branch["target"] == data.FLOW_TARGETS[(gateway, flow)]
        assert (branch["taken"], branch["instances"]) == (want["taken"], want["instances"]), flow
        assert {(o["status"], o["end_element_id"]): o["instances"] for o in branch["outcomes"]} == want["outcomes"]
    assert got["case_outcome"]["taken"] == sum(v["taken"] for (g, _), v in expected.items() if g == "case_outcome")
    assert expected[("case_outcome", "flow_resolved")]["taken"] == 5  # the scenario takes both branches
    assert expected[("case_outcome", "flow_waiting_on_customer")]["taken"] == 3


def test_bottlenecks_rank_elements_and_time_human_tasks_per_candidate_group(admin, case_sla):
    _, made = case_sla
    now = dt.datetime.now(dt.timezone.utc)
    body = admin.get(f"{API}/bottlenecks?key=case_sla&limit=3").get_json()

    expected = data.expected_bottlenecks(data.rows_of(made), now, limit=3)
    assert [{k: e[k] for k in ("element_id", "completed", "p50_ms", "p90_ms", "score_ms")}
            for e in body["elements"]] == expected["elements"]
    got = {(t["element_id"], t["candidate_group"]): t for t in body["human_tasks"]}
    assert set(got) == {("resolve_case", "support"), ("resolve_case", "tier2")}
    for key, want in expected["human"].items():
        assert {k: got[key][k] for k in want} == want, key
    [sla] = body["sla"]
    want = expected["sla"]["resolve_case"]
    assert {k: sla[k] for k in want} == want
    assert sla["breached"] == want["completed_late"] + want["open_overdue"] > 0
    levels = {e["element_id"]: e for e in body["escalations"]}
    assert set(levels) == {"four_hours_unresolved", "eight_hours_unresolved"}
    assert {k: v["fired"] for k, v in levels.items()} == expected["fired"]
    assert levels["four_hours_unresolved"]["attached_to"] == "resolve_case"
    assert levels["four_hours_unresolved"]["interrupting"] is False


def test_durations_per_version_and_end_event(admin, make, case_sla):
    definition_id, made = case_sla
    changed = shipped("sla", "case_sla.bpmn").read_bytes().replace(b'name="Close the case"', b'name="Close it"')
    import io
    second = admin.post("/api/v1/deployments", content_type="multipart/form-data",
                        data={"files": [(io.BytesIO(changed), "case_sla.bpmn")]}).get_json()["definitions"][0]["id"]
    later = data.cases(dt.datetime.now(dt.timezone.utc), count=4, seed=3)
    data.write(make, second, later)

    body = admin.get(f"{API}/durations?key=case_sla").get_json()

    assert [d["definition"]["version"] for d in body["definitions"]] == [2, 1]
    for definition, cases in zip(body["definitions"], (later, made)):
        want = data.expected_durations(cases)
        assert {k: definition[k] for k in ("instances", "by_status", "completed", "p50_ms", "p90_ms")} == {
            k: want[k] for k in ("instances", "by_status", "completed", "p50_ms", "p90_ms")}
        assert {e["end_element_id"]: (e["completed"], e["p50_ms"], e["p90_ms"])
                for e in definition["end_events"]} == want["end_events"]
    one = admin.get(f"{API}/durations?definition_id={definition_id}&owner=ann").get_json()
    assert one["definitions"][0]["instances"] == sum(1 for c in made if c.owner == "ann")


def test_percentiles_are_the_nearest_rank_on_every_database(app, admin, make, clock):
    """p50 and p90 of 1..10 seconds are 5 s and 9 s; of one value, that value; of 1 s and 2 s: 1 s and 2 s."""
    definition_id = admin.deploy(shipped("sla", "case_sla.bpmn"))["definitions"][0]["id"]
    t = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=1)
    instance = make.process_instance(definition_id, started_at=t, status="running")
    for element, seconds in (("open_case", range(1, 11)), ("close_case", [7]), ("auto_close", [2, 1])):
        for s in seconds:
            make.activity(instance, element, started_at=t, ended_at=t + dt.timedelta(seconds=s))

    got = {e["element_id"]: (e["p50_ms"], e["p90_ms"]) for e in admin.get(
        f"{API}/heat-map?definition_id={definition_id}").get_json()["elements"]}

    assert got["open_case"] == (5000, 9000)
    assert got["close_case"] == (7000, 7000)
    assert got["auto_close"] == (1000, 2000)


def test_only_admins_and_holders_of_the_analytics_permission_may_ask(app, make, case_sla):
    definition_id, _ = case_sla
    reader = make.client("reader")
    make.grant(["read", "start"], "process", "case_sla", user="reader")
    for path in ("heat-map", "bottlenecks", "gateways", "durations", "event-log"):
        body = assert_problem(reader.get(f"{API}/{path}?key=case_sla"), 403)
        assert "analytics" in body["detail"]
    assert_problem(make.client("anyone").get(f"{API}/heat-map?definition_id={definition_id}"), 403)

    make.grant("analytics", "process", "case_sla", group="analysts")
    analyst = make.client("analyst", groups=["analysts"])
    assert analyst.get(f"{API}/heat-map?key=case_sla").status_code == 200
    assert analyst.get(f"{API}/event-log?key=case_sla").status_code == 200
    assert_problem(analyst.get(f"{API}/heat-map?key=other"), 403)  # the grant is on case_sla only
    assert_problem(app.test_client().get(f"{API}/heat-map?key=case_sla"), 401)


@pytest.mark.parametrize("query, field", [
    ("", "key"),
    ("definition_id=abc&key=case_sla", "definition_id"),
    ("version=1", "version"),
    ("key=case_sla&version=0", "version"),
    ("key=case_sla&version=x", "version"),
    ("key=case_sla&started_from=yesterday", "started_from"),
    ("key=case_sla&started_from=2026-01-02T00:00:00Z&started_to=2026-01-01T00:00:00Z", "started_to"),
    ("key=case_sla&business_key_prefix=" + "x" * 256, "business_key_prefix"),
])
def test_bad_queries_are_400_problems_naming_the_field(admin, case_sla, query, field):
    body = assert_problem(admin.get(f"{API}/heat-map?{query}"), 400)

    assert field in str(body.get("errors")), body


def test_unknown_definitions_and_versions_are_404(admin, case_sla):
    assert_problem(admin.get(f"{API}/heat-map?key=nothing"), 404)
    assert_problem(admin.get(f"{API}/heat-map?key=case_sla&version=9"), 404)
    assert_problem(admin.get(f"{API}/durations?definition_id=" + "0" * 32), 404)
    assert_problem(admin.get(f"{API}/bottlenecks?key=case_sla&limit=0"), 400)
    assert_problem(admin.get(f"{API}/event-log?key=case_sla&format=pdf"), 400)
