"""Several processes, one answer: counters and histograms of every process add up, live gauges of an exited
process stop counting, and the database's gauges are read once per scrape.

Two "processes" are simulated the way prometheus_client's own tests do: two sets of metrics whose values are
written, under two process ids, to the same PROMETHEUS_MULTIPROC_DIR.
"""
from __future__ import annotations

import runpy
from types import SimpleNamespace

import pytest
from prometheus_client import values

from app.operations.exporter import prepare_multiprocess_dir, process_exited
from app.operations.metrics import MULTIPROC_ENV, Metrics, exposition

from ..factories import ROOT
from .conftest import Scrape


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    return tmp_path


def process(monkeypatch, pid: int) -> Metrics:
    """The metrics a process with this id would keep."""
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: pid))
    return Metrics()


def test_counters_histograms_and_live_gauges_of_two_processes_are_added_up(folder, monkeypatch):
    first = process(monkeypatch, 101)
    first.instances_started.labels("quote").inc(2)
    first.request_seconds.labels("GET", "/api/v1/tasks", "200").observe(0.2)
    first.job_lateness.labels("timer").observe(3)
    first.pool_checked_out.inc(3)
    second = process(monkeypatch, 202)
    second.instances_started.labels("quote").inc(3)
    second.request_seconds.labels("GET", "/api/v1/tasks", "200").observe(0.4)
    second.job_lateness.labels("timer").observe(40)
    second.pool_checked_out.inc(1)

    both = Scrape(exposition().decode())
    assert both.value("stagecoach_instances_started_total", process_key="quote") == 5
    assert both.value("stagecoach_http_request_duration_seconds_count", route="/api/v1/tasks") == 2
    assert both.value("stagecoach_http_request_duration_seconds_sum", route="/api/v1/tasks") == pytest.approx(0.6)
    assert both.value("stagecoach_job_lateness_seconds_bucket", kind="timer", le="5.0") == 1
    assert both.value("stagecoach_job_lateness_seconds_bucket", kind="timer", le="60.0") == 2
    assert both.value("stagecoach_db_pool_checked_out") == 4

    process_exited(101)  # gunicorn's child_exit for the first worker
    after = Scrape(exposition().decode())
    assert after.value("stagecoach_db_pool_checked_out") == 1  # its connections are gone
    assert after.value("stagecoach_instances_started_total", process_key="quote") == 5  # what it did stays


def test_the_scrape_endpoint_adds_every_process_up_and_reads_the_database_once(folder, monkeypatch, admin):
    process(monkeypatch, 301).instances_completed.labels("renewal").inc()
    process(monkeypatch, 302).instances_completed.labels("renewal").inc(4)
    response = admin.get("/metrics")
    assert response.status_code == 200
    scraped = Scrape(response.get_data(as_text=True))
    assert scraped.value("stagecoach_instances_completed_total", process_key="renewal") == 5
    assert scraped.labels_of("stagecoach_open_tasks") == [{}]  # one sample, not one per process
    assert scraped.value("stagecoach_database_up") == 1


def test_a_server_start_empties_the_folder_and_makes_one_when_none_is_set(folder, monkeypatch, tmp_path):
    process(monkeypatch, 401).instances_started.labels("quote").inc()
    assert list(folder.glob("*.db"))
    assert prepare_multiprocess_dir() == str(folder)
    assert not list(folder.glob("*.db"))  # counts of the previous run are not added in
    monkeypatch.delenv(MULTIPROC_ENV)
    made = prepare_multiprocess_dir(create=True)
    assert made and made != str(folder)
    import os
    assert os.environ[MULTIPROC_ENV] == made and os.path.isdir(made)
    os.rmdir(made)


def test_gunicorn_prepares_the_folder_and_marks_exited_workers(folder, monkeypatch):
    namespace = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker = process(monkeypatch, 501)
    worker.pool_checked_out.inc(2)
    assert Scrape(exposition().decode()).value("stagecoach_db_pool_checked_out") == 2
    namespace["child_exit"](None, SimpleNamespace(pid=501))
    assert Scrape(exposition().decode()).value("stagecoach_db_pool_checked_out") == 0
    namespace["on_starting"](None)
    assert not list(folder.glob("*.db"))
    namespace["on_exit"](None)
    assert folder.is_dir()  # a folder the operator set is theirs: only a temporary one made at start goes


def test_gunicorn_removes_the_temporary_folder_it_made_when_it_stops(monkeypatch):
    monkeypatch.setenv(MULTIPROC_ENV, "placeholder")
    monkeypatch.delenv(MULTIPROC_ENV)
    namespace = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    namespace["on_starting"](None)
    import os
    made = os.environ[MULTIPROC_ENV]
    assert os.path.isdir(made)
    namespace["on_exit"](None)
    assert not os.path.exists(made)
