"""Benchmark: message delivery latency against the number of waiting instances, and timer lateness.

In-process (the app built with `create_app`, services called directly, no HTTP),
on a fresh SQLite file (WAL, as the server uses it) and a fresh PostgreSQL schema:

messages  A diagram that waits for message "reply" in a loop
          (start -> gateway -> catch "reply" -> back to the gateway), so every
          instance still waits after a delivery and the number waiting stays N.
          One instance is started through `start_instance`; it is then cloned
          with bulk Core INSERTs (its process_instance, active_activity and
          event_subscription rows; business keys bk-0 .. bk-N-1) up to each
          size (default 100, 10,000, 100,000; grown, never rebuilt). At each
          size: K timed `send_message("reply", SYSTEM, business_key=...)` to
          random waiting instances, p50/p95 ms per delivery, SQL statements per
          delivery, and the query plan of the subscription lookup (PostgreSQL
          EXPLAIN, SQLite EXPLAIN QUERY PLAN) and of every other statement of
          one delivery. A flat latency as N grows means correlation is an index lookup.
timers    T instances (default 1,000) of start -> timer (timeDate from the
          variable `due`) -> end, their due times spread evenly over one minute of
          real time starting LEAD seconds after the first start. Then the embedded
          runner loop (`app.jobs.timers.run_forever`) in one thread, or two
          threads ("two workers", each with its own app), polls every POLL
          seconds until every instance completed (at most TIMEOUT seconds).
          Lateness is read from the `late_ms` of the `timer_fired` history rows:
          p50/p95/max, with throughput and CPU per timer.

It prints figures only: it asserts nothing about timings. The exit status is 1
only if a delivery failed or an instance did not complete.

    python bench/events.py [--db sqlite|postgres|both] [--part messages|timers|both]
                           [--sizes 100,10000,100000] [-k 200] [--timers 1000] [--workers 1,2]
                           [--spread 60] [--lead 10] [--poll 0.2] [--timeout 180]
                           [--postgres-url postgresql://...]
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import io
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from common import load_average, percentile, reset_postgres, sqlalchemy_url  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/stagecoach_bench_events"
ADMIN_PASSWORD = "bench-admin-password"
SECRET_KEY = "bench-secret-key-not-for-production"
MESSAGE_KEY = "bench_wait_reply"
TIMER_KEY = "bench_timer_at"
CLONE_BATCH = 5_000     # rows per executemany when cloning waiting instances
WARM_UP = 20            # untimed deliveries per size first (caches, pool, pages)
COUNT_DELIVERIES = 20   # deliveries per size run under the statement counter, after the timed ones
_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")

_BPMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'id="Definitions_{key}" targetNamespace="http://stagecoach/bench">\n')
MESSAGE_BPMN = _BPMN_HEAD.format(key=MESSAGE_KEY) + f"""\
  <bpmn:message id="msg_reply" name="reply" />
  <bpmn:process id="{MESSAGE_KEY}" name="Bench: wait for replies" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="again"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="got_reply" name="Reply"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:messageEventDefinition id="md" messageRef="msg_reply" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="again" />
    <bpmn:sequenceFlow id="f2" sourceRef="again" targetRef="got_reply" />
    <bpmn:sequenceFlow id="f3" sourceRef="got_reply" targetRef="again" />
  </bpmn:process>
</bpmn:definitions>
"""
TIMER_BPMN = _BPMN_HEAD.format(key=TIMER_KEY) + f"""\
  <bpmn:process id="{TIMER_KEY}" name="Bench: wait until due" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="until_due" name="Until due">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="until_due_timer"><bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="until_due" />
    <bpmn:sequenceFlow id="f2" sourceRef="until_due" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


# -- helpers ------------------------------------------------------------------------

class SqlCount:
    """Counts the statements sent through one engine while `active`; keeps the latest trace."""

    _TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)

    def __init__(self, engine):
        self.engine = engine
        self.active = False
        self.total = 0
        self.by_table: collections.Counter = collections.Counter()
        self.trace: list[tuple[str, object, bool]] = []   # (statement, parameters, executemany)
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if not self.active:
            return
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in _NOT_COUNTED:
            return
        self.total += 1
        match = self._TABLE.search(statement)
        self.by_table[(head, match.group(1) if match else "?")] += 1
        self.trace.append((statement, parameters, executemany))


