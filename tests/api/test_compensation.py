"""Compensation through the server: a worker reports a declined card, the bookings are undone in reverse order,
the hotel's cancellation waits in a clerk's inbox (across a restart), and the history shows the throw event
active until its handlers are done, as Camunda's does."""
from __future__ import annotations

from config import TestConfig

from ..camunda.test_rest import Camunda
from ..engine.test_compensation import DECLINED, START, compensate, diagram, flows, script, undone_by

TRIP = diagram(
    START,
    '<bpmn:scriptTask id="book_hotel"><bpmn:script>hotel = "H-17"\nlog = log + ["book hotel"]</bpmn:script>'
    '</bpmn:scriptTask>',
    undone_by("book_hotel", '<bpmn:userTask id="call_hotel" name="Cancel the hotel" isForCompensation="true" '
                            'camunda:candidateGroups="clerks"><bpmn:extensionElements><camunda:formData>'
                            '<camunda:formField id="cancellation" type="string" /></camunda:formData>'
                            '</bpmn:extensionElements></bpmn:userTask>', "call_hotel"),
    script("book_flight", "book flight"),
    undone_by("book_flight", script("cancel_flight", "cancel flight", handler=True), "cancel_flight"),
    '<bpmn:serviceTask id="charge_card" camunda:type="external" camunda:topic="cards" />',
    '<bpmn:boundaryEvent id="card_declined" attachedToRef="charge_card"><bpmn:errorEventDefinition errorRef="declined" />'
    '</bpmn:boundaryEvent>',
    compensate("undo_bookings"), '<bpmn:endEvent id="cancelled" />', '<bpmn:endEvent id="confirmed" />',
    flows("start", "book_hotel", "book_flight", "charge_card", "confirmed"),
    flows("card_declined", "undo_bookings", "cancelled"), before=DECLINED)


def _rest(server) -> Camunda:
    return Camunda(server.app, "admin", TestConfig.ADMIN_PASSWORD)


def _activities(server, instance_id: str) -> dict[str, dict]:
    rest = _rest(server)
    rows = rest.ok(rest.get(f"/history/activity-instance?processInstanceId={instance_id}&maxResults=100"))
    return {row["activityId"]: row for row in rows}


def test_a_declined_card_cancels_the_flight_then_waits_for_a_clerk_to_cancel_the_hotel(server, tmp_path):
    path = tmp_path / "trip.bpmn"
    path.write_bytes(TRIP)
    admin = server.login()
    admin.deploy(path)
    started = admin.start("trip", {"log": []})
    rest = _rest(server)
    [job] = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 1, "topics": [{"topicName": "cards", "lockDuration": 60_000}]}))
    rest.ok(rest.post(f"/external-task/{job['id']}/bpmnError", json={"workerId": "w", "errorCode": "card_declined"}),
            204)

    server.restart()
    admin = server.admin
    waiting = admin.instance(started["id"])
    [task] = admin.get(f"/api/v1/tasks?process_instance_id={started['id']}").get_json()["items"]
    during = _activities(server, started["id"])

    assert waiting["status"] == "running"
    assert waiting["variables"]["log"] == ["book hotel", "book flight", "cancel flight"]
    assert task["element_id"] == "call_hotel" and waiting["variables"]["hotel"] == "H-17"
    assert during["undo_bookings"]["activityType"] == "intermediateCompensationThrowEvent"
    assert during["undo_bookings"]["endTime"] is None  # waits for its handlers
    assert during["cancel_flight"]["endTime"] is not None

    admin.complete(task["id"], {"cancellation": "C-9"})
    done = admin.instance(started["id"])
    after = _activities(server, started["id"])

    assert done["status"] == "completed"
    assert done["variables"]["cancellation"] == "C-9"
    assert after["undo_bookings"]["endTime"] is not None
    assert after["call_hotel"]["endTime"] <= after["undo_bookings"]["endTime"] <= after["cancelled"]["startTime"]
    assert "confirmed" not in after


def test_the_handler_is_offered_to_its_candidate_group(server, tmp_path, make):
    path = tmp_path / "trip.bpmn"
    path.write_bytes(TRIP)
    admin = server.login()
    admin.deploy(path)
    started = admin.start("trip", {"log": []})
    rest = _rest(server)
    [job] = rest.ok(rest.post("/external-task/fetchAndLock", json={
        "workerId": "w", "maxTasks": 1, "topics": [{"topicName": "cards", "lockDuration": 60_000}]}))
    rest.ok(rest.post(f"/external-task/{job['id']}/bpmnError", json={"workerId": "w", "errorCode": "card_declined"}),
            204)

    clerk = make.client("clara", groups=["clerks"])
    outsider = make.client("otto")
    [offered] = clerk.get("/api/v1/tasks").get_json()["items"]
    assert offered["element_id"] == "call_hotel" and offered["process_instance_id"] == started["id"]
    assert outsider.get("/api/v1/tasks").get_json()["items"] == []
    clerk.complete(offered["id"])
    assert admin.instance(started["id"])["status"] == "completed"
