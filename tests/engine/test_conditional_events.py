"""Conditional events wait until their condition holds, evaluated again whenever the instance changes.

Each scenario runs straight and with a save/restore before every step (see test_runner.Scenario)."""
from __future__ import annotations

from ..factories import fixture
from .test_runner import roundtrip, start  # noqa: F401 - fixtures

WATCH = fixture("events", "discount_watch.bpmn")


def _active(run) -> list[str]:
    return sorted(a["element_id"] for a in run.last.active)


def test_a_condition_that_holds_when_reached_fires_at_once(start):
    run = start(WATCH, data={"discount": 20})
    assert run.open_elements() == ["approve_discount"]  # negotiate was interrupted at once


def test_a_condition_not_evaluable_yet_waits_instead_of_failing(start):
    run = start(WATCH)  # no discount variable at all
    assert run.last.status == "running" and run.last.incident is None
    assert run.open_elements() == ["negotiate"]
    run.complete("negotiate", {"discount": 5})
    assert run.last.status == "running" and _active(run) == ["signed"]


def test_changed_variables_fire_a_waiting_boundary_condition(start):
    run = start(WATCH, data={"discount": 5})
    assert run.open_elements() == ["negotiate"]
    run.update_variables({"discount": 15})
    run.advance()  # what the server does after a variable update
    assert run.open_elements() == ["approve_discount"]
    assert "negotiate" not in _active(run)


def test_an_intermediate_condition_waits_for_the_data_then_continues(start):
    run = start(WATCH, data={"discount": 5, "contract": {"signed": False}})
    run.complete("negotiate", {"discount": 5})
    assert _active(run) == ["signed"]
    run.advance()
    assert _active(run) == ["signed"]  # still false: still waiting
    run.update_variables({"contract": {"signed": True}})
    run.advance()
    assert run.last.status == "completed"
    assert run.variables()["archived"] is True


def test_a_false_condition_does_not_fire_on_unrelated_changes(start):
    run = start(WATCH, data={"discount": 5})
    run.update_variables({"note": "called the customer"})
    run.advance()
    assert run.open_elements() == ["negotiate"]