def fresh_url(kind: str, pg_url: str, workdir: Path, phase: str) -> str:
    if kind == "sqlite":
        path = workdir / f"{phase}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    reset_postgres(pg_url)
    return sqlalchemy_url(pg_url)


def make_app(url: str, *, upgrade: bool = True, poll: float = 1.0):
    """The real app on `url` (migrated on creation when `upgrade`; alembic's log lines swallowed)."""
    from app import create_app
    from config import Config

    cfg = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                                          "ADMIN_PASSWORD": ADMIN_PASSWORD, "AUTO_UPGRADE": upgrade,
                                          "OUTBOX_DISPATCH": False, "JOBS_EMBEDDED": False,
                                          "JOBS_POLL_SECONDS": poll})
    log = io.StringIO()
    try:
        with contextlib.redirect_stderr(log):
            return create_app(cfg)
    except Exception:
        sys.stderr.write(log.getvalue())
        raise


def deploy_diagram(xml: str, name: str) -> None:
    from app.services.core import SYSTEM
    from app.services.definitions import deploy
    deploy([(name, xml.encode())], SYSTEM)


def pretty_count(n: int) -> str:
    return f"{n:,}"


# -- messages -----------------------------------------------------------------------

@dataclass
class MessageRun:
    """K deliveries with N instances waiting, on one database."""

    db: str
    waiting: int
    clone_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sql_per_delivery: float = float("nan")
    sql_by_table: str = ""
    lookup_latencies: list[float] = field(default_factory=list)
    lookup_plan: str = ""
    pages: str = ""
    page_count: int | None = None
    lookup_indexed: bool | None = None
    scans: str = ""
    subscriptions: int = 0
    errors: list[str] = field(default_factory=list)


class Cloner:
    """Copies one waiting instance (its instance, activity and subscription rows) into many."""

    def __init__(self, engine, template_id: str):
        from app.services.core.projection import ACTIVITIES, INSTANCES, SUBSCRIPTIONS
        self.engine = engine
        self.tables = INSTANCES, ACTIVITIES, SUBSCRIPTIONS
        with engine.connect() as conn:
            self.instance = dict(conn.execute(select(INSTANCES).where(INSTANCES.c.id == template_id)).mappings().one())
            self.activities = [{k: v for k, v in r.items() if k != "id"} for r in conn.execute(
                select(ACTIVITIES).where(ACTIVITIES.c.instance_id == template_id)).mappings()]
            self.subscriptions = [dict(r) for r in conn.execute(
                select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.instance_id == template_id)).mappings()]
        self.count = 1   # bk-0 is the template itself

    def grow_to(self, n: int) -> None:
        from app.models.base import new_id
        instances, activities, subscriptions = self.tables
        while self.count < n:
            stop = min(n, self.count + CLONE_BATCH)
            inst_rows, act_rows, sub_rows = [], [], []
            for i in range(self.count, stop):
                iid, key = new_id(), f"bk-{i}"
                inst_rows.append(dict(self.instance, id=iid, business_key=key))
                act_rows += [dict(a, instance_id=iid) for a in self.activities]
                sub_rows += [dict(s, id=new_id(), instance_id=iid, business_key=key) for s in self.subscriptions]
            with self.engine.begin() as conn:
                conn.execute(instances.insert(), inst_rows)
                conn.execute(activities.insert(), act_rows)
                conn.execute(subscriptions.insert(), sub_rows)
            self.count = stop


def lookup_statement(business_key: str):
    """The subscription lookup `send_message` runs (events._receivers), for EXPLAIN."""
    from app.models import EventSubscription
    return (select(EventSubscription.instance_id)
            .where(EventSubscription.kind == "message", EventSubscription.name == "reply",
                   EventSubscription.business_key == business_key)
            .order_by(EventSubscription.created_at))


