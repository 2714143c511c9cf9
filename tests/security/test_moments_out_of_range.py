"""A moment UTC cannot hold (the first day of year 1 east of Greenwich, the last of 9999 west of it) is a
bad input like any other invalid date: a 400 in each API's error shape, never a 500 from the database layer."""
from __future__ import annotations

import pytest
from config import TestConfig

from ..camunda.test_rest import Camunda, assert_camunda_error
from ..factories import assert_problem

EAST_OF_YEAR_ONE = "0001-01-01T00:00:00%2B14:00"
WEST_OF_9999 = "9999-12-31T23:59:59-12:00"


@pytest.mark.parametrize("query", [f"started_after={EAST_OF_YEAR_ONE}", f"started_after={WEST_OF_9999}",
                                   "started_before=9999-12-31T23:59:59-23:59"])
def test_the_instance_list_refuses_a_moment_utc_cannot_hold(admin, query):
    assert_problem(admin.get(f"/api/v1/process-instances?{query}"), 400)


@pytest.mark.parametrize("query", ["dueDate=9999-12-31T23:59:59.000-1200", "dueAfter=0001-01-01T00:00:00%2B23:59",
                                   "dueBefore=9999-12-31T23:59:59-23:59"])
def test_camundas_task_list_and_count_refuse_a_moment_utc_cannot_hold(app, query):
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    for path in ("/task", "/task/count"):
        assert_camunda_error(rest.get(f"{path}?{query}"), 400, "InvalidRequestException")


def test_moments_at_the_edges_utc_holds_still_filter(admin):
    for query in ("started_after=0001-01-01T00:00:00Z", "started_before=9999-12-31T23:59:59Z",
                  "started_after=2000-01-01T00:00:00%2B14:00", "started_before=9999-12-30T00:00:00-12:00"):
        response = admin.get(f"/api/v1/process-instances?{query}")
        assert response.status_code == 200, (query, response.get_json())
