"""Cron timer cycles (Quartz, as Camunda 7 accepts them in timeCycle, and Unix) on start, intermediate and
boundary events.

The next due time comes from croniter and sits where SpiffWorkflow keeps an ISO cycle's (`event_value["next"]`),
so `Outcome.waits` reports it. A start event and a non-interrupting boundary event fire at every occurrence; an
intermediate catch event and an interrupting boundary event fire once. The clock is moved with time-machine
(SpiffWorkflow reads it itself) to the next Monday 09:01 after the real now; every scenario runs straight and with
a save/restore round trip before each step. The pure `next_occurrence(expression, after)` cases read no clock, so
they name their calendar dates.
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from app.engine import BpmnRejected, Engine
from app.engine.cron import CronError, CronTimerEventDefinition, next_occurrence

from ..timing import next_at

UTC = dt.timezone.utc
MONDAY_0901 = next_at(9, 1, weekday=0)  # the next Monday, 09:01 UTC: where the run scenarios start
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">"""


def at(hour: int, minute: int, second: int = 0, day: int = 3) -> dt.datetime:
    """A moment of March 2031 (the 3rd is a Monday), for the pure expression cases only."""
    return dt.datetime(2031, 3, day, hour, minute, second, tzinfo=UTC)


def monday(hour: int, minute: int, second: int = 0) -> dt.datetime:
    """A moment of MONDAY_0901's day, for the run scenarios."""
    return MONDAY_0901.replace(hour=hour, minute=minute, second=second)


# -- the expressions ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, after, expected", [
    ("0/5 0/1 * 1/1 * ?", at(9, 1), at(9, 1, 5)),  # Quartz, from the Camunda examples: every five seconds
    ("0 0/5 * * * ?", at(9, 1), at(9, 5)),
    ("0 0 12 * * ?", at(12, 0), at(12, 0, day=4)),  # strictly after
    ("0 15 10 ? * MON-FRI", at(11, 0, day=7), at(10, 15, day=10)),  # Friday 11:00 -> Monday 10:15
    ("0 0 12 ? * 2#1", at(9, 0), at(12, 0)),  # Quartz 2 is Monday: the first Monday of March 2031 is the 3rd
    ("0 0 12 ? * 1", at(9, 0), at(12, 0, day=9)),  # Quartz 1 is Sunday
    ("0 0 12 ? * 6L", at(9, 0), at(12, 0, day=28)),  # the last Friday of the month
    ("0 0 12 * * ? 2032", at(9, 0), dt.datetime(2032, 1, 1, 12, 0, tzinfo=UTC)),  # with a year
    ("*/10 * * * *", at(9, 1), at(9, 10)),  # Unix, five fields
])
def test_the_next_occurrence_of_quartz_and_unix_cron_expressions(expression, after, expected):
    assert next_occurrence(expression, after) == expected


@pytest.mark.parametrize("expression, reason", [
    ("0 0/5 25 * * ?", "croniter"),
    ("0 0 12 ? * 9", "Quartz numbers days 1 (Sunday) to 7 (Saturday)"),
    ("0 0 12 * * ? 2030", "no occurrence after now"),
])
def test_an_expression_croniter_cannot_schedule_says_why(expression, reason):
    with pytest.raises(CronError) as caught:
        next_occurrence(expression, at(9, 0))
    assert reason in str(caught.value)


# -- deploy -----------------------------------------------------------------------------------------------------------

