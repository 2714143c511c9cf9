"""What of compensation cannot run, or would never run, is refused at deploy: by file, line and element, with
what to draw instead, and together with every other problem of the deployment."""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

from .test_compensation import (END, FLIGHT, HOTEL, START, compensate, diagram, flows, script, subprocess,
                                undone_by)


def line_of(xml: bytes, element_id: str) -> int:
    [line] = [n for n, text in enumerate(xml.decode().splitlines(), 1) if f'id="{element_id}"' in text]
    return line


def refused(xml: bytes) -> list:
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("undo.bpmn", xml)])
    return caught.value.problems


def _hotel_with(*extra, throw: str | None = None) -> bytes:
    return diagram(START, *HOTEL, *extra, throw or compensate("undo"), END, flows("start", "book_hotel", "undo", "end"))


CANCEL_HOTEL = script("cancel_hotel", "cancel hotel", handler=True)
BOUNDARY = ('<bpmn:boundaryEvent id="undo_book_hotel" attachedToRef="book_hotel">'
            '<bpmn:compensateEventDefinition /></bpmn:boundaryEvent>')
EVENT_SUB = ('<bpmn:startEvent id="u_start"><bpmn:compensateEventDefinition /></bpmn:startEvent>',
             script("u_work", "undo"), '<bpmn:endEvent id="u_end" />', flows("u_start", "u_work", "u_end"))

