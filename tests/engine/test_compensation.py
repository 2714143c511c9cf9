"""Compensation runs as BPMN 2.0 (10.7) and Camunda 7 define it.

A compensation throw event undoes the completed activities of its scope that have a compensation handler,
the last completed first (only its activityRef's runs when it names one); activities never reached or not
completed yet are left alone; each completed run is undone once; the throw event waits for its handlers
(a user task handler makes the instance wait for a person), which run with the instance's data; a completed
sub-process is undone through its own activities, or by its compensation event sub-process.

Every scenario runs straight and with the instance saved and loaded before every step (`roundtrip`), in the
middle of compensation too. The diagrams are built by the small helpers below: each script task appends a
line to the `log` variable, so the order in which work was done and undone reads off the log.
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from app.engine import Engine, RunSettings

from .test_runner import Scenario, roundtrip  # noqa: F401 - fixture

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')


def script(element_id: str, line: str, *, handler: bool = False, name: str | None = None) -> str:
    marker = ' isForCompensation="true"' if handler else ""
    label = f' name="{name}"' if name else ""
    return (f'<bpmn:scriptTask id="{element_id}"{label}{marker}>'
            f'<bpmn:script>log = log + ["{line}"]</bpmn:script></bpmn:scriptTask>')


def flows(*ids: str) -> list[str]:
    return [f'<bpmn:sequenceFlow id="{a}_to_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in zip(ids, ids[1:])]


def undone_by(activity: str, handler: str | list[str], handler_id: str) -> tuple[list[str], list[str]]:
    """A compensation boundary event on `activity` and its handler (flow elements, then the association)."""
    handler = [handler] if isinstance(handler, str) else handler
    return ([f'<bpmn:boundaryEvent id="undo_{activity}" attachedToRef="{activity}">'
             f'<bpmn:compensateEventDefinition /></bpmn:boundaryEvent>', *handler],
            [f'<bpmn:association id="link_{activity}" associationDirection="One" sourceRef="undo_{activity}" '
             f'targetRef="{handler_id}" />'])


def compensate(element_id: str, activity: str | None = None, *, end: bool = False) -> str:
    tag = "endEvent" if end else "intermediateThrowEvent"
    ref = f' activityRef="{activity}"' if activity else ""
    return f'<bpmn:{tag} id="{element_id}"><bpmn:compensateEventDefinition{ref} /></bpmn:{tag}>'


def _parts(parts) -> tuple[list[str], list[str]]:
    """Flow elements and artifacts (associations go last, as the BPMN schema wants)."""
    elements, artifacts = [], []
    for part in parts:
        if isinstance(part, tuple):
            elements += part[0]
            artifacts += part[1]
        elif isinstance(part, list):
            elements += part
        else:
            elements.append(part)
    return elements, artifacts


def subprocess(element_id: str, *parts, attributes: str = "") -> list[str]:
    elements, artifacts = _parts(parts)
    return [f'<bpmn:subProcess id="{element_id}"{attributes}>', *elements, *artifacts, "</bpmn:subProcess>"]


def diagram(*parts, camunda: bool = True, before: str = "") -> bytes:
    elements, artifacts = _parts(parts)
    namespaces = NS if camunda else NS.split(" xmlns:camunda")[0]
    body = "\n".join("    " + line for line in elements + artifacts)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {namespaces} id="d" targetNamespace="t">\n'
            f'{before}  <bpmn:process id="trip" isExecutable="true">\n{body}\n  </bpmn:process>\n'
            f'</bpmn:definitions>\n').encode()


START = '<bpmn:startEvent id="start" />'
END = '<bpmn:endEvent id="end" />'
HOTEL = [script("book_hotel", "book hotel"), undone_by("book_hotel", script("cancel_hotel", "cancel hotel", handler=True),
                                                        "cancel_hotel")]
FLIGHT = [script("book_flight", "book flight"),
          undone_by("book_flight", script("cancel_flight", "cancel flight", handler=True), "cancel_flight")]
DECLINED = '  <bpmn:error id="declined" name="Card declined" errorCode="card_declined" />\n'


class Run(Scenario):
    """A Scenario whose asynchronous and external tasks are held, as the server holds them."""

    def __init__(self, *args):
        super().__init__(*args)
        self._prepare()

    def _prepare(self) -> None:
        self.engine.runner.prepare(self.wf, RunSettings.from_elements(self.model.elements))

    def _restore(self) -> None:
        super()._restore()
        self._prepare()

    def held(self, element_id: str) -> str:
        [task_id] = [t for t, element in self.last.held.items() if element == element_id]
        return task_id

    def complete_held(self, element_id: str, data: dict | None = None):
        task_id = self.held(element_id)
        self._restore()
        return self._record(self.engine.runner.complete_held(self.wf, task_id, data or {}))

    def throw_error(self, element_id: str, code: str):
        task_id = self.held(element_id)
        self._restore()
        return self._record(self.engine.runner.throw_error(self.wf, task_id, code, {}))

    def fire_timers(self):
        self._restore()
        return self._record(self.engine.runner.fire_timers(self.wf))

    def log(self) -> list[str]:
        return self.variables()["log"]

    def history(self, *element_ids: str) -> list[tuple[str, str]]:
        return [(e["type"], e["element_id"]) for e in self.events if e.get("element_id") in element_ids]


@pytest.fixture
def run(roundtrip):
    def start(xml: bytes, data: dict | None = None) -> Run:
        engine = Engine()
        [model] = engine.parse([("trip.bpmn", xml)])
        scenario = Run(engine, model, roundtrip, {"log": [], **(data or {})})
        scenario.events = []
        advance = scenario._record

        def record(outcome):
            scenario.events.extend(outcome.events)
            return advance(outcome)
        scenario._record = record
        scenario.advance()
        return scenario
    return start


# -- the booking trip: an error boundary event, then compensation ------------------------------------------------

def trip(camunda: bool = True) -> bytes:
    charge = ('<bpmn:serviceTask id="charge_card" camunda:type="external" camunda:topic="cards" />' if camunda else
              '<bpmn:userTask id="charge_card" />')
    return diagram(START, *HOTEL, *FLIGHT, charge,
                   '<bpmn:boundaryEvent id="card_declined" attachedToRef="charge_card">'
                   '<bpmn:errorEventDefinition errorRef="declined" /></bpmn:boundaryEvent>',
                   compensate("undo_bookings"), '<bpmn:endEvent id="cancelled" />', '<bpmn:endEvent id="confirmed" />',
                   flows("start", "book_hotel", "book_flight", "charge_card", "confirmed"),
                   flows("card_declined", "undo_bookings", "cancelled"), camunda=camunda, before=DECLINED)


def test_a_declined_card_cancels_the_flight_then_the_hotel(run):
    trip_run = run(trip())
    assert trip_run.log() == ["book hotel", "book flight"]

    done = trip_run.throw_error("charge_card", "card_declined")

    assert done.status == "completed" and done.incident is None
    assert trip_run.log() == ["book hotel", "book flight", "cancel flight", "cancel hotel"]
    assert trip_run.history("undo_bookings", "cancel_flight", "cancel_hotel", "cancelled") == [
        ("element_entered", "undo_bookings"),
        ("element_entered", "cancel_flight"), ("element_left", "cancel_flight"),
        ("element_entered", "cancel_hotel"), ("element_left", "cancel_hotel"),
        ("element_left", "undo_bookings"),
        ("element_entered", "cancelled"), ("element_left", "cancelled")]
    types = {e["element_id"]: e["element_type"] for e in trip_run.events}
    assert types["undo_bookings"] == "IntermediateCompensationThrowEvent"


def test_a_paid_trip_runs_no_handler(run):
    trip_run = run(trip())
    done = trip_run.complete_held("charge_card")
    assert done.status == "completed"
    assert trip_run.log() == ["book hotel", "book flight"]
    assert trip_run.history("cancel_flight", "cancel_hotel", "undo_bookings") == []


def test_the_spiffworkflow_dialect_compensates_the_same_way(run):
    trip_run = run(trip(camunda=False))
    assert trip_run.model.dialect == "spiff"
    trip_run.complete("charge_card")  # no error in this variant: compensation is thrown from the error path only
    assert trip_run.log() == ["book hotel", "book flight"]
    flow = diagram(START, *HOTEL, *FLIGHT, compensate("undo"), END,
                   flows("start", "book_hotel", "book_flight", "undo", "end"), camunda=False)
    spiff_run = run(flow)
    assert spiff_run.last.status == "completed"
    assert spiff_run.log() == ["book hotel", "book flight", "cancel flight", "cancel hotel"]


# -- the order is the order in which the instance completed the activities -----------------------------------------

PARALLEL = diagram(
    START, '<bpmn:parallelGateway id="fork" />',
    '<bpmn:userTask id="book_hotel" />', undone_by("book_hotel", script("cancel_hotel", "cancel hotel", handler=True),
                                                   "cancel_hotel"),
    '<bpmn:userTask id="book_flight" />', undone_by("book_flight", script("cancel_flight", "cancel flight", handler=True),
                                                    "cancel_flight"),
    '<bpmn:parallelGateway id="join" />', '<bpmn:userTask id="confirm" />', compensate("undo"), END,
    flows("start", "fork", "book_hotel", "join"), flows("fork", "book_flight", "join"),
    flows("join", "confirm", "undo", "end"))


@pytest.mark.parametrize("first, second", [("hotel", "flight"), ("flight", "hotel")])
def test_handlers_run_in_reverse_order_of_completion_whatever_the_layout(run, first, second):
    parallel = run(PARALLEL)
    parallel.complete(f"book_{first}")
    parallel.complete(f"book_{second}")
    done = parallel.complete("confirm")
    assert done.status == "completed"
    assert parallel.log() == [f"cancel {second}", f"cancel {first}"]


def test_an_activity_still_running_is_not_compensated(run):
    xml = diagram(START, '<bpmn:parallelGateway id="fork" />',
                  '<bpmn:userTask id="book_hotel" />',
                  undone_by("book_hotel", script("cancel_hotel", "cancel hotel", handler=True), "cancel_hotel"),
                  script("book_car", "book car"),
                  undone_by("book_car", script("cancel_car", "cancel car", handler=True), "cancel_car"),
                  compensate("undo"), '<bpmn:parallelGateway id="join" />', END,
                  flows("start", "fork", "book_hotel", "join"), flows("fork", "book_car", "undo", "join"),
                  flows("join", "end"))
    both = run(xml)
    ran = ("book_car", "cancel_car", "book_hotel", "cancel_hotel")
    assert both.history(*ran) == [("element_entered", "book_car"), ("element_left", "book_car"),
                                  ("element_entered", "cancel_car"), ("element_left", "cancel_car"),
                                  ("element_entered", "book_hotel")]  # waiting for a person
    assert both.open_elements() == ["book_hotel"]  # it was running: compensation left it alone

    done = both.complete("book_hotel")
    assert done.status == "completed"
    assert "cancel_hotel" not in {element for _, element in both.history(*ran)}  # completed after the throw


# -- activityRef, activities never reached, each run once ----------------------------------------------------------

def test_an_activity_ref_compensates_only_that_activity_and_a_later_throw_the_rest_once(run):
    xml = diagram(START, *HOTEL, *FLIGHT, compensate("undo_flight_only", "book_flight"), script("rebook", "rebook"),
                  compensate("undo_everything"), END,
                  flows("start", "book_hotel", "book_flight", "undo_flight_only", "rebook", "undo_everything", "end"))
    once = run(xml)
    assert once.last.status == "completed"
    assert once.log() == ["book hotel", "book flight", "cancel flight", "rebook", "cancel hotel"]


def test_an_activity_never_reached_is_not_compensated(run):
    xml = diagram(START, *HOTEL, '<bpmn:exclusiveGateway id="need_flight" default="no_flight" />', *FLIGHT,
                  '<bpmn:exclusiveGateway id="merge" />', compensate("undo"), END,
                  flows("start", "book_hotel", "need_flight"),
                  '<bpmn:sequenceFlow id="flight" sourceRef="need_flight" targetRef="book_flight">'
                  '<bpmn:conditionExpression>wants_flight</bpmn:conditionExpression></bpmn:sequenceFlow>',
                  '<bpmn:sequenceFlow id="no_flight" sourceRef="need_flight" targetRef="merge" />',
                  flows("book_flight", "merge", "undo", "end"))
    assert run(xml, {"wants_flight": False}).log() == ["book hotel", "cancel hotel"]
    assert run(xml, {"wants_flight": True}).log() == ["book hotel", "book flight", "cancel flight", "cancel hotel"]


def test_an_activity_that_ran_in_a_loop_is_undone_once_per_completed_run_last_first(run):
    book = ('<bpmn:scriptTask id="book_room"><bpmn:script>rooms = rooms + 1\nlog = log + ["book room %d" % rooms]'
            '</bpmn:script></bpmn:scriptTask>')
    cancel = ('<bpmn:scriptTask id="cancel_room" isForCompensation="true"><bpmn:script>'
              'log = log + ["cancel room %d" % rooms]\nrooms = rooms - 1</bpmn:script></bpmn:scriptTask>')
    xml = diagram(START, '<bpmn:exclusiveGateway id="again" />', book, undone_by("book_room", cancel, "cancel_room"),
                  '<bpmn:exclusiveGateway id="enough" default="done" />', compensate("undo"), END,
                  flows("start", "again", "book_room", "enough"),
                  '<bpmn:sequenceFlow id="more" sourceRef="enough" targetRef="again">'
                  '<bpmn:conditionExpression>rooms &lt; 3</bpmn:conditionExpression></bpmn:sequenceFlow>',
                  '<bpmn:sequenceFlow id="done" sourceRef="enough" targetRef="undo" />', flows("undo", "end"))
    loop = run(xml, {"rooms": 0})
    assert loop.last.status == "completed"
    assert loop.log() == ["book room 1", "book room 2", "book room 3", "cancel room 3", "cancel room 2",
                          "cancel room 1"]
    assert loop.variables()["rooms"] == 0


# -- handlers that wait, handlers' data --------------------------------------------------------------------------

USER_HANDLER = diagram(
    START, '<bpmn:scriptTask id="book_hotel"><bpmn:script>booking = "H-17"\nlog = log + ["book hotel"]</bpmn:script>'
           '</bpmn:scriptTask>',
    undone_by("book_hotel", '<bpmn:userTask id="call_hotel" name="Call the hotel to cancel" isForCompensation="true" />',
              "call_hotel"),
    *FLIGHT, compensate("undo", end=True), flows("start", "book_hotel", "book_flight", "undo"))


def test_a_user_task_handler_waits_for_a_person_with_the_instance_s_data(run):
    waiting = run(USER_HANDLER)

    assert waiting.last.status == "running"
    assert waiting.open_elements() == ["call_hotel"]  # after the flight was cancelled, by the engine
    assert waiting.task("call_hotel").data["booking"] == "H-17"
    assert waiting.log() == ["book hotel", "book flight", "cancel flight"]
    active = {a["element_id"]: a["state"] for a in waiting.last.active}
    assert active == {"undo": "started", "call_hotel": "ready"}  # the throw event waits for its handler

    done = waiting.complete("call_hotel", {"cancellation": "C-9"})
    assert done.status == "completed"
    assert done.variables["cancellation"] == "C-9" and done.variables["booking"] == "H-17"
    assert waiting.history("undo", "call_hotel") == [
        ("element_entered", "undo"), ("element_entered", "call_hotel"), ("task_completed", "call_hotel"),
        ("element_left", "call_hotel"), ("element_left", "undo")]


def test_a_compensation_end_event_ends_its_path_only_after_its_handlers(run):
    xml = diagram(START, '<bpmn:parallelGateway id="fork" />', *HOTEL,
                  compensate("undo", "book_hotel", end=True), '<bpmn:userTask id="other_work" />', END,
                  flows("start", "fork", "book_hotel", "undo"), flows("fork", "other_work", "end"))
    ended = run(xml)
    assert ended.history("undo", "cancel_hotel", "end") == [
        ("element_entered", "undo"), ("element_entered", "cancel_hotel"), ("element_left", "cancel_hotel"),
        ("element_left", "undo")]
    assert ended.last.status == "running"  # the other path still waits
    assert ended.complete("other_work").status == "completed"


def test_handlers_may_be_sub_processes_and_external_tasks(run):
    undo_car = subprocess("return_car", '<bpmn:startEvent id="r_start" />', script("refuel", "refuel"),
                          script("hand_back", "hand back keys"), '<bpmn:endEvent id="r_end" />',
                          flows("r_start", "refuel", "hand_back", "r_end"), attributes=' isForCompensation="true"')
    xml = diagram(START, script("rent_car", "rent car"), undone_by("rent_car", undo_car, "return_car"),
                  script("pay", "pay"),
                  undone_by("pay", '<bpmn:serviceTask id="refund" isForCompensation="true" camunda:type="external" '
                                   'camunda:topic="refunds" />', "refund"),
                  compensate("undo"), END, flows("start", "rent_car", "pay", "undo", "end"))
    worker = run(xml)
    assert list(worker.last.held.values()) == ["refund"]  # a worker refunds first
    assert worker.log() == ["rent car", "pay"]

    done = worker.complete_held("refund", {"refunded": 12})
    assert done.status == "completed" and done.variables["refunded"] == 12
    assert worker.log() == ["rent car", "pay", "refuel", "hand back keys"]


def test_a_handler_may_be_a_call_activity(roundtrip):
    xml = diagram(START, script("pay", "pay"),
                  undone_by("pay", '<bpmn:callActivity id="refund" isForCompensation="true" calledElement="refunds" />',
                            "refund"),
                  compensate("undo"), END, flows("start", "pay", "undo", "end"))
    xml = xml.replace(b"</bpmn:definitions>", b"\n".join([
        b'  <bpmn:process id="refunds" isExecutable="true">', b'    <bpmn:startEvent id="r_start" />',
        script("wire_back", "wire money back").encode(), b'    <bpmn:endEvent id="r_end" />',
        *[f.encode() for f in flows("r_start", "wire_back", "r_end")], b"  </bpmn:process>", b"</bpmn:definitions>"]))
    engine = Engine()
    [model] = [m for m in engine.parse([("trip.bpmn", xml)]) if m.key == "trip"]
    called = Run(engine, model, roundtrip, {"log": []})
    assert called.advance().status == "completed"
    assert called.variables()["log"] == ["pay", "wire money back"]


def test_an_asynchronous_throw_event_waits_for_its_job_once(run):
    xml = diagram(START, script("book_hotel", "book hotel"),
                  undone_by("book_hotel", '<bpmn:userTask id="call_hotel" isForCompensation="true" />', "call_hotel"),
                  '<bpmn:intermediateThrowEvent id="undo" camunda:asyncBefore="true"><bpmn:compensateEventDefinition />'
                  '</bpmn:intermediateThrowEvent>', END, flows("start", "book_hotel", "undo", "end"))
    job = run(xml)
    assert list(job.last.held.values()) == ["undo"]
    job.complete_held("undo")  # the job runs it: it starts its handler
    assert job.open_elements() == ["call_hotel"] and job.last.held == {}
    done = job.complete("call_hotel")  # and completes after it, without waiting for a second job
    assert done.status == "completed" and done.held == {}


# -- sub-processes -----------------------------------------------------------------------------------------------

def _tour(*extra, throw: bool = False) -> list[str]:
    """A sub-process booking a guide, then a bus, each with its handler; with `throw`, it compensates at its end."""
    last = ["undo_tour"] if throw else []
    return subprocess("tour", '<bpmn:startEvent id="t_start" />', script("book_guide", "book guide"),
                      undone_by("book_guide", script("cancel_guide", "cancel guide", handler=True), "cancel_guide"),
                      script("book_bus", "book bus"),
                      undone_by("book_bus", script("cancel_bus", "cancel bus", handler=True), "cancel_bus"),
                      *([compensate("undo_tour")] if throw else []), '<bpmn:endEvent id="t_end" />',
                      flows("t_start", "book_guide", "book_bus", *last, "t_end"), *extra)


def test_compensation_inside_a_sub_process_undoes_its_activities_only(run):
    xml = diagram(START, *HOTEL, _tour(throw=True), END, flows("start", "book_hotel", "tour", "end"))
    inside = run(xml)
    assert inside.last.status == "completed"
    assert inside.log() == ["book hotel", "book guide", "book bus", "cancel bus", "cancel guide"]


def test_compensating_a_completed_sub_process_undoes_its_activities_in_its_place(run):
    xml = diagram(START, *HOTEL, _tour(), *FLIGHT, compensate("undo"), END,
                  flows("start", "book_hotel", "tour", "book_flight", "undo", "end"))
    outside = run(xml)
    assert outside.log() == ["book hotel", "book guide", "book bus", "book flight",
                             "cancel flight", "cancel bus", "cancel guide", "cancel hotel"]


def test_each_instance_of_a_multi_instance_sub_process_undoes_its_own_activities(run):
    rooms = subprocess("rooms", '<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>'
                                '2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>',
                       '<bpmn:startEvent id="r_start" />', script("book_room", "book room"),
                       undone_by("book_room", script("cancel_room", "cancel room", handler=True), "cancel_room"),
                       compensate("undo_room"), '<bpmn:endEvent id="r_end" />',
                       flows("r_start", "book_room", "undo_room", "r_end"))
    xml = diagram(START, rooms, END, flows("start", "rooms", "end"), camunda=False)
    each = run(xml)
    assert each.last.status == "completed"
    assert [element for kind, element in each.history("book_room", "cancel_room") if kind == "element_left"] == [
        "book_room", "cancel_room", "book_room", "cancel_room"]


def test_a_sub_process_with_a_handler_of_its_own_is_undone_by_it_alone(run):
    xml = diagram(START, _tour(), undone_by("tour", script("refund_tour", "refund tour", handler=True), "refund_tour"),
                  compensate("undo", "tour"), END, flows("start", "tour", "undo", "end"))
    assert run(xml).log() == ["book guide", "book bus", "refund tour"]


def test_a_compensation_event_sub_process_undoes_its_sub_process(run):
    handler = subprocess("on_undo", '<bpmn:startEvent id="u_start"><bpmn:compensateEventDefinition /></bpmn:startEvent>',
                         script("tell", "tell the group"), compensate("undo_inside"), script("close", "close file"),
                         '<bpmn:endEvent id="u_end" />', flows("u_start", "tell", "undo_inside", "close", "u_end"),
                         attributes=' triggeredByEvent="true"')
    tour = subprocess("tour", '<bpmn:startEvent id="t_start" />', script("book_guide", "book guide"),
                      undone_by("book_guide", script("cancel_guide", "cancel guide", handler=True), "cancel_guide"),
                      '<bpmn:endEvent id="t_end" />', flows("t_start", "book_guide", "t_end"), handler)
    xml = diagram(START, *HOTEL, tour, compensate("undo"), END, flows("start", "book_hotel", "tour", "undo", "end"))
    event_sub = run(xml)
    assert event_sub.last.status == "completed"
    assert event_sub.log() == ["book hotel", "book guide", "tell the group", "cancel guide", "close file",
                               "cancel hotel"]


def test_compensation_thrown_in_an_event_sub_process_undoes_the_scope_around_it(run):
    late = subprocess("too_late", '<bpmn:startEvent id="l_start" isInterrupting="false"><bpmn:timerEventDefinition>'
                                  '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
                                  '</bpmn:startEvent>',
                      compensate("undo"), '<bpmn:endEvent id="l_end" />', flows("l_start", "undo", "l_end"),
                      attributes=' triggeredByEvent="true"')
    xml = diagram(START, *HOTEL, *FLIGHT, '<bpmn:userTask id="pay" />', END, late,
                  flows("start", "book_hotel", "book_flight", "pay", "end"))
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with time_machine.travel(now, tick=False) as clock:
        unpaid = run(xml)
        assert unpaid.open_elements() == ["pay"]
        clock.shift(dt.timedelta(hours=1, seconds=1))
        unpaid.fire_timers()
    assert unpaid.history("cancel_flight", "cancel_hotel") == [
        ("element_entered", "cancel_flight"), ("element_left", "cancel_flight"),
        ("element_entered", "cancel_hotel"), ("element_left", "cancel_hotel")]
    assert unpaid.open_elements() == ["pay"]  # the event sub-process did not interrupt


# -- failures and stored state ---------------------------------------------------------------------------------------

def test_a_failing_handler_is_an_incident_and_a_retry_carries_compensation_on(run):
    fragile = ('<bpmn:scriptTask id="cancel_flight" isForCompensation="true"><bpmn:script>'
               'log = log + ["cancel flight"]\nif airline_down: raise ValueError("airline unreachable")'
               '</bpmn:script></bpmn:scriptTask>')
    xml = diagram(START, *HOTEL, script("book_flight", "book flight"), undone_by("book_flight", fragile, "cancel_flight"),
                  compensate("undo"), END, flows("start", "book_hotel", "book_flight", "undo", "end"))
    failing = run(xml, {"airline_down": True})
    assert failing.last.status == "error"
    assert failing.last.incident.element_id == "cancel_flight"
    assert "airline unreachable" in failing.last.incident.message

    failing.update_variables({"airline_down": False})
    done = failing.retry()
    assert done.status == "completed"
    assert failing.log() == ["book hotel", "book flight", "cancel flight", "cancel hotel"]


def test_a_handler_that_cannot_start_is_an_incident_and_a_retry_starts_it(run):
    needs_amount = ('<bpmn:scriptTask id="refund" isForCompensation="true"><bpmn:ioSpecification>'
                    '<bpmn:dataInput id="amount" name="amount" /><bpmn:inputSet><bpmn:dataInputRefs>amount'
                    '</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet /></bpmn:ioSpecification>'
                    '<bpmn:script>refunded = amount</bpmn:script></bpmn:scriptTask>')
    xml = diagram(START, script("pay", "pay"), undone_by("pay", needs_amount, "refund"), compensate("undo"), END,
                  flows("start", "pay", "undo", "end"), camunda=False)
    stuck = run(xml)
    assert stuck.last.status == "error" and stuck.last.incident.element_id == "refund"

    stuck.update_variables({"amount": 12})
    done = stuck.retry()
    assert done.status == "completed"
    assert done.variables["refunded"] == 12 and done.variables["log"] == ["pay"]
    assert [kind for kind, _ in stuck.history("undo")] == ["element_entered", "element_left"]


def test_state_saved_while_a_handler_waits_loads_in_another_engine():
    """The hooks are not stored: an engine that loads the spec afresh connects them again."""
    first = Engine()
    [model] = first.parse([("trip.bpmn", USER_HANDLER)])
    spec_json = first.dump_spec(model)
    wf = first.new_workflow("trip:1", model.dialect, spec_json, {"log": []})
    [waiting] = first.runner.advance(wf).open_tasks
    state = first.dump(model.dialect, wf)
    assert '"compensation_step"' in state and '"compensation_order"' in state

    second = Engine()
    loaded = second.load("trip:1", model.dialect, spec_json, state)
    done = second.runner.complete(loaded, waiting.id, {"cancellation": "C-1"})
    assert done.status == "completed" and done.variables["cancellation"] == "C-1"
    assert [(e["type"], e["element_id"]) for e in done.events] == [
        ("task_completed", "call_hotel"), ("element_left", "call_hotel"), ("element_left", "undo")]
