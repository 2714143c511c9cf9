"""Benchmark: the console's everyday and admin pages (and the API twins) over 100,000 instances on PostgreSQL.

One real definition is deployed (the shipped Explore Electronics deal blueprint,
`bpmn/electronics/deal_followup.bpmn`: start -> Qualification -> gateway -> Negotiation -> gateway
-> email script -> Closing -> gateway -> Closed Won), then N instances of it are written with bulk
SQL (generate_series, one INSERT ... SELECT per table), as the server's projections would hold them:

  60 % running and 5 % suspended, waiting at Qualification, Negotiation or Closing (an open human task
       for sales_reps, its candidate row, an active activity);
   5 % in error at the email script (an open incident, one of three messages; the active activity);
  25 % completed at Closed Won (every user task completed; one in ten had an incident, resolved);
   5 % cancelled while waiting at a stage (the task cancelled).

The history holds what the runner writes: `instance_started`, an activity row per element passed (user
tasks take 5 to 245 minutes, everything else no time) and one for the element an instance waits at,
`error` where it failed and a `status_changed` where it stopped.
Instances start 40 seconds apart, the newest first, so a few hundred completed in the last 24 hours.
The instance state is a placeholder: no page loads it.

Then each page is requested 20 times (after 2 untimed) through the Flask test client, and the server time (the whole request in-process: session check, services, SQL, template)
is reported as p50 and p95, with the SQL statements of one request:

  My Jobs       /console/jobs?tab=groups (and sorted by due date), the Mine tab, and the tabs' counts
                (the 30 s poll), as `bench_rep`, a member of sales_reps: offered every open task (65 % of N)
  Task          /console/tasks/<an open task> as `bench_rep`
  Record        /console/records/Deals/<a record> as `bench_rep` (40 of the instances ran on it)
  Instance      /console/admin/instances/<an instance in error> (diagram, variables, incident, history)

as admin:

  Processes     /console/admin/processes
  Definition    /console/admin/processes/<key>/definition (statistics of 100,000 instances, history
                of the latest 1,000)
  Instances     /console/admin/instances?key=<key>&status=running (first page of 25, filtered), and
                with &activity=stage_negotiation
  Incidents     /console/admin/incidents

and the same numbers through /api/v1 (statistics per key and per element, the first page of
incidents, the filtered instance list). It prints figures only and asserts nothing about timings;
the exit status is 1 if a request did not answer 200 or the counts do not match what was written.

    python bench/console.py [-n 100000] [--calls 20] [--postgres-url postgresql://...]

**Warning:** it drops and recreates the `public` schema of the database it is given.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, text  # noqa: E402

from common import load_average, percentile, reset_postgres, sqlalchemy_url  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/stagecoach_bench_console"
ADMIN_PASSWORD = "bench-admin-password"
KEY = "electronics_deal_followup"
FOLDER = ROOT / "bpmn" / "electronics"
WARM_UP = 2
REP, REP_PASSWORD = "bench_rep", "bench-rep-password"
RECORD_INSTANCES = 40  # instances that ran on the benchmark's one record

# The path an instance takes, in order: (element id, name, engine type, is a user task, user tasks before it).
PATH = [
    ("start_deal_created", "Deal created", "StartEvent", False, 0),
    ("stage_qualification", "Qualification", "UserTask", True, 0),
    ("gateway_after_qualification", "Negotiate or lose?", "ExclusiveGateway", False, 1),
    ("stage_negotiation", "Negotiation", "UserTask", True, 1),
    ("gateway_after_negotiation", "Close or lose?", "ExclusiveGateway", False, 2),
    ("email_rep_manager", "Email the rep's manager", "ScriptTask", False, 2),
    ("stage_closing", "Closing", "UserTask", True, 2),
    ("gateway_after_closing", "Won or lost?", "ExclusiveGateway", False, 3),
    ("end_closed_won", "Closed Won", "EndEvent", False, 3),
]
FAILED_AT = 6  # the email script
MESSAGES = ["NameError: name 'owner_manager' is not defined",
            "the webhook host hooks.example.com is not on the outbound allow list",
            "template: 'amount' is undefined"]

# One statement per table, over a plan of the instances (i, id, status, reached, started_at, d).
PLAN = """
CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
SELECT i, md5('bench:' || i) AS id,
       CASE WHEN i % 100 < 60 THEN 'running' WHEN i % 100 < 65 THEN 'error' WHEN i % 100 < 70 THEN 'suspended'
            WHEN i % 100 < 95 THEN 'completed' ELSE 'cancelled' END AS status,
       interval '1 minute' * (5 + i % 241) AS d,
       0 AS reached, now() AS started_at
