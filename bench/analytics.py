"""Benchmark: process analytics over a million activity instances on PostgreSQL.

The shipped Case SLA process (`bpmn/sla/case_sla.bpmn`) is deployed; a seed of cases is written first (the
tests' scenario, `tests/api/analytics_data.py`: twelve cases resolved, closed without a reply, cancelled or
still open, with human tasks, SLA due dates and escalation timers, about 120 activity rows), then multiplied
with SQL (one INSERT ... SELECT per table, `generate_series` copies shifted in time, new ids) until the
activity rows reach N. Then each analytics call is made `--calls` times (after 2 untimed) through the Flask
test client, as an admin, and its server time reported as p50 and p95:

  heat map, heat map over the last 30 days, heat map of VIP- business keys, bottlenecks, gateway branches,
  durations (every version), event log CSV and XES (the first 1,000 instances, read to the end)

then `--leads` Leads (one a minute back from now) with their timelines (4 to 11 touchpoints each, a quarter
converted, a fifth lost; the Leads conversion goal set) and Path Finder (whole period, repeats collapsed,
the last 30 days) and the funnel over them

with the bytes per activity instance (the table with its indexes, and the table alone). It prints figures
only; the exit status is 1 if a call did not answer 200.

    python bench/analytics.py [-n 1000000] [--calls 10] [--postgres-url postgresql://...] [--explain]

**Warning:** it drops and recreates the `public` schema of the database it is given.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from common import load_average, percentile, reset_postgres, sqlalchemy_url  # noqa: E402
from console import Api, api_token, make_app  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/stagecoach_bench_analytics"
KEY = "case_sla"
WARM_UP = 2

# Copy c of every seed row: new ids (md5 of the old one and c), times c hours earlier, business keys numbered.
INSTANCES = """
INSERT INTO process_instance (id, definition_id, process_key, business_key, status, variables, state, state_version,
                              started_by, record_module, subscribed, started_at, ended_at, end_element_id,
                              updated_at, lock_version)
SELECT md5(p.id || ':' || c), p.definition_id, p.process_key, split_part(p.business_key, '-', 1) || '-' || c || '-'
       || split_part(p.business_key, '-', 2), p.status, '{}', '{}', p.state_version, p.started_by, p.record_module,
       false, p.started_at - c * interval '1 hour', p.ended_at - c * interval '1 hour', p.end_element_id,
       p.updated_at, 1
FROM process_instance p CROSS JOIN generate_series(1, :copies) AS c
"""
TASKS = """
INSERT INTO human_task (id, instance_id, definition_id, process_key, element_id, name, assignee, candidate_users,
                        candidate_groups, state, created_at, due_at, completed_at, completed_by)
SELECT md5(t.id || ':' || c)::uuid::text, md5(t.instance_id || ':' || c), t.definition_id, t.process_key,
       t.element_id, t.name, t.assignee, t.candidate_users, t.candidate_groups, t.state,
       t.created_at - c * interval '1 hour', t.due_at - c * interval '1 hour',
       t.completed_at - c * interval '1 hour', t.completed_by
FROM human_task t CROSS JOIN generate_series(1, :copies) AS c
"""
ACTIVITIES = """
INSERT INTO activity_instance (instance_id, definition_id, process_key, task_id, element_id, element_name,
                               element_type, from_element_id, from_flow_id, started_at, claimed_at, ended_at,
                               duration_ms, state, actor, outcome)
SELECT md5(a.instance_id || ':' || c), a.definition_id, a.process_key,
       CASE WHEN a.task_id IS NOT NULL THEN md5(a.task_id || ':' || c)::uuid::text END, a.element_id,
       a.element_name, a.element_type, a.from_element_id, a.from_flow_id, a.started_at - c * interval '1 hour',
       a.claimed_at - c * interval '1 hour', a.ended_at - c * interval '1 hour', a.duration_ms, a.state, a.actor,
       a.outcome
FROM activity_instance a CROSS JOIN generate_series(1, :copies) AS c
ORDER BY c, a.id
"""


# Path Finder's rows: Leads created one a minute back from now, each with a `created` entry, 4 to 11
# touchpoints an hour or more apart (five kinds, two named), and for one in four a conversion (an `updated`
# entry setting lead_status), one in five lost; the rest stay open or idle.
LEADS = """
INSERT INTO crm_record (id, module, data, owner, created_by, created_at, modified_by, modified_at, version)
SELECT md5('lead' || r), 'Leads', json_build_object('last_name', 'Lead ' || r), 'rep' || (r % 20), 'bench',
       now() - r * interval '1 minute', 'bench', now() - r * interval '1 minute', 1
