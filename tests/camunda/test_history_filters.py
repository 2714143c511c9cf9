"""The filters of /history/* and /incident: Camunda's `...Like` filters (SQL LIKE: `%` any text, `_` one
character) and exact ones work; a filter Camunda documents that Stagecoach does not apply is refused
with 400 rather than ignored (which would answer every row where Camunda filters); an unknown parameter
is ignored, as Camunda ignores it."""
from __future__ import annotations

import pytest

from config import TestConfig

from ..factories import fixture
from .test_rest import Camunda, assert_camunda_error

ZERO = {"divisor": {"value": 0, "type": "Integer"}}


@pytest.fixture
def rest(app) -> Camunda:
    client = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)
    client.ok(client.deploy(fixture("valid", "three_tasks.bpmn"), fixture("valid", "simple_user_task.bpmn"),
                            fixture("valid", "failing_script.bpmn")))
    return client


def _ids(rest: Camunda, path: str, field: str = "id") -> list[str]:
    return sorted(row[field] for row in rest.ok(rest.get(path)))


def test_historic_instances_by_business_key_like_and_definition_name(rest):
    order = rest.start("three_tasks", business_key="order-17")["id"]
    other = rest.start("three_tasks", business_key="quote-17")["id"]
    review = rest.start("simple_user_task", business_key="order-18")["id"]
    assert _ids(rest, "/history/process-instance?processInstanceBusinessKeyLike=order-%") == sorted([order, review])
    assert _ids(rest, "/history/process-instance?processInstanceBusinessKeyLike=%25-17") == sorted([order, other])
    assert _ids(rest, "/history/process-instance?processInstanceBusinessKeyLike=order-1_") == sorted([order, review])
    assert _ids(rest, "/history/process-instance?processInstanceBusinessKeyLike=nothing%") == []
    name = rest.ok(rest.get(f"/history/process-instance?processInstanceId={review}"))[0]["processDefinitionName"]
    assert name
    assert _ids(rest, f"/history/process-instance?processDefinitionName={name}") == [review]
    assert _ids(rest, f"/history/process-instance?processDefinitionNameLike={name[:3]}%") == [review]
    assert rest.ok(rest.get("/history/process-instance/count?processInstanceBusinessKeyLike=quote%")) == {"count": 1}
    assert _ids(rest, "/history/process-instance?startedBy=admin") == sorted([order, other, review])
    assert _ids(rest, "/history/process-instance?startedBy=nobody") == []


def test_historic_instances_by_incident_message(rest):
    broken = rest.start("failing_script", variables=ZERO)["id"]
    rest.start("three_tasks")
    assert _ids(rest, "/history/process-instance?incidentMessageLike=%25ZeroDivision%25") == [broken]
    assert _ids(rest, "/history/process-instance?incidentMessageLike=%25nothing like it%25") == []


def test_historic_tasks_by_like_filters(rest):
    first = rest.start("three_tasks", business_key="order-1")["id"]
    task = rest.ok(rest.get(f"/task?processInstanceId={first}"))[0]
    rest.ok(rest.post(f"/task/{task['id']}/complete", json={}), 204)
    review = rest.start("simple_user_task", business_key="quote-1")["id"]  # assigned to alice

    def keys(query):
        return sorted(t["taskDefinitionKey"] for t in rest.ok(rest.get(f"/history/task?{query}")))

    assert keys("taskNameLike=Task%") == ["task_a", "task_b"]
    assert keys("taskName=Task A") == ["task_a"]
    assert keys("taskAssigneeLike=ali%") == ["review"]
    assert keys("taskDeleteReasonLike=comp%") == ["task_a"]
    assert keys("taskDeleteReason=completed") == ["task_a"]
    assert keys(f"processInstanceBusinessKeyLike=quote%") == ["review"]
    assert keys("processInstanceBusinessKey=order-1") == ["task_a", "task_b"]
    assert keys("taskDefinitionKey=task_b") == ["task_b"]
    assert keys("processDefinitionKey=simple_user_task") == ["review"]
    assert keys("taskOwnerLike=%") == []  # no task has an owner
    assert keys("taskDescriptionLike=%") == []  # tasks have no description: Camunda would keep none
    assert rest.ok(rest.get("/history/task/count?taskNameLike=%25A")) == {"count": 1}
    assert review


def test_historic_activity_instances_by_name_type_and_state(rest):
    instance = rest.start("three_tasks")["id"]
    task = rest.ok(rest.get(f"/task?processInstanceId={instance}"))[0]
    rest.ok(rest.post(f"/task/{task['id']}/complete", json={}), 204)

    def ids(query):
        return [a["activityId"] for a in rest.ok(rest.get(f"/history/activity-instance?processInstanceId={instance}&{query}"))]

    assert ids("activityType=userTask") == ["task_a", "task_b"]
    assert ids("activityName=Task A") == ["task_a"]
    assert ids("finished=true") == ["start", "task_a"]
    assert ids("unfinished=true") == ["task_b"]
    assert ids("canceled=true") == []
    assert ids("completeScope=true") == []
    definition = rest.ok(rest.get(f"/process-instance/{instance}"))["definitionId"]
    assert len(ids(f"processDefinitionId={definition}")) == 3
    assert ids("processDefinitionId=other") == []


