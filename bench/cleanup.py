"""History cleanup: how fast ended instances and their rows go, and how long one batch holds the database.

N ended instances (default 1,000,000, the target on PostgreSQL), each with the rows a
finished three-step process leaves (`--history` history events, one completed human task with
two candidates, one timeline entry that must stay, and every tenth a delivered outbox
message), plus `--running` running instances with an open task that must stay, are written
with bulk SQL (`INSERT ... SELECT` over `generate_series` on PostgreSQL, a recursive CTE on
SQLite): not through the engine. Every ended instance is past its removal time. Then
`app.services.retention.run_cleanup` removes them in batches of `--batch-size`, each its own
transaction, while a probe thread writes to a running instance every 20 ms in its own
transaction (what a command on another instance would wait).

    python bench/cleanup.py --count 100000                       # PostgreSQL (default)
    python bench/cleanup.py --count 20000 --db sqlite
    python bench/cleanup.py --postgres-url postgresql://postgres@127.0.0.1:5432/stagecoach_bench_cleanup

Printed: insert time; cleanup wall time, instances/s and rows deleted/s; batch transaction
time p50 / p95 / max (the longest single batch, commit included), and the p50 of the first and
last tenth of the batches (whether batches slow down as the index empties from its front); the probe's write latency
p50 / p99 / max during cleanup; and a check that exactly the due rows went. No timing is
asserted; the exit status is 1 only if the check fails.

**Warning:** on PostgreSQL the script drops and recreates the `public` schema of the database
it is given; give it a database of its own. SQLite files go in a temporary folder.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from common import load_average, percentile, reset_postgres, sqlalchemy_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/stagecoach_bench_cleanup"
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example.com/bench">
  <bpmn:process id="bench_cleanup" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" camunda:candidateGroups="sales"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def make_app(url: str, batch_size: int):
    from app import create_app
    from config import Config

    cfg = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "ADMIN_PASSWORD": "bench",
                                          "OUTBOX_DISPATCH": False, "JOBS_EMBEDDED": False,
                                          "HISTORY_CLEANUP_BATCH_SIZE": batch_size})
    with contextlib.redirect_stderr(io.StringIO()):
        return create_app(cfg)


def _moment(conn, value: dt.datetime):
    """A timestamp as the app stores it (SQLite: SQLAlchemy's text form, UTC, no offset)."""
    if conn.dialect.name == "postgresql":
        return value
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _series(conn, n: int, column: str = "g") -> tuple[str, str]:
    """(CTE prefix, FROM clause) yielding integers 1..n as `column`."""
    if conn.dialect.name == "postgresql":
        return "", f"generate_series(1, {int(n)}) AS s({column})"
    return f"WITH RECURSIVE s({column}) AS (SELECT 1 UNION ALL SELECT {column} + 1 FROM s WHERE {column} < {int(n)}) ", "s"


def _id(conn, prefix: str, expr: str = "g") -> str:
    """A 32-character id from an integer expression."""
    if conn.dialect.name == "postgresql":
        return f"md5('{prefix}' || {expr})"
    return f"printf('{prefix}%031x', {expr})"


def populate(engine, definition_id: str, count: int, running: int, history: int, state_bytes: int) -> None:
    """Write `count` ended instances (due) and `running` running ones, with their rows, in bulk."""
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        ended_at, due = _moment(conn, now - dt.timedelta(days=31)), _moment(conn, now - dt.timedelta(days=1))
        started = _moment(conn, now - dt.timedelta(days=32))
        params = {"d": definition_id, "ended": ended_at, "due": due, "started": started, "n": count}
        state = f"repeat('x', {int(state_bytes)})" if pg else f"substr(hex(zeroblob({int(state_bytes)})), 1, {int(state_bytes)})"
        json, empty = ("'{}'::json", "'[]'::json") if pg else ("'{}'", "'[]'")
        for first, total, status, removal, ended in ((1, count, "completed", ":due", ":ended"),
                                                     (count + 1, running, "running", "NULL", "NULL")):
            if total <= 0:
                continue
            cte, src = _series(conn, total)
            g = f"(g + {first - 1})"
            conn.execute(text(
                f"{cte}INSERT INTO process_instance (id, definition_id, process_key, business_key, status, variables, state, "
                f"state_version, started_by, subscribed, started_at, ended_at, removal_time, updated_at, lock_version) "
                f"SELECT {_id(conn, 'i', g)}, :d, 'bench_cleanup', 'bk-' || {g}, '{status}', {json}, {state}, 1, "
                f"'bench', {'false' if pg else 0}, :started, {ended}, {removal}, :started, 1 FROM {src}"), params)
            conn.execute(text(
                f"{cte}INSERT INTO human_task (id, instance_id, definition_id, process_key, element_id, name, candidate_users, "
                f"candidate_groups, state, created_at, priority, completed_at, completed_by) "
                f"SELECT {_id(conn, 't', g)}, {_id(conn, 'i', g)}, :d, 'bench_cleanup', 'review', 'Review', {empty}, {empty}, "
                f"'{'completed' if status == 'completed' else 'open'}', :started, 50, {ended}, "
                f"{'NULL' if ended == 'NULL' else chr(39) + 'bench' + chr(39)} FROM {src}"), params)
            for kind, name in (("group", "sales"), ("user", "bob")):
                conn.execute(text(f"{cte}INSERT INTO task_candidate (task_id, instance_id, kind, name) "
                                  f"SELECT {_id(conn, 't', g)}, {_id(conn, 'i', g)}, '{kind}', '{name}' FROM {src}"))
            conn.execute(text(
                f"{cte}INSERT INTO crm_record_event (record_id, module, type, at, \"user\", instance_id) "
                f"SELECT 'r' || {g}, 'Deals', 'process_started', :started, 'bench', {_id(conn, 'i', g)} FROM {src}"), params)
        if pg:
            prefix = ""
            pairs = f"generate_series(1, {int(count)}) AS s(g), generate_series(1, {int(history)}) AS e(k)"
        else:
            prefix = (f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {int(count)}), "
                      f"e(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM e WHERE k < {int(history)}) ")
            pairs = "s, e"
        conn.execute(text(
            f"{prefix}INSERT INTO history_event (instance_id, type, at, element_id, \"user\") "
            f"SELECT {_id(conn, 'i')}, 'task_completed', :ended, 'review', 'bench' FROM {pairs}"), params)
        cte, src = _series(conn, count)
        conn.execute(text(
            f"{cte}INSERT INTO outbox_message (id, kind, payload, status, attempts, max_attempts, next_attempt_at, "
            f"instance_id, created_at, sent_at) SELECT {_id(conn, 'o')}, 'email', {json}, 'sent', 1, 3, :ended, "
            f"{_id(conn, 'i')}, :ended, :ended FROM {src} WHERE g % 10 = 0"), params)
    with engine.connect() as conn:  # as autovacuum would soon do on a real server
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()