FROM generate_series(1, :n) AS i;
UPDATE bench_plan SET
  reached = CASE status WHEN 'completed' THEN 9 WHEN 'error' THEN 6 ELSE (ARRAY[2, 4, 7])[1 + (i / 100) % 3] END,
  started_at = now() - interval '40 seconds' * i - 4 * d;
CREATE TEMP TABLE bench_path (ord int, element_id text, name text, type text, is_user bool, users_before int)
  ON COMMIT DROP;
"""

INSTANCES = """
INSERT INTO process_instance (id, definition_id, process_key, business_key, status, variables, state, state_version,
                              started_by, subscribed, started_at, ended_at, updated_at, lock_version)
SELECT p.id, :definition_id, :key, 'deal-' || p.i, p.status,
       json_build_object('deal_name', 'Deal ' || p.i, 'amount', 1000 + p.i % 9000),
       '{}', :state_version, 'rep' || (p.i % 20), false, p.started_at,
       CASE p.status WHEN 'completed' THEN p.started_at + 3 * p.d
                     WHEN 'cancelled' THEN p.started_at + (w.users_before + 0.5) * p.d END,
       p.started_at + (w.users_before + 0.5) * p.d, 1
FROM bench_plan p JOIN bench_path w ON w.ord = p.reached
"""

ACTIVE = """
INSERT INTO active_activity (instance_id, definition_id, element_id, element_name, element_type, state)
SELECT p.id, :definition_id, w.element_id, w.name, w.type, CASE p.status WHEN 'error' THEN 'error' ELSE 'ready' END
FROM bench_plan p JOIN bench_path w ON w.ord = p.reached
WHERE p.status IN ('running', 'suspended', 'error')
"""

TASKS = """
INSERT INTO human_task (id, instance_id, definition_id, process_key, element_id, name, candidate_users,
                        candidate_groups, state, created_at, priority, completed_at, completed_by)
SELECT md5(p.id || ':' || w.ord)::uuid::text, p.id, :definition_id, :key, w.element_id, w.name, '[]',
       '["sales_reps"]',
       CASE WHEN w.ord < p.reached OR p.status = 'completed' THEN 'completed'
            WHEN p.status = 'cancelled' THEN 'cancelled' ELSE 'open' END,
       p.started_at + w.users_before * p.d, 50,
       CASE WHEN w.ord < p.reached OR p.status = 'completed' THEN p.started_at + (w.users_before + 1) * p.d
            WHEN p.status = 'cancelled' THEN p.started_at + (w.users_before + 0.5) * p.d END,
       CASE WHEN w.ord < p.reached OR p.status = 'completed' THEN 'rep' || (p.i % 20) END
FROM bench_plan p JOIN bench_path w ON w.is_user AND w.ord <= p.reached
"""

CANDIDATES = """
INSERT INTO task_candidate (task_id, instance_id, kind, name)
SELECT id, instance_id, 'group', 'sales_reps' FROM human_task WHERE state = 'open'
"""

INCIDENTS = """
INSERT INTO incident (id, instance_id, element_id, element_name, message, line, created_at, resolved_at, resolution)
SELECT md5('incident:' || p.i), p.id, 'email_rep_manager', 'Email the rep''s manager',
       (ARRAY[:m0, :m1, :m2])[1 + p.i % 3], 1, p.started_at + 2 * p.d,
       CASE WHEN p.status = 'completed' THEN p.started_at + 2 * p.d + interval '1 hour' END,
       CASE WHEN p.status = 'completed' THEN 'retried' END