def explain_lookup(engine, business_key: str) -> tuple[bool, str]:
    """(uses an index, the plan on one line)."""
    stmt = lookup_statement(business_key)
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            lines = [r[0] for r in conn.execute(text("EXPLAIN " + sql))]
            nodes = [re.sub(r"\s+\(cost=.*\)$", "", line).strip().lstrip("-> ").strip()
                     for line in lines if "(cost=" in line]
            plan = " -> ".join(nodes)
            indexed = any(re.search(r"Index (Only )?Scan|Bitmap Index Scan", n) for n in nodes) \
                and not any(n.startswith("Seq Scan") for n in nodes)
        else:
            details = [r[3] for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
            plan = "; ".join(details)
            # SEARCH: a lookup through the index; SCAN: every row (or every index entry)
            indexed = any(d.startswith("SEARCH event_subscription USING") for d in details) \
                and not any(d.startswith("SCAN event_subscription") for d in details)
    return indexed, plan


def scans_in(engine, trace) -> str:
    """The statements of one delivery that read a table without an index (EXPLAIN of each
    SELECT/UPDATE/DELETE, with its own parameters); '' when every one uses an index or the key."""
    found = []
    pg = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters, executemany in trace:
            head = statement.lstrip().split(None, 1)[0].upper()
            if executemany or head not in {"SELECT", "UPDATE", "DELETE"}:
                continue
            cursor.execute(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + statement, parameters)
            rows = cursor.fetchall()
            if pg:
                scans = [m.group(1) for r in rows for m in [re.search(r"Seq Scan on (\w+)", r[0])] if m]
            else:  # SQLite: SEARCH is a lookup, SCAN reads every row (or every entry of an index)
                scans = [m.group(1) for r in rows for m in [re.match(r"SCAN (\w+)", r[3])]
                         if m and m.group(1) != "CONSTANT"]
            limited = " LIMIT " in statement.upper()
            found += [f"{t} ({head}{' ... LIMIT' if limited else ''})" for t in scans]
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return ", ".join(dict.fromkeys(found))


def table_pages(engine) -> tuple[int | None, str]:
    """PostgreSQL: the size of the lookup's table as the planner sees it (after ANALYZE)."""
    if engine.dialect.name != "postgresql":
        return None, ""
    with engine.connect() as conn:
        pages, rows = conn.execute(text("SELECT relpages, reltuples FROM pg_class "
                                        "WHERE relname = 'event_subscription'")).one()
    note = "; a table this small is cheaper to read whole" if pages <= 10 else ""
    return pages, f"event_subscription: {pages} pages, {max(rows, 0):,.0f} rows{note}"


def analyze(engine) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum (PostgreSQL) would soon gather."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE process_instance, active_activity, event_subscription"))
        else:
            conn.execute(text("ANALYZE"))