def test_incidents_by_message(rest):
    broken = rest.start("failing_script", variables=ZERO)["id"]
    assert [i["processInstanceId"] for i in rest.ok(rest.get("/incident?incidentMessageLike=%25Zero%25"))] == [broken]
    assert rest.ok(rest.get("/incident?incidentMessageLike=nothing%")) == []
    message = rest.ok(rest.get("/incident"))[0]["incidentMessage"]
    assert rest.ok(rest.get("/incident/count", query_string={"incidentMessage": message})) == {"count": 1}


@pytest.mark.parametrize("path", [
    "/history/process-instance?startedBefore=2030-01-01T00:00:00.000%2B0000",
    "/history/process-instance?withIncidents=true",
    "/history/activity-instance?taskAssignee=alice",
    "/history/task?taskDueDateBefore=2030-01-01T00:00:00.000%2B0000",
    "/history/task?taskVariables=x_eq_1",
    "/history/variable-instance?variableValue=1",
    "/history/variable-instance?includeDeleted=true",
    "/incident?incidentType=failedJob",
    "/process-definition?resourceNameLike=%25.bpmn",
    "/task?descriptionLike=%25x%25",
    "/history/process-instance/count?caseInstanceId=c1",
    # the runtime lists: a filter Camunda documents and Stagecoach does not apply would return every row
    "/task?taskId=t1", "/task?taskIdIn=t1,t2", "/task?processInstanceIdIn=p1", "/task?involvedUser=alice",
    "/task?candidateGroups=staff", "/task?active=true", "/task/count?processInstanceBusinessKey=B1",
    "/process-instance?processInstanceIds=p1", "/process-instance?withIncident=true",
    "/process-instance?activityIdIn=task_a", "/process-instance/count?deploymentId=d1",
])
def test_a_documented_filter_stagecoach_does_not_apply_is_refused_not_ignored(rest, path):
    rest.start("three_tasks")
    body = assert_camunda_error(rest.get(path), 400, "InvalidRequestException")
    assert "does not filter" in body["message"]


def test_unknown_parameters_and_flags_sent_false_are_ignored(rest):
    rest.start("three_tasks")
    assert len(rest.ok(rest.get("/history/process-instance?someClientOption=1&withIncidents=false"))) == 1
    assert len(rest.ok(rest.get("/task?someClientOption=1&active=false&withCandidateGroups=false"))) == 1
    assert len(rest.ok(rest.get("/process-instance?someClientOption=1&withIncident=false"))) == 1


def test_a_runtime_filter_that_is_applied_is_not_refused(rest):
    first, second = rest.start("three_tasks"), rest.start("three_tasks")
    tasks = rest.ok(rest.get(f"/task?processInstanceId={first['id']}&processDefinitionKey=three_tasks"))
    assert [t["processInstanceId"] for t in tasks] == [first["id"]]
    assert {i["id"] for i in rest.ok(rest.get("/process-instance?processDefinitionKey=three_tasks&active=true"))} \
        == {first["id"], second["id"]}
    assert len(rest.ok(rest.get("/history/variable-instance?includeDeleted=false&deserializeValues=false"))) == 0


# Keys whose characters a LIKE pattern gives meaning to, in both cases.
LIKE_KEYS = ("Order-1", "order-1", "50%-off", "50x-off", "a_b", "axb", "back\\slash")


@pytest.mark.parametrize("pattern, expected", [
    ("order%", ["order-1"]),                    # case counts, on every database
    ("Order%", ["Order-1"]),
    ("50\\%%", ["50%-off"]),                    # an escaped % is a percent sign
    ("50%", ["50%-off", "50x-off"]),
    ("a\\_b", ["a_b"]),                         # an escaped _ is an underscore
    ("a_b", ["a_b", "axb"]),
    ("back\\\\slash", ["back\\slash"]),         # an escaped backslash is a backslash
    ("back\\", []),                             # a lone backslash at the end: a backslash, never an error
    ("%\\", []),
])
def test_like_filters_mean_the_same_on_every_database(rest, pattern, expected):
    """Camunda's `...Like`: `%` any text, `_` one character, a backslash escapes, case counts: the same
    answer from every list that takes a pattern, on SQLite as on PostgreSQL."""
    started = {key: rest.start("three_tasks", business_key=key)["id"] for key in LIKE_KEYS}
    want = sorted(started[key] for key in expected)
    params = {"processInstanceBusinessKeyLike": pattern}
    runtime = rest.ok(rest.get("/process-instance", query_string={"businessKeyLike": pattern}))
    assert sorted(i["id"] for i in runtime) == want
    history = rest.ok(rest.get("/history/process-instance", query_string=params))
    assert sorted(i["id"] for i in history) == want
    tasks = rest.ok(rest.get("/history/task", query_string=params))
    assert sorted(t["processInstanceId"] for t in tasks) == want
    assert rest.ok(rest.get("/history/process-instance/count", query_string=params)) == {"count": len(want)}


