"""Benchmark: the inbox and the instance lists on a large PostgreSQL database.

Builds a fresh database (`--postgres-url`, default postgresql://postgres@127.0.0.1:5432/stagecoach_bench)
with the real schema, one real deployed definition and a few real instances through the API, then
multiplies rows with SQL (generate_series) keeping the invariants the server keeps:

  --instances N (default 1,000,000)   10 % running, each with one open task; the rest completed, each
                                       with one completed task (no candidate rows: the server drops a
                                       task's candidate rows when it closes)
  users 2,000 in 50 groups            open tasks offered to a group (round robin), one in ten also to a
                                       user, one in five assigned
  history                              as steps write it: an activity row per element passed (five for a
                                       completed instance, two for a running one), and the start, task
                                       completions and end as history rows

A synthetic running instance carries the state of the real running one (as a step writes it), a
completed one none (''), as the server leaves an instance that ended. Then, through the whole app (Flask
test client: authentication, schemas, services, SQL; no network), it times `--repeat` calls of each:

  inbox mine          GET /api/v1/tasks?mine=true as a user of one group
  inbox group         GET /api/v1/tasks?candidate_group=<their group>
  tasks               GET /api/v1/tasks as the user (every open task they may read); Camunda's task list
                      sorted by priority, by name and by name in any case at row `--depth` / 2 (as admin)
  instances first     GET /api/v1/process-instances (admin), first page
  instances deep      the page at row `--depth` by page number (OFFSET) and by cursor (after=)
  instances by key    GET /api/v1/process-instances?key=...&status=running
  my instances        GET /api/v1/process-instances as the user (the per-object read rule)
  one instance        GET /api/v1/process-instances/{id} and its history
  camunda lists       /engine-rest: the runtime instances, the historic instances, tasks and activity
                      instances at row `--depth` (firstResult), a user's task history, activity instances
                      of one type (activityType=userTask)
  other lists         Camunda's task list by assignee, candidate group and user, definition key, sorted by
                      created, dueDate and followUpDate; the counts (/task, /process-instance, /history/*);
                      runtime instances by business key (LIKE), variable, key; historic instances by business key,
                      starter, finished or not; incidents, external tasks, historic variables, definitions,
                      deployments; the native API's tasks, instances, incidents, jobs, outbox, users, groups,
                      statistics; the console's My Jobs tabs, instance monitor, processes, incidents, job queue,
                      users (a logged-in session). As admin and as the user where both apply, first and deep pages
  commands            start an instance, complete a task, deliver a message by business key (each timed
                      call on its own real instance among the million)

and prints p50/p95 ms per call and bytes per instance per table. Figures only; it asserts nothing.

    python bench/scale.py [--instances 1000000] [--repeat 30] [--depth 200000] [--postgres-url ...] [--reuse]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import text

from common import load_average, percentile, reset_postgres, sqlalchemy_url
from records import make_app

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "tests" / "fixtures" / "bpmn" / "valid" / "three_tasks.bpmn"
REPLY_DIAGRAM = ROOT / "tests" / "fixtures" / "bpmn" / "events" / "wait_for_reply.bpmn"
GROUPS, USERS = 50, 2000


class Client:
    def __init__(self, app, username: str, password: str):
        self.client = app.test_client()
        r = self.client.post("/api/v1/auth/token", json={"username": username, "password": password})
        if r.status_code != 200:
            raise RuntimeError(f"token for {username}: {r.status_code} {r.get_json()}")
        self.headers = {"Authorization": f"Bearer {r.get_json()['token']}"}

    def get(self, url: str) -> dict:
        r = self.client.get(url, headers=self.headers)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
        return r.get_json()

    def post(self, url: str, **kw) -> dict:
        r = self.client.post(url, headers=self.headers, **kw)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"POST {url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
        return r.get_json()


class Console:
    """A console session (cookie and CSRF token), logged in as a browser does; `get` fetches a page."""

    def __init__(self, app, username: str, password: str):
        import re
        self.client = app.test_client()
        page = self.client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = self.client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})
        if r.status_code != 302:
            raise RuntimeError(f"console login for {username}: {r.status_code}")

    def get(self, url: str) -> str:
        r = self.client.get(url)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
        return r.get_data(as_text=True)


def build(app, url: str, instances: int) -> dict:
    """A real definition and a few real instances, then the bulk rows; returns what the timings need."""
    from records import ADMIN_PASSWORD
    admin = Client(app, "admin", ADMIN_PASSWORD)
    admin.post("/api/v1/deployments", content_type="multipart/form-data",
               data={"files": [(DIAGRAM.open("rb"), DIAGRAM.name)]})
    real = admin.post("/api/v1/process-definitions/key/three_tasks/start", json={"variables": {}})
    from app.extensions import db
    started = time.perf_counter()
    running = instances // 10
    with app.app_context():
        conn = db.session.connection()
        definition_id, password_hash = conn.execute(text(
            "SELECT d.id, u.password_hash FROM process_definition d, app_user u "
            "WHERE d.key = 'three_tasks' AND u.username = 'admin'")).one()
        params = {"n": instances, "running": running, "def": definition_id, "hash": password_hash,
                  "real": real["id"],
                  "groups": GROUPS, "users": USERS}
        conn.execute(text("INSERT INTO app_group (id, name) SELECT md5('g' || g), 'g' || lpad(g::text, 2, '0') "
                          "FROM generate_series(0, :groups - 1) g"), params)
        conn.execute(text(
            "INSERT INTO app_user (id, username, password_hash, is_admin, created_at, disabled, token_version) "
            "SELECT md5('u' || u), 'u' || lpad(u::text, 4, '0'), :hash, false, now(), false, 0 "
            "FROM generate_series(0, :users - 1) u"), params)
        conn.execute(text(
            "INSERT INTO user_group (user_id, group_id) SELECT md5('u' || u), md5('g' || (u % :groups)) "
            "FROM generate_series(0, :users - 1) u"), params)
        conn.execute(text(
            "INSERT INTO process_instance (id, definition_id, process_key, business_key, status, variables, state, "
            "state_version, started_by, subscribed, started_at, ended_at, updated_at, lock_version) "
            "SELECT md5('i' || i), :def, 'three_tasks', 'BK-' || i, "
            "CASE WHEN i % 10 = 0 THEN 'running' ELSE 'completed' END, '{}', "
            "CASE WHEN i % 10 = 0 THEN (SELECT state FROM process_instance WHERE id = :real) ELSE '' END, 1, "
            "'u' || lpad((i % :users)::text, 4, '0'), false, now() - make_interval(secs => :n - i), "
            "CASE WHEN i % 10 = 0 THEN NULL ELSE now() - make_interval(secs => :n - i) + interval '1 hour' END, "
            "now(), 1 FROM generate_series(1, :n) i"), params)
        conn.execute(text(
            "INSERT INTO human_task (id, instance_id, definition_id, process_key, element_id, name, assignee, "
            "candidate_users, candidate_groups, state, created_at, priority, completed_at, completed_by) "
            "SELECT md5('t' || i), md5('i' || i), :def, 'three_tasks', 'task_a', 'Task A', "
            "CASE WHEN i % 10 <> 0 OR i % 50 = 0 THEN 'u' || lpad((i % :users)::text, 4, '0') END, "
            "CASE WHEN i % 100 = 0 THEN json_build_array('u' || lpad(((i / 7) % :users)::text, 4, '0')) "
            "     ELSE '[]'::json END, "
            "json_build_array('g' || lpad(((i / 10) % :groups)::text, 2, '0')), "
            "CASE WHEN i % 10 = 0 THEN 'open' ELSE 'completed' END, now() - make_interval(secs => :n - i), 50, "
            "CASE WHEN i % 10 = 0 THEN NULL ELSE now() END, "
            "CASE WHEN i % 10 = 0 THEN NULL ELSE 'u' || lpad((i % :users)::text, 4, '0') END "
            "FROM generate_series(1, :n) i"), params)
        conn.execute(text(
            "INSERT INTO task_candidate (task_id, instance_id, kind, name) "
            "SELECT md5('t' || i), md5('i' || i), 'group', 'g' || lpad(((i / 10) % :groups)::text, 2, '0') "
            "FROM generate_series(10, :n, 10) i UNION ALL "
            "SELECT md5('t' || i), md5('i' || i), 'user', 'u' || lpad(((i / 7) % :users)::text, 4, '0') "
            "FROM generate_series(100, :n, 100) i"), params)
        # Their history as a step writes it: an activity row per element passed (start, a, b, c, end: the
        # running ones are at task_a), the start, the task completions and the end as history rows.
        conn.execute(text(
            "INSERT INTO activity_instance (instance_id, definition_id, process_key, task_id, element_id, "
            "element_name, element_type, from_element_id, from_flow_id, started_at, claimed_at, ended_at, "
            "duration_ms, state, actor) "
            "SELECT md5('i' || i), :def, 'three_tasks', "
            "CASE WHEN e.ord BETWEEN 2 AND 4 THEN md5('t' || i || e.ord)::uuid::text END, e.element_id, e.name, "
            "e.type, e.from_id, e.flow_id, now() - make_interval(secs => :n - i) + (e.ord - 1) * interval '15 minutes', "
            "NULL, CASE WHEN i % 10 = 0 AND e.ord = 2 THEN NULL "
            "ELSE now() - make_interval(secs => :n - i) + (e.ord - 1) * interval '15 minutes' "
            "+ CASE WHEN e.ord BETWEEN 2 AND 4 THEN interval '15 minutes' ELSE interval '0' END END, "
            "CASE WHEN i % 10 = 0 AND e.ord = 2 THEN NULL WHEN e.ord BETWEEN 2 AND 4 THEN 900000 ELSE 0 END, "
            "CASE WHEN i % 10 = 0 AND e.ord = 2 THEN 'active' ELSE 'completed' END, "
            "CASE WHEN e.ord BETWEEN 2 AND 4 AND NOT (i % 10 = 0 AND e.ord = 2) "
            "     THEN 'u' || lpad((i % :users)::text, 4, '0') END "
            "FROM generate_series(1, :n) i CROSS JOIN (VALUES "
            "(1, 'start', 'Start', 'StartEvent', NULL, NULL), (2, 'task_a', 'Task A', 'UserTask', 'start', 'flow_start_to_a'), "
            "(3, 'task_b', 'Task B', 'UserTask', 'task_a', 'flow_a_to_b'), "
            "(4, 'task_c', 'Task C', 'UserTask', 'task_b', 'flow_b_to_c'), (5, 'end', 'Done', 'EndEvent', 'task_c', 'flow_c_to_end')"
            ") AS e(ord, element_id, name, type, from_id, flow_id) "
            "WHERE i % 10 <> 0 OR e.ord <= 2 ORDER BY i, e.ord"), params)
        conn.execute(text(
            "INSERT INTO history_event (instance_id, type, at, element_id, element_name, element_type, \"user\", data) "
            "SELECT md5('i' || i), k.type, now() - make_interval(secs => :n - i) + k.ord * interval '15 minutes', "
            "k.element_id, k.name, k.etype, 'u' || lpad((i % :users)::text, 4, '0'), "
            "CASE WHEN k.type = 'status_changed' THEN '{\"from\": \"running\", \"to\": \"completed\"}'::json "
            "     WHEN k.type = 'task_completed' THEN '{\"note\": \"ok\"}'::json END "
            "FROM generate_series(1, :n) i CROSS JOIN (VALUES (0, 'instance_started', NULL, NULL, NULL), "
            "(1, 'task_completed', 'task_a', 'Task A', 'UserTask'), (2, 'task_completed', 'task_b', 'Task B', 'UserTask'), "
            "(3, 'task_completed', 'task_c', 'Task C', 'UserTask'), (4, 'status_changed', NULL, NULL, NULL)"
            ") AS k(ord, type, element_id, name, etype) "
            "WHERE i % 10 <> 0 OR k.ord = 0 ORDER BY i, k.ord"), params)
        conn.execute(text(
            "UPDATE process_instance SET end_element_id = 'end' WHERE status = 'completed'"))
        db.session.commit()
        db.session.remove()
        # What autovacuum does to a database that grew over months: statistics and the visibility map (without
        # it an index-only scan reads every row it finds, and autovacuum would run in the middle of the timings)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    print(f"  built {instances:,} instances ({running:,} running, {running:,} open tasks), {USERS:,} users in "
          f"{GROUPS} groups in {time.perf_counter() - started:.1f} s")
    return {"admin": admin, "real": real["id"]}


def reused(app) -> dict:
    """What `build` returns, from a database it built: the admin's client and the real running instance."""
    from app.extensions import db
    from records import ADMIN_PASSWORD
    with app.app_context():
        real = db.session.execute(text("SELECT id FROM process_instance WHERE started_by = 'admin' "
                                       "AND process_key = 'three_tasks' ORDER BY started_at LIMIT 1")).scalar_one()
        db.session.remove()
    return {"admin": Client(app, "admin", ADMIN_PASSWORD), "real": real}


