"""Benchmark: the whole life of a start -> 3 user tasks -> end instance.

For each database (SQLite, PostgreSQL) it runs N instances of
tests/fixtures/bpmn/valid/three_tasks.bpmn twice:

(a) engine   SpiffWorkflow in-process through `app.engine.Engine`, one
             transaction per step (load, act, save): INSERT the serialized state
             on start, then per completion SELECT it, load, complete, dump and
             UPDATE it. Plain SQLAlchemy Core, one table, one thread. This is the
             engine's limit ("load, act, save per request").
(b) http     the real server: `gunicorn -w W wsgi:app` on a free port, a user
             in group `staff`, three_tasks.bpmn deployed over the API, then per
             instance POST .../key/three_tasks/start and three POST
             /tasks/{id}/complete, from C client threads (requests.Session each).

It prints instances/s, p50/p95 per call, SQL statements per lifecycle (counted
in-process with the Flask test client for (b): same code, no gunicorn), and
the ratio b/a. It prints figures only; it asserts nothing about timings.

    python bench/lifecycle.py [-n 200] [--db sqlite|postgres|both] [--workers 2]
                              [--clients 2] [--postgres-url postgresql://...]
    python bench/lifecycle.py --levels 1,4,16,64 [--worker-class gthread] ...

`--levels` drives one server at each number of client threads instead, and prints
instances/s, p50/p95/p99 of every call and the server's CPU per lifecycle per level.
"""
from __future__ import annotations

import argparse
import collections
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests
from sqlalchemy import (
    Column,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    update,
)

from common import load_average, percentile, reset_postgres, sqlalchemy_url  # noqa: E402

BPMN = ROOT / "tests" / "fixtures" / "bpmn" / "valid" / "three_tasks.bpmn"
PROCESS_KEY = "three_tasks"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/stagecoach_bench"
SQL_TARGET = 40            # the aim: at most 40 statements per lifecycle
COUNT_LIFECYCLES = 20      # lifecycles run under the statement counter
ADMIN_PASSWORD = "bench-admin-password"
SECRET_KEY = "bench-secret-key-not-for-production"
USER, USER_PASSWORD = "bench", "x"
_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


# -- figures ----------------------------------------------------------------------

@dataclass
class Run:
    """Timings of one mode on one database."""

    db: str
    mode: str
    n: int = 0
    seconds: float = 0.0
    start: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sql: SqlCount | None = None
    note: str = ""
    bytes_per_instance: float | None = None  # PostgreSQL (b): what a completed instance keeps
    bytes_per_trivial: float | None = None  # PostgreSQL: what a completed start -> end instance keeps
    cpu: dict = field(default_factory=dict)   # who -> CPU seconds used during the timed phase

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else float("nan")

    @property
    def server_cpu_ms(self) -> float:
        """CPU per lifecycle of whoever runs the workflow (the engine process, or the gunicorn workers)."""
        secs = self.cpu.get("engine process", self.cpu.get("gunicorn workers"))
        return secs / self.n * 1000 if secs is not None and self.n else float("nan")

    def describe(self) -> str:
        lines = [f"  instances: {self.n} in {self.seconds:.2f} s = {self.rate:.1f} instances/s"
                 + (f"  ({self.note})" if self.note else ""),
                 (f"  start    p50 {percentile(self.start, 50):7.2f} ms  p95 {percentile(self.start, 95):7.2f} ms"
                  f"  ({len(self.start)} calls)"),
                 (f"  complete p50 {percentile(self.complete, 50):7.2f} ms"
                  f"  p95 {percentile(self.complete, 95):7.2f} ms  ({len(self.complete)} calls)")]
        if self.cpu and self.n:
            lines.append("  CPU per lifecycle: " + ", ".join(
                f"{who} {secs / self.n * 1000:.1f} ms" for who, secs in self.cpu.items())
                + f"  (wall time per lifecycle {self.seconds / self.n * 1000:.1f} ms, {os.cpu_count()} CPUs)")
        if self.errors:
            lines.append(f"  ERRORS: {len(self.errors)}; first: {self.errors[0]}")
        return "\n".join(lines)


