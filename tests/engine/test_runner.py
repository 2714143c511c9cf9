"""Engine scenarios: shipped and fixture diagrams run to their ends through `Engine.runner`.

Every scenario runs twice (the `roundtrip` parameter): straight through, and
with the instance saved (`Engine.dump`) and loaded again (`Engine.load`)
before every step, as the server does between requests.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from app.engine import Engine, Outcome, ScriptError, TaskNotReadyError

from ..factories import fixture, shipped

ENQUIRY = (shipped("blueprints", "enquiry_blueprint.bpmn"),
           shipped("blueprints", "enquiry_new.schema.json"),
           shipped("blueprints", "enquiry_contacted.schema.json"))


class Scenario:
    """One instance of a parsed model, saved and restored before each step when `roundtrip`."""

    def __init__(self, engine: Engine, model, roundtrip: bool, data: dict | None):
        self.engine = engine
        self.model = model
        self.roundtrip = roundtrip
        self.definition_id = f"{model.key}:{model.content_hash}"
        self.spec_json = engine.dump_spec(model)
        self.wf = engine.new_workflow(self.definition_id, model.dialect, self.spec_json, data)
        self.restores = 0
        self.last: Outcome | None = None

    def _restore(self) -> None:
        if self.roundtrip:
            state = self.engine.dump(self.model.dialect, self.wf)
            self.wf = self.engine.load(self.definition_id, self.model.dialect, self.spec_json, state)
            self.restores += 1

    def _record(self, outcome: Outcome) -> Outcome:
        self.last = outcome
        return outcome

    # steps -------------------------------------------------------------------------------
    def advance(self) -> Outcome:
        self._restore()
        return self._record(self.engine.runner.advance(self.wf))

    def complete(self, element_id: str, data: dict | None = None, user: str | None = "tester") -> Outcome:
        task_id = self.task(element_id).id
        self._restore()
        return self._record(self.engine.runner.complete(self.wf, task_id, data or {}, user))

    def complete_id(self, task_id: str, data: dict | None = None) -> Outcome:
        self._restore()
        return self._record(self.engine.runner.complete(self.wf, task_id, data or {}, "tester"))

    def retry(self) -> Outcome:
        self._restore()
        return self._record(self.engine.runner.retry(self.wf))

    def update_variables(self, changes: dict) -> dict:
        self._restore()
        return self.engine.runner.update_variables(self.wf, changes)

    # reading -----------------------------------------------------------------------------
    def open_elements(self) -> list[str]:
        return sorted(t.element_id for t in self.last.open_tasks)

    def task(self, element_id: str):
        [task] = [t for t in self.last.open_tasks if t.element_id == element_id]
        return task

    def variables(self) -> dict:
        self._restore()
        return self.engine.runner.variables(self.wf)


@pytest.fixture(params=[False, True], ids=["straight", "save-restore"])
def roundtrip(request) -> bool:
    return request.param


@pytest.fixture
def start(roundtrip):
    """Parse files as one deployment and start its process: `start(*paths, data=..., engine=...)`."""
    def start(*paths, data: dict | None = None, engine: Engine | None = None) -> Scenario:
        engine = engine or Engine()
        [model] = engine.parse([(p.name, p.read_bytes()) for p in paths])
        scenario = Scenario(engine, model, roundtrip, data)
        scenario.advance()
        return scenario
    return start


def _types(outcome: Outcome, element_id: str) -> list[str]:
    return [e["type"] for e in outcome.events if e.get("element_id") == element_id]


# -- discount approval -----------------------------------------------------------------------------------

@pytest.mark.parametrize("approved, status", [(True, "approved"), (False, "rejected")],
                         ids=["approved", "rejected"])
def test_a_big_discount_waits_for_a_manager_and_ends_with_the_decision(start, approved, status):
    run = start(shipped("approvals", "discount_approval.bpmn"), data={"discount": 20})
    assert run.last.status == "running"
    assert run.open_elements() == ["approve_discount"]
    assert "approval_status" not in run.last.variables

    done = run.complete("approve_discount", {"approved": approved, "comment": "checked"})

    assert done.status == "completed" and done.open_tasks == []
    assert done.variables["approval_status"] == status
    assert done.variables["comment"] == "checked" and done.variables["discount"] == 20
    assert run.variables()["approval_status"] == status


def test_a_small_discount_is_approved_without_a_task(start):
    run = start(shipped("approvals", "discount_approval.bpmn"), data={"discount": 5})
    assert run.last.status == "completed" and run.last.open_tasks == []
    assert run.last.variables["approval_status"] == "auto_approved"
    assert _types(run.last, "auto_approve") == ["element_entered", "element_left"]
    assert _types(run.last, "approve_discount") == []


# -- enquiry blueprint -----------------------------------------------------------------------------------

def test_an_enquiry_contacted_and_qualified_ends_qualified(start):
    run = start(*ENQUIRY)
    assert run.open_elements() == ["stage_new"] and run.last.variables["stage"] == "New"

    contacted = run.complete("stage_new", {"transition": "contact"})
    assert contacted.status == "running"
    assert run.open_elements() == ["stage_contacted"] and contacted.variables["stage"] == "Contacted"

    qualified = run.complete("stage_contacted",
                             {"transition": "qualify", "budget": 5000, "travel_date": "2026-06-01"})
    assert qualified.status == "completed"
    assert qualified.variables["stage"] == "Qualified" and qualified.variables["budget"] == 5000


def test_an_enquiry_contacted_then_disqualified_is_lost(start):
    run = start(*ENQUIRY)
    run.complete("stage_new", {"transition": "contact"})
    lost = run.complete("stage_contacted", {"transition": "disqualify"})
    assert lost.status == "completed" and lost.variables["stage"] == "Lost"
    assert _types(lost, "set_stage_lost_from_contacted") == ["element_entered", "element_left"]


def test_an_enquiry_disqualified_while_new_is_lost(start):
    run = start(*ENQUIRY)
    lost = run.complete("stage_new", {"transition": "disqualify"})
    assert lost.status == "completed" and lost.variables["stage"] == "Lost"
    assert _types(lost, "set_stage_lost_from_new") == ["element_entered", "element_left"]
    assert _types(lost, "stage_contacted") == []


def test_the_stage_variable_is_the_waiting_stage_in_the_task_data(start):
    run = start(*ENQUIRY)
    assert run.task("stage_new").data["stage"] == "New"
    run.complete("stage_new", {"transition": "contact"})
    assert run.task("stage_contacted").data["stage"] == "Contacted"
    assert run.variables()["stage"] == "Contacted"


# -- fixtures: sequence and parallel tasks ---------------------------------------------------------------------

def test_three_tasks_open_one_after_another(start, roundtrip):
    run = start(fixture("valid", "three_tasks.bpmn"), data={"case": 7})
    seen = []
    for element_id, following in (("task_a", ["task_b"]), ("task_b", ["task_c"]), ("task_c", [])):
        assert run.open_elements() == [element_id]
        seen.append(run.task(element_id).id)
        outcome = run.complete(element_id, {"note": f"done {element_id}"})
        assert run.open_elements() == following
    assert outcome.status == "completed"
    assert outcome.variables == {"case": 7, "note": "done task_c"}
    assert len(set(seen)) == 3
    assert run.restores == (4 if roundtrip else 0)


@pytest.mark.parametrize("first, second", [("left", "right"), ("right", "left")], ids=["left-first", "right-first"])
def test_parallel_tasks_are_open_together_and_the_join_waits_for_both(start, first, second):
    run = start(fixture("valid", "parallel_tasks.bpmn"))
    assert run.last.status == "running"
    assert run.open_elements() == ["left", "right"]
    waiting_id = run.task(second).id

    one_done = run.complete(first, {f"{first}_done": True})
    assert one_done.status == "running"
    assert run.open_elements() == [second]
    assert run.task(second).id == waiting_id
    assert one_done.closed_tasks == set()
    assert _types(one_done, "join") == ["element_entered"]  # the first branch waits at the join

    both_done = run.complete(second, {f"{second}_done": True})
    assert both_done.status == "completed" and both_done.open_tasks == []
    # each branch is one occurrence of the join, both left (not cancelled) when it fires, as in Camunda
    assert _types(both_done, "join") == ["element_entered", "element_left", "element_left"]


# -- failures, repair and retry -----------------------------------------------------------------------------

def test_a_failing_script_puts_the_instance_in_error_with_an_incident(start):
    run = start(fixture("valid", "failing_script.bpmn"), data={"divisor": 0})
    outcome = run.last
    assert outcome.status == "error"
    assert outcome.incident.element_id == "compute"
    assert "ZeroDivisionError" in outcome.incident.message
    assert outcome.open_tasks == []
    [error] = [e for e in outcome.events if e["type"] == "error"]
    assert error["element_id"] == "compute" and "ZeroDivisionError" in error["message"]
    assert outcome.variables == {"divisor": 0}


def test_fixing_the_variables_and_retrying_carries_on(start):
    run = start(fixture("valid", "failing_script.bpmn"), data={"divisor": 0})
    assert run.last.status == "error"

    assert run.update_variables({"divisor": 4}) == {"divisor": 4}
    retried = run.retry()

    assert retried.status == "running" and retried.incident is None
    assert run.open_elements() == ["after"]
    assert retried.variables == {"divisor": 4, "result": 25.0}
    assert run.complete("after").status == "completed"


def test_retrying_without_a_fix_fails_again(start):
    run = start(fixture("valid", "failing_script.bpmn"), data={"divisor": 0})
    again = run.retry()
    assert again.status == "error" and again.incident.element_id == "compute"
    assert "ZeroDivisionError" in again.incident.message


def test_a_script_failing_half_way_leaves_no_partial_data(start):
    run = start(fixture("valid", "sandbox_fixable_script.bpmn"), data={"divisor": 0})
    failed = run.last
    assert failed.status == "error"
    assert failed.incident.element_id == "compute" and failed.incident.line == 2
    assert failed.variables == {"divisor": 0}  # line 1 assigned progress, but the run failed

    run.update_variables({"divisor": 5})
    retried = run.retry()
    assert retried.status == "running"
    assert retried.variables == {"divisor": 5, "progress": "done", "result": 20.0}


def test_update_variables_deletes_with_none_and_refuses_unstorable_values(start):
    run = start(fixture("valid", "three_tasks.bpmn"), data={"keep": 1, "drop": 2})
    assert run.update_variables({"drop": None, "added": dt.date(2026, 1, 1)}) == {"keep": 1, "added": dt.date(2026, 1, 1)}
    with pytest.raises(ScriptError) as caught:
        run.update_variables({"bad": {1, 2}})
    assert "cannot be stored" in str(caught.value)
    assert run.variables() == {"keep": 1, "added": dt.date(2026, 1, 1)}


# -- runaway diagrams ---------------------------------------------------------------------------------------------

def test_an_endless_gateway_loop_stops_at_the_step_limit_with_an_incident(start):
    run = start(fixture("valid", "sandbox_gateway_loop.bpmn"), engine=Engine(max_engine_steps=50))
    outcome = run.last
    assert outcome.status == "error"
    assert "50 engine steps" in outcome.incident.message
    assert outcome.incident.element_id in {"lap", "again"}
    assert 0 < outcome.variables["laps"] < 50
    assert outcome.events[-1]["type"] == "error"

    again = run.retry()
    assert again.status == "error" and "50 engine steps" in again.incident.message


def test_an_endless_gateway_loop_is_never_reported_completed_whatever_the_step_cap(start):
    """The step cap is configurable (STAGECOACH_ENGINE_MAX_STEPS); above about 1,000 steps
    SpiffWorkflow's task iterator loses sight of the loop."""
    run = start(fixture("valid", "sandbox_gateway_loop.bpmn"), engine=Engine(max_engine_steps=5_000))
    assert run.last.status == "error"
    assert run.last.incident is not None


