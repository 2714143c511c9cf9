"""Concurrent requests on one instance are serialized, never interleaved inside the engine.

SpiffWorkflow has no locking of its own, so every
change to an instance runs under the instance lock: `BEGIN IMMEDIATE` on
SQLite, `SELECT ... FOR UPDATE` on PostgreSQL. These tests fire real
requests from real threads at the same moment (a barrier releases them),
each thread with its own test client, so each request gets its own app
context and database session. The same tests run on SQLite and, when
TEST_DATABASE_URL points at it, on PostgreSQL.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

import pytest

from app.services import tasks as task_service

from ..factories import ApiClient, fixture

# Seconds a thread may wait at the barrier or for its answer; a request still
# running after that is a deadlock, not slowness.
TIMEOUT = 60
PARALLEL_ROUNDS = 10
PROBLEM = "application/problem+json"


@dataclass
class Reply:
    """What one thread's request answered, read inside that thread."""

    user: str
    status: int
    mimetype: str
    body: dict | None
    headers: dict = field(default_factory=dict)


def _post(client: ApiClient, url: str, body: dict | None = None) -> Reply:
    response = client.post(url, json=body if body is not None else {})
    return Reply(client.username, response.status_code, response.mimetype, response.get_json(),
                 dict(response.headers))


def complete(client: ApiClient, task_id: str, variables: dict | None = None) -> Reply:
    return _post(client, f"/api/v1/tasks/{task_id}/complete", {"variables": variables or {}})


def claim(client: ApiClient, task_id: str) -> Reply:
    return _post(client, f"/api/v1/tasks/{task_id}/claim")


def fire_together(*requests) -> list[Reply]:
    """Run each zero-argument callable in its own thread, all released at once; replies in order."""
    barrier = threading.Barrier(len(requests))
    replies: list[Reply | None] = [None] * len(requests)
    failures: list[BaseException] = []

    def run(index, request):
        try:
            barrier.wait(TIMEOUT)
            replies[index] = request()
        except BaseException as exc:  # reported by the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, r), daemon=True) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a request never answered (deadlock?)"
    assert not failures, failures
    return replies


def history(admin: ApiClient, instance_id: str) -> list[dict]:
    response = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def tasks_of(admin: ApiClient, instance_id: str, state: str) -> list[dict]:
    response = admin.get(f"/api/v1/tasks?process_instance_id={instance_id}&state={state}&per_page=100")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def assert_conflict_problem(reply: Reply) -> None:
    """A clean 409: the task's state changed, not a lock that gave up waiting."""
    assert reply.status == 409, reply
    assert reply.mimetype == PROBLEM
    assert reply.body["status"] == 409 and reply.body["title"]
    assert reply.body["type"] == "/problems/conflict", reply.body


@pytest.fixture
def staff(make) -> list[ApiClient]:
    """Four members of group `staff`, each with a client of their own (one per thread)."""
    return [make.client(f"staff{n}", groups=["staff"]) for n in range(1, 5)]


@pytest.mark.parametrize("racers", [2, 4])
def test_of_clients_completing_the_same_task_at_once_exactly_one_succeeds(admin, staff, racers):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks", {"customer": "ACME"})
    [task_a] = started["tasks"]

    replies = fire_together(*(partial(complete, client, task_a["id"], {"note": f"by {client.username}"})
                              for client in staff[:racers]))

    winners = [r for r in replies if r.status == 200]
    assert len(winners) == 1, [(r.user, r.status, r.body) for r in replies]
    [winner] = winners
    for loser in (r for r in replies if r is not winner):
        assert_conflict_problem(loser)
    assert winner.body["status"] == "running"
    assert [t["element_id"] for t in winner.body["tasks"]] == ["task_b"]

    completions = [e for e in history(admin, started["id"]) if e["type"] == "task_completed"]
    assert len(completions) == 1
    assert completions[0]["user"] == winner.user and completions[0]["data"] == {"note": f"by {winner.user}"}

    instance = admin.instance(started["id"])
    assert instance["status"] == "running"
    assert instance["variables"] == {"customer": "ACME", "note": f"by {winner.user}"}
    assert [t["element_id"] for t in instance["tasks"]] == ["task_b"]
    [done] = tasks_of(admin, started["id"], "completed")
    assert done["id"] == task_a["id"] and done["completed_by"] == winner.user
    assert tasks_of(admin, started["id"], "cancelled") == []