class SqlCount:
    """Counts statements sent through one SQLAlchemy engine, per labelled phase."""

    _TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)

    def __init__(self, engine):
        self.engine = engine
        self.label: str | None = None
        self.statements: collections.Counter = collections.Counter()    # label -> statements
        self.kinds: collections.Counter = collections.Counter()         # SELECT/INSERT/...
        self.by_table: collections.Counter = collections.Counter()      # (kind, table)
        self.commits = 0
        self.checkouts = 0
        self.trace: list[tuple[str, str]] = []   # (label, statement) of the latest lifecycle
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "checkout", self._on_checkout)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "commit", self._on_commit)
        event.remove(self.engine, "checkout", self._on_checkout)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if self.label is None:
            return
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in _NOT_COUNTED:
            return
        self.statements[self.label] += 1
        self.trace.append((self.label, " ".join(statement.split())))
        self.kinds[head] += 1
        match = self._TABLE.search(statement)
        self.by_table[(head, match.group(1) if match else "?")] += 1

    def _on_commit(self, conn):
        if self.label is not None:
            self.commits += 1

    def _on_checkout(self, dbapi_conn, record, proxy):
        if self.label is not None:
            self.checkouts += 1

    def per_lifecycle(self, lifecycles: int) -> float:
        return sum(self.statements.values()) / lifecycles

    def describe(self, lifecycles: int, labels: list[str], with_pool: bool) -> str:
        def per(count: float) -> float:
            return count / lifecycles

        total = self.per_lifecycle(lifecycles)
        lines = [f"  SQL statements per lifecycle: {total:.1f}"
                 + (f"  (aim: <= {SQL_TARGET})" if with_pool else "")
                 + f"   [{lifecycles} lifecycles counted]",
                 "  per call: " + ", ".join(f"{lab} {per(self.statements[lab]):.1f}" for lab in labels),
                 "  kinds:    " + ", ".join(f"{k} {per(v):.1f}" for k, v in sorted(self.kinds.items())),
                 "  by table: " + ", ".join(f"{k} {t} {per(v):.1f}"
                                            for (k, t), v in sorted(self.by_table.items(), key=lambda kv: -kv[1])),
                 f"  commits per lifecycle: {per(self.commits):.1f}"]
        if with_pool:
            lines.append(f"  pool checkouts per lifecycle: {per(self.checkouts):.1f}"
                         " (pool_pre_ping: each is one more SELECT 1 round trip, not counted above)")
        return "\n".join(lines)


# -- databases --------------------------------------------------------------------

class Target:
    """One database kind: a fresh URL per phase."""

    def __init__(self, kind: str, pg_url: str, workdir: Path):
        self.kind = kind
        self.pg_url = pg_url
        self.workdir = workdir

    def fresh_url(self, phase: str) -> str:
        if self.kind == "sqlite":
            path = self.workdir / f"{phase}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return f"sqlite:///{path}"
        reset_postgres(self.pg_url)
        return sqlalchemy_url(self.pg_url)


# -- (a) engine baseline ------------------------------------------------------------