def timer(cycle: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>"


def start_cycle(cycle: str) -> bytes:
    return "\n".join([
        HEAD, '  <bpmn:process id="p" isExecutable="true">',
        f'    <bpmn:startEvent id="tick_start">{timer(cycle)}</bpmn:startEvent>',
        '    <bpmn:sequenceFlow id="f1" sourceRef="tick_start" targetRef="tick" />',
        '    <bpmn:scriptTask id="tick"><bpmn:script>ticks = 1</bpmn:script></bpmn:scriptTask>',
        '    <bpmn:sequenceFlow id="f2" sourceRef="tick" targetRef="end" />',
        '    <bpmn:endEvent id="end" />', "  </bpmn:process>", "</bpmn:definitions>"]).encode()


def intermediate_cycle(cycle: str) -> bytes:
    return "\n".join([
        HEAD, '  <bpmn:process id="p" isExecutable="true">', '    <bpmn:startEvent id="start" />',
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />',
        f'    <bpmn:intermediateCatchEvent id="wait">{timer(cycle)}</bpmn:intermediateCatchEvent>',
        '    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="mark" />',
        '    <bpmn:scriptTask id="mark"><bpmn:script>waited = True</bpmn:script></bpmn:scriptTask>',
        '    <bpmn:sequenceFlow id="f3" sourceRef="mark" targetRef="end" />',
        '    <bpmn:endEvent id="end" />', "  </bpmn:process>", "</bpmn:definitions>"]).encode()


def boundary_cycle(cycle: str, interrupting: bool) -> bytes:
    return "\n".join([
        HEAD, '  <bpmn:process id="p" isExecutable="true">', '    <bpmn:startEvent id="start" />',
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />',
        '    <bpmn:userTask id="call" />',
        '    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end" />',
        '    <bpmn:endEvent id="end" />',
        f'    <bpmn:boundaryEvent id="remind" attachedToRef="call" cancelActivity="{str(interrupting).lower()}">'
        f'{timer(cycle)}</bpmn:boundaryEvent>',
        '    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="nudge" />',
        '    <bpmn:scriptTask id="nudge"><bpmn:script>nudged = True</bpmn:script></bpmn:scriptTask>',
        '    <bpmn:sequenceFlow id="f4" sourceRef="nudge" targetRef="nudged" />',
        '    <bpmn:endEvent id="nudged" />', "  </bpmn:process>", "</bpmn:definitions>"]).encode()


def test_a_cron_cycle_deploys_as_a_cron_timer_and_its_spec_round_trips():
    engine = Engine()
    [model] = engine.parse([("cron.bpmn", start_cycle("0 0/5 * * * ?"))])
    spec, _ = engine.specs("p:1", model.dialect, engine.dump_spec(model))

    definition = spec.task_specs["tick_start"].event_definition
    assert isinstance(model.spec.task_specs["tick_start"].event_definition, CronTimerEventDefinition)
    assert isinstance(definition, CronTimerEventDefinition)
    assert definition.expression == "'0 0/5 * * * ?'"


def test_a_cron_cycle_croniter_rejects_is_refused_by_line_and_id():
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("cron.bpmn", start_cycle("0 0 12 ? * 9"))])

    [problem] = caught.value.problems
    assert (problem.element_id, problem.line) == ("tick_start", 4)
    assert "cron cycle '0 0 12 ? * 9' cannot be scheduled" in problem.message
    assert "Quartz numbers days 1 (Sunday) to 7 (Saturday)" in problem.message


# -- run --------------------------------------------------------------------------------------------------------------

class Run:
    def __init__(self, xml: bytes, roundtrip: bool):
        self.engine = Engine()
        [self.model] = self.engine.parse([("cron.bpmn", xml)])
        self.roundtrip = roundtrip
        self.spec_json = self.engine.dump_spec(self.model)
        self.wf = self.engine.new_workflow("p:1", self.model.dialect, self.spec_json, {})
        self.outcome = self.engine.runner.advance(self.wf)

    def _restore(self):
        if self.roundtrip:
            state = self.engine.dump(self.model.dialect, self.wf)
            self.wf = self.engine.load("p:1", self.model.dialect, self.spec_json, state)

    def fire(self):
        self._restore()
        self.outcome = self.engine.runner.fire_timers(self.wf)
        return self.outcome

    def complete(self, element_id: str):
        [task] = [t for t in self.outcome.open_tasks if t.element_id == element_id]
        self._restore()
        self.outcome = self.engine.runner.complete(self.wf, task.id, {})
        return self.outcome

    def due(self) -> list[dt.datetime]:
        return sorted(w["due_at"] for w in self.outcome.waits if w["kind"] == "timer")

    def runs_of(self, element_id: str) -> int:
        return sum(1 for e in self.events if e["type"] == "element_left" and e["element_id"] == element_id)

    @property
    def events(self):
        return self._events

    def track(self):
        self._events = getattr(self, "_events", []) + list(self.outcome.events)