FROM bench_plan p
WHERE p.status = 'error' OR (p.status = 'completed' AND p.i % 10 = 7)
"""

# kind 0: instance_started; 1 error where it failed; 3 status_changed
HISTORY = """
INSERT INTO history_event (instance_id, type, at, element_id, element_name, element_type, "user", message, data)
SELECT instance_id, type, at, element_id, element_name, element_type, "user", message, data FROM (
  SELECT p.i, 0 AS ord, 0 AS kind, p.id AS instance_id, 'instance_started' AS type, p.started_at AS at,
         NULL AS element_id, NULL AS element_name, NULL AS element_type, 'rep' || (p.i % 20) AS "user",
         NULL AS message, NULL::json AS data
  FROM bench_plan p
  UNION ALL
  SELECT p.i, w.ord, 1, p.id, 'error', p.started_at + w.users_before * p.d, w.element_id, w.name, w.type, NULL,
         (ARRAY[:m0, :m1, :m2])[1 + p.i % 3], NULL
  FROM bench_plan p JOIN bench_path w ON w.ord = p.reached WHERE p.status = 'error'
  UNION ALL
  SELECT p.i, 99, 3, p.id, 'status_changed', p.started_at + (w.users_before + 0.5) * p.d, NULL, NULL, NULL, 'admin',
         CASE p.status WHEN 'cancelled' THEN 'duplicate deal' END,
         json_build_object('from', 'running', 'to', p.status)
  FROM bench_plan p JOIN bench_path w ON w.ord = p.reached WHERE p.status IN ('completed', 'cancelled', 'suspended')
) AS rows
ORDER BY i, ord, kind
"""

# One activity row per element passed (ended), and one for the element an instance waits at (open;
# ended with the instance when it was cancelled); a failed element was never entered.
ACTIVITIES = """
INSERT INTO activity_instance (instance_id, definition_id, process_key, task_id, element_id, element_name,
                               element_type, from_element_id, started_at, ended_at, duration_ms, state, actor)
SELECT p.id, :definition_id, :key, CASE WHEN w.is_user THEN md5(p.id || ':' || w.ord)::uuid::text END,
       w.element_id, w.name, w.type, prev.element_id, p.started_at + w.users_before * p.d,
       CASE WHEN w.ord < p.reached OR p.status = 'completed'
              THEN p.started_at + (w.users_before + CASE WHEN w.is_user THEN 1 ELSE 0 END) * p.d
            WHEN p.status = 'cancelled' THEN p.started_at + (w.users_before + 0.5) * p.d END,
       CASE WHEN w.ord < p.reached OR p.status = 'completed'
              THEN CASE WHEN w.is_user THEN (extract(epoch FROM p.d) * 1000)::bigint ELSE 0 END
            WHEN p.status = 'cancelled' THEN (extract(epoch FROM 0.5 * p.d) * 1000)::bigint END,
       CASE WHEN w.ord < p.reached OR p.status = 'completed' THEN 'completed'
            WHEN p.status = 'cancelled' THEN 'cancelled' ELSE 'active' END,
       CASE WHEN w.is_user AND (w.ord < p.reached OR p.status = 'completed') THEN 'rep' || (p.i % 20) END
FROM bench_plan p JOIN bench_path w ON w.ord < p.reached OR (w.ord = p.reached AND p.status <> 'error')
LEFT JOIN bench_path prev ON prev.ord = w.ord - 1
ORDER BY p.i, w.ord
"""


def make_app(url: str):
    """The real app on `url`; the schema is migrated on creation (alembic's log lines swallowed)."""
    from app import create_app
    from config import Config

    cfg = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-console-secret",
                                          "ADMIN_PASSWORD": ADMIN_PASSWORD, "OUTBOX_DISPATCH": False,
                                          "JOBS_EMBEDDED": False})
    log = io.StringIO()
    try:
        with contextlib.redirect_stderr(log):
            return create_app(cfg)
    except Exception:
        sys.stderr.write(log.getvalue())
        raise


def api_token(app) -> str:
    response = app.test_client().post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def deploy(app, token: str) -> str:
    files = [p for p in sorted(FOLDER.iterdir()) if p.suffix in (".bpmn", ".json") and p.name != "stagecoach.json"]
    response = app.test_client().post("/api/v1/deployments", headers={"Authorization": f"Bearer {token}"},
                                      content_type="multipart/form-data",
                                      data={"files": [(io.BytesIO(p.read_bytes()), p.name) for p in files]})
    assert response.status_code == 201, response.get_json()
    return next(d["id"] for d in response.get_json()["definitions"] if d["key"] == KEY)


