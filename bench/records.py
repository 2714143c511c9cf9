"""Benchmark: record writes per second with zero, one and ten bindings on the module.

In-process, through the Flask test client: every write is a real
`POST /api/v1/modules/Deals/records` through the whole app (authentication,
schema, service, one write transaction, bindings fired, response dumped),
without a network or a WSGI server, from one thread. The database is a fresh
SQLite file (WAL, as the server uses it) and a fresh PostgreSQL schema per
scenario:

  0 bindings    no binding on Deals: the record, its timeline entry, nothing else
  1 binding     criteria `amount > 0` (every write matches), starting a tiny
                deployed process: start -> script -> end (`--process user`:
                start -> user task -> end, so each instance stays open with a task)
  10 bindings   the one above plus nine whose criteria never hold
                (`amount > 1000000000 + i`): ten criteria evaluated, one process started

It prints writes/s, p50/p95 ms per write, CPU ms per write, and SQL
statements per write (a SQLAlchemy before_cursor_execute listener over
COUNT_WRITES writes after the timed phase; BEGIN, COMMIT, ROLLBACK,
SAVEPOINT, RELEASE and PRAGMA not counted). It checks that each scenario
started exactly one instance per write (or none), and prints figures only:
it asserts nothing about timings.

    python bench/records.py [-n 500] [--db sqlite|postgres|both] [--process script|user]
                            [--postgres-url postgresql://...] [--show-sql] [--rules]

`--rules` measures instead the services' one write path (`records.create_record` and
`records.update_record`, no HTTP), each timed write a create or an edit of the record just
created, with 0, 1 and 10 workflow rules on Deals, as an admin and as a plain owner (a user
without grants: every write checks `create` on the module or ownership of the record):

  1 rule       create_or_edit, criteria `amount > 0`, one task action (`Call {{ deal_name }}`):
               a rule instance per write
  10 rules     the one above, plus nine date rules (`closing_date` - 7 days at 09:00) whose
               criteria never hold: each write also reviews the waiting date rules
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event

from common import load_average, percentile, reset_postgres, sqlalchemy_url  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/stagecoach_bench_records"
ADMIN_PASSWORD = "bench-admin-password"
SECRET_KEY = "bench-secret-key-not-for-production"
PROCESS_KEY = "bench_record_process"
MODULE = "Deals"
WARM_UP = 10         # untimed writes first: definition and compile caches, connection pool
COUNT_WRITES = 50    # writes run under the statement counter, after the timed phase
SCENARIOS = (0, 1, 10)
_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'id="Definitions_bench" targetNamespace="http://stagecoach/bench">\n'
         f'  <bpmn:process id="{PROCESS_KEY}" name="Bench record process" isExecutable="true">\n'
         '    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n')
_TAIL = ('    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
         '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step" />\n'
         '    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end" />\n'
         '  </bpmn:process>\n</bpmn:definitions>\n')
DIAGRAMS = {
    "script": _HEAD + ('    <bpmn:scriptTask id="step" name="Flag" scriptFormat="python">'
                       '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
                       '<bpmn:script>flagged = amount &gt; 0</bpmn:script></bpmn:scriptTask>\n') + _TAIL,
    "user": _HEAD + ('    <bpmn:userTask id="step" name="Look at the deal">'
                     '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>\n') + _TAIL,
}


# -- figures ----------------------------------------------------------------------

class SqlCount:
    """Counts statements sent through one SQLAlchemy engine while `active`."""

    _TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)

    def __init__(self, engine):
        self.engine = engine
        self.active = False
        self.total = 0
        self.kinds: collections.Counter = collections.Counter()
        self.by_table: collections.Counter = collections.Counter()
        self.commits = 0
        self.trace: list[str] = []   # the statements of the latest write
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "commit", self._on_commit)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "commit", self._on_commit)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if not self.active:
            return
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in _NOT_COUNTED:
            return
        self.total += 1
        self.kinds[head] += 1
        match = self._TABLE.search(statement)
        self.by_table[(head, match.group(1) if match else "?")] += 1
        self.trace.append(" ".join(statement.split()))

    def _on_commit(self, conn):
        if self.active:
            self.commits += 1

    def describe(self, writes: int) -> str:
        def per(count: float) -> str:
            return f"{count / writes:.1f}"

        return "\n".join([
            f"  SQL statements per write: {per(self.total)}   [{writes} writes counted]",
            "  kinds:    " + ", ".join(f"{k} {per(v)}" for k, v in sorted(self.kinds.items())),
            "  by table: " + ", ".join(f"{k} {t} {per(v)}"
                                       for (k, t), v in sorted(self.by_table.items(), key=lambda kv: -kv[1])),
            f"  commits per write: {per(self.commits)}"])


@dataclass
class Run:
    """One scenario on one database."""

    db: str
    bindings: int
    n: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sql: SqlCount | None = None
    sql_writes: int = 0
    instances: int = 0
    expected_instances: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else float("nan")

    @property
    def sql_per_write(self) -> float:
        return self.sql.total / self.sql_writes if self.sql and self.sql_writes else float("nan")

    def describe(self) -> str:
        lines = [f"  writes: {self.n} in {self.seconds:.2f} s = {self.rate:.1f} writes/s",
                 (f"  per write: p50 {percentile(self.latencies, 50):.2f} ms"
                  f"  p95 {percentile(self.latencies, 95):.2f} ms"
                  f"  CPU {self.cpu_seconds / self.n * 1000 if self.n else float('nan'):.2f} ms (this process)"),
                 f"  instances started: {self.instances} (expected {self.expected_instances})"]
        if self.sql is not None:
            lines.append(self.sql.describe(self.sql_writes))
        if self.errors:
            lines.append(f"  ERRORS: {len(self.errors)}; first: {self.errors[0]}")
        return "\n".join(lines)


# -- databases --------------------------------------------------------------------

def fresh_url(kind: str, pg_url: str, workdir: Path, phase: str) -> str:
    if kind == "sqlite":
        path = workdir / f"{phase}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    reset_postgres(pg_url)
    return sqlalchemy_url(pg_url)


def make_app(url: str):
    """The real app on `url`; the schema is migrated on creation (alembic's log lines swallowed)."""
    from app import create_app
    from config import Config

    cfg = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                                          "ADMIN_PASSWORD": ADMIN_PASSWORD, "AUTO_UPGRADE": True,
                                          "OUTBOX_DISPATCH": False})
    log = io.StringIO()
    try:
        with contextlib.redirect_stderr(log):
            return create_app(cfg)
    except Exception:
        sys.stderr.write(log.getvalue())
        raise