def test_name_and_key_like_filters_mind_case(rest):
    names = {t["name"] for t in rest.ok(rest.get("/task?processInstanceId=" + rest.start("three_tasks")["id"]))}
    assert names == {"Task A"}
    assert [t["name"] for t in rest.ok(rest.get("/task", query_string={"nameLike": "Task%"}))] == ["Task A"]
    assert rest.ok(rest.get("/task", query_string={"nameLike": "task%"})) == []
    keys = {d["key"] for d in rest.ok(rest.get("/process-definition", query_string={"keyLike": "three%"}))}
    assert keys == {"three_tasks"}
    assert rest.ok(rest.get("/process-definition", query_string={"keyLike": "THREE%"})) == []
    assert {d["key"] for d in rest.ok(rest.get("/process-definition", query_string={"keyLike": "three\\_tasks"}))} \
        == {"three_tasks"}
    assert rest.ok(rest.get("/process-definition", query_string={"keyLike": "three\\_"})) == []


def test_historic_variables_page_by_instance_start_then_name_with_like_escapes(rest, clock):
    """Each instance's variables come from the database a page at a time: every page is its slice of the
    whole list (by instance start, then name), the count is the list's length, and variableNameLike escapes."""
    import datetime as dt
    started = []
    for n in range(3):
        clock.shift(dt.timedelta(seconds=1))
        started.append(rest.start("three_tasks", {"x_y": {"value": n, "type": "Integer"},
                                                  "xzy": {"value": "b", "type": "String"},
                                                  "p%q": {"value": True, "type": "Boolean"}})["id"])
    query = "processDefinitionKey=three_tasks"

    def names(extra=""):
        return [(v["processInstanceId"], v["name"]) for v in
                rest.ok(rest.get(f"/history/variable-instance?{query}{extra}"))]
    whole = names()
    assert whole == [(i, name) for i in started for name in sorted(["x_y", "xzy", "p%q"])]
    for first in range(len(whole)):
        assert names(f"&firstResult={first}&maxResults=2") == whole[first:first + 2]
    assert rest.ok(rest.get(f"/history/variable-instance/count?{query}")) == {"count": 9}
    assert {n for _, n in names("&variableNameLike=x%5C_y")} == {"x_y"}
    assert {n for _, n in names("&variableNameLike=x_y")} == {"x_y", "xzy"}
    assert {n for _, n in names("&variableNameLike=p%5C%25q")} == {"p%q"}
    assert names("&variableNameLike=X%25") == []
    assert [v["value"] for v in rest.ok(rest.get(f"/history/variable-instance?{query}&variableName=x_y"))] == [0, 1, 2]


def test_a_users_historic_variables_are_those_of_the_instances_they_may_read(app, rest, make, admin, clock):
    """A user reads the variables of the instances that concern them (started, or a task of theirs), paged
    and counted as the admin's list is; with a grant to read the process key, every instance's."""
    import datetime as dt
    make.user("ulla", groups=["sales"])  # not a candidate of three_tasks' tasks
    ulla = Camunda(app, "ulla")
    hers = ulla.start("three_tasks", {"a": {"value": 1, "type": "Integer"}, "b": {"value": 2, "type": "Integer"}})
    others = []
    for n in range(2):
        clock.shift(dt.timedelta(seconds=1))  # started one after the other: the list's order
        others.append(rest.start("three_tasks", {"c": {"value": n, "type": "Integer"}})["id"])
    rest.start("three_tasks")  # no variables: nothing to list

    def listed(client, extra=""):
        return [(v["processInstanceId"], v["name"])
                for v in client.ok(client.get(f"/history/variable-instance{extra}"))]
    assert listed(ulla) == [(hers["id"], "a"), (hers["id"], "b")]
    assert listed(ulla, "?firstResult=1&maxResults=1") == [(hers["id"], "b")]
    assert ulla.ok(ulla.get("/history/variable-instance/count")) == {"count": 2}
    assert admin.post("/api/v1/authorizations", json={"user_id": "ulla", "resource_type": "process",
                                                       "resource_id": "three_tasks",
                                                       "permissions": ["read"]}).status_code == 201
    assert listed(ulla) == listed(rest) == [(hers["id"], "a"), (hers["id"], "b")] + [(i, "c") for i in others]
    assert ulla.ok(ulla.get("/history/variable-instance/count")) == {"count": 4}


def test_the_historic_variable_list_reads_the_callers_grants_once(app, rest, make, admin):
    """A reader of a whole process key: the grants decide both which way the list is read and its filter."""
    from ..factories import sql_sent
    make.user("gina", groups=["sales"])
    assert admin.post("/api/v1/authorizations", json={"user_id": "gina", "resource_type": "process",
                                                       "resource_id": "simple_user_task",
                                                       "permissions": ["read"]}).status_code == 201
    gina = Camunda(app, "gina")
    gina.start("three_tasks", {"a": {"value": 1, "type": "Integer"}})
    with sql_sent(app) as sent:
        assert len(gina.ok(gina.get("/history/variable-instance"))) == 1
    assert len([statement for statement in sent if "FROM authorization_grant" in statement]) == 1
