"""Prometheus metrics: what each process counts, and one exposition that adds every process up.

Counters and histograms are counted where things happen (a request, a step, a
job) in the process that did them. Under gunicorn several worker processes
serve requests and run jobs, so a scrape answered by one of them must not show
only its own share: prometheus_client's multiprocess mode (the environment
variable PROMETHEUS_MULTIPROC_DIR, a folder every process of the server writes
its values to; gunicorn.conf.py sets one up and marks exited workers dead)
adds them up at scrape time. What lives in the database (open tasks, incidents,
backlogs) is not counted at all: `collector.py` reads it at scrape time, once
per scrape, whichever process answers.

The metric objects are made on first use, not at import, so a process picks
multiprocess mode from the environment it runs in (a gunicorn worker inherits
the folder its master created after the app was imported).
"""
from __future__ import annotations

import os
import threading
from typing import Iterable

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest,
                               values)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# How late a due job ran: from well within a poll to an hour behind.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


def multiprocess_dir() -> str | None:
    """The folder every process writes its values to, when the server runs several processes."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """Every metric a Stagecoach process counts (not registered anywhere: the exposition collects them)."""

    def __init__(self) -> None:
        self.request_seconds = Histogram(
            "stagecoach_http_request_duration_seconds", "Time to answer a request, per route (the URL rule)",
            ["method", "route", "status"], registry=None)
        self.instances_started = Counter(
            "stagecoach_instances_started", "Process instances started", ["process_key"], registry=None)
        self.instances_completed = Counter(
            "stagecoach_instances_completed", "Process instances that reached their end", ["process_key"],
            registry=None)
        self.instances_failed = Counter(
            "stagecoach_instances_failed", "Steps that stopped an instance with an incident", ["process_key"],
            registry=None)
        self.instances_cancelled = Counter(
            "stagecoach_instances_cancelled", "Process instances cancelled", ["process_key"], registry=None)
        self.jobs = Counter("stagecoach_jobs", "Due jobs run, by kind and outcome (done, retried, failed)",
                            ["kind", "outcome"], registry=None)
        self.job_lateness = Histogram(
            "stagecoach_job_lateness_seconds", "How long after its due time a job (a timer) ran", ["kind"],
            buckets=LATENESS_BUCKETS, registry=None)
        self.job_seconds = Histogram("stagecoach_job_duration_seconds", "Time to run a due job", ["kind"],
                                     registry=None)
        self.outbox_deliveries = Counter(
            "stagecoach_outbox_deliveries", "Outbox delivery attempts, by outcome (sent, retried, failed)",
            ["outcome"], registry=None)
        # Per process, added up over the live ones (an exited worker's connections are gone).
        self.pool_checked_out = Gauge(
            "stagecoach_db_pool_checked_out", "Database connections in use (all live processes)",
            registry=None, multiprocess_mode="livesum")
        self.pool_size = Gauge(
            "stagecoach_db_pool_size", "Connections the pools keep (all live processes; overflow not counted)",
            registry=None, multiprocess_mode="livesum")

    def all(self) -> list:
        return [value for value in vars(self).values() if isinstance(value, (Counter, Gauge, Histogram))]


disable_created_metrics()  # no `_created` series: they double the output and multiprocess mode has none
_metrics: Metrics | None = None
_lock = threading.Lock()


def metrics() -> Metrics:
    """This process's metrics, made on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                if multiprocess_dir() and not getattr(values.ValueClass, "_multiprocess", False):
                    # prometheus_client chose its value class when it was imported, before the folder was
                    # set (a gunicorn master that loaded the app first): choose again, before any metric exists.
                    values.ValueClass = values.get_value_class()
                _metrics = Metrics()
    return _metrics


class _ProcessMetrics(Collector):
    """This process's own values (single-process mode)."""

    def collect(self) -> Iterable:
        for metric in metrics().all():
            yield from metric.collect()


def registry(*extra: Collector) -> CollectorRegistry:
    """What one scrape reads: every process's values (or this one's) and `extra` collectors."""
    scrape = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        MultiProcessCollector(scrape, path=path)
    else:
        scrape.register(_ProcessMetrics())
    for collector in extra:
        scrape.register(collector)
    return scrape


def exposition(*extra: Collector) -> bytes:
    """The text exposition of one scrape."""
    return generate_latest(registry(*extra))


def count_outbox(counts: dict[str, int]) -> None:
    """Count one pass of the outbox dispatcher (`deliver_due`'s counts)."""
    for outcome, number in counts.items():
        if number:
            metrics().outbox_deliveries.labels(outcome).inc(number)


def watch_pool(engine) -> None:
    """Keep the pool gauges of `engine` (connections checked out, pool size) up to date."""
    from sqlalchemy import event

    if event.contains(engine, "checkout", _checked_out):
        return
    gauges = metrics()
    size = getattr(engine.pool, "size", None)
    if callable(size):
        gauges.pool_size.inc(size())
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def _checked_out(*_) -> None:
    metrics().pool_checked_out.inc()


def _checked_in(*_) -> None:
    metrics().pool_checked_out.dec()
