"""Gauges read from the database at scrape time: the same answer whichever process is scraped.

Open tasks, incidents and backlogs are facts of the database, not of a
process: counting them in each worker would give one worker's share per
scrape. So they are not counted at all; this collector asks the database,
with a handful of indexed aggregate queries, each time Prometheus scrapes.
A database out of reach gives `stagecoach_database_up 0` and no other
database gauge, rather than a failed scrape (the process metrics still come).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, ContextManager, Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from ..clock import utcnow
from ..models import HumanTask, Incident, Job, OutboxMessage, ProcessInstance, RunnerHeartbeat, TaskCandidate
from ..statuses import InstanceStatus, JobStatus, OutboxStatus, TaskState

log = logging.getLogger(__name__)

TASKS, CANDIDATES, INCIDENTS = HumanTask.__table__, TaskCandidate.__table__, Incident.__table__
INSTANCES, JOBS, OUTBOX, BEATS = ProcessInstance.__table__, Job.__table__, OutboxMessage.__table__, \
    RunnerHeartbeat.__table__


class DatabaseCollector(Collector):
    """Reads the database's gauges through `connect()` (a context manager giving a Connection)."""

    def __init__(self, connect: Callable[[], ContextManager[Connection]]):
        self.connect = connect

    def collect(self) -> Iterable:
        up = GaugeMetricFamily("stagecoach_database_up", "Whether the database answered this scrape")
        try:
            with self.connect() as conn:
                families = list(_gauges(conn, utcnow()))
        except Exception as exc:  # an outage must not fail the scrape
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _gauges(conn: Connection, now: dt.datetime) -> Iterable[GaugeMetricFamily]:
    by_group = GaugeMetricFamily("stagecoach_open_tasks_by_group", "Open human tasks offered to a candidate group "
                                 "(a task offered to several groups counts in each)", labels=["group"])
    for group, count in conn.execute(
            select(CANDIDATES.c.name, func.count()).select_from(CANDIDATES.join(TASKS, TASKS.c.id == CANDIDATES.c.task_id))
            .where(CANDIDATES.c.kind == "group", TASKS.c.state == TaskState.OPEN).group_by(CANDIDATES.c.name)):
        by_group.add_metric([group], count)
    yield by_group
    yield _single("stagecoach_open_tasks", "Open human tasks",
                  conn.scalar(select(func.count()).select_from(TASKS).where(TASKS.c.state == TaskState.OPEN)))

    incidents = GaugeMetricFamily("stagecoach_open_incidents", "Open incidents, per process key", labels=["process_key"])
    for key, count in conn.execute(
            select(INSTANCES.c.process_key, func.count()).select_from(
                INCIDENTS.join(INSTANCES, INSTANCES.c.id == INCIDENTS.c.instance_id))
            .where(INCIDENTS.c.resolved_at.is_(None)).group_by(INSTANCES.c.process_key)):
        incidents.add_metric([key], count)
    yield incidents

    live = GaugeMetricFamily("stagecoach_instances", "Process instances that have not ended, per status",
                             labels=["status"])
    counts = dict(conn.execute(select(INSTANCES.c.status, func.count()).where(
        INSTANCES.c.status.in_(sorted(InstanceStatus.LIVE))).group_by(INSTANCES.c.status)).all())
    for status in sorted(InstanceStatus.LIVE):
        live.add_metric([status], counts.get(status, 0))
    yield live

    # Due and not run: what the job runners have yet to do (jobs of suspended instances wait, not counted).
    runnable = and_(JOBS.c.status == JobStatus.PENDING, JOBS.c.due_at < now,
                    INSTANCES.c.status == InstanceStatus.RUNNING)
    backlog = GaugeMetricFamily("stagecoach_job_backlog", "Jobs due and not run yet, per kind", labels=["kind"])
    rows = conn.execute(select(JOBS.c.kind, func.count(), func.min(JOBS.c.due_at))
                        .select_from(JOBS.join(INSTANCES, INSTANCES.c.id == JOBS.c.instance_id))
                        .where(runnable).group_by(JOBS.c.kind)).all()
    for kind in sorted({"timer", "async"} | {row[0] for row in rows}):
        backlog.add_metric([kind], next((row[1] for row in rows if row[0] == kind), 0))
    yield backlog
    oldest = min((_aware(row[2]) for row in rows), default=None)
    yield _single("stagecoach_job_backlog_oldest_seconds", "How long the oldest due job has waited past its due time",
                  (now - oldest).total_seconds() if oldest is not None else 0)
    yield _single("stagecoach_failed_jobs", "Jobs that ran out of attempts and wait for a retry",
                  conn.scalar(select(func.count()).select_from(JOBS).where(JOBS.c.status == JobStatus.FAILED)))

    yield _single("stagecoach_outbox_backlog", "Emails and webhook calls due and not delivered yet",
                  conn.scalar(select(func.count()).select_from(OUTBOX).where(
                      OUTBOX.c.status == OutboxStatus.PENDING, OUTBOX.c.next_attempt_at <= now)))
    yield _single("stagecoach_outbox_failed", "Emails and webhook calls that failed their last attempt",
                  conn.scalar(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == OutboxStatus.FAILED)))

    beat = conn.scalar(select(func.max(BEATS.c.beat_at)))
    if beat is not None:
        yield _single("stagecoach_job_runner_heartbeat_age_seconds", "Seconds since a job runner last said it was alive",
                      max(0.0, (now - _aware(beat)).total_seconds()))


def _single(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value or 0))


def _aware(moment: dt.datetime) -> dt.datetime:
    """A timestamp read by Core (no type decorator on aggregates): UTC-aware."""
    if isinstance(moment, str):  # SQLite returns min()/max() of a datetime column as text
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