def write_instances(app, definition_id: str, n: int) -> dict[str, float]:
    """Write the instances and their projections and history; return seconds per table."""
    from app.engine import STATE_VERSION
    from app.extensions import db

    params = {"n": n, "definition_id": definition_id, "key": KEY, "state_version": STATE_VERSION,
              "m0": MESSAGES[0], "m1": MESSAGES[1], "m2": MESSAGES[2]}
    seconds = {}
    with app.app_context(), db.engine.begin() as conn:
        for statement in PLAN.strip().split(";\n"):
            if statement.strip():
                conn.execute(text(statement), params)
        conn.execute(text("INSERT INTO bench_path VALUES (:ord, :element_id, :name, :type, :is_user, :users_before)"),
                     [{"ord": i, "element_id": e, "name": name, "type": t, "is_user": u, "users_before": b}
                      for i, (e, name, t, u, b) in enumerate(PATH, start=1)])
        for table, statement in (("process_instance", INSTANCES), ("active_activity", ACTIVE), ("human_task", TASKS),
                                 ("task_candidate", CANDIDATES), ("incident", INCIDENTS), ("history_event", HISTORY),
                                 ("activity_instance", ACTIVITIES)):
            t0 = time.perf_counter()
            conn.execute(text(statement), params)
            seconds[table] = time.perf_counter() - t0
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return seconds


def counts(app) -> dict[str, int]:
    from app.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("process_instance", "active_activity", "human_task", "task_candidate", "incident",
                              "history_event", "activity_instance")}


class Console:
    """The console as a signed-in user, the admin unless told (session cookie, CSRF token from the login page)."""

    def __init__(self, app, username: str = "admin", password: str = ADMIN_PASSWORD):
        self.client = app.test_client()
        page = self.client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.client.post("/console/login", data={"username": username, "password": password,
                                                             "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]

    def get(self, url: str):
        return self.client.get(url)


class Api:
    def __init__(self, app, token: str):
        self.client, self.headers = app.test_client(), {"Authorization": f"Bearer {token}"}

    def get(self, url: str):
        return self.client.get(url, headers=self.headers)


class Statements:
    """Counts the SQL statements sent while active."""

    def __init__(self, engine):
        self.engine, self.active, self.n = engine, False, 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        if self.active:
            self.n += 1

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._count)


def measure(app, client, url: str, calls: int) -> tuple[list[float], int, list[str]]:
    """`calls` timed GETs of `url` (after WARM_UP untimed); the seconds of each, the statements of one, errors."""
    from app.extensions import db

    errors: list[str] = []
    for _ in range(WARM_UP):
        client.get(url)
    with app.app_context():
        engine = db.engine
    counter = Statements(engine)
    try:
        counter.active = True
        response = client.get(url)
        counter.active = False
    finally:
        counter.close()
    if response.status_code != 200:
        errors.append(f"{url}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    latencies = []
    for _ in range(calls):
        t0 = time.perf_counter()
        response = client.get(url)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            errors.append(f"{url}: {response.status_code}")
    return latencies, counter.n, errors


def everyday_setup(app, token: str, n: int) -> dict[str, str]:
    """What the everyday pages need: a member of sales_reps (offered every open task), one of those tasks, a Deals
    record that RECORD_INSTANCES of the instances ran on, and an instance in error."""
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.users import create_user

    with app.app_context():
        create_user(REP, REP_PASSWORD, ["sales_reps"], False, actor=SYSTEM)
    response = app.test_client().post("/api/v1/modules/Deals/records", headers={"Authorization": f"Bearer {token}"},
                                      json={"deal_name": "Benchmark deal"})
    assert response.status_code == 201, response.get_json()
    record_id = response.get_json()["id"]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE process_instance SET record_module = 'Deals', record_id = :record "
                          "WHERE id IN (SELECT md5('bench:' || i) FROM generate_series(1, :k) AS i)"),
                     {"record": record_id, "k": min(n, RECORD_INSTANCES)})
        task_id = conn.execute(text("SELECT id FROM human_task WHERE state = 'open' ORDER BY created_at DESC "
                                    "LIMIT 1")).scalar_one()
        error_id = conn.execute(text("SELECT id FROM process_instance WHERE status = 'error' "
                                     "ORDER BY started_at DESC LIMIT 1")).scalar_one()
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE process_instance"))
    return {"record_id": record_id, "task_id": task_id, "error_id": error_id}