def table_counts(engine) -> dict[str, int]:
    tables = ("process_instance", "history_event", "human_task", "task_candidate", "outbox_message", "crm_record_event")
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}


class Probe(threading.Thread):
    """Writes one running instance's row every 20 ms, each in its own transaction; keeps the latencies."""

    def __init__(self, engine, instance_id: str):
        super().__init__(daemon=True)
        self.engine, self.instance_id = engine, instance_id
        self.stop, self.latencies, self.errors = threading.Event(), [], 0

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.wait(0.02):
                started = time.perf_counter()
                try:
                    conn.execute(text("UPDATE process_instance SET lock_version = lock_version + 1 WHERE id = :i"),
                                 {"i": self.instance_id})
                    conn.commit()
                except Exception:  # noqa: BLE001 - counted
                    conn.rollback()
                    self.errors += 1
                self.latencies.append(time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="ended instances to remove")
    parser.add_argument("--running", type=int, default=1000, help="running instances that must stay")
    parser.add_argument("--history", type=int, default=8, help="history events per ended instance")
    parser.add_argument("--state-bytes", type=int, default=2000, help="size of each instance's stored state")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-cleanup-"))
    if args.db == "postgres":
        reset_postgres(args.postgres_url)
        url = sqlalchemy_url(args.postgres_url)
    else:
        url = f"sqlite:///{workdir / 'cleanup.db'}"
    print(f"history cleanup: {args.count:,} ended instances on {args.db}, batch {args.batch_size}, "
          f"load {load_average()}", flush=True)
    app = make_app(url, args.batch_size)
    from app.extensions import db
    from app.services import definitions, retention
    from app.services.core import SYSTEM

    with app.app_context():
        definition_id = definitions.deploy([("bench_cleanup.bpmn", DIAGRAM.encode())], SYSTEM)[1][0].id
        engine = db.engine
        started = time.perf_counter()
        populate(engine, definition_id, args.count, args.running, args.history, args.state_bytes)
        before = table_counts(engine)
        print(f"inserted in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{t} {n:,}" for t, n in before.items()), flush=True)
        with engine.connect() as conn:
            running_id = conn.execute(text("SELECT id FROM process_instance WHERE status = 'running' LIMIT 1")).scalar()
        probe = Probe(create_engine(url), running_id) if running_id else None
        if probe:
            probe.start()
        batches = []
        started = time.perf_counter()
        report = retention.run_cleanup(SYSTEM, size=args.batch_size, on_batch=lambda b: batches.append(b.seconds))
        wall = time.perf_counter() - started
        if probe:
            probe.stop.set()
            probe.join()
        after = table_counts(engine)
        db.session.remove()
    deleted = sum(report.rows.values())
    print(f"cleanup: {report.instances:,} instances, {deleted:,} rows in {report.batches:,} batches, {wall:.1f} s: "
          f"{report.instances / wall:,.0f} instances/s, {deleted / wall:,.0f} rows/s")
    tenth = max(1, len(batches) // 10)
    print(f"batch transaction ms: p50 {percentile(batches, 50):.1f}, p95 {percentile(batches, 95):.1f}, "
          f"max {max(batches) * 1000 if batches else float('nan'):.1f}; p50 of the first tenth "
          f"{percentile(batches[:tenth], 50):.1f}, of the last tenth {percentile(batches[-tenth:], 50):.1f}")
    if probe:
        print(f"probe write during cleanup ms ({len(probe.latencies)} writes, {probe.errors} errors): "
              f"p50 {percentile(probe.latencies, 50):.1f}, p99 {percentile(probe.latencies, 99):.1f}, "
              f"max {percentile(probe.latencies, 100):.1f}")
    print(f"load {load_average()}")
    expected = {"process_instance": args.running, "human_task": args.running, "task_candidate": 2 * args.running,
                "history_event": 0, "outbox_message": 0, "crm_record_event": before["crm_record_event"]}
    wrong = {t: (after[t], n) for t, n in expected.items() if after[t] != n}
    if wrong or report.instances != args.count:
        print(f"CHECK FAILED: (left, expected) {wrong}; removed {report.instances} of {args.count}")
        return 1
    print("check: every due row went; running instances and the timeline stayed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