class EngineBaseline:
    """SpiffWorkflow through app.engine.Engine, state in one table, load-act-save per step."""

    def __init__(self, url: str):
        from app.engine import Engine

        self.engine = Engine()
        (model,) = self.engine.parse([(BPMN.name, BPMN.read_bytes())])
        self.dialect = model.dialect
        self.spec_json = self.engine.dump_spec(model)
        self.definition_id = "bench-three-tasks"
        self.db = create_engine(url)
        if self.db.dialect.name == "sqlite":
            @event.listens_for(self.db, "connect")
            def _wal(dbapi_conn, _record):  # the same pragmas the server uses
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        meta = MetaData()
        self.table = Table("bench_instance", meta, Column("id", String(32), primary_key=True),
                           Column("state", Text, nullable=False))
        meta.create_all(self.db)
        self._n = 0
        self.counter: SqlCount | None = None

    def _label(self, label: str) -> None:
        if self.counter is not None:
            self.counter.label = label

    def start(self) -> tuple[str, str]:
        eng = self.engine
        wf = eng.new_workflow(self.definition_id, self.dialect, self.spec_json, {})
        outcome = eng.runner.advance(wf)
        self._n += 1
        instance_id = f"{self._n:032x}"
        self._label("start")
        with self.db.begin() as conn:
            conn.execute(self.table.insert().values(id=instance_id, state=eng.dump(self.dialect, wf)))
        return instance_id, outcome.open_tasks[0].id

    def complete(self, instance_id: str, task_id: str, label: str) -> str | None:
        eng = self.engine
        self._label(label)
        with self.db.begin() as conn:
            state = conn.execute(select(self.table.c.state).where(self.table.c.id == instance_id)).scalar_one()
            wf = eng.load(self.definition_id, self.dialect, self.spec_json, state)
            outcome = eng.runner.complete(wf, task_id, {}, USER)
            conn.execute(update(self.table).where(self.table.c.id == instance_id)
                         .values(state=eng.dump(self.dialect, wf)))
        return outcome.open_tasks[0].id if outcome.open_tasks else None

    def lifecycle(self, run: Run | None = None) -> None:
        t0 = time.perf_counter()
        instance_id, task_id = self.start()
        t1 = time.perf_counter()
        if run is not None:
            run.start.append(t1 - t0)
        for step in range(1, 4):
            t0 = time.perf_counter()
            task_id = self.complete(instance_id, task_id, f"complete#{step}")
            if run is not None:
                run.complete.append(time.perf_counter() - t0)
        if task_id is not None:
            raise RuntimeError(f"instance {instance_id} still has an open task after three completions")


def run_engine(target: Target, n: int) -> Run:
    bench = EngineBaseline(target.fresh_url("engine"))
    run = Run(target.kind, "a engine", note="1 thread")
    for _ in range(5):  # warm up: spec cache, connection pool
        bench.lifecycle()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        bench.lifecycle(run)
    run.seconds = time.perf_counter() - t0
    run.cpu["engine process"] = time.process_time() - c0
    run.n = n
    bench.counter = SqlCount(bench.db)
    for _ in range(COUNT_LIFECYCLES):
        bench.lifecycle()
    bench.counter.label = None
    bench.counter.close()
    run.sql = bench.counter
    bench.db.dispose()
    return run


# -- (b) HTTP under gunicorn ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, STAGECOACH_ADMIN_PASSWORD=ADMIN_PASSWORD, SECRET_KEY=SECRET_KEY,
               PYTHONUNBUFFERED="1")
    return env