def test_parallel_branches_completed_at_the_same_moment_both_succeed_and_join(admin, staff):
    """Concurrent completions through the API: no lost completion, no stuck join, no duplicate."""
    admin.deploy(fixture("valid", "parallel_tasks.bpmn"))
    left_user, right_user = staff[0], staff[1]

    for round_ in range(PARALLEL_ROUNDS):
        started = admin.start("parallel_tasks", {"round": round_})
        ids = {t["element_id"]: t["id"] for t in started["tasks"]}
        assert set(ids) == {"left", "right"}

        left, right = fire_together(partial(complete, left_user, ids["left"], {}),
                                    partial(complete, right_user, ids["right"], {}))

        context = f"round {round_}: left={left.status} {left.body} right={right.status} {right.body}"
        assert left.status == 200 and right.status == 200, context
        # Whichever ran second saw the first's completion and ran the join to the end.
        first, second = (left, right) if right.body["status"] == "completed" else (right, left)
        assert (first.body["status"], second.body["status"]) == ("running", "completed"), context
        assert [t["element_id"] for t in first.body["tasks"]] == ["right" if first is left else "left"], context
        assert second.body["tasks"] == [], context

        instance = admin.instance(started["id"])
        assert instance["status"] == "completed", context
        assert instance["ended_at"] is not None and instance["active_activities"] == [], context
        assert instance["tasks"] == [] and instance["incidents"] == [], context
        assert instance["variables"] == {"round": round_}, context

        events = history(admin, started["id"])
        completions = [(e["element_id"], e["user"]) for e in events if e["type"] == "task_completed"]
        assert sorted(completions) == [("left", left_user.username), ("right", right_user.username)], context
        counts = Counter((e["type"], e["element_id"]) for e in events)
        # each branch arriving at the join is one occurrence of it, as in Camunda: two, both left
        assert counts[("element_entered", "join")] == counts[("element_left", "join")] == 2, context
        assert counts[("element_left", "end")] == 1, context
        assert counts[("status_changed", None)] == 1 and events[-1]["data"] == {"from": "running",
                                                                                "to": "completed"}, context

        assert tasks_of(admin, started["id"], "open") == [], context
        assert tasks_of(admin, started["id"], "cancelled") == [], context
        done = tasks_of(admin, started["id"], "completed")
        assert sorted((t["element_id"], t["completed_by"]) for t in done) == [
            ("left", left_user.username), ("right", right_user.username)], context


def test_of_two_candidates_claiming_the_same_task_at_once_exactly_one_gets_it(admin, staff):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")
    [task_a] = started["tasks"]

    replies = fire_together(partial(claim, staff[0], task_a["id"]), partial(claim, staff[1], task_a["id"]))

    winners = [r for r in replies if r.status == 200]
    assert len(winners) == 1, [(r.user, r.status, r.body) for r in replies]
    [winner] = winners
    [loser] = [r for r in replies if r is not winner]
    assert winner.body["assignee"] == winner.user
    assert_conflict_problem(loser)

    task = admin.get(f"/api/v1/tasks/{task_a['id']}").get_json()
    assert task["assignee"] == winner.user and task["state"] == "open"
    claims = [e for e in history(admin, started["id"]) if e["type"] == "task_claimed"]
    assert [(e["user"], e["element_id"]) for e in claims] == [(winner.user, "task_a")]


def test_writes_to_different_instances_at_once_all_succeed(admin, staff):
    """The lock is per instance (and on SQLite a brief wait for the database write lock), never a refusal."""
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    instances = [admin.start("three_tasks") for _ in staff]

    replies = fire_together(*(partial(complete, client, inst["tasks"][0]["id"], {"note": client.username})
                              for client, inst in zip(staff, instances)))

    assert [r.status for r in replies] == [200] * len(staff), [(r.user, r.body) for r in replies]
    for client, inst in zip(staff, instances):
        detail = admin.instance(inst["id"])
        assert detail["variables"] == {"note": client.username}
        assert [t["element_id"] for t in detail["tasks"]] == ["task_b"]


def test_a_claim_that_lands_while_a_complete_waits_for_the_lock_is_respected(admin, staff, monkeypatch,
                                                                             is_postgres):
    """The completion is conditional on the claim state its checks saw.

    Interleaving pinned: bob's complete has read the task (locking its instance)
    and passed its checks (task open and unassigned, bob a candidate), and is
    about to run the engine when alice's claim commits (a claim takes no instance
    lock). On a busy server that is just bob's request being slower; here a
    wrapper around `run_on_instance` holds bob's request at that point until
    alice's claim has answered. On SQLite a
    completion holds the database write lock from its first read, so the
    claim cannot land in between: the interleaving exists on PostgreSQL only.
    """
    if not is_postgres:
        pytest.skip("SQLite serializes the whole completion; the interleaving cannot happen")
    alice, bob = staff[0], staff[1]
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")
    [task_a] = started["tasks"]

    at_lock, go = threading.Event(), threading.Event()
    real_run_on_instance = task_service.run_on_instance

    def run_after_the_claim(*args, **kwargs):
        at_lock.set()
        assert go.wait(TIMEOUT), "the test never let the complete go on"
        return real_run_on_instance(*args, **kwargs)

    monkeypatch.setattr(task_service, "run_on_instance", run_after_the_claim)
    replies: list[Reply] = []
    bobs_complete = threading.Thread(target=lambda: replies.append(complete(bob, task_a["id"], {"note": "bob"})),
                                     daemon=True)
    bobs_complete.start()
    assert at_lock.wait(TIMEOUT), "the complete never passed its checks"
    claimed = claim(alice, task_a["id"])  # claims take no instance lock, so this one is not held up
    go.set()
    bobs_complete.join(TIMEOUT)
    assert not bobs_complete.is_alive() and len(replies) == 1
    [reply] = replies

    assert claimed.status == 200 and claimed.body["assignee"] == alice.username
    assert reply.status in (403, 409), (reply.status, reply.body)
    assert reply.mimetype == PROBLEM
    task = admin.get(f"/api/v1/tasks/{task_a['id']}").get_json()
    assert (task["state"], task["assignee"]) == ("open", alice.username)
    assert [e for e in history(admin, started["id"]) if e["type"] == "task_completed"] == []
