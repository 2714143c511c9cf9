"""History retention: how long ended instances are kept, and removing them once their time has come.

Camunda 7's removal-time based history cleanup. An instance that ends (completed or cancelled)
gets a removal time: its end plus the history time to live of its definition
(`camunda:historyTimeToLive`, or what an admin set since) or else the server's default
(`HISTORY_TTL_DAYS`); without either it is kept forever. Cleanup removes the ended instances
whose removal time has passed, with every row that belongs to them, in batches of
`HISTORY_CLEANUP_BATCH_SIZE` instances, each batch its own short write transaction: the due
instances are found by one range scan of `ix_process_instance_removal_time` and, on
PostgreSQL, taken `FOR UPDATE SKIP LOCKED`, so two cleaners never wait for each other and a
command holding an instance is passed over, never waited for. Running, suspended and failed
instances have no removal time and are never touched.

What is removed with an instance: its human tasks and their candidates, active activities,
history, incidents, external tasks, jobs, message subscriptions and its delivered outbox
messages. What is kept: the CRM's rows that name the instance as plain data (a record's
timeline, notes and to-dos belong to the record), outbox messages not yet delivered (they still
go out), and buffered messages (they wait for whichever instance comes and name none).

The job runner runs cleanup in the daily window `HISTORY_CLEANUP_WINDOW` (`app/jobs/handlers.py`);
`flask history cleanup` and `POST /engine-rest/history/cleanup` run it on demand. Only admins
set times to live or run cleanup.
"""
from __future__ import annotations

import datetime as dt
import math
import time
import zoneinfo
from dataclasses import dataclass, field
from typing import Callable

from flask import current_app
from sqlalchemy import bindparam, exists, func, select

from ..engine import MAX_HISTORY_TTL_DAYS
from ..errors import NotFoundError, ValidationError
from ..extensions import db
from ..models import (
    ActiveActivity, ActivityInstance, EventSubscription, ExternalTask, HistoryEvent, HumanTask, Incident, Job,
    OutboxMessage,
    ProcessDefinition, ProcessInstance, TaskCandidate,
)
from ..statuses import InstanceStatus, JobStatus, OutboxStatus
from .access import require_admin
from .core import Actor, effective_ttl_days, latest_definition_id, removal_time_after, utcnow, write_transaction

ENDED = tuple(InstanceStatus.ENDED)
INSTANCES = ProcessInstance.__table__
DEFINITIONS = ProcessDefinition.__table__
TASKS = HumanTask.__table__
JOBS = Job.__table__
# The scheduled cleanup (recurring, in the window) and a run asked for now (until nothing is due).
SCHEDULED = "history-cleanup"
NOW = "history-cleanup-now"
CLEANUP_KINDS = (SCHEDULED, NOW)
# Tables whose rows belong to an instance, removed before it, by their instance column; task
# candidates go first, through their task.
_OWNED = [(t.__table__, t.__table__.c.instance_id) for t in
          (HumanTask, ActiveActivity, ActivityInstance, HistoryEvent, Incident, ExternalTask, Job, EventSubscription)]
_OUTBOX = OutboxMessage.__table__
_CANDIDATES = TaskCandidate.__table__


# -- the time to live -------------------------------------------------------------------------------
def set_history_ttl(actor: Actor, days: int | None, *, definition_id: str | None = None,
                    key: str | None = None) -> tuple[ProcessDefinition, int]:
    """Set a definition's history time to live (None: the server's default), by id or the latest of `key`,
    and recompute the removal time of its ended instances. Returns (definition, instances recomputed).

    Raises:
        ForbiddenError: the actor is not an admin.
        NotFoundError: no such definition.
        ValidationError: a negative or too long time to live.
    """
    require_admin(actor, "set a history time to live")
    if days is not None and not 0 <= days <= MAX_HISTORY_TTL_DAYS:
        raise ValidationError(f"a history time to live is 0 to {MAX_HISTORY_TTL_DAYS} days, or null",
                              errors={"days": [f"must be between 0 and {MAX_HISTORY_TTL_DAYS}"]})
    with write_transaction():
        definition = db.session.get(ProcessDefinition, definition_id or latest_definition_id(key))
        if definition is None:
            raise NotFoundError(f"no process definition {definition_id}")
        definition.history_ttl_days = days
    return definition, _recompute(definition.id)