def create_bench_user(env: dict) -> None:
    """`flask --app wsgi users create bench --password x --group staff --group modelers` (also migrates the
    fresh database); `modelers` may deploy the benchmark's diagram."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "users", "create", USER,
                             "--password", USER_PASSWORD, "--group", "staff", "--group", "modelers"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"flask users create failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


class Gunicorn:
    """`gunicorn -w W -b 127.0.0.1:PORT wsgi:app`, always terminated on exit."""

    def __init__(self, env: dict, workers: int, worker_class: str, logdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / f"gunicorn-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - open while gunicorn runs, closed in stop()
        self.proc = subprocess.Popen(
            # --threads explicitly: gunicorn.conf.py asks for threads, and gunicorn turns a sync worker
            # with more than one thread into gthread; a sync run stays sync.
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", worker_class,
             "--threads", "1" if worker_class == "sync" else "4",
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Poll GET /openapi.json until it answers 200; returns the seconds it took."""
        t0 = time.perf_counter()
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.base + "/openapi.json", timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the worker processes (Linux /proc; NaN elsewhere)."""
        try:
            tick = os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            total = 0
            for pid in children:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            return total / tick
        except (OSError, ValueError, IndexError):
            return float("nan")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: graceful shutdown of master and workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def get_token(session: requests.Session, base: str) -> str:
    r = session.post(base + "/api/v1/auth/token", json={"username": USER, "password": USER_PASSWORD}, timeout=30)
    if r.status_code != 200:
        raise RuntimeError(f"token: {r.status_code} {r.text}")
    return r.json()["token"]


def deploy(session: requests.Session, base: str, token: str) -> None:
    r = session.post(base + "/api/v1/deployments", headers={"Authorization": f"Bearer {token}"},
                     files={"files": (BPMN.name, BPMN.read_bytes(), "application/xml")}, timeout=60)
    if r.status_code != 201:
        raise RuntimeError(f"deploy: {r.status_code} {r.text}")


def http_lifecycle(session: requests.Session, base: str, run: Run | None, lock: threading.Lock) -> None:
    """start + three completions; records timings into `run` (if given)."""
    starts, completes = [], []
    t0 = time.perf_counter()
    r = session.post(f"{base}/api/v1/process-definitions/key/{PROCESS_KEY}/start", json={"variables": {}})
    starts.append(time.perf_counter() - t0)
    if r.status_code != 201:
        raise RuntimeError(f"start: {r.status_code} {r.text[:300]}")
    body = r.json()
    for step in range(1, 4):
        tasks = body.get("tasks") or []
        if len(tasks) != 1:
            raise RuntimeError(f"expected one open task before completion {step}, got {tasks}")
        t0 = time.perf_counter()
        r = session.post(f"{base}/api/v1/tasks/{tasks[0]['id']}/complete", json={"variables": {}})
        completes.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"complete#{step}: {r.status_code} {r.text[:300]}")
        body = r.json()
    if body.get("status") != "completed" or body.get("tasks"):
        raise RuntimeError(f"instance not completed after three tasks: {body}")
    if run is not None:
        with lock:
            run.start.extend(starts)
            run.complete.extend(completes)


def drive(base: str, token: str, count: int, clients: int, run: Run | None) -> float:
    """Run `count` lifecycles from `clients` threads, one keep-alive Session each; returns the wall time."""
    lock = threading.Lock()
    todo = iter(range(count))
    errors: list[str] = []

    def client() -> None:
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {token}"
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                try:
                    http_lifecycle(s, base, run, lock)
                except (requests.RequestException, RuntimeError, ValueError, KeyError) as exc:  # report, go on
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, name=f"client-{i}") for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if run is not None:
        run.errors.extend(errors)
        run.n = count - len(errors)
        run.seconds = elapsed
    elif errors:
        raise RuntimeError(f"warm-up failed: {errors[0]}")
    return elapsed


def run_http(target: Target, n: int, workers: int, clients: int, worker_class: str, workdir: Path) -> tuple[Run, str]:
    url = target.fresh_url("http")
    env = server_env(url)
    run = Run(target.kind, "b http", note=f"gunicorn {workers} {worker_class} workers, {clients} client threads")
    t0 = time.perf_counter()
    create_bench_user(env)  # migrates the fresh database before the workers start (no upgrade race)
    setup = time.perf_counter() - t0
    server = Gunicorn(env, workers, worker_class, workdir)
    try:
        ready = server.wait_ready()
        print(f"  setup: schema + user {setup:.1f} s, gunicorn answered after {ready:.1f} s on {server.base}")
        with requests.Session() as s:
            token = get_token(s, server.base)
            deploy(s, server.base, token)
        drive(server.base, token, 4 * workers, clients, None)  # warm up every worker's caches
        client0, server0 = time.process_time(), server.cpu_seconds()
        drive(server.base, token, n, clients, run)
        run.cpu["gunicorn workers"] = server.cpu_seconds() - server0
        run.cpu["client"] = time.process_time() - client0
    finally:
        server.stop()
    return run, url


def run_levels(target: Target, n: int, workers: int, worker_class: str, levels: list[int],
               workdir: Path) -> list[tuple[int, Run]]:
    """One gunicorn, then `n` lifecycles at each concurrency level (client threads): throughput and
    p50/p95/p99 of every call (start and completions together) per level."""
    url = target.fresh_url("levels")
    env = server_env(url)
    create_bench_user(env)
    server = Gunicorn(env, workers, worker_class, workdir)
    results = []
    try:
        server.wait_ready()
        with requests.Session() as s:
            token = get_token(s, server.base)
            deploy(s, server.base, token)
        drive(server.base, token, 4 * workers, workers, None)
        for clients in levels:
            run = Run(target.kind, f"{clients} clients")
            server0 = server.cpu_seconds()
            drive(server.base, token, n, clients, run)
            run.cpu["gunicorn workers"] = server.cpu_seconds() - server0
            results.append((clients, run))
    finally:
        server.stop()
    return results


def print_levels(kind: str, workers: int, worker_class: str, results: list[tuple[int, Run]]) -> None:
    print(f"\n=== {kind}: concurrency levels (gunicorn {workers} {worker_class} workers; every call, start and "
          f"completions, in the percentiles) ===")
    print(f"{'clients':>8} {'inst/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'server CPU ms/lifecycle':>24} "
          f"{'errors':>7}")
    for clients, run in results:
        calls = run.start + run.complete
        print(f"{clients:>8} {run.rate:>8.1f} {percentile(calls, 50):>8.2f} {percentile(calls, 95):>8.2f} "
              f"{percentile(calls, 99):>8.2f} {run.server_cpu_ms:>24.1f} {len(run.errors):>7}")


def count_http_sql(url: str) -> SqlCount:
    """Count the statements of COUNT_LIFECYCLES lifecycles in-process (Flask test client, same code)."""
    from app import create_app
    from app.extensions import db
    from config import Config

    # The database was migrated by `flask users create`: no upgrade (and no alembic log lines) here.
    cfg = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                                          "ADMIN_PASSWORD": ADMIN_PASSWORD, "AUTO_UPGRADE": False})
    app = create_app(cfg)
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": USER, "password": USER_PASSWORD})
    assert r.status_code == 200, r.get_json()
    headers = {"Authorization": f"Bearer {r.get_json()['token']}"}

    def lifecycle(counter: SqlCount | None) -> None:
        if counter:
            counter.trace.clear()
            counter.label = "start"
        r = client.post(f"/api/v1/process-definitions/key/{PROCESS_KEY}/start", json={"variables": {}},
                        headers=headers)
        if r.status_code != 201:
            raise RuntimeError(f"start: {r.status_code} {r.get_json()}")
        body = r.get_json()
        for step in range(1, 4):
            if counter:
                counter.label = f"complete#{step}"
            r = client.post(f"/api/v1/tasks/{body['tasks'][0]['id']}/complete", json={"variables": {}},
                            headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"complete#{step}: {r.status_code} {r.get_json()}")
            body = r.get_json()
        if counter:
            counter.label = None

    with app.app_context():
        engine = db.engine
    lifecycle(None)  # warm: definition and spec caches, as in a running worker
    counter = SqlCount(engine)
    try:
        for _ in range(COUNT_LIFECYCLES):
            lifecycle(counter)
    finally:
        counter.label = None
        counter.close()
        engine.dispose()
    return counter


INSTANCE_TABLES = ("process_instance", "activity_instance", "history_event", "human_task", "task_candidate",
                   "active_activity", "event_subscription", "incident")


def _table_bytes(url: str) -> tuple[int, dict[str, int]]:
    """PostgreSQL, after VACUUM FULL (what live rows take, not what updates left behind): the number of
    instances and the bytes of each instance table (heap, TOAST and indexes)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM FULL ANALYZE")
            count = conn.exec_driver_sql("SELECT count(*) FROM process_instance").scalar()
            # An empty table still holds one page per index (its metapage), and per TOAST index: left out,
            # so that the figure is what grows with the instances whatever their number.
            fixed = ("(SELECT count(*) FROM pg_index WHERE indrelid = c.oid) + "
                     "(CASE WHEN c.reltoastrelid <> 0 THEN 1 ELSE 0 END)")
            sizes = {table: conn.exec_driver_sql(
                f"SELECT pg_total_relation_size(c.oid) - current_setting('block_size')::int * {fixed} "
                f"FROM pg_class c WHERE c.oid = '{table}'::regclass").scalar() for table in INSTANCE_TABLES}
    finally:
        engine.dispose()
    return count, sizes


