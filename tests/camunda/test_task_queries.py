"""GET and POST /engine-rest/task (and /count): priority, due and follow-up date, assignment filters, and sorting.

Three open tasks of three_tasks instances get known values written onto their
rows, so every filter is asserted by the tasks it leaves out and every sort
by the exact order of ids:

    task  name    priority      due               follow-up         assignee  created
    a     Beta    10            day 1, 10:00      day 5             alice     t0
    b     alpha   none (= 50)   none              day 2             none      t0 + 1 min
    c     Gamma   90            day 3             none              bob       t0 + 2 min

Day n is n days after today, at midnight UTC (the real today: the dates are ahead of
every task, as a due date is); t0 is an hour ago.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import HumanTask
from config import TestConfig

from ..factories import fixture
from ..timing import real_now
from .test_rest import Camunda, assert_camunda_error

UTC = dt.timezone.utc
TODAY = dt.datetime.combine(real_now().date(), dt.time(), tzinfo=UTC)
T0 = real_now().replace(microsecond=0) - dt.timedelta(hours=1)


def day(n: int, hour: int = 0) -> dt.datetime:
    """Day n of the module docstring, at `hour` UTC."""
    return TODAY + dt.timedelta(days=n, hours=hour)


def camunda(moment: dt.datetime, offset: str = "+0000") -> str:
    """`moment` as a Camunda date parameter written in the zone `offset` (+hhmm), or Z."""
    if offset == "Z":
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.000") + offset


def set_task(app, task_id: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(HumanTask).where(HumanTask.id == task_id).values(**values))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def rest(app) -> Camunda:
    return Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)


@pytest.fixture
def tasks(app, rest) -> dict[str, str]:
    """{"a": id, "b": id, "c": id}: the three tasks of the module docstring."""
    rest.ok(rest.deploy(fixture("valid", "three_tasks.bpmn")))
    ids = {}
    for name in "abc":
        instance = rest.start("three_tasks")
        [task] = rest.ok(rest.get(f"/task?processInstanceId={instance['id']}"))
        ids[name] = task["id"]
    set_task(app, ids["a"], name="Beta", priority=10, due_at=day(1, 10),
             follow_up_at=day(5), assignee="alice", created_at=T0)
    set_task(app, ids["b"], name="alpha", priority=None, due_at=None,
             follow_up_at=day(2), assignee=None,
             created_at=T0 + dt.timedelta(minutes=1))
    set_task(app, ids["c"], name="Gamma", priority=90, due_at=day(3),
             follow_up_at=None, assignee="bob", created_at=T0 + dt.timedelta(minutes=2))
    return ids


def found(rest: Camunda, tasks: dict, **query) -> list[str]:
    """The names (a, b, c) of the tasks GET /task answers, in order."""
    names = {task_id: name for name, task_id in tasks.items()}
    return [names[t["id"]] for t in rest.ok(rest.get("/task", query_string=query))]


def posted(rest: Camunda, tasks: dict, body: dict) -> list[str]:
    names = {task_id: name for name, task_id in tasks.items()}
    return [names[t["id"]] for t in rest.ok(rest.post("/task", json=body))]


# -- filters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ({"priority": 50}, {"b"}),  # no priority modeled counts as Camunda's default 50
    ({"priority": 90}, {"c"}),
    ({"minPriority": 50}, {"b", "c"}),
    ({"maxPriority": 50}, {"a", "b"}),
    ({"minPriority": 11, "maxPriority": 89}, {"b"}),
])
def test_tasks_are_filtered_by_priority(rest, tasks, query, expected):
    assert set(found(rest, tasks, **query)) == expected
    assert rest.ok(rest.get("/task/count", query_string=query)) == {"count": len(expected)}


@pytest.mark.parametrize("query, expected", [
    ({"dueBefore": camunda(day(2))}, {"a"}),
    ({"dueAfter": camunda(day(2))}, {"c"}),
    ({"dueDate": camunda(day(1, 10), "+0200")}, {"a"}),  # 12:00 at +02:00, the same moment as 10:00 UTC
    ({"withoutDueDate": "true"}, {"b"}),
    ({"withoutDueDate": "false"}, {"a", "b", "c"}),
    ({"followUpBefore": camunda(day(3))}, {"b"}),
    ({"followUpAfter": camunda(day(3))}, {"a"}),
    ({"followUpDate": camunda(day(2))}, {"b"}),
    ({"followUpBeforeOrNotExistent": camunda(day(3))}, {"b", "c"}),
    ({"dueBefore": camunda(day(4), "Z"), "dueAfter": camunda(day(2), "Z")}, {"c"}),
])
def test_tasks_are_filtered_by_due_and_follow_up_dates(rest, tasks, query, expected):
    assert set(found(rest, tasks, **query)) == expected


def test_a_date_whose_plus_sign_was_not_escaped_in_the_url_is_still_read(rest, tasks):
    response = rest.get(f"/task?dueBefore={camunda(day(2))}")  # `+` arrives as a space
    assert [t["id"] for t in rest.ok(response)] == [tasks["a"]]


@pytest.mark.parametrize("query, expected", [
    ({"assigned": "true"}, {"a", "c"}),
    ({"unassigned": "true"}, {"b"}),
    ({"assigned": "false"}, {"a", "b", "c"}),
])
def test_tasks_are_filtered_by_whether_they_are_assigned(rest, tasks, query, expected):
    assert set(found(rest, tasks, **query)) == expected


def test_post_filters_in_the_body_and_counts_the_same_way(rest, tasks):
    body = {"minPriority": 50, "dueAfter": camunda(day(2))}
    assert posted(rest, tasks, body) == ["c"]
    assert rest.ok(rest.post("/task/count", json=body)) == {"count": 1}
    assert rest.ok(rest.post("/task/count", json={"unassigned": True})) == {"count": 1}


# -- sorting -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sort_by, order, expected", [
    ("priority", "asc", ["a", "b", "c"]),
    ("priority", "desc", ["c", "b", "a"]),
    ("created", "asc", ["a", "b", "c"]),
    ("created", "desc", ["c", "b", "a"]),
    ("dueDate", "asc", ["a", "c", "b"]),  # tasks without the date come last ascending...
    ("dueDate", "desc", ["b", "c", "a"]),  # ...and first descending
    ("followUpDate", "asc", ["b", "a", "c"]),
    ("followUpDate", "desc", ["c", "a", "b"]),
    ("assignee", "asc", ["a", "c", "b"]),
    ("assignee", "desc", ["b", "c", "a"]),
    ("name", "asc", ["a", "c", "b"]),  # Beta, Gamma, alpha: by character code, as Camunda's `name`
    ("nameCaseInsensitive", "asc", ["b", "a", "c"]),
])
def test_get_sorts_by_sort_by_and_sort_order(rest, tasks, sort_by, order, expected):
    assert found(rest, tasks, sortBy=sort_by, sortOrder=order) == expected


def test_get_sorts_by_id(rest, tasks):
    ids = [t["id"] for t in rest.ok(rest.get("/task?sortBy=id&sortOrder=desc"))]
    assert ids == sorted(tasks.values(), reverse=True)


def test_without_sorting_the_newest_task_comes_first(rest, tasks):
    assert found(rest, tasks) == ["c", "b", "a"]


def test_post_sorts_by_a_sorting_list_in_its_order(app, rest, tasks):
    assert posted(rest, tasks, {"sorting": [{"sortBy": "priority", "sortOrder": "desc"}]}) == ["c", "b", "a"]
    set_task(app, tasks["b"], priority=10)  # a tie with a, broken by the second key
    body = {"sorting": [{"sortBy": "priority", "sortOrder": "asc"}, {"sortBy": "created", "sortOrder": "desc"}]}
    assert posted(rest, tasks, body) == ["b", "a", "c"]
    body["sorting"][1]["sortOrder"] = "asc"
    assert posted(rest, tasks, body) == ["a", "b", "c"]


@pytest.mark.parametrize("query", [
    "sortBy=color&sortOrder=asc",
    "sortBy=priority",
    "sortOrder=desc",
    "sortBy=priority&sortOrder=upwards",
    "dueBefore=next-tuesday",
    "priority=high",
    "delegationState=WAITING",
])
def test_get_refuses_an_unknown_sort_a_half_sort_and_unreadable_filters(rest, tasks, query):
    assert_camunda_error(rest.get(f"/task?{query}"), 400, "InvalidRequestException")
    assert_camunda_error(rest.get(f"/task/count?{query}"), 400, "InvalidRequestException")


@pytest.mark.parametrize("sorting", [
    [{"sortBy": "color", "sortOrder": "asc"}],
    [{"sortBy": "priority"}],
    [{"sortOrder": "asc"}],
    [{"sortBy": "priority", "sortOrder": "sideways"}],
])
def test_post_refuses_an_unknown_or_half_sorting(rest, tasks, sorting):
    body = assert_camunda_error(rest.post("/task", json={"sorting": sorting}), 400, "InvalidRequestException")
    assert "sort" in body["message"]
