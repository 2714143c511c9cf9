"""History retention: a time to live per definition, removal times, and cleanup in batches.

Camunda 7's removal-time based history cleanup: an instance that ends gets a removal time,
its end plus its definition's `camunda:historyTimeToLive` (days, or `P<n>D`) or else the
server's default; cleanup removes the ended instances past it with every row of theirs, in
batches of their own transactions, and never running, suspended or failed ones; a record's
timeline is kept. Time is the `clock` fixture's (frozen at the real now, shifted); nothing
sleeps. Instances are run through the services, so each step is a load, act and save of the
serialized workflow.
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from app.errors import BpmnValidationError, ForbiddenError, ValidationError
from app.extensions import db
from app.jobs.runner import run_due_jobs
from app.models import Job, ProcessDefinition, ProcessInstance
from app.models.base import new_id
from app.services import definitions, instances, retention
from app.services.core import SYSTEM, Actor, write_transaction
from app.statuses import InstanceStatus, JobStatus, OutboxStatus

from ..retention import deploy, finish, retained, start

DAY = dt.timedelta(days=1)
TIMEOUT = 60  # seconds a thread may take: a bound on a deadlock, never a pause
# Every table with a column naming an instance, and what cleanup does with its rows of a removed instance.
REMOVED_WITH_INSTANCE = {"active_activity", "activity_instance", "history_event", "incident", "human_task", "external_task", "job",
                         "event_subscription", "task_candidate"}
KEPT = {
    "crm_record_event": "a record's timeline belongs to the CRM",
    "crm_note": "a note belongs to its record",
    "crm_task": "a CRM to-do belongs to its owner and record",
    "buffered_message": "a buffered message waits for whichever instance comes; it is kept for none",
    "batch_item": "a batch's report, one line per instance it touched, belongs to the batch",
}
OUTBOX = "outbox_message"  # delivered messages go with the instance, undelivered ones still go out


def instance_column(table):
    return table.c.get("instance_id") if "instance_id" in table.c else table.c.get("process_instance_id")


def instance_keyed_tables() -> dict:
    return {t.name: t for t in db.metadata.sorted_tables if instance_column(t) is not None}


def rows_of(ids: list[str]) -> dict[str, int]:
    """Rows per instance-keyed table naming one of `ids` (task candidates also through their task)."""
    counts = {name: db.session.scalar(select(func.count()).select_from(t).where(instance_column(t).in_(ids)))
              for name, t in instance_keyed_tables().items()}
    tasks = db.metadata.tables["human_task"]
    candidates = db.metadata.tables["task_candidate"]
    counts["task_candidate"] += db.session.scalar(select(func.count()).select_from(candidates).where(
        candidates.c.task_id.in_(select(tasks.c.id).where(tasks.c.instance_id.in_(ids)))))
    counts["process_instance"] = db.session.scalar(
        select(func.count()).select_from(ProcessInstance).where(ProcessInstance.id.in_(ids)))
    return counts


def seed_leftovers(ids: list[str], now: dt.datetime) -> None:
    """A row of every kind an instance can own beside those its run left (a candidate of its task, whether or
    not a closed task keeps its own), so that cleanup has each to remove (or keep)."""
    meta = db.metadata.tables
    with write_transaction():
        conn = db.session.connection()
        for i in ids:
            definition_id = db.session.get(ProcessInstance, i).definition_id
            task_id = conn.execute(select(meta["human_task"].c.id).where(meta["human_task"].c.instance_id == i)).scalar()
            if task_id is not None:  # a failed instance stopped before its task
                conn.execute(meta["task_candidate"].insert(), [{"task_id": task_id, "instance_id": i, "kind": "user",
                                                                  "name": "carol"}])
            conn.execute(meta["active_activity"].insert(), [{"instance_id": i, "element_id": "review",
                                                             "element_type": "UserTask", "state": "waiting"}])
            conn.execute(meta["incident"].insert(), [{"id": new_id(), "instance_id": i, "message": "repaired",
                                                      "created_at": now, "resolved_at": now, "resolution": "retried"}])
            conn.execute(meta["external_task"].insert(), [{"id": new_id(), "instance_id": i, "definition_id": definition_id,
                                                           "element_id": "charge", "topic": "charge", "priority": 0,
                                                           "created_at": now}])
            conn.execute(meta["job"].insert(), [{"id": new_id(), "kind": "timer", "instance_id": i, "due_at": now + DAY,
                                                 "status": JobStatus.PENDING, "attempts": 0, "max_attempts": 3,
                                                 "created_at": now}])
            conn.execute(meta["event_subscription"].insert(), [{"id": new_id(), "instance_id": i, "kind": "message",
                                                                "name": "reply", "created_at": now}])
            conn.execute(meta["outbox_message"].insert(), [
                {"id": new_id(), "kind": "email", "payload": {}, "status": status, "attempts": 0, "max_attempts": 3,
                 "next_attempt_at": now, "instance_id": i, "created_at": now}
                for status in (OutboxStatus.SENT, OutboxStatus.PENDING)])
            conn.execute(meta["crm_record_event"].insert(), [{"record_id": "r-" + i[:8], "module": "Deals",
                                                              "type": "process_ended", "at": now, "instance_id": i}])
            conn.execute(meta["crm_task"].insert(), [{"id": new_id(), "subject": "call back", "instance_id": i,
                                                      "status": "open", "created_at": now}])


# -- the time to live --------------------------------------------------------------------------------
@pytest.mark.parametrize("written, days", [("5", 5), ("P10D", 10), ("0", 0), (" P7D ", 7), ("", None), (None, None)])
def test_the_time_to_live_is_read_from_the_diagram_in_days(app_ctx, written, days):
    assert deploy("kept", written).history_ttl_days == days


@pytest.mark.parametrize("written", ["-1", "P1M", "PT24H", "5d", "P5", "${ttl}", "five", "36501", "１２"])
def test_an_invalid_time_to_live_is_refused_at_deploy_naming_line_and_process(app_ctx, written):
    with pytest.raises(BpmnValidationError) as refused:
        definitions.deploy([retained("badttl", written)], SYSTEM)
    problem = next(p for p in refused.value.bpmn if "historyTimeToLive" in p["message"])
    assert problem["file"] == "badttl.bpmn" and problem["element_id"] == "badttl" and problem["line"] == 4
    assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 0


def test_an_ended_instance_is_removable_at_its_end_plus_the_time_to_live(app_ctx, clock):
    deploy("five", "5")
    done, cancelled, running = start("five"), start("five"), start("five")
    clock.shift(dt.timedelta(hours=3))
    ended_at = dt.datetime.now(dt.timezone.utc)
    finish(done)
    instances.cancel_instance(cancelled, SYSTEM)
    for i in (done, cancelled):
        inst = db.session.get(ProcessInstance, i)
        assert inst.ended_at == ended_at and inst.removal_time == ended_at + 5 * DAY
    assert db.session.get(ProcessInstance, running).removal_time is None


def test_the_default_applies_to_definitions_without_one_and_none_keeps_forever(app, app_ctx, clock, monkeypatch):
    deploy("own", "2")
    deploy("plain")
    monkeypatch.setitem(app.config, "HISTORY_TTL_DAYS", 30)
    own, plain = start("own"), start("plain")
    finish(own)
    finish(plain)
    now = dt.datetime.now(dt.timezone.utc)
    assert db.session.get(ProcessInstance, own).removal_time == now + 2 * DAY
    assert db.session.get(ProcessInstance, plain).removal_time == now + 30 * DAY
    monkeypatch.setitem(app.config, "HISTORY_TTL_DAYS", None)
    forever = start("plain")
    finish(forever)
    assert db.session.get(ProcessInstance, forever).removal_time is None


def test_setting_a_time_to_live_recomputes_the_removal_time_of_ended_instances(app, app_ctx, clock, monkeypatch):
    definition = deploy("later")
    ended = [start("later") for _ in range(3)]
    running = start("later")
    for i in ended:
        finish(i)
        clock.shift(dt.timedelta(minutes=1))
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_BATCH_SIZE", 2)  # the recomputation runs in batches too
    _, changed = retention.set_history_ttl(SYSTEM, 7, definition_id=definition.id)
    assert changed == 3
    db.session.expire_all()
    for i in ended:
        inst = db.session.get(ProcessInstance, i)
        assert inst.removal_time == inst.ended_at + 7 * DAY
    assert db.session.get(ProcessInstance, running).removal_time is None
    assert db.session.get(ProcessDefinition, definition.id).history_ttl_days == 7

    monkeypatch.setitem(app.config, "HISTORY_TTL_DAYS", 1)  # back to the default: its value, by key this time
    retention.set_history_ttl(SYSTEM, None, key="later")
    db.session.expire_all()
    assert all(db.session.get(ProcessInstance, i).removal_time == db.session.get(ProcessInstance, i).ended_at + DAY
               for i in ended)


def test_only_admins_set_a_time_to_live_and_never_a_negative_one(app_ctx):
    definition = deploy("guarded", "5")
    with pytest.raises(ForbiddenError):
        retention.set_history_ttl(Actor("mallory"), 0, definition_id=definition.id)
    with pytest.raises(ValidationError):
        retention.set_history_ttl(SYSTEM, -1, definition_id=definition.id)
    with pytest.raises(ForbiddenError):
        retention.run_cleanup(Actor("mallory"))
    db.session.expire_all()
    assert db.session.get(ProcessDefinition, definition.id).history_ttl_days == 5


# -- cleanup -----------------------------------------------------------------------------------------
@pytest.mark.hand_written_rows
def test_cleanup_removes_exactly_the_ended_instances_past_their_removal_time_with_all_their_rows(app_ctx, clock):
    deploy("five", "5")
    deploy("ten", "P10D")
    deploy("forever")
    done, cancelled = start("five"), start("five")
    later, forever = start("ten"), start("forever")
    running, suspended, failed = start("five"), start("five"), start("five", divisor=0)
    for i in (done, later, forever):
        finish(i)
    instances.cancel_instance(cancelled, SYSTEM)
    instances.suspend_instance(suspended, SYSTEM)
    assert db.session.get(ProcessInstance, failed).status == InstanceStatus.ERROR
    due, kept = [done, cancelled], [later, forever, running, suspended, failed]
    now = dt.datetime.now(dt.timezone.utc)
    seed_leftovers(due + kept, now)
    declared = REMOVED_WITH_INSTANCE | set(KEPT) | {OUTBOX}
    assert set(instance_keyed_tables()) == declared, "a new table names instances: decide what cleanup does with it"
    before_due, before_kept = rows_of(due), rows_of(kept)
    assert all(before_due[t] > 0 for t in REMOVED_WITH_INSTANCE | {"task_candidate", OUTBOX, "crm_record_event"})

    clock.shift(5 * DAY - dt.timedelta(seconds=1))
    assert retention.run_cleanup(SYSTEM).instances == 0  # a second early
    clock.shift(dt.timedelta(seconds=1))
    report = retention.run_cleanup(SYSTEM)

    assert report.instances == 2 and report.batches == 1
    after_due = rows_of(due)
    assert {t: n for t, n in after_due.items() if n} == {
        "crm_record_event": 2, "crm_task": 2, OUTBOX: 2}  # the timeline, the to-dos, the mail still to send
    assert report.rows[OUTBOX] == 1 * 2 and report.rows["history_event"] == before_due["history_event"]
    assert rows_of(kept) == before_kept
    assert {i.status for i in db.session.scalars(select(ProcessInstance))} == {
        InstanceStatus.COMPLETED, InstanceStatus.RUNNING, InstanceStatus.SUSPENDED, InstanceStatus.ERROR}


def test_an_ended_instance_with_an_open_incident_is_kept(app_ctx, clock):
    deploy("zero", "0")
    done = start("zero")
    finish(done)
    with write_transaction():
        db.session.connection().execute(db.metadata.tables["incident"].insert(), [{
            "id": new_id(), "instance_id": done, "message": "left open", "created_at": dt.datetime.now(dt.timezone.utc)}])
    clock.shift(dt.timedelta(seconds=1))
    assert retention.run_cleanup(SYSTEM).instances == 0
    assert db.session.get(ProcessInstance, done) is not None


def _ended(count: int, key: str = "zero") -> list[str]:
    deploy(key, "0")  # removable at once: removal time = end time
    ids = [start(key) for _ in range(count)]
    for i in ids:
        finish(i)
    return ids


def test_cleanup_runs_in_batches_each_committed_on_its_own(app, app_ctx, clock):
    ids = _ended(5)
    clock.shift(dt.timedelta(seconds=1))
    left_after_each = []

    def committed(batch):
        with db.engine.connect() as other:  # another connection sees only what was committed
            left_after_each.append(other.execute(select(func.count()).select_from(ProcessInstance)
                                                 .where(ProcessInstance.id.in_(ids))).scalar())

    report = retention.run_cleanup(SYSTEM, size=2, on_batch=committed)
    assert (report.batches, report.instances) == (3, 5)
    assert left_after_each == [3, 1, 0]
    assert report.longest_batch_seconds > 0


def test_a_dry_run_counts_what_is_due_and_removes_nothing(app_ctx, clock):
    ids = _ended(3)
    clock.shift(dt.timedelta(seconds=1))
    before = rows_of(ids)
    report = retention.run_cleanup(SYSTEM, size=2, dry_run=True)
    assert report.dry_run and (report.instances, report.batches) == (3, 2)
    assert report.rows["history_event"] == before["history_event"] > 0
    assert rows_of(ids) == before


def test_cleanup_under_load_keeps_out_of_the_way_of_commands_on_other_instances(app, clock, is_postgres):
    """While batches of ended instances are removed, another connection completes tasks of running
    instances: no error, no deadlock, nothing removed that was not due."""
    with app.app_context():
        ended = _ended(30)
        deploy("busy", "5")
        busy = [start("busy") for _ in range(10)]
    clock.shift(dt.timedelta(seconds=1))
    barrier, errors = threading.Barrier(2, timeout=TIMEOUT), []
    removed = []

    def clean():
        with app.app_context():
            try:
                barrier.wait()
                removed.append(retention.run_cleanup(SYSTEM, size=2).instances)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    def work():
        with app.app_context():
            try:
                barrier.wait()
                for i in busy:
                    finish(i)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=clean), threading.Thread(target=work)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "deadlocked"
    assert errors == []
    with app.app_context():
        assert removed == [30] and rows_of(ended)["process_instance"] == 0
        assert {i.status for i in db.session.scalars(select(ProcessInstance))} == {InstanceStatus.COMPLETED}
        assert rows_of(busy)["process_instance"] == 10
        db.session.remove()


def test_batches_leave_other_writers_room_on_sqlite_and_follow_each_other_on_postgres(app_ctx, is_postgres):
    if is_postgres:  # row locks: a command on another instance never waits for a batch
        assert retention.pause_after(0.5) == 0
    else:  # one writer at a time: as long as the batch took, and never less than SQLite's busy-wait step
        assert (retention.pause_after(0.5), retention.pause_after(0.001)) == (0.5, retention.SQLITE_MIN_PAUSE)


def test_on_postgres_commands_on_other_instances_never_wait_for_a_batch_in_flight(app, clock, is_postgres,
                                                                                  monkeypatch):
    """A batch holds the rows it removes until it commits; a command on another instance takes none of them."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: a command waits for the batch's commit (busy timeout)")
    with app.app_context():
        ended = _ended(4)
        deploy("busy", "5")
        busy = [start("busy") for _ in range(3)]
        db.session.remove()
    clock.shift(dt.timedelta(seconds=1))
    in_batch, worked = threading.Event(), threading.Event()
    real_batch, errors = retention.cleanup_batch, []

    def held_open(now, size):  # the batch's deletes are done, its transaction not yet committed
        batch = real_batch(now, size)
        if batch.instances:
            in_batch.set()
            assert worked.wait(TIMEOUT)
        return batch

    monkeypatch.setattr(retention, "cleanup_batch", held_open)

    def clean():
        with app.app_context():
            try:
                retention.run_cleanup(SYSTEM, size=10)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    cleaner = threading.Thread(target=clean)
    cleaner.start()
    try:
        assert in_batch.wait(TIMEOUT)
        with app.app_context():
            for i in busy:
                finish(i)  # within the lock timeout, or InstanceBusyError fails the test
            db.session.remove()
    finally:
        worked.set()
        cleaner.join(TIMEOUT)
    assert errors == [] and not cleaner.is_alive()
    with app.app_context():
        assert rows_of(ended)["process_instance"] == 0
        assert {db.session.get(ProcessInstance, i).status for i in busy} == {InstanceStatus.COMPLETED}
        db.session.remove()


