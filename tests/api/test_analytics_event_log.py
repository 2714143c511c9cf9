"""The event log export: CSV rows and an XES log valid against the IEEE 1849-2016 schema, streamed, filtered
and bounded as the other analytics calls."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from lxml import etree


API = "/api/v1/analytics/event-log"
XSD = Path(__file__).resolve().parents[1] / "fixtures" / "xes" / "xes-ieee-1849-2016.xsd"
LIFECYCLE = {"completed": "complete", "cancelled": "ate_abort", "interrupted": "ate_abort", "active": "start"}


def at(moment) -> str:
    return moment.isoformat(timespec="milliseconds") if moment else ""


def test_the_csv_has_one_row_per_activity_instance_by_case_in_start_order(admin, case_sla):
    _, made = case_sla
    response = admin.get(f"{API}?key=case_sla&format=csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="case_sla.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    expected = [{"case_id": c.id, "business_key": c.business_key, "activity_id": r.element_id,
                 "start_timestamp": at(r.started), "complete_timestamp": at(r.ended), "resource": r.actor or "",
                 "lifecycle": LIFECYCLE[r.state]}
                for c in sorted(made, key=lambda c: c.started)
                for r in sorted(c.rows, key=lambda r: r.started)]  # stable: written in start order
    assert [{k: row[k] for k in expected[0]} for row in rows] == expected
    assert {row["activity"] for row in rows if row["activity_id"] == "resolve_case"} == {"resolve_case"}


def test_the_csv_follows_the_filters_and_the_limit(admin, case_sla):
    _, made = case_sla
    vip = list(csv.DictReader(io.StringIO(admin.get(
        f"{API}?key=case_sla&business_key_prefix=VIP-").get_data(as_text=True))))
    first_two = list(csv.DictReader(io.StringIO(admin.get(f"{API}?key=case_sla&limit=2").get_data(as_text=True))))
    since = made[9].started
    late = list(csv.DictReader(io.StringIO(admin.get(
        API, query_string={"key": "case_sla", "started_from": since.isoformat()}).get_data(as_text=True))))

    assert {r["case_id"] for r in vip} == {c.id for c in made if c.business_key.startswith("VIP-")}
    assert [r["case_id"] for r in first_two] == [made[0].id] * len(made[0].rows) + [made[1].id] * len(made[1].rows)
    assert {r["case_id"] for r in late} == {c.id for c in made[9:]}
    assert len(late) == sum(len(c.rows) for c in made[9:])  # whole traces, whatever their rows' own starts


def test_the_xes_log_is_valid_against_the_ieee_schema_with_a_trace_per_instance(admin, case_sla):
    _, made = case_sla
    response = admin.get(f"{API}?key=case_sla&format=xes")

    assert response.status_code == 200 and response.mimetype == "application/xml"
    log = etree.fromstring(response.data)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(log), schema.error_log
    assert {e.get("prefix") for e in log.findall("extension")} == {"concept", "time", "lifecycle", "org"}
    traces = log.findall("trace")
    assert [t.find("string[@key='concept:name']").get("value") for t in traces] == [
        c.id for c in sorted(made, key=lambda c: c.started)]

    def attr(event, key):
        found = event.find(f"*[@key='{key}']")
        return None if found is None else found.get("value")

    for trace, case in zip(traces, sorted(made, key=lambda c: c.started)):
        events = trace.findall("event")
        assert len(events) == sum(2 if r.ended else 1 for r in case.rows)
        stamps = [dt.datetime.fromisoformat(attr(e, "time:timestamp")) for e in events]
        assert stamps == sorted(stamps)  # time order within the trace
        [task] = [r for r in case.rows if r.element_id == "resolve_case"]
        mine = [e for e in events if attr(e, "element_id") == "resolve_case"]
        assert attr(mine[0], "lifecycle:transition") == "start" and attr(mine[0], "time:timestamp") == at(task.started)
        if task.ended:
            assert len(mine) == 2 and attr(mine[0], "concept:instance") == attr(mine[1], "concept:instance")
            assert attr(mine[1], "lifecycle:transition") == LIFECYCLE[task.state]
            assert attr(mine[1], "time:timestamp") == at(task.ended)
            assert attr(mine[1], "org:resource") == task.actor
        else:
            assert len(mine) == 1
        assert attr(mine[0], "concept:name") == "resolve_case"  # the rows carry no names: the element id


def test_an_empty_log_is_still_a_valid_xes_document(admin, case_sla):
    response = admin.get(f"{API}?key=case_sla&format=xes&business_key_prefix=NOBODY")

    log = etree.fromstring(response.data)
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(log)
    assert log.findall("trace") == []


HOSTILE = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions id="d_hostile" '
           'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="http://example.com/hostile">'
           '<bpmn:process id="hostile" isExecutable="true"><bpmn:startEvent id="start" name="-2+3"/>'
           '<bpmn:userTask id="review" name="@SUM(1+1)"/><bpmn:endEvent id="end"/>'
           '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>'
           '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/></bpmn:process></bpmn:definitions>')


def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text(admin, tmp_path):
    path = tmp_path / "hostile.bpmn"
    path.write_text(HOSTILE)
    admin.deploy(path)
    for key in ("=cmd|' /C calc'!A0", "+SUM(1)", "\tTAB", "plain"):
        admin.start("hostile", business_key=key)

    rows = list(csv.DictReader(io.StringIO(admin.get(f"{API}?key=hostile&format=csv").get_data(as_text=True))))

    assert [r["business_key"] for r in rows if r["activity_id"] == "review"] == [
        "'=cmd|' /C calc'!A0", "'+SUM(1)", "'\tTAB", "plain"]
    assert {r["activity"] for r in rows} == {"'-2+3", "'@SUM(1+1)"}


def test_characters_xml_forbids_cannot_make_the_xes_log_unreadable(admin, tmp_path):
    path = tmp_path / "hostile.bpmn"
    path.write_text(HOSTILE)
    admin.deploy(path)
    admin.start("hostile", business_key="\u0001ctl\u001b[31m\u0007bell")

    body = admin.get(f"{API}?key=hostile&format=xes").get_data()

    log = etree.fromstring(body)  # well-formed
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(log)
    [key] = log.xpath("//trace/string[@key='business_key']/@value")
    assert key == "\ufffdctl\ufffd[31m\ufffdbell"