FROM generate_series(1, :records) AS r
"""
TIMELINE = """
INSERT INTO crm_record_event (record_id, module, type, at, "user", data, node)
SELECT record_id, 'Leads', type, at, 'bench', data, node FROM (
  SELECT md5('lead' || r) AS record_id, r, 0 AS k, 'created' AS type, now() - r * interval '1 minute' AS at,
         json_build_object('fields', json_build_object('last_name', 'Lead ' || r)) AS data, NULL AS node
  FROM generate_series(1, :records) AS r
  UNION ALL
  SELECT md5('lead' || r), r, k, t.type, now() - r * interval '1 minute' + k * interval '61 minutes',
         CASE WHEN t.name IS NULL THEN json_build_object('touchpoint', true)
              ELSE json_build_object('touchpoint', true, 'name', t.name) END,
         t.type || COALESCE(': ' || t.name, '')  -- the node the server writes with the entry
  FROM generate_series(1, :records) AS r CROSS JOIN generate_series(1, 11) AS k
  CROSS JOIN LATERAL (SELECT (ARRAY['email_opened', 'email_clicked', 'call_logged', 'meeting_logged',
                                    'form_submitted'])[1 + (r * 7 + k * 3) % 5] AS type,
                             (ARRAY[NULL, NULL, NULL, 'Demo', 'Pricing'])[1 + (r * 7 + k * 3) % 5] AS name) AS t
  WHERE k <= 4 + r % 8
  UNION ALL
  SELECT md5('lead' || r), r, 20, 'updated', now() - r * interval '1 minute' + 13 * interval '61 minutes',
         json_build_object('changes', json_build_object('lead_status',
                           json_build_array(NULL, CASE WHEN r % 4 = 0 THEN 'Converted' ELSE 'Lost' END))), NULL
  FROM generate_series(1, :records) AS r WHERE r % 4 = 0 OR r % 5 = 0
) AS rows ORDER BY r, k
"""


def write_leads(app, records: int) -> tuple[int, float]:
    """Leads and their timelines for Path Finder and the funnel, with Leads' conversion goal; (rows, seconds)."""
    from app.extensions import db
    from app.services.conversion_goals import set_goal
    from app.services.core import SYSTEM

    t0 = time.perf_counter()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(LEADS), {"records": records})
        conn.execute(text(TIMELINE), {"records": records})
    with app.app_context():
        set_goal("Leads", {"field": "lead_status", "value": "Converted", "lost": ["Lost"]}, SYSTEM)
        db.session.remove()
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        rows = conn.execute(text("SELECT count(*) FROM crm_record_event WHERE module = 'Leads'")).scalar_one()
    return rows, time.perf_counter() - t0


def deploy(app, token: str) -> str:
    import io

    path = ROOT / "bpmn" / "sla" / "case_sla.bpmn"
    response = app.test_client().post("/api/v1/deployments", headers={"Authorization": f"Bearer {token}"},
                                      content_type="multipart/form-data",
                                      data={"files": [(io.BytesIO(path.read_bytes()), path.name)]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["definitions"][0]["id"]


class _Make:
    """The tests' factory calls the scenario writer makes, on this app."""

    def __init__(self, app):
        from tests.factories import Factories

        self._factories = Factories(app)

    def __getattr__(self, name):
        return getattr(self._factories, name)


def write(app, definition_id: str, n: int) -> tuple[int, float]:
    """The seed, then copies until about `n` activity rows; (rows, seconds)."""
    from app.extensions import db
    from tests.api import analytics_data as data

    t0 = time.perf_counter()
    data.write(_Make(app), definition_id, data.cases(dt.datetime.now(dt.timezone.utc)))
    with app.app_context(), db.engine.begin() as conn:
        seed = conn.execute(text("SELECT count(*) FROM activity_instance")).scalar_one()
        copies = max(0, round(n / seed) - 1)
        for statement in (INSTANCES, TASKS, ACTIVITIES):
            conn.execute(text(statement), {"copies": copies})
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        rows = conn.execute(text("SELECT count(*) FROM activity_instance")).scalar_one()
    return rows, time.perf_counter() - t0


def sizes(app) -> tuple[int, int, int]:
    from app.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT pg_total_relation_size('activity_instance'), pg_relation_size('activity_instance'), "
            "(SELECT count(*) FROM activity_instance)")).one())