# -- events ----------------------------------------------------------------------------------------------

def test_outcome_events_record_automatic_elements_and_the_completed_task(start):
    run = start(shipped("approvals", "discount_approval.bpmn"), data={"discount": 20})
    started = run.last
    assert _types(started, "start_discount_requested") == ["element_entered", "element_left"]
    assert _types(started, "gateway_discount_above_limit") == ["element_entered", "element_left"]
    assert _types(started, "approve_discount") == ["element_entered"]  # waiting, not left

    done = run.complete("approve_discount", {"approved": True, "comment": "fine"}, user="maria")

    first = done.events[0]
    assert first["type"] == "task_completed" and first["element_id"] == "approve_discount"
    assert first["user"] == "maria" and first["data"] == {"approved": True, "comment": "fine"}
    assert _types(done, "approve_discount") == ["task_completed", "element_left"]
    for element_id in ("gateway_approved", "mark_approved", "end_discount_approved"):
        assert _types(done, element_id) == ["element_entered", "element_left"], element_id
    assert _types(done, "mark_rejected") == []
    assert all(isinstance(e["at"], dt.datetime) for e in started.events + done.events)
    mark = next(e for e in done.events if e["element_id"] == "mark_approved")
    assert mark["element_name"] == "Mark discount approved" and mark["element_type"] == "ScriptTask"


# -- completing what is not ready ---------------------------------------------------------------------------

def test_completing_a_task_that_is_not_ready_raises_task_not_ready(start):
    run = start(fixture("valid", "three_tasks.bpmn"))
    done_id = run.task("task_a").id
    run.complete("task_a", {"note": "a"})
    waiting_id = run.task("task_b").id

    for task_id in (done_id, str(uuid.uuid4()), "not-a-task-id", ""):
        with pytest.raises(TaskNotReadyError) as caught:
            run.complete_id(task_id)
        assert str(caught.value) == task_id

    assert run.engine.runner.open_task_ids(run.wf) == {waiting_id}
    assert run.variables() == {"note": "a"}


def test_an_automatic_task_cannot_be_completed_by_hand(start):
    run = start(fixture("valid", "failing_script.bpmn"), data={"divisor": 0})
    script_task_ids = [str(t.id) for t in run.wf.get_tasks() if getattr(t.task_spec, "bpmn_id", None) == "compute"]
    assert script_task_ids
    with pytest.raises(TaskNotReadyError):
        run.complete_id(script_task_ids[0], {"result": 1})
    assert run.variables() == {"divisor": 0}