# -- one scenario -------------------------------------------------------------------

class Client:
    """The Flask test client as admin, speaking JSON."""

    def __init__(self, app):
        self.client = app.test_client()
        r = self.client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
        if r.status_code != 200:
            raise RuntimeError(f"token: {r.status_code} {r.get_json()}")
        self.headers = {"Authorization": f"Bearer {r.get_json()['token']}"}

    def post(self, url: str, expect: int, **kw):
        r = self.client.post(url, headers=self.headers, **kw)
        if r.status_code != expect:
            raise RuntimeError(f"POST {url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
        return r.get_json()

    def get(self, url: str):
        r = self.client.get(url, headers=self.headers)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
        return r.get_json()


def set_up_bindings(client: Client, count: int, process: str) -> None:
    """Deploy the tiny process and bind it `count` times; only the first binding's criteria ever hold."""
    if count == 0:
        return
    client.post("/api/v1/deployments", 201, content_type="multipart/form-data",
                data={"files": [(io.BytesIO(DIAGRAMS[process].encode()), f"{PROCESS_KEY}.bpmn")]})
    for i in range(count):
        criteria = "amount > 0" if i == 0 else f"amount > {1_000_000_000 + i}"
        client.post("/api/v1/bindings", 201, json={
            "name": f"bench binding {i}", "module": MODULE, "event": "create", "criteria": criteria,
            "process_key": PROCESS_KEY})


def run_scenario(kind: str, bindings: int, args, workdir: Path) -> Run:
    from app.extensions import db

    app = make_app(fresh_url(kind, args.postgres_url, workdir, f"bindings{bindings}"))
    with app.app_context():
        engine = db.engine
    run = Run(kind, bindings)
    client = Client(app)
    set_up_bindings(client, bindings, args.process)
    seq = iter(range(1, 10**9))

    def write() -> None:
        i = next(seq)
        client.post(f"/api/v1/modules/{MODULE}/records", 201,
                    json={"deal_name": f"Deal {i}", "amount": 1000 + (i * 37) % 9000, "stage": "Qualification"})

    try:
        for _ in range(WARM_UP):
            write()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(args.n):
            w0 = time.perf_counter()
            try:
                write()
            except RuntimeError as exc:  # report, go on
                run.errors.append(str(exc))
            run.latencies.append(time.perf_counter() - w0)
        run.seconds = time.perf_counter() - t0
        run.cpu_seconds = time.process_time() - c0
        run.n = args.n - len(run.errors)

        counter = SqlCount(engine)
        try:
            for _ in range(COUNT_WRITES):
                counter.trace.clear()
                counter.active = True
                write()
                counter.active = False
        finally:
            counter.active = False
            counter.close()
        run.sql, run.sql_writes = counter, COUNT_WRITES

        total = client.get(f"/api/v1/process-instances?key={PROCESS_KEY}&per_page=1")["total"]
        run.instances = total
        run.expected_instances = (WARM_UP + run.n + COUNT_WRITES) if bindings else 0
        if total != run.expected_instances:
            run.errors.append(f"{total} instances started, expected {run.expected_instances}")
    finally:
        engine.dispose()
    return run


# -- workflow rules through the services ------------------------------------------------

def set_up_rules(app, count: int) -> None:
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.users import create_user
    from app.services.workflow_rules import create_rule

    with app.app_context():
        create_user("bench_owner", "bench-owner-password", [], False, actor=SYSTEM)
        for i in range(count):
            if i == 0:
                rule = {"name": "bench rule 0", "module": MODULE, "event": "create_or_edit", "criteria": "amount > 0",
                        "actions": [{"type": "task", "subject": "Call {{ deal_name }}"}]}
            else:
                rule = {"name": f"bench rule {i}", "module": MODULE, "event": "date",
                        "criteria": f"amount > {1_000_000_000 + i}",
                        "date": {"field": "closing_date", "days": -7, "time": "09:00"},
                        "actions": [{"type": "task", "subject": "Renewal"}]}
            create_rule(rule, SYSTEM)
        db.session.remove()


def run_rules_scenario(kind: str, rules: int, as_owner: bool, args, workdir: Path) -> Run:
    from app.extensions import db
    from app.services.core import SYSTEM, Actor
    from app.services.records import create_record, update_record

    app = make_app(fresh_url(kind, args.postgres_url, workdir, f"rules{rules}{'owner' if as_owner else 'admin'}"))
    with app.app_context():
        engine = db.engine
    set_up_rules(app, rules)
    actor = Actor("bench_owner") if as_owner else Actor("admin", (), True)
    run = Run(kind, rules)
    seq = iter(range(1, 10**9))
    last: list[str] = []

    def write() -> None:
        i = next(seq)
        with app.app_context():
            try:
                if i % 2 or not last:
                    record = create_record(MODULE, {"deal_name": f"Deal {i}", "amount": 1000 + (i * 37) % 9000,
                                                    "closing_date": "2099-06-30"}, actor)
                    last[:] = [record.id]
                else:
                    update_record(MODULE, last[0], {"amount": 2000 + i}, actor)
            finally:
                db.session.remove()

    try:
        for _ in range(WARM_UP):
            write()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(args.n):
            w0 = time.perf_counter()
            try:
                write()
            except Exception as exc:  # report, go on
                run.errors.append(f"{type(exc).__name__}: {exc}")
            run.latencies.append(time.perf_counter() - w0)
        run.seconds = time.perf_counter() - t0
        run.cpu_seconds = time.process_time() - c0
        run.n = args.n - len(run.errors)
        with app.app_context():
            from sqlalchemy import func, select

            from app.models import ProcessInstance
            run.instances = db.session.scalar(select(func.count()).select_from(ProcessInstance))
            db.session.remove()
        run.expected_instances = (WARM_UP + run.n) if rules else 0
        if run.instances != run.expected_instances:
            run.errors.append(f"{run.instances} rule instances, expected {run.expected_instances}")
    finally:
        engine.dispose()
    return run


def main_rules(args, kinds: list[str]) -> int:
    print(f"Stagecoach record-write benchmark through the services (create_record / update_record, one "
          f"thread, no HTTP), workflow rules on {MODULE}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.n} (+{WARM_UP} warm-up), "
          f"load average {load_average()} (other work on the machine skews every figure)")
    workdir = Path(tempfile.mkdtemp(prefix="stagecoach-bench-rules-"))
    runs: list[tuple[str, Run]] = []
    try:
        for kind in kinds:
            for as_owner in (False, True):
                who = "owner" if as_owner else "admin"
                for rules in SCENARIOS:
                    run = run_rules_scenario(kind, rules, as_owner, args, workdir)
                    print(f"\n{kind}, {rules} rules, as {who}\n{run.describe()}")
                    runs.append((who, run))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = f"{'db':<9}{'actor':<7}{'rules':>6}  {'writes/s':>9}  {'p50 ms':>7}  {'p95 ms':>7}  {'CPU ms':>7}  {'errors':>6}"
    print(f"\n=== summary: record writes through the services (N={args.n}, load average {load_average()}) ===")
    print(header)
    print("-" * len(header))
    for who, r in runs:
        print(f"{r.db:<9}{who:<7}{r.bindings:>6}  {r.rate:>9.1f}  {percentile(r.latencies, 50):>7.2f}  "
              f"{percentile(r.latencies, 95):>7.2f}  {r.cpu_seconds / r.n * 1000 if r.n else float('nan'):>7.2f}  "
              f"{len(r.errors):>6}")
    return 1 if any(r.errors for _, r in runs) else 0


# -- main ---------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="timed record creations per scenario (default 500)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--process", choices=sorted(DIAGRAMS), default="script",
                        help="the bound process: start -> script -> end (default) or start -> user task -> end")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_RECORDS_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--show-sql", action="store_true", help="list the statements of one write per scenario")
    parser.add_argument("--rules", action="store_true",
                        help="workflow rules through the services, as an admin and as a plain owner")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.rules:
        return main_rules(args, kinds)
    print(f"Stagecoach record-write benchmark: POST /api/v1/modules/{MODULE}/records through the Flask test "
          f"client (in-process, one thread), bound process: start -> {args.process} task -> end")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.n} (+{WARM_UP} warm-up, "
          f"+{COUNT_WRITES} counted), load average {load_average()} (other work on the machine skews every figure)")
    workdir = Path(tempfile.mkdtemp(prefix="stagecoach-bench-records-"))
    runs: list[Run] = []
    t0 = time.perf_counter()
    try:
        for kind in kinds:
            print(f"\n=== {kind} ===")
            for bindings in SCENARIOS:
                label = {0: "no binding", 1: "1 binding, matching: one process per write",
                         10: "10 bindings, 1 matching: ten criteria, one process per write"}[bindings]
                print(f"({bindings}) {label}")
                run = run_scenario(kind, bindings, args, workdir)
                print(run.describe())
                if args.show_sql and run.sql is not None:
                    for statement in run.sql.trace:
                        print(f"    {statement[:160]}")
                runs.append(run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n=== summary (N={args.n}, process {args.process}, {os.cpu_count()} CPUs, "
          f"load average {load_average()}, total {time.perf_counter() - t0:.0f} s) ===")
    header = (f"{'db':<9}{'bindings':>8}  {'writes/s':>9}  {'p50 ms':>7}  {'p95 ms':>7}  {'CPU ms':>7}"
              f"  {'SQL/write':>9}  {'vs 0':>5}  {'errors':>6}")
    print(header)
    print("-" * len(header))
    base: dict[str, float] = {}
    for r in runs:
        base.setdefault(r.db, r.rate)
        print(f"{r.db:<9}{r.bindings:>8}  {r.rate:>9.1f}  {percentile(r.latencies, 50):>7.2f}  "
              f"{percentile(r.latencies, 95):>7.2f}  {r.cpu_seconds / r.n * 1000 if r.n else float('nan'):>7.2f}  "
              f"{r.sql_per_write:>9.1f}  {r.rate / base[r.db]:>5.2f}  {len(r.errors):>6}")
    return 1 if any(r.errors for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