def recompute_removal_times(actor: Actor, definition_id: str | None = None) -> int:
    """Give every ended instance (of one definition, or all) the removal time the times to live in force
    say, e.g. after the server's default changed; returns how many changed."""
    require_admin(actor, "recompute removal times")
    return _recompute(definition_id)


def _recompute(definition_id: str | None) -> int:
    """In batches by instance id, each its own transaction; only rows whose removal time changes are written."""
    size = batch_size()
    changed, last = 0, ""
    while True:
        with write_transaction():
            conn = db.session.connection()
            stmt = (select(INSTANCES.c.id, INSTANCES.c.ended_at, INSTANCES.c.removal_time, DEFINITIONS.c.history_ttl_days)
                    .join(DEFINITIONS, DEFINITIONS.c.id == INSTANCES.c.definition_id)
                    .where(INSTANCES.c.id > last, INSTANCES.c.status.in_(ENDED)).order_by(INSTANCES.c.id).limit(size))
            if definition_id is not None:
                stmt = stmt.where(INSTANCES.c.definition_id == definition_id)
            rows = conn.execute(stmt).all()
            updates = [{"_id": r.id, "_at": at} for r in rows
                       if (at := removal_time_after(r.ended_at, effective_ttl_days(r.history_ttl_days))) != r.removal_time]
            if updates:
                conn.execute(INSTANCES.update().where(INSTANCES.c.id == bindparam("_id"))
                             .values(removal_time=bindparam("_at")), updates)
        changed += len(updates)
        if len(rows) < size:
            return changed
        last = rows[-1].id


# -- cleanup ----------------------------------------------------------------------------------------
@dataclass
class Batch:
    """What one cleanup transaction removed: instances, rows per table, whether it was full."""

    instances: int
    rows: dict[str, int]
    full: bool
    seconds: float = 0.0


@dataclass
class CleanupReport:
    """A cleanup run: instances and rows per table removed (or due, on a dry run), batches and the longest."""

    instances: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    longest_batch_seconds: float = 0.0
    dry_run: bool = False

    def add(self, batch: Batch) -> None:
        self.instances += batch.instances
        for table, n in batch.rows.items():
            self.rows[table] = self.rows.get(table, 0) + n
        self.batches += 1
        self.longest_batch_seconds = max(self.longest_batch_seconds, batch.seconds)


# SQLite has one writer at a time, and a writer waiting for the lock looks again only every 100 ms or so:
# batches back to back would starve every other write. Between two batches it gets at least this long.
SQLITE_MIN_PAUSE = 0.1


def pause_after(batch_seconds: float) -> float:
    """Seconds to leave other writers between two batches: none on PostgreSQL (row locks), on SQLite as long
    as the batch took (at least SQLITE_MIN_PAUSE), so cleanup holds the database at most half the time."""
    if db.session.get_bind().dialect.name == "postgresql":
        return 0.0
    return max(batch_seconds, SQLITE_MIN_PAUSE)


def batch_size() -> int:
    return max(1, int(current_app.config.get("HISTORY_CLEANUP_BATCH_SIZE") or 500))


def _due(now: dt.datetime):
    """Ended instances past their removal time (none with an open incident: one left there is a fault to see)."""
    open_incident = exists().where(Incident.__table__.c.instance_id == INSTANCES.c.id,
                                   Incident.__table__.c.resolved_at.is_(None))
    return (INSTANCES.c.removal_time <= now) & INSTANCES.c.status.in_(ENDED) & ~open_incident