def test_on_postgres_cleanup_passes_over_an_instance_another_transaction_holds(app, app_ctx, clock, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite has no row locks: its batches take the database write lock")
    ids = _ended(3)
    db.session.remove()
    clock.shift(dt.timedelta(seconds=1))
    with db.engine.connect() as other:
        other.execute(select(ProcessInstance.id).where(ProcessInstance.id == ids[0]).with_for_update())
        assert retention.run_cleanup(SYSTEM, size=10).instances == 2  # at once: the held one is skipped
        other.rollback()
    assert retention.run_cleanup(SYSTEM, size=10).instances == 1
    assert rows_of(ids)["process_instance"] == 0


# -- when it runs ------------------------------------------------------------------------------------
def _window_ahead(app, monkeypatch, now: dt.datetime) -> dt.datetime:
    """A two-hour window starting about an hour after `now` (UTC); returns its start."""
    start_at = (now + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    end_at = start_at + dt.timedelta(hours=2)
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_WINDOW", f"{start_at:%H:%M}-{end_at:%H:%M}")
    monkeypatch.setitem(app.config, "TIMEZONE", "UTC")
    return start_at


def test_the_scheduled_job_cleans_up_in_its_window_batch_after_batch(app, app_ctx, clock, monkeypatch):
    ids = _ended(5)
    now = dt.datetime.now(dt.timezone.utc)
    window_start = _window_ahead(app, monkeypatch, now)
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_BATCH_SIZE", 2)
    with write_transaction():  # left by an earlier window, due later than this one starts
        db.session.add(Job(id=retention.SCHEDULED, kind=retention.SCHEDULED, due_at=window_start + 3 * DAY,
                           status=JobStatus.PENDING))
    retention.ensure_cleanup_job(now)
    db.session.expire_all()
    job = db.session.get(Job, retention.SCHEDULED)
    assert job.kind == retention.SCHEDULED and job.instance_id is None and job.due_at == window_start

    assert run_due_jobs(now=window_start - dt.timedelta(minutes=1))["done"] == 0  # before the window
    left = []
    for second in (1, 2, 3):
        assert run_due_jobs(now=window_start + dt.timedelta(seconds=second))["done"] == 1
        db.session.expire_all()
        left.append(rows_of(ids)["process_instance"])
    assert left == [3, 1, 0]
    assert db.session.get(Job, retention.SCHEDULED).due_at == window_start + DAY  # the last batch was short


def test_a_scheduled_job_found_outside_its_window_waits_for_the_next(app, app_ctx, clock, monkeypatch):
    ids = _ended(1)
    now = dt.datetime.now(dt.timezone.utc)
    window_start = _window_ahead(app, monkeypatch, now)
    retention.ensure_cleanup_job(now)
    with write_transaction():
        db.session.get(Job, retention.SCHEDULED).due_at = now  # as if the window had moved
    assert run_due_jobs(now=now + dt.timedelta(seconds=1))["done"] == 1
    db.session.expire_all()
    assert rows_of(ids)["process_instance"] == 1
    assert db.session.get(Job, retention.SCHEDULED).due_at == window_start


def test_without_a_window_the_scheduled_job_goes_and_none_is_made(app, app_ctx, clock, monkeypatch):
    now = dt.datetime.now(dt.timezone.utc)
    _window_ahead(app, monkeypatch, now)
    retention.ensure_cleanup_job(now)
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_WINDOW", "off")
    retention.ensure_cleanup_job(now)
    with write_transaction():
        db.session.get(Job, retention.SCHEDULED).due_at = now
    run_due_jobs(now=now + dt.timedelta(seconds=1))
    db.session.expire_all()
    assert db.session.get(Job, retention.SCHEDULED) is None


def test_a_cleanup_that_cannot_be_scheduled_never_stops_the_job_runner(app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_WINDOW", "late-early")
    monkeypatch.setitem(app.extensions, "stagecoach.cleanup_scheduled", False)
    assert run_due_jobs() == {"done": 0, "failed": 0, "retried": 0}  # logged, and tried again next pass
    assert app.extensions["stagecoach.cleanup_scheduled"] is False


def test_a_cleanup_asked_for_now_runs_until_nothing_is_due_whatever_the_window(app, app_ctx, clock, monkeypatch):
    ids = _ended(3)
    monkeypatch.setitem(app.config, "HISTORY_CLEANUP_BATCH_SIZE", 2)
    now = dt.datetime.now(dt.timezone.utc)
    job = retention.schedule_cleanup(SYSTEM, immediately=True, now=now)
    assert (job.id, job.due_at) == (retention.NOW, now)
    assert retention.schedule_cleanup(SYSTEM, now=now).id == retention.NOW  # asked twice: still one job
    assert run_due_jobs(now=now + dt.timedelta(seconds=1))["done"] == 1
    assert run_due_jobs(now=now + dt.timedelta(seconds=2))["done"] == 1
    db.session.expire_all()
    assert rows_of(ids)["process_instance"] == 0
    assert db.session.get(Job, retention.NOW) is None
    with pytest.raises(ValidationError):  # no window: nothing to schedule "not immediately"
        retention.schedule_cleanup(SYSTEM, immediately=False, now=now)


def test_flask_history_cleanup_reports_counts(app, clock):
    with app.app_context():
        ids = _ended(3)
        db.session.remove()
    clock.shift(dt.timedelta(seconds=1))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["history", "cleanup", "--batch-size", "2", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove 3 instance(s) in 2 batch(es)" in dry.output and "process_instance 3" in dry.output
    done = runner.invoke(args=["history", "cleanup", "--batch-size", "2"])
    assert done.exit_code == 0, done.output
    assert "removed 3 instance(s) in 2 batch(es)" in done.output and "human_task 3" in done.output
    with app.app_context():
        assert rows_of(ids)["process_instance"] == 0
        db.session.remove()


def test_flask_history_recompute_applies_a_new_default_to_instances_ended_before(app, clock, monkeypatch):
    with app.app_context():
        deploy("plain")
        done = start("plain")
        finish(done)
        db.session.remove()
    monkeypatch.setitem(app.config, "HISTORY_TTL_DAYS", 3)
    result = app.test_cli_runner().invoke(args=["history", "recompute"])
    assert result.exit_code == 0 and "changed on 1 ended instance(s)" in result.output
    with app.app_context():
        inst = db.session.get(ProcessInstance, done)
        assert inst.removal_time == inst.ended_at + 3 * DAY
        db.session.remove()


@pytest.mark.parametrize("text, zone", [("22:00-06:00", "UTC"), ("23:30-01:00", "Europe/Berlin")])
def test_a_window_that_crosses_midnight(text, zone):
    window = retention.CleanupWindow.parse(text, zone)
    day = dt.datetime.now(window.zone).date()

    def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=window.zone)

    inside, outside = at(0, 0, 30), at(0, 12)
    assert window.contains(inside) and window.contains(at(0, window.start.hour, 59)) and not window.contains(outside)
    assert window.bounds(inside) == (at(-1, window.start.hour, window.start.minute),
                                     at(0, window.end.hour, window.end.minute))
    assert window.bounds(outside)[0] == window.next_start(outside) == at(0, window.start.hour, window.start.minute)
    assert window.next_start(inside) == at(0, window.start.hour, window.start.minute)


@pytest.mark.parametrize("text", ["22:00", "25:00-01:00", "late-early", "1-2-3"])
def test_a_window_that_is_not_two_times_is_refused(text):
    with pytest.raises(ValueError):
        retention.CleanupWindow.parse(text, "UTC")


@pytest.mark.parametrize("text", ["", "off", None])
def test_no_window(text):
    assert retention.CleanupWindow.parse(text, "UTC") is None
