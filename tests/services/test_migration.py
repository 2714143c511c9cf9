"""Migrating and modifying instances: the engine's rules, then the batch's.

Engine scenarios run twice (`roundtrip`): straight on, and with the instance saved and loaded again
right after the migration or modification (a fresh engine, as after a restart), so what is stored
is what runs to the end. The diagrams are written here, small, one rule each.
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.engine import Engine, Instruction, MigrationRefused, ModificationError, RunSettings
from app.extensions import db
from app.models import BatchItem, HistoryEvent, HumanTask

from ..factories import ApiClient, fixture

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def diagram(key: str, body: str, flows: str) -> bytes:
    """A process written for one rule: `flows` as "a>b c>d" (ids f1, f2, ... in order)."""
    edges = "\n".join(f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}" />'
                      for n, (a, b) in enumerate((pair.split(">") for pair in flows.split()), start=1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA} id="d_{key}" '
            f'targetNamespace="http://stagecoach/tests/migration">\n<bpmn:message id="msg_reply" name="reply" />\n'
            f'<bpmn:process id="{key}" isExecutable="true">\n{body}\n{edges}\n</bpmn:process>\n'
            f'</bpmn:definitions>').encode()


START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'


def user(element: str) -> str:
    return f'<bpmn:userTask id="{element}" name="{element.title()}"/>'


def timer(element: str, duration: str, tag: str = "intermediateCatchEvent", attached: str = "") -> str:
    attach = f' attachedToRef="{attached}"' if attached else ""
    return (f'<bpmn:{tag} id="{element}"{attach}><bpmn:timerEventDefinition><bpmn:timeDuration>{duration}'
            f'</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:{tag}>')


def script(element: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{element}" scriptFormat="python"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


class Run:
    """Instances of deployed definitions on one engine; `roundtrip` saves and loads after each change."""

    def __init__(self, roundtrip: bool):
        self.engine, self.roundtrip, self.refs = Engine(), roundtrip, {}

    def deploy(self, name: str, xml: bytes) -> tuple:
        [model] = self.engine.parse([(f"{name}.bpmn", xml)])
        self.refs[name] = (name, model.dialect, self.engine.dump_spec(model))
        return self.refs[name]

    def start(self, ref: tuple, data: dict | None = None):
        wf = self.engine.new_workflow(*ref, data or {})
        return wf, self.engine.runner.advance(wf)

    def restored(self, ref: tuple, wf):
        if not self.roundtrip:
            return wf
        state = self.engine.dump(ref[1], wf)
        fresh = Engine()  # empty spec caches, as a restarted server
        wf = fresh.load(ref[0], ref[1], ref[2], state)
        self.engine = fresh
        return wf

    def migrate(self, wf, source: tuple, target: tuple, mapping: dict | None = None, same_ids: bool = True):
        outcome = self.engine.migrate(wf, source, target, mapping or {}, RunSettings.from_elements({}), same_ids)
        return self.restored(target, wf), outcome

    def complete(self, wf, element: str, data: dict | None = None):
        outcome = self.engine.runner.advance(wf)
        [task] = [t for t in outcome.open_tasks if t.element_id == element]
        return self.engine.runner.complete(wf, task.id, data or {})

    def open(self, wf) -> list[str]:
        return sorted(t.element_id for t in self.engine.runner.advance(wf).open_tasks)


@pytest.fixture(params=[False, True], ids=["straight", "save-restore"])
def run(request) -> Run:
    return Run(request.param)


def _reasons(exc: pytest.ExceptionInfo) -> list[tuple]:
    return [(r.element_id, r.reason) for r in exc.value.refusals]


# -- what moves, and what is refused ------------------------------------------------------------------------------

V1 = diagram("p", START + user("a") + user("b") + user("c") + END, "start>a a>b b>c c>end")
V2 = diagram("p", START + user("a") + script("added", "x = 1") + user("b2") + END, "start>a a>added added>b2 b2>end")


def test_an_element_added_after_a_waiting_task_runs_and_a_renamed_one_keeps_its_task(run):
    v1, v2 = run.deploy("v1", V1), run.deploy("v2", V2)
    at_a, opened = run.start(v1, {"k": 1})
    a_id = opened.open_tasks[0].id
    at_b, _ = run.start(v1)
    run.complete(at_b, "a", {"note": "typed"})
    b_id = run.engine.runner.advance(at_b).open_tasks[0].id

    at_a, moved_a = run.migrate(at_a, v1, v2)
    at_b, moved_b = run.migrate(at_b, v1, v2, {"b": "b2"})

    assert [(t.id, t.element_id) for t in moved_a.open_tasks] == [(a_id, "a")]
    assert [(t.id, t.element_id) for t in moved_b.open_tasks] == [(b_id, "b2")]
    assert moved_b.opened_tasks == set() and moved_b.closed_tasks == set()  # the same task, not a new one
    assert moved_b.open_tasks[0].data["note"] == "typed"
    after_a = run.complete(at_a, "a")
    assert [t.element_id for t in after_a.open_tasks] == ["b2"] and after_a.variables["x"] == 1
    assert run.complete(at_a, "b2").status == "completed"
    assert run.complete(at_b, "b2").status == "completed"


def test_active_elements_without_a_counterpart_or_of_another_kind_are_refused_and_nothing_changes(run):
    v1, v2 = run.deploy("v1", V1), run.deploy("v2", V2)
    at_c, _ = run.start(v1)
    run.complete(at_c, "a")
    run.complete(at_c, "b")
    before = run.engine.dump(v1[1], at_c)

    with pytest.raises(MigrationRefused) as removed:
        run.engine.migrate(at_c, v1, v2, {}, RunSettings.from_elements({}))
    with pytest.raises(MigrationRefused) as retyped:
        run.engine.migrate(at_c, v1, v2, {"c": "added"}, RunSettings.from_elements({}))
    with pytest.raises(MigrationRefused) as strict:
        run.engine.migrate(at_c, v1, v2, {"a": "a"}, RunSettings.from_elements({}), same_ids=False)

    assert _reasons(removed) == [("c", "no-counterpart")]
    assert _reasons(retyped) == [("c", "type-changed")]
    assert _reasons(strict) == [("c", "not-mapped")]
    assert run.engine.dump(v1[1], at_c) == before
    assert run.complete(at_c, "c").status == "completed"  # still on the source


def test_the_plan_is_checked_before_any_instance_and_the_diff_names_what_changed():
    engine = Engine()
    run = Run(False)
    run.engine = engine
    v1, v2 = run.deploy("v1", V1), run.deploy("v2", V2)

    assert engine.migration_plan_problems(v1, v2, {"b": "b2"}) == {}
    problems = engine.migration_plan_problems(v1, v2, {"b": "nowhere", "zz": "a", "c": "added"})
    assert set(problems) == {"b", "zz", "c"}
    assert "nowhere" in problems["b"][0] and "ScriptTask" in problems["c"][0]
    assert engine.migration_generate(v1, v2) == {"start": "start", "a": "a", "end": "end"}
    changes = engine.migration_compare(v1, v2)
    assert (changes["added"], changes["removed"]) == (["added", "b2"], ["b", "c"])
    assert "a" in changes["changed"]  # its outgoing flow goes elsewhere


# -- timers, messages, boundary events ------------------------------------------------------------------------------

def test_a_waiting_timer_keeps_its_due_time_and_then_takes_the_targets_path(run):
    v1 = run.deploy("t1", diagram("t", START + timer("wait", "PT1H") + script("old", "path = 'old'") + END,
                                   "start>wait wait>old old>end"))
    v2 = run.deploy("t2", diagram("t", START + timer("wait", "PT5H") + script("new", "path = 'new'") + user("u") + END,
                                   "start>wait wait>new new>u u>end"))
    with time_machine.travel(dt.datetime.now(dt.timezone.utc), tick=False) as clock:
        wf, started = run.start(v1)
        [due] = [w["due_at"] for w in started.waits]
        clock.shift(dt.timedelta(minutes=20))

        wf, moved = run.migrate(wf, v1, v2)

        assert [w["due_at"] for w in moved.waits] == [due]
        clock.shift(dt.timedelta(minutes=41))
        fired = run.engine.runner.fire_timers(wf)
    assert fired.variables["path"] == "new" and [t.element_id for t in fired.open_tasks] == ["u"]


def test_a_message_delivered_after_migration_reaches_the_renamed_catch(run):
    catch = ('<bpmn:intermediateCatchEvent id="{}"><bpmn:messageEventDefinition messageRef="msg_reply"/>'
             '</bpmn:intermediateCatchEvent>')
    v1 = run.deploy("m1", diagram("m", START + catch.format("w") + END, "start>w w>end"))
    v2 = run.deploy("m2", diagram("m", START + catch.format("w2") + user("after") + END, "start>w2 w2>after after>end"))
    wf, _ = run.start(v1)

    wf, moved = run.migrate(wf, v1, v2, {"w": "w2"})

    assert moved.waits == [{"kind": "message", "name": "reply", "element_id": "w2"}]
    delivered = run.engine.runner.deliver(wf, "message", "reply", {"answer": 42})
    assert [t.element_id for t in delivered.open_tasks] == ["after"] and delivered.variables["answer"] == 42


def test_a_timer_cannot_become_a_message_catch(run):
    v1 = run.deploy("t1", diagram("t", START + timer("wait", "PT1H") + END, "start>wait wait>end"))
    v2 = run.deploy("m2", diagram("t", START + '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition '
                                  'messageRef="msg_reply"/></bpmn:intermediateCatchEvent>' + END,
                                  "start>wait wait>end"))
    wf, _ = run.start(v1)
    with pytest.raises(MigrationRefused) as refused:
        run.migrate(wf, v1, v2)
    assert _reasons(refused) == [("wait", "event-changed")]


def test_boundary_events_the_target_adds_are_armed_and_those_it_drops_are_removed(run):
    plain = run.deploy("b0", diagram("b", START + user("a") + END, "start>a a>end"))
    guarded = run.deploy("b1", diagram("b", START + user("a") + timer("late", "PT1H", "boundaryEvent", "a")
                                       + user("escalate") + END, "start>a a>end late>escalate escalate>end"))
    with time_machine.travel(dt.datetime.now(dt.timezone.utc), tick=False) as clock:
        wf, started = run.start(plain)
        clock.shift(dt.timedelta(minutes=30))
        wf, armed = run.migrate(wf, plain, guarded)
        assert [(w["element_id"], w["due_at"]) for w in armed.waits] == [
            ("late", dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))]  # counted from the migration
        clock.shift(dt.timedelta(minutes=61))
        fired = run.engine.runner.fire_timers(wf)
    assert [t.element_id for t in fired.open_tasks] == ["escalate"]
    assert fired.closed_tasks == {started.open_tasks[0].id}  # the interrupting timer took the task away

    wf, _ = run.start(guarded)
    wf, dropped = run.migrate(wf, guarded, plain)
    assert dropped.waits == [] and [e["element_id"] for e in dropped.events] == ["late"]
    assert run.complete(wf, "a").status == "completed"


# -- multi-instance, sub-processes, parallel joins ----------------------------------------------------------------

def _mi(sequential: bool) -> str:
    return (f'<bpmn:userTask id="sign"><bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}" '
            f'camunda:collection="people" camunda:elementVariable="person"/></bpmn:userTask>')


def test_a_running_multi_instance_migrates_unchanged_and_is_refused_when_it_changed(run):
    v1 = run.deploy("s1", diagram("s", START + _mi(False) + END, "start>sign sign>end"))
    v2 = run.deploy("s2", diagram("s", START + _mi(False) + user("sum") + END, "start>sign sign>sum sum>end"))
    v3 = run.deploy("s3", diagram("s", START + _mi(True) + END, "start>sign sign>end"))
    wf, started = run.start(v1, {"people": ["ann", "bob", "cy"]})
    run.engine.runner.complete(wf, started.open_tasks[0].id, {})

    with pytest.raises(MigrationRefused) as changed:
        run.engine.migrate(wf, v1, v3, {}, RunSettings.from_elements({}))
    wf, moved = run.migrate(wf, v1, v2)

    assert _reasons(changed) == [("sign", "multi-instance-changed")]
    assert len(moved.open_tasks) == 2
    for task in moved.open_tasks:
        last = run.engine.runner.complete(wf, task.id, {})
    assert [t.element_id for t in last.open_tasks] == ["sum"]


def _sub(inner: str, flows: str) -> str:
    edges = " ".join(f'<bpmn:sequenceFlow id="s{n}" sourceRef="{a}" targetRef="{b}" />'
                     for n, (a, b) in enumerate((p.split(">") for p in flows.split()), start=1))
    return (f'<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/>{inner}<bpmn:endEvent id="s_end"/>{edges}'
            '</bpmn:subProcess>')


def test_a_task_inside_an_active_sub_process_moves_with_the_sub_process(run):
    v1 = run.deploy("x1", diagram("x", START + _sub(user("inner"), "s_start>inner inner>s_end") + user("after") + END,
                                   "start>sub sub>after after>end"))
    v2 = run.deploy("x2", diagram("x", START + _sub(user("inner") + user("second"),
                                                    "s_start>inner inner>second second>s_end")
                                   + user("after") + END, "start>sub sub>after after>end"))
    wf, _ = run.start(v1)

    wf, moved = run.migrate(wf, v1, v2)

    assert [t.element_id for t in moved.open_tasks] == ["inner"]
    assert [t.element_id for t in run.complete(wf, "inner").open_tasks] == ["second"]
    assert [t.element_id for t in run.complete(wf, "second").open_tasks] == ["after"]
    assert run.complete(wf, "after").status == "completed"


def test_a_parallel_join_waiting_for_one_branch_keeps_waiting_on_the_target(run):
    gateways = '<bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>'
    v1 = run.deploy("j1", diagram("j", START + gateways + user("a") + user("b") + END,
                                   "start>fork fork>a fork>b a>join b>join join>end"))
    v2 = run.deploy("j2", diagram("j", START + gateways + user("a") + user("b") + user("z") + END,
                                   "start>fork fork>a fork>b a>join b>join join>z z>end"))
    wf, _ = run.start(v1)
    run.complete(wf, "a")

    wf, moved = run.migrate(wf, v1, v2)

    assert [t.element_id for t in moved.open_tasks] == ["b"]
    assert [t.element_id for t in run.complete(wf, "b").open_tasks] == ["z"]
    assert run.complete(wf, "z").status == "completed"


# -- modification ----------------------------------------------------------------------------------------------------

def _modify(run: Run, ref: tuple, wf, *instructions: Instruction):
    outcome, done = run.engine.runner.modify(wf, list(instructions))
    return run.restored(ref, wf), outcome, done


def test_cancel_and_start_before_move_a_token_with_its_variables(run):
    v1 = run.deploy("v1", V1)
    wf, started = run.start(v1, {"k": 1})

    wf, moved, done = _modify(run, v1, wf, Instruction("cancel", "a"),
                              Instruction("start_before", "c", {"why": "skip"}))

    assert [t.element_id for t in moved.open_tasks] == ["c"]
    assert moved.closed_tasks == {started.open_tasks[0].id}
    assert moved.variables == {"k": 1, "why": "skip"}
    assert [d["kind"] for d in done] == ["cancel", "start_before"]
    assert run.complete(wf, "c").status == "completed"


def test_cancelling_an_activity_takes_its_boundary_events_and_the_last_token_ends_the_instance(run):
    guarded = run.deploy("b1", diagram("b", START + user("a") + timer("late", "PT1H", "boundaryEvent", "a") + END
                                       + '<bpmn:endEvent id="late_end"/>', "start>a a>end late>late_end"))
    wf, started = run.start(guarded)
    assert started.waits

    wf, ended, _ = _modify(run, guarded, wf, Instruction("cancel", "a"))

    assert ended.status == "cancelled" and ended.waits == [] and ended.closed_tasks == {started.open_tasks[0].id}


def test_a_token_started_before_an_activity_arms_its_boundary_events(run):
    guarded = run.deploy("b1", diagram("b", START + user("a") + timer("late", "PT1H", "boundaryEvent", "a") + END
                                       + '<bpmn:endEvent id="late_end"/>', "start>a a>end late>late_end"))
    with time_machine.travel(dt.datetime.now(dt.timezone.utc), tick=False) as clock:
        wf, started = run.start(guarded)
        clock.shift(dt.timedelta(minutes=45))

        wf, again, _ = _modify(run, guarded, wf, Instruction("start_before", "a"), Instruction("cancel", "a"))

        assert again.status == "cancelled"  # cancel takes every token of the activity, the new one too
        wf, started = run.start(guarded)
        wf, moved, _ = _modify(run, guarded, wf, Instruction("start_before", "end"), Instruction("cancel", "a"))
        assert moved.status == "completed"
        wf, started = run.start(guarded)
        clock.shift(dt.timedelta(minutes=45))
        wf, restarted, _ = _modify(run, guarded, wf, Instruction("cancel", "a"), Instruction("start_before", "a"))
        assert [t.element_id for t in restarted.open_tasks] == ["a"]
        assert [(w["element_id"], w["due_at"]) for w in restarted.waits] == [
            ("late", dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))]  # armed anew by the new token


def test_start_after_takes_the_single_outgoing_flow_and_reset_opens_an_earlier_task_under_a_new_id(run):
    v1 = run.deploy("v1", V1)
    wf, started = run.start(v1)
    first_a = started.open_tasks[0].id
    run.complete(wf, "a", {"n": 1})

    wf, after, _ = _modify(run, v1, wf, Instruction("start_after", "b"), Instruction("cancel", "b"))
    assert [t.element_id for t in after.open_tasks] == ["c"]

    wf, reset, _ = _modify(run, v1, wf, Instruction("reset", "a", {"n": 2}))
    assert sorted(t.element_id for t in reset.open_tasks) == ["a", "c"]
    [again] = [t for t in reset.open_tasks if t.element_id == "a"]
    assert again.id != first_a and again.id in reset.opened_tasks
    assert reset.variables["n"] == 2
    assert [t.element_id for t in run.complete(wf, "a").open_tasks] == ["b", "c"]


def test_instructions_the_instance_cannot_take_are_refused_by_their_place():
    run = Run(False)
    v1 = run.deploy("v1", V1)
    gate = run.deploy("g", diagram("g", START + '<bpmn:exclusiveGateway id="choice"/>' + user("a") + user("b") + END,
                                   "start>choice choice>a choice>b a>end b>end"))
    sub = run.deploy("x", diagram("x", START + user("first") + _sub(user("inner"), "s_start>inner inner>s_end") + END,
                                  "start>first first>sub sub>end"))
    wf, _ = run.start(v1)
    cases = [(wf, [Instruction("cancel", "nope")], 0, "no element"),
             (wf, [Instruction("start_before", "b"), Instruction("cancel", "c")], 1, "no active token"),
             (wf, [Instruction("reset", "b")], 0, "has not run"),
             (run.start(gate)[0], [Instruction("start_after", "choice")], 0, "2 outgoing"),
             (run.start(sub)[0], [Instruction("start_before", "inner")], 0, "not active")]
    for workflow, instructions, index, words in cases:
        with pytest.raises(ModificationError) as refused:
            run.engine.runner.modify(workflow, instructions)
        assert refused.value.index == index and words in str(refused.value), (instructions, str(refused.value))


# -- the batch: chunks, a crash, failures --------------------------------------------------------------------------

class Crash(BaseException):
    """A process dying in the middle of a chunk."""


@pytest.fixture
def order(admin, app, monkeypatch):
    """Four instances of order version 1 at review, version 2 deployed; chunks of two."""
    monkeypatch.setitem(app.config, "MIGRATION_CHUNK_SIZE", 2)
    [v1] = admin.deploy(fixture("migration", "order_v1.bpmn"))["definitions"]
    instances = [admin.start("order", {"n": n})["id"] for n in range(4)]
    [v2] = admin.deploy(fixture("migration", "order_v2.bpmn"))["definitions"]
    return v1["id"], v2["id"], instances


def test_a_crash_inside_the_chunk_loop_is_resumed_without_migrating_any_instance_twice(app, order, monkeypatch):
    from app.services import batches, migrations
    from app.services.core import SYSTEM

    v1, v2, instances = order
    real, calls = migrations.migrate_instance, []

    def dying(plan, instance_id, actor, **kwargs):
        calls.append(instance_id)
        if len(calls) == 4:  # the second instance of the second chunk
            raise Crash()
        return real(plan, instance_id, actor, **kwargs)

    with app.app_context():
        plan = migrations.make_plan(SYSTEM, v1, v2)
        monkeypatch.setattr(migrations, "migrate_instance", dying)
        with pytest.raises(Crash):
            batches.start_migration(SYSTEM, plan, instances)
        db.session.rollback()
        statuses = dict(db.session.execute(select(BatchItem.instance_id, BatchItem.status)).all())
        assert [statuses[i] for i in instances] == ["done", "done", "pending", "pending"]

        monkeypatch.setattr(migrations, "migrate_instance", real)
        [batch_id] = set(db.session.scalars(select(BatchItem.batch_id)))
        resumed = batches.resume_batch(batch_id, SYSTEM)
        migrated = db.session.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.type == "migrated")).all()
        db.session.remove()
    assert (resumed["status"], resumed["migrated"], resumed["pending"]) == ("completed", 4, 0)
    assert sorted(migrated) == sorted(instances)  # each exactly once
    assert calls == instances[:4]


def test_an_instance_that_fails_is_marked_failed_and_the_others_still_migrate(app, order, monkeypatch):
    from app.services import batches, migrations
    from app.services.core import SYSTEM

    v1, v2, instances = order
    real = migrations.migrate_instance

    def failing(plan, instance_id, actor, **kwargs):
        result = real(plan, instance_id, actor, **kwargs)  # its step is written, then the failure undoes it
        if instance_id == instances[1]:
            raise RuntimeError("disk full")
        return result

    monkeypatch.setattr(migrations, "migrate_instance", failing)
    with app.app_context():
        answer = batches.migrate(SYSTEM, source_definition_id=v1, target_definition_id=v2, instance_ids=instances)
        definitions = {i: db.session.scalar(select(HumanTask.definition_id).where(HumanTask.instance_id == i))
                       for i in instances}
        db.session.remove()
    items = {i["instance_id"]: i for i in answer["instances"]}
    assert items[instances[1]]["status"] == "failed" and "disk full" in items[instances[1]]["error"]
    assert (answer["migrated"], answer["failed"]) == (3, 1)
    assert definitions[instances[1]] == v1  # its task row was not moved either
    assert {definitions[i] for i in instances if i != instances[1]} == {v2}


def test_a_migrated_task_keeps_its_claim_in_the_inbox(admin, make):
    [v1] = admin.deploy(fixture("migration", "order_v1.bpmn"))["definitions"]
    make.user("sam", groups=["staff"])
    sam = ApiClient.login(admin.app, "sam", "secret")
    instance = admin.start("order")["id"]
    [review] = admin.instance(instance)["tasks"]
    admin.complete(review["id"], {})
    [ship] = admin.instance(instance)["tasks"]
    sam.post(f"/api/v1/tasks/{ship['id']}/claim")
    [v2] = admin.deploy(fixture("migration", "order_v2.bpmn"))["definitions"]

    response = admin.post("/api/v1/migrations", json={
        "source_definition_id": v1["id"], "target_definition_id": v2["id"], "instance_ids": [instance],
        "mapping": {"ship": "dispatch"}})

    assert response.status_code == 200 and response.get_json()["migrated"] == 1
    [moved] = sam.get("/api/v1/tasks?assignee=sam").get_json()["items"]
    assert (moved["id"], moved["assignee"], moved["element_id"]) == (ship["id"], "sam", "dispatch")
    assert [a["element_id"] for a in admin.instance(instance)["active_activities"]] == ["dispatch"]


def test_an_instance_in_error_migrates_with_its_incident_and_a_retry_runs_the_targets_script(admin):
    [v1] = admin.deploy(fixture("migration", "invoice_v1.bpmn"))["definitions"]
    instance = admin.start("invoice")["id"]
    assert admin.instance(instance)["status"] == "error"
    [v2] = admin.deploy(fixture("migration", "invoice_v2.bpmn"))["definitions"]

    response = admin.post("/api/v1/migrations", json={
        "source_definition_id": v1["id"], "target_definition_id": v2["id"], "instance_ids": [instance],
        "mapping": {"compute": "calculate"}, "variables": {"amount": 10}})

    assert response.status_code == 200 and response.get_json()["migrated"] == 1, response.get_json()
    details = admin.instance(instance)
    assert details["status"] == "error" and details["variables"]["amount"] == 10
    assert [i["element_id"] for i in details["incidents"]] == ["calculate"]
    retried = admin.post(f"/api/v1/process-instances/{instance}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "completed"
    assert admin.instance(instance)["variables"]["total"] == 30  # the target's script


def test_moving_the_failed_token_of_an_instance_in_error_resolves_its_incident(admin):
    admin.deploy(fixture("migration", "invoice_v1.bpmn"))
    instance = admin.start("invoice")["id"]
    assert [i["element_id"] for i in admin.instance(instance)["incidents"]] == ["compute"]

    response = admin.post(f"/api/v1/process-instances/{instance}/modification", json={
        "instructions": [{"type": "cancel", "element_id": "compute"}, {"type": "start_before", "element_id": "end"}],
        "annotation": "nothing to compute for this one"})

    assert response.status_code == 200, response.get_json()
    details = admin.instance(instance)
    assert details["status"] == "completed"
    assert details["incidents"][0]["resolved_at"] is not None and details["incidents"][0]["resolution"] == "modified"
