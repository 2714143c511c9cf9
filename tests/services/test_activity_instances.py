"""Activity instances: one row per element occurrence, written in the step that enters or leaves it.

Each scenario runs on one server and across a restart between steps (`server`), so the rows an earlier
step entered are ended from the saved state. Times are shifted with the clock fixture, so durations,
queue and work times are exact.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActivityInstance, ProcessInstance

HOUR = dt.timedelta(hours=1)
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="http://example.com/activity"')


def diagram(tmp_path, key: str, body: str):
    path = tmp_path / f"{key}.bpmn"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions id="d_{key}" {NS}>'
                    f'<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>')
    return path


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')


def form(**fields: str) -> str:
    """A Camunda form with these fields (name -> type: string, boolean)."""
    inner = "".join(f'<camunda:formField id="{name}" type="{kind}"/>' for name, kind in fields.items())
    return f"<bpmn:extensionElements><camunda:formData>{inner}</camunda:formData></bpmn:extensionElements>"


def rows(server, instance_id: str) -> list[ActivityInstance]:
    with server.app.app_context():
        try:
            found = db.session.scalars(select(ActivityInstance).where(ActivityInstance.instance_id == instance_id)
                                       .order_by(ActivityInstance.id)).all()
            db.session.expunge_all()
            return list(found)
        finally:
            db.session.remove()


def instance_row(server, instance_id: str) -> ProcessInstance:
    with server.app.app_context():
        try:
            found = db.session.get(ProcessInstance, instance_id)
            db.session.expunge(found)
            return found
        finally:
            db.session.remove()


def summary(found) -> list[tuple]:
    return [(r.element_id, r.state, r.from_element_id, r.from_flow_id) for r in found]


ROUTING = (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:exclusiveGateway id="route" default="to_skip"/>'
    '<bpmn:userTask id="review" name="Review" camunda:candidateGroups="staff">'
    + form(transition="string") + '</bpmn:userTask>'
    '<bpmn:endEvent id="reviewed"/><bpmn:endEvent id="skipped"/>'
    + flow("to_route", "start", "route") + flow("to_review", "route", "review", "amount &gt; 100")
    + flow("to_skip", "route", "skipped") + flow("to_end", "review", "reviewed"))


def test_a_branch_taken_a_claimed_task_and_the_end_reached_are_recorded_with_times_and_who(server, clock, make,
                                                                                            tmp_path):
    admin = server.login()
    sam = make.client("sam", groups=["staff"])
    admin.deploy(diagram(tmp_path, "routing", ROUTING))
    started = admin.start("routing", {"amount": 500})
    clock.shift(HOUR)
    server.restart()
    [task] = server.admin.instance(started["id"])["tasks"]
    assert sam.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    clock.shift(2 * HOUR)
    server.restart()
    sam.complete(task["id"], {"transition": "Qualified"})

    found = rows(server, started["id"])
    assert summary(found) == [("start", "completed", None, None), ("route", "completed", "start", "to_route"),
                              ("review", "completed", "route", "to_review"),
                              ("reviewed", "completed", "review", "to_end")]
    review = found[2]
    assert review.task_id == task["id"]
    assert (review.claimed_at - review.started_at, review.ended_at - review.claimed_at) == (HOUR, 2 * HOUR)
    assert (review.duration_ms, review.actor, review.outcome) == (3 * 3600 * 1000, "sam", "Qualified")
    assert [r.duration_ms for r in found if r.element_id != "review"] == [0, 0, 0]
    ended = instance_row(server, started["id"])
    assert (ended.status, ended.end_element_id) == ("completed", "reviewed")
    assert ended.ended_at == review.ended_at
    shown = server.admin.instance(started["id"])
    assert (shown["end_element_id"], shown["duration_ms"]) == ("reviewed", 3 * 3600 * 1000)


def test_the_default_flow_is_named_too(server, tmp_path):
    admin = server.login()
    admin.deploy(diagram(tmp_path, "routing", ROUTING))
    started = admin.start("routing", {"amount": 5})

    assert summary(rows(server, started["id"])) == [
        ("start", "completed", None, None), ("route", "completed", "start", "to_route"),
        ("skipped", "completed", "route", "to_skip")]
    assert instance_row(server, started["id"]).end_element_id == "skipped"


def test_an_interrupting_boundary_event_ends_its_task_as_interrupted(server, clock, make, tmp_path):
    admin = server.login()
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="work" camunda:assignee="admin"/>'
            '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="true">'
            '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
            '</bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="escalated"/>'
            + flow("f1", "start", "work") + flow("f2", "work", "done") + flow("f3", "late", "escalated"))
    admin.deploy(diagram(tmp_path, "deadline", body))
    started = admin.start("deadline")
    clock.shift(HOUR + dt.timedelta(minutes=1))
    server.restart()
    server.fire()

    found = rows(server, started["id"])
    assert summary(found) == [("start", "completed", None, None), ("work", "interrupted", "start", "f1"),
                              ("late", "completed", "work", None), ("escalated", "completed", "late", "f3")]
    work = found[1]
    assert work.claimed_at == work.started_at  # given to its assignee as it opened: no queue
    assert work.duration_ms == (HOUR + dt.timedelta(minutes=1)).total_seconds() * 1000
    assert instance_row(server, started["id"]).end_element_id == "escalated"


def test_parallel_branches_each_have_their_rows_and_the_join_one_per_arriving_branch(server, tmp_path):
    admin = server.login()
    body = ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>'
            '<bpmn:userTask id="a" camunda:assignee="admin"/><bpmn:userTask id="b" camunda:assignee="admin"/>'
            '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
            + flow("f0", "start", "fork") + flow("fa", "fork", "a") + flow("fb", "fork", "b")
            + flow("ja", "a", "join") + flow("jb", "b", "join") + flow("fe", "join", "end"))
    admin.deploy(diagram(tmp_path, "both", body))
    started = admin.start("both")
    tasks = {t["element_id"]: t["id"] for t in admin.instance(started["id"])["tasks"]}
    server.restart()
    server.admin.complete(tasks["b"])
    server.restart()
    server.admin.complete(tasks["a"])

    found = summary(rows(server, started["id"]))
    assert sorted(found) == sorted([
        ("start", "completed", None, None), ("fork", "completed", "start", "f0"),
        ("a", "completed", "fork", "fa"), ("b", "completed", "fork", "fb"),
        ("join", "completed", "b", "jb"), ("join", "completed", "a", "ja"), ("end", "completed", "join", "fe")])
    assert found[-1] == ("end", "completed", "join", "fe")


def test_a_loop_and_a_multi_instance_task_give_one_row_per_occurrence(server, tmp_path):
    admin = server.login()
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:userTask id="check" camunda:assignee="admin">' + form(redo="boolean") +
            '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
            '<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
            '<bpmn:exclusiveGateway id="again" default="stop"/><bpmn:endEvent id="end"/>'
            + flow("f1", "start", "check") + flow("f2", "check", "again")
            + flow("redo", "again", "check", "redo == True") + flow("stop", "again", "end"))
    admin.deploy(diagram(tmp_path, "checks", body))
    started = admin.start("checks")
    for redo in (True, False):
        for task in admin.instance(started["id"])["tasks"]:
            server.restart()
            server.admin.complete(task["id"], {"redo": redo})

    found = rows(server, started["id"])
    counts = {}
    for r in found:
        counts[r.element_id] = counts.get(r.element_id, 0) + 1
    # per round: the multi-instance body once and each of its two instances
    assert counts == {"start": 1, "check": 6, "again": 2, "end": 1}
    assert {r.state for r in found} == {"completed"}
    assert all(r.ended_at is not None and r.duration_ms is not None for r in found)


def test_a_sub_process_is_entered_before_what_runs_inside_it_and_left_after(server, tmp_path):
    admin = server.login()
    body = ('<bpmn:startEvent id="start"/><bpmn:subProcess id="inner">'
            '<bpmn:startEvent id="inner_start"/><bpmn:userTask id="fill" camunda:assignee="admin"/>'
            '<bpmn:endEvent id="inner_end"/>' + flow("i1", "inner_start", "fill") + flow("i2", "fill", "inner_end")
            + '</bpmn:subProcess><bpmn:endEvent id="end"/>' + flow("f1", "start", "inner") + flow("f2", "inner", "end"))
    admin.deploy(diagram(tmp_path, "nested", body))
    started = admin.start("nested")
    [task] = admin.instance(started["id"])["tasks"]
    server.restart()
    server.admin.complete(task["id"])

    found = rows(server, started["id"])
    assert [(r.element_id, r.from_element_id, r.from_flow_id) for r in found] == [
        ("start", None, None), ("inner", "start", "f1"), ("inner_start", None, None), ("fill", "inner_start", "i1"),
        ("inner_end", "fill", "i2"), ("end", "inner", "f2")]
    assert instance_row(server, started["id"]).end_element_id == "end"  # not the sub-process's end


def test_cancelling_an_instance_ends_what_was_open_as_cancelled(server, clock, tmp_path):
    admin = server.login()
    admin.deploy(diagram(tmp_path, "routing", ROUTING))
    started = admin.start("routing", {"amount": 500})
    clock.shift(HOUR)
    server.restart()
    assert server.admin.post(f"/api/v1/process-instances/{started['id']}/cancel", json={}).status_code == 200

    review = rows(server, started["id"])[-1]
    ended = instance_row(server, started["id"])
    assert (review.element_id, review.state, review.ended_at, review.duration_ms) == (
        "review", "cancelled", ended.ended_at, 3600 * 1000)
    assert ended.end_element_id is None


def test_the_history_lists_each_row_as_entered_then_left(server, tmp_path):
    admin = server.login()
    admin.deploy(diagram(tmp_path, "routing", ROUTING))
    started = admin.start("routing", {"amount": 5})
    history = admin.get(f"/api/v1/process-instances/{started['id']}/history").get_json()["items"]

    assert [(e["type"], e["element_id"]) for e in history] == [
        ("instance_started", None),
        ("element_entered", "start"), ("element_left", "start"), ("element_entered", "route"),
        ("element_left", "route"), ("element_entered", "skipped"), ("element_left", "skipped"),
        ("status_changed", None)]


@pytest.mark.parametrize("data, outcome", [
    ({"transition": "Won"}, "Won"), ({"approved": False}, "rejected"), ({"approved": True}, "approved"),
    ({"decision": "escalate"}, "escalate"), ({"note": "fine"}, None)])
def test_a_human_tasks_outcome_is_its_transition_or_decision(app, admin, make, tmp_path, data, outcome):
    from tests.api.servers import Server
    server = Server(app, app.config["SQLALCHEMY_DATABASE_URI"], restarts=False)
    server.admin = admin
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="decide" camunda:assignee="admin">'
            + form(transition="string", approved="boolean", decision="string", note="string") + '</bpmn:userTask>'
            '<bpmn:endEvent id="end"/>' + flow("f1", "start", "decide") + flow("f2", "decide", "end"))
    admin.deploy(diagram(tmp_path, "decision", body))
    started = admin.start("decision")
    [task] = admin.instance(started["id"])["tasks"]
    admin.complete(task["id"], data)

    decided = rows(server, started["id"])[1]
    assert (decided.element_id, decided.actor, decided.outcome) == ("decide", "admin", outcome)