def run_messages(kind: str, args, workdir: Path) -> list[MessageRun]:
    from app.errors import StagecoachError
    from app.extensions import db
    from app.models import EventSubscription
    from app.services.core import SYSTEM
    from app.services.events import send_message
    from app.services.instances import start_instance

    app = make_app(fresh_url(kind, args.postgres_url, workdir, "messages"))
    with app.app_context():
        deploy_diagram(MESSAGE_BPMN, f"{MESSAGE_KEY}.bpmn")
        template = start_instance(SYSTEM, key=MESSAGE_KEY, business_key="bk-0")
        engine = db.engine
        db.session.remove()
    cloner = Cloner(engine, template.id)
    rng = random.Random(7)
    runs = []
    try:
        for n in args.sizes:
            run = MessageRun(kind, n)
            t0 = time.perf_counter()
            cloner.grow_to(n)
            analyze(engine)
            run.clone_seconds = time.perf_counter() - t0
            run.lookup_indexed, run.lookup_plan = explain_lookup(engine, f"bk-{n // 2}")
            run.page_count, run.pages = table_pages(engine)
            # Every instance waits again after a delivery (the loop), so any key will do; keys are
            # drawn without repetition as far as N allows (a delivery makes the state a little longer).
            order: list[int] = []
            needed = WARM_UP + args.deliveries + COUNT_DELIVERIES
            while len(order) < needed:
                order += rng.sample(range(n), min(n, needed - len(order)))
            keys = iter(f"bk-{i}" for i in order)

            def deliver(keys=keys) -> None:
                out = send_message("reply", SYSTEM, business_key=next(keys))
                if len(out["delivered"]) != 1:
                    raise RuntimeError(f"delivered to {out['delivered']}")

            with app.app_context():
                for i in rng.sample(range(n), min(n, args.deliveries)):   # the lookup alone, read-only
                    w0 = time.perf_counter()
                    db.session.execute(lookup_statement(f"bk-{i}")).all()
                    run.lookup_latencies.append(time.perf_counter() - w0)
                db.session.rollback()
                for _ in range(WARM_UP):
                    deliver()
                for _ in range(args.deliveries):
                    w0 = time.perf_counter()
                    try:
                        deliver()
                    except (StagecoachError, SQLAlchemyError, RuntimeError) as exc:  # report, go on
                        db.session.rollback()
                        run.errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    run.latencies.append(time.perf_counter() - w0)
                counter = SqlCount(engine)
                try:
                    for _ in range(COUNT_DELIVERIES):
                        counter.trace.clear()
                        counter.active = True
                        deliver()
                        counter.active = False
                finally:
                    counter.active = False
                    counter.close()
                run.sql_per_delivery = counter.total / COUNT_DELIVERIES
                run.sql_by_table = ", ".join(f"{k} {t} {v / COUNT_DELIVERIES:.1f}"
                                             for (k, t), v in sorted(counter.by_table.items(), key=lambda kv: -kv[1]))
                run.subscriptions = db.session.scalar(select(func.count()).select_from(EventSubscription))
                db.session.remove()
            run.scans = scans_in(engine, counter.trace)
            if run.subscriptions != n:
                run.errors.append(f"{run.subscriptions} subscriptions after the deliveries, expected {n}")
            print(f"  N={pretty_count(n):>7} waiting: cloned in {run.clone_seconds:5.1f} s; "
                  f"{len(run.latencies)} deliveries p50 {percentile(run.latencies, 50):.2f} ms  "
                  f"p95 {percentile(run.latencies, 95):.2f} ms;  SQL/delivery {run.sql_per_delivery:.1f}")
            print(f"    lookup plan ({'EXPLAIN' if kind == 'postgres' else 'EXPLAIN QUERY PLAN'}): "
                  f"index {'yes' if run.lookup_indexed else 'NO'}: {run.lookup_plan}"
                  + (f"  [{run.pages}]" if run.pages else ""))
            print(f"    lookup alone ({len(run.lookup_latencies)} SELECTs, read-only): "
                  f"p50 {percentile(run.lookup_latencies, 50):.3f} ms  p95 {percentile(run.lookup_latencies, 95):.3f} ms")
            same = runs and runs[-1].sql_by_table == run.sql_by_table and runs[-1].scans == run.scans
            if same:
                print(f"    statements per delivery and table scans among them: as at N={runs[-1].waiting:,}")
            else:
                print(f"    statements per delivery: {run.sql_by_table}")
                print(f"    table scans among them (EXPLAIN of each): {run.scans or 'none'}")
            if run.errors:
                print(f"    ERRORS: {len(run.errors)}; first: {run.errors[0]}")
            runs.append(run)
    finally:
        engine.dispose()
    return runs


# -- timers -------------------------------------------------------------------------

@dataclass
class TimerRun:
    """T timers fired by W runner threads, on one database."""

    db: str
    workers: int
    timers: int = 0
    create_seconds: float = 0.0
    lead: float = 0.0
    fired: int = 0
    completed: int = 0
    late_ms: list[float] = field(default_factory=list)
    span_seconds: float = float("nan")    # first due -> last fired
    drain_seconds: float = float("nan")   # last due -> last fired
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    split: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.fired / self.span_seconds if self.span_seconds and self.span_seconds > 0 else float("nan")

    def late(self, pct: float) -> float:
        return percentile([v / 1000 for v in self.late_ms], pct)