def measure(client, url: str, calls: int) -> tuple[list[float], int, list[str]]:
    errors: list[str] = []
    size = 0
    for _ in range(WARM_UP):
        client.get(url).get_data()
    latencies = []
    for _ in range(calls):
        t0 = time.perf_counter()
        response = client.get(url)
        size = len(response.get_data())  # a streamed log: read to the end
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            errors.append(f"{url}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    return latencies, size, errors


def explain(app, definition_id: str) -> None:
    """Print the plans of the heat map's, the gateways' and the bottlenecks' statements."""
    from sqlalchemy import event

    from app.extensions import db
    from app.services import analytics
    from app.services.core import SYSTEM

    with app.app_context():
        statements = []

        def keep(conn, cursor, statement, parameters, context, executemany):
            if "activity_instance" in statement and not statement.startswith("EXPLAIN"):
                statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            analytics.heat_map(SYSTEM, definition_id=definition_id)
            analytics.gateway_branches(SYSTEM, definition_id=definition_id)
            analytics.bottlenecks(SYSTEM, definition_id=definition_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print("\n" + statement.split("\n")[0][:160])
                for (line,) in cursor.fetchall():
                    print("   ", line)
        finally:
            raw.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="activity instances written (default 1,000,000)")
    parser.add_argument("--calls", type=int, default=10, help="timed calls per analytics call (default 10)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_ANALYTICS_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--explain", action="store_true", help="print the plans of the per-element statements")
    parser.add_argument("--leads", type=int, default=50_000,
                        help="Leads written for Path Finder and the funnel (default 50,000, the most one answer "
                             "covers; 0: none)")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    print(f"Stagecoach analytics benchmark: about {args.n:,} activity instances of {KEY} on PostgreSQL, "
          f"{args.calls} calls each (+{WARM_UP} untimed) through the Flask test client")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_average()}")
    reset_postgres(args.postgres_url)
    app = make_app(sqlalchemy_url(args.postgres_url))
    token = api_token(app)
    definition_id = deploy(app, token)
    rows, seconds = write(app, definition_id, args.n)
    total, table, count = sizes(app)
    print(f"\nwritten {rows:,} activity instances in {seconds:.1f} s (with VACUUM ANALYZE); "
          f"{total / count:.0f} bytes per activity instance with its indexes, {table / count:.0f} without")
    if args.explain:
        explain(app, definition_id)

    api = Api(app, token)
    base = f"/api/v1/analytics/%s?definition_id={definition_id}"
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    calls = [
        ("heat map", base % "heat-map"),
        ("heat map, last 30 days", base % "heat-map" + f"&started_from={since}"),
        ("heat map, business keys VIP-", base % "heat-map" + "&business_key_prefix=VIP-"),
        ("bottlenecks", base % "bottlenecks"),
        ("gateway branches", base % "gateways"),
        ("durations (every version)", f"/api/v1/analytics/durations?key={KEY}"),
        ("event log CSV (1,000 instances)", f"/api/v1/analytics/event-log?key={KEY}&format=csv&limit=1000"),
        ("event log XES (1,000 instances)", f"/api/v1/analytics/event-log?key={KEY}&format=xes&limit=1000"),
    ]
    errors: list[str] = []
    header = f"{'call':<36}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>11}"
    print(f"\n=== server time per call ({rows:,} activity instances, load average {load_average()}) ===")
    print(header)
    print("-" * len(header))
    for label, url in calls:
        latencies, size, failed = measure(api, url, args.calls)
        errors += failed
        print(f"{label:<36}{percentile(latencies, 50):>9.1f}{percentile(latencies, 95):>9.1f}{size:>11,}")
    if args.leads:
        rows, seconds = write_leads(app, args.leads)
        print(f"\nwritten {args.leads:,} Leads with {rows:,} timeline entries in {seconds:.1f} s (with VACUUM ANALYZE)")
        days = args.leads / 1440  # one lead a minute: the period holding them all, and its last 30 days
        start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        window = f"from={start}&to={end}"
        print(header)
        print("-" * len(header))
        for label, url in [
                (f"Path Finder ({args.leads:,} leads)", f"/api/v1/modules/Leads/path-finder?{window}"),
                ("Path Finder, repeats collapsed", f"/api/v1/modules/Leads/path-finder?{window}&collapse=true"),
                ("Path Finder, last 30 days", f"/api/v1/modules/Leads/path-finder?from={since}&to={end}"),
                (f"funnel ({args.leads:,} leads)", f"/api/v1/modules/Leads/funnel?{window}")]:
            latencies, size, failed = measure(api, url, args.calls)
            errors += failed
            print(f"{label:<36}{percentile(latencies, 50):>9.1f}{percentile(latencies, 95):>9.1f}{size:>11,}")
    for error in errors:
        print(f"ERROR {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