def timed(call, repeat: int) -> tuple[float, float]:
    call()  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return percentile(times, 50), percentile(times, 95)


def sizes(app, instances: int) -> list[tuple[str, float]]:
    from app.extensions import db
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC")).all()
        db.session.remove()
    return [(name, size / instances) for name, size in rows if size > 64 * 1024]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--depth", type=int, default=200_000)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/stagecoach_bench")
    parser.add_argument("--reuse", action="store_true",
                        help="time the database an earlier run built (same --instances) instead of building it anew")
    parser.add_argument("--only", default="",
                        help="time only the calls whose name holds one of these comma-separated words (any case)")
    args = parser.parse_args()
    url = sqlalchemy_url(args.postgres_url)
    if args.reuse:
        app = make_app(url)
        built = reused(app)
    else:
        reset_postgres(url)
        app = make_app(url)
        built = build(app, url, args.instances)
    admin = built["admin"]
    from records import ADMIN_PASSWORD  # noqa: F401 - the users share the admin's password
    user = Client(app, "u0001", ADMIN_PASSWORD)
    depth = min(args.depth, args.instances - 20)
    deep_page = depth // 20 + 1
    from app.extensions import db
    from app.services.core.pagination import encode_cursor
    with app.app_context():
        row = db.session.execute(text(
            "SELECT started_at, id FROM process_instance ORDER BY started_at DESC, id DESC OFFSET :d LIMIT 1"),
            {"d": depth - 1}).one()
        db.session.remove()
    cursor = encode_cursor([row.started_at, row.id])
    # Commands on real instances among the million: each timed call acts on its own instance.
    admin.post("/api/v1/deployments", content_type="multipart/form-data",
               data={"files": [(REPLY_DIAGRAM.open("rb"), REPLY_DIAGRAM.name)]})
    waiting = [f"REPLY-{n}-{time.time_ns()}" for n in range(args.repeat + 1)]
    for key in waiting:
        admin.post("/api/v1/process-definitions/key/wait_for_reply/start", json={"variables": {}, "business_key": key})
    working = [admin.post("/api/v1/process-definitions/key/three_tasks/start", json={"variables": {}})["tasks"][0]["id"]
               for _ in range(args.repeat + 1)]
    replies, tasks = iter(waiting), iter(working)
    from urllib.parse import quote
    with app.app_context():
        window = db.session.execute(text(
            "SELECT started_at FROM process_instance WHERE business_key IN ('BK-500000', 'BK-503600') "
            "ORDER BY started_at")).scalars().all()
        definition_id = db.session.execute(text(
            "SELECT id FROM process_definition WHERE key = 'three_tasks' ORDER BY version LIMIT 1")).scalar_one()
        db.session.remove()
    started_after, started_before = (quote(moment.isoformat()) for moment in window)  # an hour: 3,600 instances
    task_depth = depth // 2  # open tasks are a tenth of the instances
    console_user, console_admin = Console(app, "u0001", ADMIN_PASSWORD), Console(app, "admin", ADMIN_PASSWORD)
    calls = [
        ("inbox mine (user)", lambda: user.get("/api/v1/tasks?mine=true")),
        ("inbox candidate_group", lambda: user.get("/api/v1/tasks?candidate_group=g01")),
        ("inbox mine exact total", lambda: user.get("/api/v1/tasks?mine=true&exact=true")),
        ("tasks a user may read", lambda: user.get("/api/v1/tasks")),
        (f"camunda tasks by priority, row {depth // 2}",
         lambda: admin.get(f"/engine-rest/task?sortBy=priority&sortOrder=desc&firstResult={depth // 2}&maxResults=20")),
        (f"camunda tasks by name, row {depth // 2}",
         lambda: admin.get(f"/engine-rest/task?sortBy=name&sortOrder=asc&firstResult={depth // 2}&maxResults=20")),
        (f"camunda tasks by name (any case), row {depth // 2}",
         lambda: admin.get(f"/engine-rest/task?sortBy=nameCaseInsensitive&sortOrder=desc"
                           f"&firstResult={depth // 2}&maxResults=20")),
        ("instances first page", lambda: admin.get("/api/v1/process-instances")),
        (f"instances page {deep_page} (offset)", lambda: admin.get(f"/api/v1/process-instances?page={deep_page}")),
        (f"instances row {depth} (cursor)", lambda: admin.get(f"/api/v1/process-instances?after={cursor}")),
        ("instances by key, running", lambda: admin.get("/api/v1/process-instances?key=three_tasks&status=running")),
        ("instances exact total", lambda: admin.get("/api/v1/process-instances?exact=true")),
        ("my instances (user)", lambda: user.get("/api/v1/process-instances")),
        ("one instance", lambda: admin.get(f"/api/v1/process-instances/{built['real']}")),
        ("its history", lambda: admin.get(f"/api/v1/process-instances/{built['real']}/history")),
        (f"camunda runtime list, row {depth}",
         lambda: admin.get(f"/engine-rest/process-instance?firstResult={depth}&maxResults=20")),
        (f"camunda history instances, row {depth}",
         lambda: admin.get(f"/engine-rest/history/process-instance?firstResult={depth}&maxResults=20")),
        (f"camunda history tasks, row {depth}",
         lambda: admin.get(f"/engine-rest/history/task?firstResult={depth}&maxResults=20")),
        (f"camunda activity instances, row {depth}",
         lambda: admin.get(f"/engine-rest/history/activity-instance?firstResult={depth}&maxResults=20")),
        ("camunda activity instances by type",
         lambda: admin.get("/engine-rest/history/activity-instance?activityType=userTask&maxResults=20")),
        ("camunda history tasks (user)", lambda: user.get("/engine-rest/history/task?maxResults=20")),
        # -- lists not timed above: Camunda's task list by its filters and sorts, and the counts
        ("camunda tasks by assignee", lambda: admin.get("/engine-rest/task?assignee=u0050&maxResults=20")),
        ("camunda tasks by assignee (user, own)", lambda: user.get("/engine-rest/task?assignee=u0001&maxResults=20")),
        ("camunda tasks by candidateGroup", lambda: admin.get("/engine-rest/task?candidateGroup=g01&maxResults=20")),
        ("camunda tasks by candidateGroup, row 1000",
         lambda: admin.get("/engine-rest/task?candidateGroup=g01&firstResult=1000&maxResults=20")),
        ("camunda tasks by candidateGroup (user)", lambda: user.get("/engine-rest/task?candidateGroup=g01&maxResults=20")),
        ("camunda tasks by candidateGroup (user), row 1000",
         lambda: user.get("/engine-rest/task?candidateGroup=g01&firstResult=1000&maxResults=20")),
        ("camunda tasks by candidateUser", lambda: admin.get("/engine-rest/task?candidateUser=u0001&maxResults=20")),
        ("camunda tasks by candidateUser, row 1000",
         lambda: admin.get("/engine-rest/task?candidateUser=u0001&firstResult=1000&maxResults=20")),
        ("camunda tasks by candidateUser (user)", lambda: user.get("/engine-rest/task?candidateUser=u0001&maxResults=20")),
        ("camunda tasks by definition key", lambda: admin.get("/engine-rest/task?processDefinitionKey=three_tasks&maxResults=20")),
        (f"camunda tasks by definition key, row {task_depth}",
         lambda: admin.get(f"/engine-rest/task?processDefinitionKey=three_tasks&firstResult={task_depth}&maxResults=20")),
        ("camunda tasks by definition key (user)",
         lambda: user.get("/engine-rest/task?processDefinitionKey=three_tasks&maxResults=20")),
        ("camunda tasks by created", lambda: admin.get("/engine-rest/task?sortBy=created&sortOrder=desc&maxResults=20")),
        (f"camunda tasks by created, row {task_depth}",
         lambda: admin.get(f"/engine-rest/task?sortBy=created&sortOrder=desc&firstResult={task_depth}&maxResults=20")),
        ("camunda tasks by created (user)", lambda: user.get("/engine-rest/task?sortBy=created&sortOrder=desc&maxResults=20")),
        ("camunda tasks by dueDate", lambda: admin.get("/engine-rest/task?sortBy=dueDate&sortOrder=asc&maxResults=20")),
        (f"camunda tasks by dueDate, row {task_depth}",
         lambda: admin.get(f"/engine-rest/task?sortBy=dueDate&sortOrder=asc&firstResult={task_depth}&maxResults=20")),
        ("camunda tasks by followUpDate", lambda: admin.get("/engine-rest/task?sortBy=followUpDate&sortOrder=desc&maxResults=20")),
        (f"camunda tasks by followUpDate, row {task_depth}",
         lambda: admin.get(f"/engine-rest/task?sortBy=followUpDate&sortOrder=desc&firstResult={task_depth}&maxResults=20")),
        ("camunda tasks, first page (user)", lambda: user.get("/engine-rest/task?maxResults=20")),
        ("camunda task count", lambda: admin.get("/engine-rest/task/count")),
        ("camunda task count (user)", lambda: user.get("/engine-rest/task/count")),
        ("camunda task count by candidateGroup (user)", lambda: user.get("/engine-rest/task/count?candidateGroup=g01")),
        ("camunda runtime list (user)", lambda: user.get("/engine-rest/process-instance?maxResults=20")),
        ("camunda runtime by businessKey", lambda: admin.get("/engine-rest/process-instance?businessKey=BK-500000")),
        ("camunda runtime by businessKeyLike prefix",
         lambda: admin.get("/engine-rest/process-instance?businessKeyLike=BK-12345%25&maxResults=20")),
        ("camunda runtime by businessKeyLike suffix",
         lambda: admin.get("/engine-rest/process-instance?businessKeyLike=%25000&maxResults=20")),
        ("camunda runtime by businessKeyLike (user)",
         lambda: user.get("/engine-rest/process-instance?businessKeyLike=BK-12345%25&maxResults=20")),
        ("camunda runtime by variable", lambda: admin.get("/engine-rest/process-instance?variables=amount_gt_100&maxResults=20")),
        ("camunda runtime by variable (user)",
         lambda: user.get("/engine-rest/process-instance?variables=amount_gt_100&maxResults=20")),
        ("camunda runtime by definition key",
         lambda: admin.get("/engine-rest/process-instance?processDefinitionKey=three_tasks&maxResults=20")),
        ("camunda runtime count", lambda: admin.get("/engine-rest/process-instance/count")),
        ("camunda runtime count (user)", lambda: user.get("/engine-rest/process-instance/count")),
        ("camunda history instances, first page (user)", lambda: user.get("/engine-rest/history/process-instance?maxResults=20")),
        ("camunda history instances by businessKeyLike",
         lambda: admin.get("/engine-rest/history/process-instance?processInstanceBusinessKeyLike=BK-12345%25&maxResults=20")),
        ("camunda history instances by business key",
         lambda: admin.get("/engine-rest/history/process-instance?processInstanceBusinessKey=BK-500001")),
        ("camunda history instances by startedBy",
         lambda: admin.get("/engine-rest/history/process-instance?startedBy=u0001&maxResults=20")),
        (f"camunda history instances finished, row {depth}",
         lambda: admin.get(f"/engine-rest/history/process-instance?finished=true&firstResult={depth}&maxResults=20")),
        (f"camunda history instances unfinished, row {task_depth}",
         lambda: admin.get(f"/engine-rest/history/process-instance?unfinished=true&firstResult={task_depth}&maxResults=20")),
        ("camunda history instance count", lambda: admin.get("/engine-rest/history/process-instance/count")),
        ("camunda history instance count (user)", lambda: user.get("/engine-rest/history/process-instance/count")),
        ("camunda history instance count, finished",
         lambda: admin.get("/engine-rest/history/process-instance/count?finished=true")),
        ("camunda history tasks by business key",
         lambda: admin.get("/engine-rest/history/task?processInstanceBusinessKey=BK-500001")),
        ("camunda history tasks by assignee", lambda: admin.get("/engine-rest/history/task?taskAssignee=u0050&maxResults=20")),
        (f"camunda history tasks by definition key, row {depth}",
         lambda: admin.get(f"/engine-rest/history/task?processDefinitionKey=three_tasks&firstResult={depth}&maxResults=20")),
        (f"camunda history tasks finished, row {depth}",
         lambda: admin.get(f"/engine-rest/history/task?finished=true&firstResult={depth}&maxResults=20")),
        ("camunda history tasks unfinished", lambda: admin.get("/engine-rest/history/task?unfinished=true&maxResults=20")),
        ("camunda history task count", lambda: admin.get("/engine-rest/history/task/count")),
        ("camunda history task count (user)", lambda: user.get("/engine-rest/history/task/count")),
        ("camunda activity instances (user)", lambda: user.get("/engine-rest/history/activity-instance?maxResults=20")),
        (f"camunda activity instances by activityId, row {depth}",
         lambda: admin.get(f"/engine-rest/history/activity-instance?activityId=task_b&firstResult={depth}&maxResults=20")),
        ("camunda activity instances unfinished",
         lambda: admin.get("/engine-rest/history/activity-instance?unfinished=true&maxResults=20")),
        ("camunda activity instance count", lambda: admin.get("/engine-rest/history/activity-instance/count")),
        ("camunda activity instance count (user)", lambda: user.get("/engine-rest/history/activity-instance/count")),
        ("camunda activity instance count by type",
         lambda: admin.get("/engine-rest/history/activity-instance/count?activityType=userTask")),
        ("camunda incidents", lambda: admin.get("/engine-rest/incident?maxResults=20")),
        ("camunda incidents (user)", lambda: user.get("/engine-rest/incident?maxResults=20")),
        ("camunda incident count", lambda: admin.get("/engine-rest/incident/count")),
        ("camunda external tasks", lambda: admin.get("/engine-rest/external-task?maxResults=20")),
        ("camunda external task count", lambda: admin.get("/engine-rest/external-task/count")),
        ("camunda historic variables", lambda: admin.get("/engine-rest/history/variable-instance?maxResults=20")),
        ("camunda historic variables (user)", lambda: user.get("/engine-rest/history/variable-instance?maxResults=20")),
        ("camunda historic variable count", lambda: admin.get("/engine-rest/history/variable-instance/count")),
        ("camunda historic variables of one instance",
         lambda: admin.get(f"/engine-rest/history/variable-instance?processInstanceId={built['real']}")),
        ("camunda definitions", lambda: admin.get("/engine-rest/process-definition?maxResults=20")),
        ("camunda definitions, latest (user)", lambda: user.get("/engine-rest/process-definition?latestVersion=true")),
        ("camunda definition count", lambda: admin.get("/engine-rest/process-definition/count")),
        ("camunda deployments", lambda: admin.get("/engine-rest/deployment?maxResults=20")),
        ("camunda deployment count", lambda: admin.get("/engine-rest/deployment/count")),
        # -- the native API's other lists and filters
        ("tasks, first page (admin)", lambda: admin.get("/api/v1/tasks")),
        (f"tasks page {task_depth // 20 + 1} (admin)", lambda: admin.get(f"/api/v1/tasks?page={task_depth // 20 + 1}")),
        ("tasks page 51 (user)", lambda: user.get("/api/v1/tasks?page=51")),
        ("tasks by key", lambda: admin.get("/api/v1/tasks?key=three_tasks")),
        ("tasks by key (user)", lambda: user.get("/api/v1/tasks?key=three_tasks")),
        ("tasks by assignee", lambda: admin.get("/api/v1/tasks?assignee=u0050")),
        ("tasks by candidate_user (user, self)", lambda: user.get("/api/v1/tasks?candidate_user=u0001")),
        ("tasks by candidate_user", lambda: admin.get("/api/v1/tasks?candidate_user=u0001")),
        ("tasks by another group (user)", lambda: user.get("/api/v1/tasks?candidate_group=g02")),
        ("tasks by candidate_group, page 51", lambda: admin.get("/api/v1/tasks?candidate_group=g01&page=51")),
        ("tasks completed, first page", lambda: admin.get("/api/v1/tasks?state=completed")),
        (f"tasks completed, page {deep_page}", lambda: admin.get(f"/api/v1/tasks?state=completed&page={deep_page}")),
        ("tasks completed (user)", lambda: user.get("/api/v1/tasks?state=completed")),
        ("tasks of one instance", lambda: admin.get(f"/api/v1/tasks?process_instance_id={built['real']}")),
        ("instances by business key", lambda: admin.get("/api/v1/process-instances?business_key=BK-500000")),
        ("instances by business key (user)", lambda: user.get("/api/v1/process-instances?business_key=BK-500001")),
        ("instances completed", lambda: admin.get("/api/v1/process-instances?status=completed")),
        (f"instances completed, page {deep_page}",
         lambda: admin.get(f"/api/v1/process-instances?status=completed&page={deep_page}")),
        ("instances at an activity", lambda: admin.get("/api/v1/process-instances?activity=task_a")),
        (f"instances at an activity, page {task_depth // 20 + 1}",
         lambda: admin.get(f"/api/v1/process-instances?activity=task_a&page={task_depth // 20 + 1}")),
        ("instances started in an hour",
         lambda: admin.get(f"/api/v1/process-instances?started_after={started_after}&started_before={started_before}")),
        ("instances running (user)", lambda: user.get("/api/v1/process-instances?status=running")),
        ("incidents", lambda: admin.get("/api/v1/incidents")),
        ("incidents, all states", lambda: admin.get("/api/v1/incidents?state=all")),
        ("incidents (user)", lambda: user.get("/api/v1/incidents")),
        ("jobs", lambda: admin.get("/api/v1/jobs")),
        ("outbox", lambda: admin.get("/api/v1/outbox")),
        ("users", lambda: admin.get("/api/v1/users")),
        ("users page 50", lambda: admin.get("/api/v1/users?page=50")),
        ("users of a group", lambda: admin.get("/api/v1/users?group=g01")),
        ("groups", lambda: admin.get("/api/v1/groups")),
        ("definitions (user)", lambda: user.get("/api/v1/process-definitions")),
        ("definition statistics", lambda: admin.get(f"/api/v1/process-definitions/{definition_id}/statistics")),
        ("process statistics", lambda: admin.get("/api/v1/statistics/processes")),
        ("process statistics (user)", lambda: user.get("/api/v1/statistics/processes")),
        ("migrations", lambda: admin.get("/api/v1/migrations")),
        ("authorizations", lambda: admin.get("/api/v1/authorizations")),
        ("crm to-dos (user)", lambda: user.get("/api/v1/crm-tasks")),
        # -- the console's list pages, as a logged-in browser fetches them
        ("console my jobs (user)", lambda: console_user.get("/console/jobs")),
        ("console my groups (user)", lambda: console_user.get("/console/jobs?tab=groups")),
        ("console my groups page 51 (user)", lambda: console_user.get("/console/jobs?tab=groups&page=51")),
        ("console my groups by due (user)", lambda: console_user.get("/console/jobs?tab=groups&sort=due")),
        ("console my groups by priority (user)", lambda: console_user.get("/console/jobs?tab=groups&sort=priority")),
        ("console my groups, overdue (user)", lambda: console_user.get("/console/jobs?tab=groups&overdue=1")),
        ("console completed (user)", lambda: console_user.get("/console/jobs?tab=completed")),
        ("console job tabs (user)", lambda: console_user.get("/console/jobs/tabs")),
        ("console my jobs (admin)", lambda: console_admin.get("/console/jobs")),
        ("console instances", lambda: console_admin.get("/console/admin/instances")),
        (f"console instances page {depth // 25 + 1}",
         lambda: console_admin.get(f"/console/admin/instances?page={depth // 25 + 1}")),
        ("console instances running", lambda: console_admin.get("/console/admin/instances?key=three_tasks&status=running")),
        ("console instances completed", lambda: console_admin.get("/console/admin/instances?status=completed")),
        ("console instances at an activity", lambda: console_admin.get("/console/admin/instances?activity=task_a")),
        ("console processes", lambda: console_admin.get("/console/admin/processes")),
        ("console incidents", lambda: console_admin.get("/console/admin/incidents")),
        ("console job queue", lambda: console_admin.get("/console/admin/jobs")),
        ("console users", lambda: console_admin.get("/console/admin/users")),
        ("start an instance", lambda: admin.post("/api/v1/process-definitions/key/three_tasks/start",
                                                 json={"variables": {}})),
        ("complete a task", lambda: admin.post(f"/api/v1/tasks/{next(tasks)}/complete", json={"variables": {}})),
        ("deliver a message (business key)",
         lambda: admin.post("/api/v1/messages", json={"name": "reply", "business_key": next(replies)})),
    ]
    print(f"\n=== {args.instances:,} instances, {args.repeat} calls each, load average {load_average()} ===")
    print(f"{'call':40s} {'p50 ms':>8s} {'p95 ms':>8s}")
    from app.bootstrap import settle_heap
    settle_heap()  # as a served worker does once its app is loaded (gunicorn.conf.py)
    wanted = [word.strip().lower() for word in args.only.split(",") if word.strip()]
    for name, call in calls:
        if wanted and not any(word in name.lower() for word in wanted):
            continue
        p50, p95 = timed(call, args.repeat)
        print(f"{name:40s} {p50:8.1f} {p95:8.1f}")
    print("\nbytes per instance, per table (tables over 64 KB, indexes included):")
    per_table = sizes(app, args.instances)
    for name, per in per_table:
        print(f"  {name:24s} {per:8.0f}")
    print(f"  {'all':24s} {sum(per for _, per in per_table):8.0f}")


if __name__ == "__main__":
    main()