def run_timers(kind: str, workers: int, args, workdir: Path) -> TimerRun:
    from app.extensions import db
    from app.jobs.timers import run_forever
    from app.models import HistoryEvent, ProcessInstance
    from app.services.core import SYSTEM, utcnow
    from app.services.instances import start_instance

    url = fresh_url(kind, args.postgres_url, workdir, f"timers{workers}")
    app = make_app(url)
    runners = [make_app(url, upgrade=False, poll=args.poll) for _ in range(workers)]
    run = TimerRun(kind, workers, timers=args.timers, lead=args.lead)
    with app.app_context():
        deploy_diagram(TIMER_BPMN, f"{TIMER_KEY}.bpmn")
        t0 = time.perf_counter()
        first_due = utcnow() + dt.timedelta(seconds=args.lead)
        step = dt.timedelta(seconds=args.spread / args.timers)
        for i in range(args.timers):
            start_instance(SYSTEM, key=TIMER_KEY, business_key=f"t-{i}",
                           variables={"due": (first_due + i * step).isoformat()})
        run.create_seconds = time.perf_counter() - t0
        db.session.remove()
    print(f"  {workers} worker(s): {args.timers} instances started in {run.create_seconds:.1f} s; "
          f"their timers fall due from {args.lead:.0f} s to {args.lead + args.spread:.0f} s after the first start")
    if run.create_seconds > args.lead:
        print(f"    NOTE: starting took longer than --lead {args.lead:.0f} s: the first timers were due "
              "before the runners started (raise --lead)")

    probe = create_engine(url)
    stops = [threading.Event() for _ in runners]
    threads = [threading.Thread(target=run_forever, args=(a, s), name=f"bench-runner-{k}", daemon=True)
               for k, (a, s) in enumerate(zip(runners, stops))]
    c0, w0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    try:
        completed_stmt = (select(func.count()).select_from(ProcessInstance)
                          .where(ProcessInstance.process_key == TIMER_KEY, ProcessInstance.status == "completed"))
        while True:   # a bench's wall-clock wait, bounded by --timeout
            with probe.connect() as conn:
                run.completed = conn.execute(completed_stmt).scalar_one()
            if run.completed >= args.timers or time.perf_counter() - w0 > args.timeout:
                break
            time.sleep(0.25)
    finally:
        for s in stops:
            s.set()
        for t in threads:
            t.join(timeout=30)
    run.wall_seconds = time.perf_counter() - w0
    run.cpu_seconds = time.process_time() - c0

    with probe.connect() as conn:
        rows = conn.execute(select(HistoryEvent.at, HistoryEvent.data).join(
            ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id).where(
            HistoryEvent.type == "timer_fired", ProcessInstance.process_key == TIMER_KEY)).all()
        run.completed = conn.execute(completed_stmt).scalar_one()
    probe.dispose()
    for a in [app, *runners]:
        with a.app_context():
            db.engine.dispose()

    run.fired = len(rows)
    run.late_ms = [float(data["late_ms"]) for _, data in rows]
    if rows:
        last_due = first_due + (args.timers - 1) * step
        last_fired = max(at for at, _ in rows)
        run.span_seconds = (last_fired - first_due).total_seconds()
        run.drain_seconds = (last_fired - last_due).total_seconds()
        per_worker = collections.Counter(data["worker"] for _, data in rows)
        run.split = "/".join(str(v) for v in sorted(per_worker.values(), reverse=True))
    if run.completed != args.timers:
        run.errors.append(f"{run.completed} of {args.timers} instances completed after {run.wall_seconds:.0f} s")
    if any(t.is_alive() for t in threads):
        run.errors.append("a runner thread did not stop")
    print(f"    fired {run.fired}, completed {run.completed} in {run.wall_seconds:.1f} s of runner time; "
          f"late p50 {run.late(50):.0f} ms  p95 {run.late(95):.0f} ms  "
          f"max {max(run.late_ms) if run.late_ms else float('nan'):.0f} ms")
    due_rate = f"due at {args.timers / args.spread:.1f}/s" if args.spread else "all due at once"
    print(f"    first due -> last fired {run.span_seconds:.1f} s = {run.rate:.1f} timers/s ({due_rate}); "
          f"last fired {run.drain_seconds * 1000:.0f} ms after the last due; "
          f"CPU {run.cpu_seconds / max(run.fired, 1) * 1000:.2f} ms/timer (this process); "
          f"per worker {run.split or '-'}")
    if run.errors:
        print(f"    ERRORS: {'; '.join(run.errors)}")
    return run


# -- main ---------------------------------------------------------------------------

def index_cell(r: MessageRun) -> str:
    if r.lookup_indexed:
        return "yes"
    if r.page_count is not None and r.page_count <= 10:
        return f"seq, {r.page_count} pages"
    return "NO"