def cleanup_batch(now: dt.datetime, size: int) -> Batch:
    """Inside the caller's write transaction: remove up to `size` due instances and every row of theirs."""
    conn = db.session.connection()
    stmt = select(INSTANCES.c.id).where(_due(now)).order_by(INSTANCES.c.removal_time).limit(size)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(conn.execute(stmt).scalars())
    if not ids:
        return Batch(0, {}, False)
    tasks = select(TASKS.c.id).where(TASKS.c.instance_id.in_(ids))
    rows = {"task_candidate": conn.execute(_CANDIDATES.delete().where(_CANDIDATES.c.task_id.in_(tasks))).rowcount}
    for table, column in _OWNED:
        rows[table.name] = conn.execute(table.delete().where(column.in_(ids))).rowcount
    rows[_OUTBOX.name] = conn.execute(_OUTBOX.delete().where(_OUTBOX.c.instance_id.in_(ids),
                                                             _OUTBOX.c.status == OutboxStatus.SENT)).rowcount
    rows[INSTANCES.name] = conn.execute(INSTANCES.delete().where(INSTANCES.c.id.in_(ids))).rowcount
    return Batch(len(ids), rows, len(ids) == size)


def run_cleanup(actor: Actor, *, now: dt.datetime | None = None, size: int | None = None, dry_run: bool = False,
                on_batch: Callable[[Batch], None] | None = None) -> CleanupReport:
    """Remove every instance due at `now` (default: the clock, read once), batch after batch, each batch
    committed on its own; `on_batch` is called after each commit. A dry run counts what would go."""
    require_admin(actor, "run history cleanup")
    now = now or utcnow()
    size = size or batch_size()
    if dry_run:
        return _count_due(now, size)
    report = CleanupReport()
    while True:
        started = time.perf_counter()
        with write_transaction():
            batch = cleanup_batch(now, size)
        batch.seconds = time.perf_counter() - started
        if batch.instances:
            report.add(batch)
            if on_batch is not None:
                on_batch(batch)
        if not batch.full:
            return report
        time.sleep(pause_after(batch.seconds))


def _count_due(now: dt.datetime, size: int) -> CleanupReport:
    due = select(INSTANCES.c.id).where(_due(now))
    conn = db.session.connection()
    count = conn.execute(select(func.count()).select_from(due.subquery())).scalar_one()
    tasks = select(TASKS.c.id).where(TASKS.c.instance_id.in_(due))
    rows = {"task_candidate": conn.execute(select(func.count()).where(_CANDIDATES.c.task_id.in_(tasks))).scalar_one()}
    for table, column in _OWNED:
        rows[table.name] = conn.execute(select(func.count()).where(column.in_(due))).scalar_one()
    rows[_OUTBOX.name] = conn.execute(select(func.count()).where(
        _OUTBOX.c.instance_id.in_(due), _OUTBOX.c.status == OutboxStatus.SENT)).scalar_one()
    rows[INSTANCES.name] = count
    return CleanupReport(instances=count, rows=rows, batches=math.ceil(count / size), dry_run=True)


def due_count(now: dt.datetime | None = None) -> int:
    """How many instances cleanup would remove now."""
    return db.session.scalar(select(func.count()).select_from(
        select(INSTANCES.c.id).where(_due(now or utcnow())).subquery()))