def check_counts(app, definition_id: str, n: int) -> list[str]:
    """The services see what was written: per status, and instances waiting at each stage."""
    from app.services.core import SYSTEM
    from app.services.instances import process_overview
    from app.services.statistics import element_statistics

    problems = []
    with app.app_context():
        [row] = process_overview(SYSTEM)
        expected = {s: sum(1 for i in range(1, n + 1) if lo <= i % 100 < hi)
                    for s, lo, hi in (("running", 0, 60), ("error", 60, 65), ("suspended", 65, 70))}
        got = {"running": row.running, "error": row.error, "suspended": row.suspended}
        if got != expected:
            problems.append(f"process statistics {got}, expected {expected}")
        waiting = sum(e.waiting for e in element_statistics(definition_id, SYSTEM).elements)
        if waiting != sum(expected.values()):
            problems.append(f"{waiting} instances waiting in the element statistics, expected {sum(expected.values())}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="instances written (default 100,000)")
    parser.add_argument("--calls", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_CONSOLE_POSTGRES_URL", DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    print(f"Stagecoach console benchmark: {args.n} instances of {KEY} on PostgreSQL, {args.calls} calls per page "
          f"(+{WARM_UP} untimed) through the Flask test client")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_average()} "
          "(other work on the machine skews every figure)")
    reset_postgres(args.postgres_url)
    app = make_app(sqlalchemy_url(args.postgres_url))
    token = api_token(app)
    definition_id = deploy(app, token)
    t0 = time.perf_counter()
    seconds = write_instances(app, definition_id, args.n)
    print(f"\nwritten in {time.perf_counter() - t0:.1f} s (with ANALYZE): "
          + ", ".join(f"{table} {rows:,} rows ({seconds.get(table, 0):.1f} s)" for table, rows in counts(app).items()))
    errors = check_counts(app, definition_id, args.n)

    console, api = Console(app), Api(app, token)
    everyday = everyday_setup(app, token, args.n)
    from app.bootstrap import settle_heap
    settle_heap()  # as a served worker does once its app is loaded (gunicorn.conf.py)
    rep = Console(app, REP, REP_PASSWORD)
    pages = [
        ("My Jobs (my groups)", rep, "/console/jobs?tab=groups"),
        ("My Jobs (my groups, by due date)", rep, "/console/jobs?tab=groups&sort=due"),
        ("My Jobs (mine)", rep, "/console/jobs"),
        ("My Jobs tab counts (poll)", rep, "/console/jobs/tabs?tab=groups"),
        ("Task", rep, f"/console/tasks/{everyday['task_id']}"),
        ("Record", rep, f"/console/records/Deals/{everyday['record_id']}"),
        ("Instance (in error)", console, f"/console/admin/instances/{everyday['error_id']}"),
        ("Processes", console, "/console/admin/processes"),
        ("Definition", console, f"/console/admin/processes/{KEY}/definition"),
        ("Instances (running)", console, f"/console/admin/instances?key={KEY}&status=running"),
        ("Instances (at a stage)", console, f"/console/admin/instances?key={KEY}&status=running&activity=stage_negotiation"),
        ("Incidents", console, "/console/admin/incidents"),
        ("API statistics/processes", api, "/api/v1/statistics/processes"),
        ("API definition statistics", api, f"/api/v1/process-definitions/{definition_id}/statistics"),
        ("API incidents (open, page 1)", api, f"/api/v1/incidents?key={KEY}"),
        ("API instances (running, page 1)", api, f"/api/v1/process-instances?key={KEY}&status=running"),
    ]
    header = f"{'page':<34}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'SQL':>6}"
    print(f"\n=== server time per request ({args.n:,} instances, load average {load_average()}) ===")
    print(header)
    print("-" * len(header))
    for label, client, url in pages:
        latencies, statements, failed = measure(app, client, url, args.calls)
        errors += failed
        print(f"{label:<34}{percentile(latencies, 50):>9.1f}{percentile(latencies, 95):>9.1f}"
              f"{max(latencies) * 1000:>9.1f}{statements:>6}")
    for error in errors:
        print(f"ERROR {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
