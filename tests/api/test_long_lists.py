"""Long lists: candidate rows only while a task is open, cursors for deep pages, totals that need not count all."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import TaskCandidate
from app.services.core import pagination

from ..factories import assert_problem, fixture, sql_sent


def candidate_rows(app, task_id: str) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(TaskCandidate).where(TaskCandidate.task_id == task_id))
        db.session.remove()
    return count


def walk(api, path: str, per_page: int) -> list[str]:
    """Every id of a list, page after page by cursor."""
    seen, query = [], f"per_page={per_page}"
    for _ in range(50):
        page = api.get(f"{path}?{query}").get_json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return seen
        query = f"per_page={per_page}&after={page['next_cursor']}"
    raise AssertionError("the cursor never ended")


def by_page(api, path: str, per_page: int, count: int) -> list[str]:
    seen = []
    for number in range(1, count // per_page + 2):
        seen += [item["id"] for item in api.get(f"{path}?per_page={per_page}&page={number}").get_json()["items"]]
    return seen


def test_a_task_keeps_its_candidate_rows_while_open_and_loses_them_when_it_closes(app, admin, make):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = admin.start("three_tasks")
    first = started["tasks"][0]
    assert candidate_rows(app, first["id"]) >= 1
    bob = make.client("bob", groups=["staff"])
    assert bob.post(f"/api/v1/tasks/{first['id']}/complete", json={"variables": {}}).status_code == 200
    assert candidate_rows(app, first["id"]) == 0
    done = admin.get(f"/api/v1/tasks/{first['id']}").get_json()
    assert done["state"] == "completed" and done["candidate_groups"] == first["candidate_groups"]

    second = admin.get(f"/api/v1/tasks?process_instance_id={started['id']}").get_json()["items"][0]
    assert candidate_rows(app, second["id"]) >= 1
    assert admin.post(f"/api/v1/process-instances/{started['id']}/cancel", json={}).status_code == 200
    assert candidate_rows(app, second["id"]) == 0
    assert admin.get(f"/api/v1/tasks/{second['id']}").get_json()["state"] == "cancelled"


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/process-instances"])
def test_a_cursor_walks_the_whole_list_once_in_order_even_when_moments_tie(clock, app, admin, path):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    for _ in range(7):  # the clock stands still: every row has the same moment, the id breaks the tie
        admin.start("three_tasks")
    total = admin.get(f"{path}?per_page=1").get_json()["total"]
    assert total == 7
    walked = walk(admin, path, per_page=3)
    assert walked == by_page(admin, path, per_page=3, count=total)
    assert len(set(walked)) == 7


def test_a_cursor_walk_sees_rows_in_started_order_across_moments(clock, admin):
    import datetime as dt
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    ids = []
    for _ in range(5):
        ids.append(admin.start("three_tasks")["id"])
        clock.shift(dt.timedelta(seconds=1))
    assert walk(admin, "/api/v1/process-instances", per_page=2) == list(reversed(ids))


LONE_SURROGATE = base64.urlsafe_b64encode(b'[{"t":"2026-01-01T00:00:00+00:00"},"\\ud800"]').decode().rstrip("=")




def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# Well-formed cursors whose values do not fit the list's columns (a moment, then an id): made by hand.
MISFITS = [_cursor([1, "x"]), _cursor(["abc", "x"]), _cursor(["2026-12-07T04:35:26+00:00", "x"]),
           _cursor([{"t": "9999-12-31T23:59:59-14:00"}, "x"]), _cursor([{"t": "0001-01-01T00:00:00+14:00"}, "x"]),
           _cursor([{"t": "2026-12-07T04:35:26"}, 1])]


@pytest.mark.parametrize("cursor", ["nonsense", "W10", "WyJhIl0", "eyJ0IjoxfQ", "W3sidCI6Im5vIn0sIngiXQ", "x" * 201,
                                    LONE_SURROGATE, *MISFITS])
def test_a_cursor_that_is_not_one_is_a_400(admin, cursor):
    assert_problem(admin.get(f"/api/v1/tasks?after={cursor}"), 400)
    assert_problem(admin.get(f"/api/v1/process-instances?after={cursor}"), 400)


def test_a_total_past_the_cap_says_it_is_not_exact_unless_asked_to_count_all(admin, monkeypatch):
    monkeypatch.setattr(pagination, "TOTAL_CAP", 3)
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    for _ in range(5):
        admin.start("three_tasks")
    capped = admin.get("/api/v1/process-instances?per_page=2").get_json()
    assert (capped["total"], capped["total_exact"], len(capped["items"])) == (3, False, 2)
    exact = admin.get("/api/v1/process-instances?per_page=2&exact=true").get_json()
    assert (exact["total"], exact["total_exact"]) == (5, True)
    few = admin.get("/api/v1/process-instances?per_page=2&key=nothing").get_json()
    assert (few["total"], few["total_exact"], few["next_cursor"]) == (0, True, None)


def test_camunda_counts_stay_exact(admin, monkeypatch):
    monkeypatch.setattr(pagination, "TOTAL_CAP", 2)
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    for _ in range(4):
        admin.start("three_tasks")
    assert admin.get("/engine-rest/task/count").get_json() == {"count": 4}
    assert admin.get("/engine-rest/process-instance/count").get_json() == {"count": 4}
    assert len(admin.get("/engine-rest/task").get_json()) == 4


@pytest.mark.parametrize("query", ["", "status=running", "status=completed", "key=three_tasks&status=running",
                                   "key=simple_user_task"])
def test_a_deep_page_by_number_is_that_slice_of_the_whole_list(clock, app, admin, make, query):
    """A page past the first reads the ids it skips first, then its rows: the same rows, in the same order, as
    that slice of the list, whatever filters narrow it, for an admin and for a user who reads some of it."""
    import datetime as dt
    admin.deploy(fixture("valid", "three_tasks.bpmn"), fixture("valid", "simple_user_task.bpmn"))
    sue = make.client("sue", groups=["staff"])
    for n in range(9):
        clock.shift(dt.timedelta(seconds=1 if n % 3 else 0))  # some moments tie
        client = sue if n % 2 else admin
        started = client.start("simple_user_task" if n % 4 == 0 else "three_tasks")
        if n % 3 == 0 and n % 4:  # a three-task instance run to its end
            while started["tasks"]:
                started = admin.complete(started["tasks"][0]["id"], {})
    for client in (admin, sue):
        whole = [i["id"] for i in client.get(f"/api/v1/process-instances?per_page=100&{query}").get_json()["items"]]
        for per_page in (1, 2, 4):
            pages = []
            for number in range(1, len(whole) // per_page + 2):
                pages += [i["id"] for i in client.get(
                    f"/api/v1/process-instances?per_page={per_page}&page={number}&{query}").get_json()["items"]]
            assert pages == whole, (query, per_page)
    # Camunda's runtime list (the instances that have not ended) by firstResult
    from config import TestConfig

    from ..camunda.test_rest import Camunda
    for rest, reads_all in ((Camunda(app, "admin", TestConfig.ADMIN_PASSWORD), True), (Camunda(app, "sue"), False)):
        camunda_query = query.replace("key=", "processDefinitionKey=").replace("status=running", "active=true")
        if "status=" in camunda_query:
            continue
        whole = [i["id"] for i in rest.ok(rest.get(f"/process-instance?maxResults=100&{camunda_query}"))]
        assert whole or not reads_all
        for first in range(len(whole) + 1):
            assert [i["id"] for i in rest.ok(rest.get(
                f"/process-instance?firstResult={first}&maxResults=2&{camunda_query}"))] == whole[first:first + 2]


@pytest.mark.parametrize("sort", ["sortBy=priority&sortOrder=desc", "sortBy=priority&sortOrder=asc",
                                  "sortBy=dueDate&sortOrder=desc", "sortBy=name&sortOrder=asc"])
def test_a_sorted_task_list_pages_through_every_task_once_whatever_ties(app, admin, sort):
    """Camunda's task list sorted by a column with ties (equal priorities, one due date): any firstResult is
    that slice of the whole sorted list (ties broken by id, in the sort's direction)."""
    from config import TestConfig

    from ..camunda.test_rest import Camunda
    admin.deploy(fixture("valid", "task_extensions.bpmn"), fixture("valid", "three_tasks.bpmn"))
    for urgency in (10, 90, 50, 90, 10, 50, 90):
        admin.start("task_extensions", {"urgency": urgency, "follow_up": None})
        admin.start("three_tasks")  # default priority, no due date
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    tasks = rest.ok(rest.get(f"/task?{sort}&maxResults=100"))
    whole = [t["id"] for t in tasks]
    assert len(whole) == len(set(whole)) == 14
    if "priority" in sort:
        priorities = [t["priority"] for t in tasks]
        assert priorities == sorted(priorities, reverse="desc" in sort) and set(priorities) == {10, 50, 90}
    for first in range(len(whole)):
        assert [t["id"] for t in rest.ok(rest.get(f"/task?{sort}&firstResult={first}&maxResults=3"))] \
            == whole[first:first + 3], first


@pytest.mark.parametrize("query, grant", [("", None), ("", "read"), ("key=three_tasks", None)])
def test_a_users_instance_list_reads_their_grants_once(app, admin, make, query, grant):
    """The list's filter and its count both need the process keys the user reads every instance of: one
    query of the grants per page, with or without a grant, filtered or not."""
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    sue = make.client("sue", groups=["sales"])  # not a candidate of the diagram's tasks
    mine = sue.start("three_tasks")["id"]
    other = admin.start("three_tasks")["id"]
    if grant:
        assert admin.post("/api/v1/authorizations", json={"user_id": "sue", "resource_type": "process",
                                                           "resource_id": "three_tasks",
                                                           "permissions": [grant]}).status_code == 201
    with sql_sent(app) as sent:
        body = sue.get(f"/api/v1/process-instances?{query}").get_json()
    grant_reads = [statement for statement in sent if "FROM authorization_grant" in statement]
    assert {i["id"] for i in body["items"]} == ({mine, other} if grant else {mine})
    assert body["total"] == len(body["items"])
    assert len(grant_reads) == 1, grant_reads


@pytest.mark.parametrize("path", ["/task", "/process-instance"])
def test_camundas_lists_count_nothing_and_their_count_counts_once(app, admin, path):
    """Camunda's runtime lists show no total: counting every match for each page would be thrown away."""
    from config import TestConfig

    from ..camunda.test_rest import Camunda
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = [admin.start("three_tasks")["id"] for _ in range(3)]
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    with sql_sent(app) as sent:
        listed = rest.ok(rest.get(f"{path}?firstResult=1&maxResults=1"))
    assert len(listed) == 1
    assert not [statement for statement in sent if "count(" in statement.lower()]
    with sql_sent(app) as sent:
        assert rest.ok(rest.get(f"{path}/count")) == {"count": len(started)}
    assert len([statement for statement in sent if "count(" in statement.lower()]) == 1