# -- when it runs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanupWindow:
    """A daily window of local times in a time zone; `start == end` is the whole day."""

    start: dt.time
    end: dt.time
    zone: dt.tzinfo

    @classmethod
    def parse(cls, text: str | None, zone: str) -> "CleanupWindow | None":
        """`"22:00-06:00"` in `zone`; None for an empty value or "off".

        Raises:
            ValueError: not two HH:MM times joined by "-".
        """
        if text is None or text.strip().lower() in {"", "off", "none"}:
            return None
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise ValueError(f"STAGECOACH_HISTORY_CLEANUP_WINDOW must be HH:MM-HH:MM, not {text!r}") from None
        return cls(start, end, zoneinfo.ZoneInfo(zone))

    def _at(self, day: dt.date, moment: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, moment, tzinfo=self.zone).astimezone(dt.timezone.utc)

    def contains(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return self.start == self.end or local >= self.start or local < self.end

    def bounds(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The window `now` is in, else the next one: (start, end), UTC."""
        day = now.astimezone(self.zone).date()
        start = self._at(day, self.start)
        if self.contains(now) and start > now:
            start = self._at(day - dt.timedelta(days=1), self.start)
        elif not self.contains(now) and start <= now:
            start = self._at(day + dt.timedelta(days=1), self.start)
        start_day = start.astimezone(self.zone).date()
        end = self._at(start_day + dt.timedelta(days=0 if self.start < self.end else 1), self.end)
        return start, end

    def next_start(self, now: dt.datetime) -> dt.datetime:
        """The first window start after `now`."""
        day = now.astimezone(self.zone).date()
        start = self._at(day, self.start)
        return start if start > now else self._at(day + dt.timedelta(days=1), self.start)


def cleanup_window() -> CleanupWindow | None:
    """The configured window (HISTORY_CLEANUP_WINDOW in TIMEZONE), or None: no scheduled cleanup."""
    return CleanupWindow.parse(current_app.config.get("HISTORY_CLEANUP_WINDOW"),
                               current_app.config.get("TIMEZONE") or "UTC")


def _insert_job(job_id: str, due_at: dt.datetime) -> None:
    """The cleanup job `job_id` (its own kind) due at `due_at`, unless it exists: one row whoever asks."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(JOBS).values(id=job_id, kind=job_id, instance_id=None, due_at=due_at,
                                     status=JobStatus.PENDING, attempts=0, max_attempts=3, created_at=utcnow())
                 .on_conflict_do_nothing(index_elements=["id"]))


def ensure_cleanup_job(now: dt.datetime | None = None) -> None:
    """With a window configured, the scheduled cleanup job exists, due no later than now inside the window,
    else its next start; the job runner calls this once per process."""
    window = cleanup_window()
    if window is None:
        return
    now = now or utcnow()
    due = now if window.contains(now) else window.next_start(now)
    with write_transaction():
        _insert_job(SCHEDULED, due)
        # a job left due later by a window that has since moved runs in the window configured now
        db.session.execute(JOBS.update().where(JOBS.c.id == SCHEDULED, JOBS.c.status == JobStatus.PENDING,
                                               JOBS.c.due_at > due).values(due_at=due))


def schedule_cleanup(actor: Actor, immediately: bool = True, now: dt.datetime | None = None) -> Job:
    """Camunda's `POST /history/cleanup`: a cleanup due now that runs until nothing is due (whatever the
    window), or with `immediately=False` the scheduled one (the next window). Returns the job.

    Raises:
        ValidationError: not immediately, and no window is configured.
    """
    require_admin(actor, "run history cleanup")
    now = now or utcnow()
    with write_transaction():
        if immediately:
            _insert_job(NOW, now)
            db.session.execute(JOBS.update().where(JOBS.c.id == NOW).values(
                due_at=now, status=JobStatus.PENDING, attempts=0, last_error=None))
            job_id = NOW
        else:
            window = cleanup_window()
            if window is None:
                raise ValidationError("no history cleanup window is configured (STAGECOACH_HISTORY_CLEANUP_WINDOW)")
            _insert_job(SCHEDULED, window.next_start(now))
            job_id = SCHEDULED
    db.session.expire_all()
    return db.session.get(Job, job_id)


def cleanup_jobs(actor: Actor) -> list[Job]:
    """The cleanup jobs there are (scheduled, and a run asked for now)."""
    require_admin(actor, "see history cleanup")
    return list(db.session.scalars(select(Job).where(Job.kind.in_(CLEANUP_KINDS)).order_by(Job.due_at)))


def cleanup_configuration(actor: Actor, now: dt.datetime | None = None) -> dict:
    """The window (the current or next one, or None), the batch size, the default time to live and how many
    instances are due now."""
    require_admin(actor, "see history cleanup")
    now = now or utcnow()
    window = cleanup_window()
    start, end = window.bounds(now) if window is not None else (None, None)
    return {"window_start": start, "window_end": end, "scheduled": window is not None, "batch_size": batch_size(),
            "default_ttl_days": current_app.config.get("HISTORY_TTL_DAYS"), "due_instances": due_count(now)}