def instance_bytes(url: str) -> tuple[int, dict[str, float]]:
    """PostgreSQL: the instances of the (b) run and the bytes each holds per table."""
    count, sizes = _table_bytes(url)
    return count, {table: size / count for table, size in sizes.items()}


TRIVIAL = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions id="bench_trivial_definitions" '
           'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="http://example.com/bench">'
           '<bpmn:process id="bench_trivial" isExecutable="true"><bpmn:startEvent id="start"/>'
           '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>'
           '</bpmn:process></bpmn:definitions>')


def trivial_instance_bytes(url: str, n: int = 200) -> dict[str, float]:
    """PostgreSQL: the bytes a trivial instance (start event -> end event) keeps per table: `n` of them
    started in-process on the (b) database, the tables measured before and after."""
    from app import create_app
    from config import Config

    _, before = _table_bytes(url)
    cfg = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                                          "ADMIN_PASSWORD": ADMIN_PASSWORD, "AUTO_UPGRADE": False})
    client = create_app(cfg).test_client()
    r = client.post("/api/v1/auth/token", json={"username": USER, "password": USER_PASSWORD})
    headers = {"Authorization": f"Bearer {r.get_json()['token']}"}
    r = client.post("/api/v1/deployments", headers=headers,
                    data={"files": (io.BytesIO(TRIVIAL.encode()), "bench_trivial.bpmn", "application/xml")})
    if r.status_code != 201:
        raise RuntimeError(f"deploy: {r.status_code} {r.get_json()}")
    for _ in range(n):
        r = client.post("/api/v1/process-definitions/key/bench_trivial/start", json={"variables": {}}, headers=headers)
        if r.status_code != 201 or r.get_json()["status"] != "completed":
            raise RuntimeError(f"start: {r.status_code} {r.get_json()}")
    _, after = _table_bytes(url)
    return {table: (after[table] - before[table]) / n for table in INSTANCE_TABLES}