CASES = {
    "a boundary event starting a path": (
        diagram(START, *HOTEL, compensate("undo"), END, flows("start", "book_hotel", "undo", "end"),
                flows("undo_book_hotel", "end")),
        "undo_book_hotel", "boundaryEvent", ["outgoing sequence flow", "isForCompensation"]),
    "a boundary event starting two paths": (
        diagram(START, *HOTEL, compensate("undo"), END, flows("start", "book_hotel", "undo", "end"),
                flows("undo_book_hotel", "end"), flows("undo_book_hotel", "undo")),
        "undo_book_hotel", "boundaryEvent", ["outgoing sequence flow 'undo_book_hotel_to_end'"]),
    "a boundary event without a handler": (
        diagram(START, script("book_hotel", "book hotel"), BOUNDARY, compensate("undo"), END,
                flows("start", "book_hotel", "undo", "end")),
        "undo_book_hotel", "boundaryEvent", ["no compensation handler", "draw an association"]),
    "a handler not marked as one": (
        diagram(START, script("book_hotel", "book hotel"),
                undone_by("book_hotel", '<bpmn:userTask id="call_hotel" />', "call_hotel"), compensate("undo"), END,
                flows("start", "book_hotel", "undo", "end")),
        "undo_book_hotel", "boundaryEvent", ["'call_hotel' is associated", 'isForCompensation="true"']),
    "two handlers": (
        diagram(START, *HOTEL, script("mail_hotel", "mail", handler=True), compensate("undo"), END,
                flows("start", "book_hotel", "undo", "end"),
                ([], ['<bpmn:association id="second" sourceRef="undo_book_hotel" targetRef="mail_hotel" />'])),
        "undo_book_hotel", "boundaryEvent", ["2 compensation handlers", "exactly one"]),
    "a multi-instance activity": (
        diagram(START, '<bpmn:scriptTask id="book_hotel"><bpmn:multiInstanceLoopCharacteristics>'
                       '<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
                       '<bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>',
                undone_by("book_hotel", CANCEL_HOTEL, "cancel_hotel"), compensate("undo"), END,
                flows("start", "book_hotel", "undo", "end")),
        "undo_book_hotel", "boundaryEvent", ["multi-instance or looping", "sub-process", "gateway"]),
    "two boundary events on one activity": (
        _hotel_with(['<bpmn:boundaryEvent id="undo_again" attachedToRef="book_hotel">'
                     '<bpmn:compensateEventDefinition /></bpmn:boundaryEvent>',
                     script("cancel_again", "again", handler=True)],
                    ([], ['<bpmn:association id="again" sourceRef="undo_again" targetRef="cancel_again" />'])),
        "undo_again", "boundaryEvent", ["already has compensation boundary event 'undo_book_hotel'"]),
    "a handler on a sequence flow": (
        diagram(START, *HOTEL, compensate("undo"), END, flows("start", "book_hotel", "undo", "cancel_hotel", "end")),
        "cancel_hotel", "scriptTask", ["outside the normal flow", "remove the flow"]),
    "a handler nothing links to": (
        diagram(START, script("book_hotel", "book hotel"), CANCEL_HOTEL, compensate("undo"), END,
                flows("start", "book_hotel", "undo", "end")),
        "cancel_hotel", "scriptTask", ["linked to no compensation boundary event", "draw an association"]),
    "a handler with a boundary event": (
        _hotel_with('<bpmn:boundaryEvent id="too_slow" attachedToRef="cancel_hotel"><bpmn:timerEventDefinition>'
                    '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'),
        "cancel_hotel", "scriptTask", ["boundary event 'too_slow'", "make the handler a sub-process"]),
    "an activityRef outside the scope": (
        diagram(START, *HOTEL, subprocess("inner", '<bpmn:startEvent id="i_start" />', compensate("undo", "book_hotel"),
                                          '<bpmn:endEvent id="i_end" />', flows("i_start", "undo", "i_end")),
                END, flows("start", "book_hotel", "inner", "end")),
        "undo", "intermediateThrowEvent", ["names no activity of 'inner'", "leave activityRef out"]),
    "an activityRef without a handler": (
        diagram(START, *HOTEL, script("pay", "pay"), compensate("undo", "pay"), END,
                flows("start", "book_hotel", "pay", "undo", "end")),
        "undo", "intermediateThrowEvent", ["without a compensation handler", "attach a compensation boundary event"]),
    "compensation reaching into a multi-instance sub-process": (
        diagram(START, subprocess("rooms", '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2'
                                           '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>',
                                  '<bpmn:startEvent id="r_start" />', *HOTEL, '<bpmn:endEvent id="r_end" />',
                                  flows("r_start", "book_hotel", "r_end")),
                compensate("undo"), END, flows("start", "rooms", "undo", "end")),
        "undo", "intermediateThrowEvent", ["multi-instance (or looping) sub-process 'rooms'", "inside 'rooms'"]),
    "a throw event throwing something else too": (
        diagram(START, *HOTEL, '<bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition />'
                               '<bpmn:signalEventDefinition signalRef="s" /></bpmn:intermediateThrowEvent>', END,
                flows("start", "book_hotel", "undo", "end"), before='  <bpmn:signal id="s" name="s" />\n'),
        "undo", "intermediateThrowEvent", ["signalEventDefinition", "one event per kind"]),
    "a compensation start event of a process": (
        diagram('<bpmn:startEvent id="start"><bpmn:compensateEventDefinition /></bpmn:startEvent>', END,
                flows("start", "end")),
        "start", "startEvent", ["only starts a compensation event sub-process", "none start event"]),
    "a compensation event sub-process of a process": (
        _hotel_with(subprocess("on_undo", *EVENT_SUB, attributes=' triggeredByEvent="true"')),
        "on_undo", "subProcess", ["would never run", "inside the sub-process it undoes"]),
    "two compensation event sub-processes": (
        diagram(START, subprocess("tour", '<bpmn:startEvent id="t_start" />', '<bpmn:endEvent id="t_end" />',
                                  flows("t_start", "t_end"),
                                  subprocess("on_undo", *EVENT_SUB, attributes=' triggeredByEvent="true"'),
                                  subprocess("on_undo_2", '<bpmn:startEvent id="v_start"><bpmn:compensateEventDefinition'
                                             ' /></bpmn:startEvent>', '<bpmn:endEvent id="v_end" />',
                                             flows("v_start", "v_end"), attributes=' triggeredByEvent="true"')),
                compensate("undo"), END, flows("start", "tour", "undo", "end")),
        "on_undo_2", "subProcess", ["already has compensation event sub-process 'on_undo'"]),
    "a boundary event and a compensation event sub-process": (
        diagram(START, subprocess("tour", '<bpmn:startEvent id="t_start" />', '<bpmn:endEvent id="t_end" />',
                                  flows("t_start", "t_end"),
                                  subprocess("on_undo", *EVENT_SUB, attributes=' triggeredByEvent="true"')),
                undone_by("tour", script("refund", "refund", handler=True), "refund"),
                compensate("undo"), END, flows("start", "tour", "undo", "end")),
        "undo_tour", "boundaryEvent", ["both this compensation boundary event and a compensation event sub-process"]),
    "an activity of an event sub-process": (
        diagram(START, '<bpmn:userTask id="wait" />', END, flows("start", "wait", "end"),
                subprocess("on_timer", '<bpmn:startEvent id="e_start"><bpmn:timerEventDefinition><bpmn:timeDuration>'
                                       'PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>',
                           *HOTEL, '<bpmn:endEvent id="e_end" />', flows("e_start", "book_hotel", "e_end"),
                           attributes=' triggeredByEvent="true"')),
        "undo_book_hotel", "boundaryEvent", ["inside event sub-process 'on_timer'", "move 'book_hotel' out"]),
    "a compensation catch event": (
        _hotel_with('<bpmn:intermediateCatchEvent id="catch_undo"><bpmn:compensateEventDefinition />'
                    '</bpmn:intermediateCatchEvent>'),
        "catch_undo", "intermediateCatchEvent", ["catches only on the boundary"]),
    "a cancelled transaction": (
        diagram(START, '<bpmn:transaction id="booking">', '<bpmn:startEvent id="b_start" />', *HOTEL,
                '<bpmn:endEvent id="b_cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>',
                flows("b_start", "book_hotel", "b_cancel"), '</bpmn:transaction>',
                '<bpmn:boundaryEvent id="cancelled" attachedToRef="booking"><bpmn:cancelEventDefinition />'
                '</bpmn:boundaryEvent>', END, flows("start", "booking", "end"), flows("cancelled", "end")),
        "cancelled", "boundaryEvent", ["Camunda compensates them", "inside the transaction"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_what_cannot_run_is_refused_by_element_and_line_with_what_to_draw(case):
    xml, element_id, element_type, words = CASES[case]
    problems = refused(xml)
    [problem] = [p for p in problems if p.element_id == element_id]
    assert problem.file == "undo.bpmn"
    assert problem.element_type == element_type
    assert problem.line == line_of(xml, element_id)
    for word in words:
        assert word in problem.message
    assert "NotImplementedError" not in " ".join(p.message for p in problems)


def test_compensation_problems_are_listed_with_the_other_problems_of_the_deployment():
    xml = diagram(START, script("book_hotel", "book hotel"), CANCEL_HOTEL,
                  '<bpmn:scriptTask id="calc"><bpmn:script>total = (</bpmn:script></bpmn:scriptTask>', END,
                  flows("start", "book_hotel", "calc", "end"))
    assert {p.element_id for p in refused(xml)} == {"cancel_hotel", "calc"}


def test_a_reserved_id_keeps_the_modeler_s_id_in_activity_ref_and_problems():
    """An activity named `End` is renamed for SpiffWorkflow; activityRef follows it, and it runs."""
    xml = diagram(START, script("End", "book"), undone_by("End", script("cancel", "cancel", handler=True), "cancel"),
                  compensate("undo", "End"), '<bpmn:endEvent id="finish" />', flows("start", "End", "undo", "finish"))
    engine = Engine()
    [model] = engine.parse([("reserved.bpmn", xml)])
    wf = engine.new_workflow("r:1", model.dialect, engine.dump_spec(model), {"log": []})
    outcome = engine.runner.advance(wf)
    assert outcome.status == "completed" and outcome.variables["log"] == ["book", "cancel"]
    assert [e["element_id"] for e in outcome.events if e["type"] == "element_left"][:2] == ["start", "End"]


def test_the_flight_and_hotel_of_the_trip_deploy():
    xml = diagram(START, *HOTEL, *FLIGHT, compensate("undo"), END, flows("start", "book_hotel", "book_flight", "undo",
                                                                        "end"))
    [model] = Engine().parse([("trip.bpmn", xml)])
    assert {"book_hotel", "cancel_hotel", "undo_book_hotel", "undo"} <= set(model.elements)