def _int_list(value: str) -> list[int]:
    return [int(v.replace("_", "")) for v in value.split(",") if v.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--part", choices=["messages", "timers", "both"], default="both")
    parser.add_argument("--sizes", type=_int_list, default=[100, 10_000, 100_000],
                        help="waiting instances at which deliveries are timed, ascending (default 100,10000,100000)")
    parser.add_argument("-k", "--deliveries", type=int, default=200, help="timed deliveries per size (default 200)")
    parser.add_argument("--timers", type=int, default=1000, help="timers per run (default 1000)")
    parser.add_argument("--workers", type=_int_list, default=[1, 2], help="runner threads per run (default 1,2)")
    parser.add_argument("--spread", type=float, default=60.0,
                        help="seconds over which the timers fall due (default 60; 0: all at once)")
    parser.add_argument("--lead", type=float, default=10.0,
                        help="seconds from the first start to the first due time; must cover starting "
                             "the instances (default 10)")
    parser.add_argument("--poll", type=float, default=0.2, help="JOBS_POLL_SECONDS of the runners (default 0.2)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="stop the runners after this many seconds whatever happens (default 180)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_EVENTS_POSTGRES_URL", DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    if args.sizes != sorted(args.sizes) or not args.sizes or args.sizes[0] < 1:
        parser.error("--sizes must be positive and ascending")
    sys.stdout.reconfigure(line_buffering=True)

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print("Stagecoach events benchmark: message delivery against waiting instances, timer lateness "
          "(in-process, services called directly)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, sizes {','.join(map(str, args.sizes))}, "
          f"K={args.deliveries} (+{WARM_UP} warm-up, +{COUNT_DELIVERIES} counted), timers={args.timers} over "
          f"{args.spread:.0f} s, workers {','.join(map(str, args.workers))}, poll {args.poll} s, "
          f"load average {load_average()} (other work on the machine skews every figure)")
    workdir = Path(tempfile.mkdtemp(prefix="stagecoach-bench-events-"))
    messages: list[MessageRun] = []
    timers: list[TimerRun] = []
    t0 = time.perf_counter()
    try:
        for kind in kinds:
            if args.part in ("messages", "both"):
                print(f"\n=== {kind}: message delivery (send_message 'reply' by business key) ===")
                messages += run_messages(kind, args, workdir)
            if args.part in ("timers", "both") and args.timers > 0:
                print(f"\n=== {kind}: timer lateness ({args.timers} timers due over {args.spread:.0f} s) ===")
                for w in args.workers:
                    timers.append(run_timers(kind, w, args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n=== summary ({os.cpu_count()} CPUs, load average {load_average()}, "
          f"total {time.perf_counter() - t0:.0f} s) ===")
    if messages:
        print(f"message delivery: K={args.deliveries} per size, one thread")
        header = (f"{'db':<9}{'waiting':>9}  {'p50 ms':>7}  {'p95 ms':>7}  {'p50 vs first':>12}"
                  f"  {'SQL/delivery':>12}  {'lookup p50 ms':>13}  {'lookup index':>12}  {'clone s':>7}  {'errors':>6}")
        print(header)
        print("-" * len(header))
        first: dict[str, float] = {}
        for r in messages:
            p50 = percentile(r.latencies, 50)
            first.setdefault(r.db, p50)
            print(f"{r.db:<9}{r.waiting:>9,}  {p50:>7.2f}  {percentile(r.latencies, 95):>7.2f}  "
                  f"{p50 / first[r.db]:>12.2f}  {r.sql_per_delivery:>12.1f}  "
                  f"{percentile(r.lookup_latencies, 50):>13.3f}  "
                  f"{index_cell(r):>12}  {r.clone_seconds:>7.1f}  {len(r.errors):>6}")
        if any(not r.lookup_indexed and r.page_count is not None and r.page_count <= 10 for r in messages):
            print("(seq, N pages: the planner reads a table of a few pages whole; it uses the index on larger ones)")
    if timers:
        print(f"\ntimer lateness: {args.timers} timers due over {args.spread:.0f} s, runner poll {args.poll} s")
        header = (f"{'db':<9}{'workers':>7}  {'fired':>5}  {'late p50 ms':>11}  {'p95 ms':>7}  {'max ms':>7}"
                  f"  {'timers/s':>8}  {'CPU ms/timer':>12}  {'per worker':>10}  {'errors':>6}")
        print(header)
        print("-" * len(header))
        for r in timers:
            print(f"{r.db:<9}{r.workers:>7}  {r.fired:>5}  {r.late(50):>11.0f}  {r.late(95):>7.0f}  "
                  f"{max(r.late_ms) if r.late_ms else float('nan'):>7.0f}  {r.rate:>8.1f}  "
                  f"{r.cpu_seconds / max(r.fired, 1) * 1000:>12.2f}  {r.split or '-':>10}  {len(r.errors):>6}")
    return 1 if any(r.errors for r in messages) or any(r.errors for r in timers) else 0


if __name__ == "__main__":
    sys.exit(main())