@pytest.fixture(params=[False, True], ids=["straight", "save-restore"])
def roundtrip(request) -> bool:
    return request.param


def test_a_cron_start_event_runs_the_process_at_every_occurrence(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(start_cycle("0 0/5 * * * ?"), roundtrip)
        run.track()
        first_due = run.due()

        clock.move_to(monday(9, 5))  # due means strictly before now
        run.fire()
        run.track()
        at_due = run.runs_of("tick")

        clock.move_to(monday(9, 5, 1))
        run.fire()
        run.track()
        second_due = run.due()

        clock.move_to(monday(9, 10, 1))
        run.fire()
        run.track()

    assert first_due == [monday(9, 5)]
    assert at_due == 0
    assert second_due == [monday(9, 10)]
    assert run.runs_of("tick") == 2
    assert run.outcome.status == "running" and run.due() == [monday(9, 15)]


def test_missed_occurrences_fire_once_and_the_next_is_counted_from_now(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(start_cycle("0 0/5 * * * ?"), roundtrip)
        clock.move_to(monday(9, 32))  # 09:05 ... 09:30 all missed
        run.fire()
        run.track()

    assert run.runs_of("tick") == 1
    assert run.due() == [monday(9, 35)]


def test_a_unix_cron_start_event_is_due_at_its_next_minute(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(start_cycle("*/10 * * * *"), roundtrip)
        first_due = run.due()
        clock.move_to(monday(9, 10, 1))
        run.fire()
        run.track()

    assert first_due == [monday(9, 10)]
    assert run.runs_of("tick") == 1 and run.due() == [monday(9, 20)]


def test_an_intermediate_cron_timer_waits_for_the_next_occurrence_once(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(intermediate_cycle("0 0 12 * * ?"), roundtrip)
        waiting = (run.outcome.status, run.due())
        clock.move_to(monday(11, 59))
        early = run.fire().status
        clock.move_to(monday(12, 0, 1))
        done = run.fire()

    assert waiting == ("running", [monday(12, 0)])
    assert early == "running"
    assert done.status == "completed" and done.variables["waited"] is True


def test_an_interrupting_cron_boundary_timer_fires_once_and_withdraws_the_task(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(boundary_cycle("0 0 * * * ?", interrupting=True), roundtrip)
        due = run.due()
        clock.move_to(monday(10, 0, 1))
        done = run.fire()

    assert due == [monday(10, 0)]
    assert done.status == "completed" and done.variables["nudged"] is True
    assert done.open_tasks == []


def test_a_non_interrupting_cron_boundary_timer_fires_at_every_occurrence_while_the_task_is_open(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(boundary_cycle("0 0 * * * ?", interrupting=False), roundtrip)
        for hour in (10, 11):
            clock.move_to(monday(hour, 0, 1))
            run.fire()
            run.track()
        open_after = [t.element_id for t in run.outcome.open_tasks]
        next_due = run.due()
        done = run.complete("call")

    assert run.runs_of("nudge") == 2
    assert open_after == ["call"] and next_due == [monday(12, 0)]
    assert done.status == "completed" and done.waits == []


def test_an_iso_cycle_still_runs_as_spiffworkflow_runs_it(roundtrip):
    with time_machine.travel(MONDAY_0901, tick=False) as clock:
        run = Run(start_cycle("R2/PT1H"), roundtrip)
        first_due = run.due()
        for hour in (1, 2, 3):
            clock.move_to(MONDAY_0901 + dt.timedelta(hours=hour, seconds=1))
            run.fire()
            run.track()

    assert first_due == [MONDAY_0901 + dt.timedelta(hours=1)]
    assert run.runs_of("tick") == 2
    assert run.outcome.status == "completed"
