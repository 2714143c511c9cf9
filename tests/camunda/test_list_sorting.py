"""Camunda's sortBy/sortOrder and filters on the lists that had ignored them: definitions and deployments sort
as asked; a list that cannot sort as asked, or filter by a parameter Camunda documents for it, answers 400
(a page in another order, or every row, would be a wrong answer)."""
from __future__ import annotations

import pytest

from config import TestConfig

from ..factories import fixture
from .test_rest import Camunda, assert_camunda_error


@pytest.fixture
def rest(app, tmp_path) -> Camunda:
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    source = fixture("valid", "simple_user_task.bpmn").read_text()
    for version in range(3):  # three versions of one process, in deployments named a, b, c
        path = tmp_path / "simple_user_task.bpmn"
        path.write_text(source.replace("</bpmn:process>", f"<!-- v{version} --></bpmn:process>"))
        rest.ok(rest.deploy(path, name="abc"[version]))
    return rest


def test_definitions_sort_by_version_either_way(rest):
    ascending = rest.ok(rest.get("/process-definition?key=simple_user_task&sortBy=version&sortOrder=asc"))
    descending = rest.ok(rest.get("/process-definition?key=simple_user_task&sortBy=version&sortOrder=desc"))
    assert [d["version"] for d in ascending] == [1, 2, 3] and [d["version"] for d in descending] == [3, 2, 1]
    [newest] = rest.ok(rest.get("/process-definition?key=simple_user_task&sortBy=version&sortOrder=desc"
                                "&maxResults=1"))
    assert newest["version"] == 3


def test_deployments_sort_by_name_either_way(rest):
    names = [d["name"] for d in rest.ok(rest.get("/deployment?sortBy=name&sortOrder=asc"))]
    assert names == sorted(names) and {"a", "b", "c"} <= set(names)
    assert [d["name"] for d in rest.ok(rest.get("/deployment?sortBy=name&sortOrder=desc"))] == names[::-1]


@pytest.mark.parametrize("query", [
    "/process-definition?sortBy=version",  # sortBy without sortOrder, as Camunda refuses it
    "/process-definition?sortBy=bogus&sortOrder=asc",
    "/process-instance?sortBy=instanceId&sortOrder=asc",  # a list that keeps its own order
    "/history/activity-instance?sortBy=startTime&sortOrder=desc",
    "/history/process-instance?sortOrder=desc",
    "/external-task?sortBy=id&sortOrder=asc",
    "/process-definition?deploymentId=nope",  # filters Camunda documents and Stagecoach does not apply
    "/process-definition?version=99",
    "/process-definition?suspended=true",
    "/external-task?noRetriesLeft=true",
    "/external-task?activityId=nope",
    "/deployment?id=nope",
])
def test_what_a_list_cannot_do_as_asked_is_a_400(rest, query):
    assert_camunda_error(rest.get(query), 400, "InvalidRequestException")


def test_definition_statistics_leave_out_boundary_events_that_have_not_fired(app):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    rest.ok(rest.deploy(fixture("events", "boundary_history.bpmn")))
    instance = rest.start("boundary_timers")
    stats = rest.ok(rest.get(f"/process-definition/{instance['definitionId']}/statistics"))
    assert [(s["id"], s["instances"]) for s in stats] == [("work", 1)]  # not remind, nor deadline