# -- main ---------------------------------------------------------------------------

LABELS = ["start", "complete#1", "complete#2", "complete#3"]


def bench_database(kind: str, args, workdir: Path) -> tuple[Run, Run]:
    target = Target(kind, args.postgres_url, workdir)
    print(f"\n=== {kind} ===")
    print(f"(a) engine: Engine + SQLAlchemy Core, one transaction per step, {args.n} instances")
    a = run_engine(target, args.n)
    print(a.describe())
    print(a.sql.describe(COUNT_LIFECYCLES, LABELS, with_pool=False))

    print(f"(b) http: gunicorn -w {args.workers} ({args.worker_class}), {args.clients} client threads, "
          f"{args.n} instances")
    b, url = run_http(target, args.n, args.workers, args.clients, args.worker_class, workdir)
    print(b.describe())
    b.sql = count_http_sql(url)
    print("  statements counted in-process (Flask test client on the same database, same code):")
    print(b.sql.describe(COUNT_LIFECYCLES, LABELS, with_pool=True))
    if kind == "postgres":
        count, sizes = instance_bytes(url)
        b.bytes_per_instance = sum(sizes.values())
        print(f"  bytes per completed instance, {count} instances of (b) after VACUUM FULL: "
              f"{sum(sizes.values()):.0f} (" + ", ".join(f"{t} {v:.0f}" for t, v in sizes.items() if v) + ")")
        trivial = trivial_instance_bytes(url)
        b.bytes_per_trivial = sum(trivial.values())
        print(f"  bytes per trivial instance (start event -> end event, 200 more): {sum(trivial.values()):.0f} ("
              + ", ".join(f"{t} {v:.0f}" for t, v in trivial.items() if v) + ")")
    if args.show_sql:
        print("  statements of one lifecycle (b):")
        for label, statement in b.sql.trace:
            print(f"    {label:<11} {statement[:150]}")
    return a, b


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="instances per mode and database (default 200)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--clients", type=int, default=None, help="client threads (default: --workers)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--show-sql", action="store_true", help="list the statements of one (b) lifecycle")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--levels", default=None,
                        help="instead of (a) and (b): one server driven at these client counts, e.g. 1,4,16,64")
    args = parser.parse_args(argv)
    args.clients = args.clients or args.workers
    sys.stdout.reconfigure(line_buffering=True)

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Stagecoach lifecycle benchmark: start -> 3 user tasks -> end ({BPMN.name})")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.n}, "
          f"gunicorn workers={args.workers} ({args.worker_class}), client threads={args.clients}, "
          f"load average {load_average()} (other work on the machine skews every figure)")
    workdir = Path(tempfile.mkdtemp(prefix="stagecoach-bench-"))
    if args.levels:
        levels = [int(level) for level in args.levels.split(",")]
        try:
            errors = 0
            for kind in kinds:
                results_by_level = run_levels(Target(kind, args.postgres_url, workdir), args.n, args.workers,
                                              args.worker_class, levels, workdir)
                print_levels(kind, args.workers, args.worker_class, results_by_level)
                errors += sum(len(run.errors) for _, run in results_by_level)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return 1 if errors else 0
    results: list[tuple[Run, Run]] = []
    t0 = time.perf_counter()
    try:
        for kind in kinds:
            results.append(bench_database(kind, args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n=== summary (N={args.n}, {args.workers} gunicorn workers, {args.clients} client threads, "
          f"{os.cpu_count()} CPUs, load average {load_average()}, total {time.perf_counter() - t0:.0f} s) ===")
    header = (f"{'db':<9}{'mode':<10}{'inst/s':>8}  {'start p50/p95 ms':>17}  {'complete p50/p95 ms':>20}"
              f"  {'SQL/lifecycle':>13}  {'server CPU ms/lifecycle':>23}  {'errors':>6}")
    print(header)
    print("-" * len(header))
    for a, b in results:
        for r in (a, b):
            print(f"{r.db:<9}{r.mode:<10}{r.rate:>8.1f}  "
                  f"{percentile(r.start, 50):>8.2f}/{percentile(r.start, 95):<8.2f}  "
                  f"{percentile(r.complete, 50):>10.2f}/{percentile(r.complete, 95):<9.2f}  "
                  f"{r.sql.per_lifecycle(COUNT_LIFECYCLES):>13.1f}  {r.server_cpu_ms:>23.1f}  {len(r.errors):>6}")
    print()
    for a, b in results:
        print(f"{a.db:<9}b/a = {b.rate / a.rate:.2f}   (aim >= 0.5)   "
              f"SQL/lifecycle (b) = {b.sql.per_lifecycle(COUNT_LIFECYCLES):.1f}   (aim <= {SQL_TARGET})"
              + (f"   bytes per completed instance = {b.bytes_per_instance:.0f}, per trivial instance = "
                 f"{b.bytes_per_trivial:.0f} (aim <= 3,500)" if b.bytes_per_instance is not None else ""))
    return 1 if any(r.errors for pair in results for r in pair) else 0


if __name__ == "__main__":
    sys.exit(main())
