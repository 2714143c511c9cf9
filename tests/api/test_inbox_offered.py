"""The inbox by candidate group: a member's list of their group's tasks, and anyone else's."""
from __future__ import annotations

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="http://example.com/inbox"')


def offered(tmp_path, key: str, group: str):
    path = tmp_path / f"{key}.bpmn"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions id="d_{key}" {NS}>'
        f'<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="s"/>'
        f'<bpmn:userTask id="t" name="Call back" camunda:candidateGroups="{group}"/><bpmn:endEvent id="e"/>'
        f'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
        f'</bpmn:process></bpmn:definitions>')
    return path


def ids(response) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {t["id"] for t in response.get_json()["items"]}


def test_a_member_lists_the_tasks_offered_to_their_group_and_no_other_groups(admin, make, tmp_path):
    rep = make.client("rita", groups=["sales"])
    make.user("sven", groups=["support"])
    admin.deploy(offered(tmp_path, "sales_call", "sales"), offered(tmp_path, "support_call", "support"))
    sales = {admin.start("sales_call")["tasks"][0]["id"] for _ in range(3)}
    support = {admin.start("support_call")["tasks"][0]["id"] for _ in range(2)}

    assert ids(rep.get("/api/v1/tasks?candidate_group=sales")) == sales
    # another group's tasks: none of them is the member's to read
    assert ids(rep.get("/api/v1/tasks?candidate_group=support")) == set()
    assert ids(admin.get("/api/v1/tasks?candidate_group=support")) == support
    # a task a member claimed stays offered to the group while open, and readable to its members
    first = sorted(sales)[0]
    assert rep.post(f"/api/v1/tasks/{first}/claim").status_code == 200
    assert ids(rep.get("/api/v1/tasks?candidate_group=sales")) == sales
    assert ids(rep.get("/api/v1/tasks?assignee=rita")) == {first}


def _mine(client, query: str = "") -> tuple[set[str], int, bool]:
    """Every task of `mine` over all its pages (two per page), and the total the first page gave."""
    seen, page, first = set(), 1, None
    while True:
        response = client.get(f"/api/v1/tasks?mine=true&per_page=2&page={page}{query}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        first = first or body
        seen |= {t["id"] for t in body["items"]}
        if len(body["items"]) < 2:
            return seen, first["total"], first["total_exact"]
        page += 1


def test_mine_lists_and_counts_the_same_tasks_whatever_made_them_the_callers(app, admin, make, tmp_path):
    """`mine`: assigned to the caller, or unassigned and offered to them (their group, or them by name). Its
    total is counted another way than its pages are read (from the caller's candidate rows): both agree, in
    every state asked for."""
    rita = make.client("rita", groups=["sales"])
    sven = make.client("sven", groups=["sales"])
    make.user("ona", groups=["support"])
    path = tmp_path / "named.bpmn"
    path.write_text(offered(tmp_path, "named_call", "x").read_text()
                    .replace('camunda:candidateGroups="x"', 'camunda:candidateUsers="rita"'))
    admin.deploy(offered(tmp_path, "sales_call", "sales"), offered(tmp_path, "support_call", "support"), path)
    offered_to_group = [admin.start("sales_call")["tasks"][0]["id"] for _ in range(4)]
    offered_by_name = admin.start("named_call")["tasks"][0]["id"]
    not_hers = admin.start("support_call")["tasks"][0]["id"]
    claimed_by_sven, claimed_by_rita, done_by_rita = offered_to_group[:3]
    assert sven.post(f"/api/v1/tasks/{claimed_by_sven}/claim").status_code == 200
    assert rita.post(f"/api/v1/tasks/{claimed_by_rita}/claim").status_code == 200
    assert rita.post(f"/api/v1/tasks/{done_by_rita}/claim").status_code == 200
    assert rita.complete(done_by_rita, {})["status"] == "completed"
    assigned_elsewhere = admin.start("support_call")["tasks"][0]["id"]
    assert admin.post(f"/api/v1/tasks/{assigned_elsewhere}/delegate", json={"user": "rita"}).status_code == 200

    open_mine = {claimed_by_rita, offered_to_group[3], offered_by_name, assigned_elsewhere}
    listed, total, exact = _mine(rita)
    assert listed == open_mine and total == len(open_mine) and exact
    assert not_hers not in listed and claimed_by_sven not in listed
    listed, total, _ = _mine(rita, "&state=completed")
    assert listed == {done_by_rita} and total == 1
    listed, total, _ = _mine(rita, "&exact=true&candidate_group=sales")
    assert listed == {claimed_by_rita, offered_to_group[3]} and total == 2
    listed, total, _ = _mine(sven)
    assert listed == {claimed_by_sven, offered_to_group[3]} and total == 2
    # the console's tabs: hers (assigned to her) and her groups' (unassigned, offered to her), each its half
    from app.services import tasks
    from app.services.core import Actor
    with app.app_context():
        for assigned, wanted in ((True, {claimed_by_rita, assigned_elsewhere}),
                                 (False, {offered_to_group[3], offered_by_name})):
            for per_page in (1, 10):
                page = tasks.list_tasks(Actor("rita", ("sales",), False), mine=True, assigned=assigned,
                                        state="open", per_page=per_page)
                assert page.total == len(wanted), assigned
                assert {t.id for t in page.items} <= wanted and len(page.items) == min(per_page, len(wanted))


def test_a_groups_inbox_counts_what_it_lists_claimed_completed_and_cancelled_tasks_included(admin, make, tmp_path):
    """The total of a group's open tasks, asked alone, comes from the group's candidate rows, which go as
    their task closes (completed, or cancelled with its instance): it stays what the pages list."""
    rita = make.client("rita", groups=["sales"])
    admin.deploy(offered(tmp_path, "sales_call", "sales"))
    started = [admin.start("sales_call") for _ in range(5)]
    tasks = [s["tasks"][0]["id"] for s in started]
    assert rita.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 200  # claimed: still offered, still open
    assert rita.complete(tasks[1], {})["status"] == "completed"
    assert admin.post(f"/api/v1/process-instances/{started[2]['id']}/cancel", json={}).status_code == 200
    expected = {tasks[0], tasks[3], tasks[4]}
    for client in (rita, admin):
        for query in ("", "&exact=true", "&key=sales_call"):
            body = client.get(f"/api/v1/tasks?candidate_group=sales&per_page=50{query}").get_json()
            assert {t["id"] for t in body["items"]} == expected, query
            assert body["total"] == len(expected), query
    # a closed task is found by the candidates it names (as Camunda's history finds a task that had a group)
    assert ids(rita.get("/api/v1/tasks?candidate_group=sales&state=completed")) == {tasks[1]}


def test_an_empty_candidate_group_filters_nothing_and_its_total_says_so(admin, tmp_path):
    admin.deploy(offered(tmp_path, "sales_call", "sales"), offered(tmp_path, "support_call", "support"))
    open_tasks = {admin.start(key)["tasks"][0]["id"] for key in ("sales_call", "support_call")}
    body = admin.get("/api/v1/tasks?candidate_group=&per_page=50").get_json()
    listed = {t["id"] for t in body["items"]}
    assert open_tasks <= listed and body["total"] == len(listed)


def test_camundas_candidate_user_matches_the_users_groups_and_the_user_by_name(app, admin, make, tmp_path):
    """`candidateUser=u`: tasks offered to u by name or to any group of u's, unassigned unless asked."""
    from config import TestConfig

    from ..camunda.test_rest import Camunda
    make.user("carl", groups=["sales", "staff"])
    make.user("nina")  # in no group
    named = tmp_path / "named.bpmn"
    named.write_text(offered(tmp_path, "named_call", "x").read_text()
                     .replace('camunda:candidateGroups="x"', 'camunda:candidateUsers="carl,nina"'))
    admin.deploy(offered(tmp_path, "sales_call", "sales"), offered(tmp_path, "staff_call", "staff"),
                 offered(tmp_path, "support_call", "support"), named)
    tasks = {key: admin.start(key)["tasks"][0]["id"] for key in ("sales_call", "staff_call", "support_call",
                                                                 "named_call")}
    rest = Camunda(app, "admin", TestConfig.ADMIN_PASSWORD)

    def found(query):
        return {t["id"] for t in rest.ok(rest.get(f"/task?{query}"))}
    assert found("candidateUser=carl") == {tasks["sales_call"], tasks["staff_call"], tasks["named_call"]}
    assert rest.ok(rest.get("/task/count?candidateUser=carl")) == {"count": 3}
    assert found("candidateUser=nina") == {tasks["named_call"]}
    assert found("candidateUser=nobody") == set()
    assert admin.post(f"/api/v1/tasks/{tasks['staff_call']}/delegate", json={"user": "carl"}).status_code == 200
    assert found("candidateUser=carl") == {tasks["sales_call"], tasks["named_call"]}
    assert found("candidateUser=carl&includeAssignedTasks=true") == {tasks["sales_call"], tasks["staff_call"],
                                                                     tasks["named_call"]}


def test_the_tasks_assigned_to_the_caller_are_listed_without_the_read_rule(app, admin, make, tmp_path):
    """`assignee=<me>`, open or completed: every such task is the caller's to read, so the list asks no read
    rule (the union of every instance that concerns the caller), and lists the same tasks."""
    from tests.factories import sql_sent

    rita = make.client("rita", groups=["sales"])
    sven = make.client("sven", groups=["sales"])
    admin.deploy(offered(tmp_path, "sales_call", "sales"))
    tasks = [admin.start("sales_call")["tasks"][0]["id"] for _ in range(3)]
    assert rita.post(f"/api/v1/tasks/{tasks[0]}/claim").status_code == 200
    assert rita.post(f"/api/v1/tasks/{tasks[1]}/claim").status_code == 200
    assert rita.post(f"/api/v1/tasks/{tasks[1]}/complete", json={"variables": {}}).status_code == 200
    assert sven.post(f"/api/v1/tasks/{tasks[2]}/claim").status_code == 200

    with sql_sent(app) as sent:
        assert ids(rita.get("/api/v1/tasks?assignee=rita")) == {tasks[0]}
        assert ids(rita.get("/api/v1/tasks?assignee=rita&state=completed")) == {tasks[1]}
    assert sent and not [s for s in sent if "concerning_" in s]
    # someone else's: the read rule stays (rita reads sven's task only as it concerns her: offered to sales)
    with sql_sent(app) as sent:
        assert ids(rita.get("/api/v1/tasks?assignee=sven")) == {tasks[2]}
    assert [s for s in sent if "concerning_" in s]


def test_closed_tasks_are_found_by_the_candidates_they_named(admin, make, tmp_path):
    """A completed or cancelled task keeps the candidate groups and users it was offered to: the filters find
    it by them, as they find an open one (whose candidate rows go when it closes)."""
    rita = make.client("rita", groups=["sales"])
    admin.deploy(offered(tmp_path, "sales_call", "sales"), offered(tmp_path, "support_call", "support"))
    done = admin.start("sales_call")["tasks"][0]["id"]
    assert rita.post(f"/api/v1/tasks/{done}/complete", json={"variables": {}}).status_code == 200
    cancelled = admin.start("sales_call")
    assert admin.post(f"/api/v1/process-instances/{cancelled['id']}/cancel", json={}).status_code == 200
    open_ = admin.start("sales_call")["tasks"][0]["id"]
    other = admin.start("support_call")["tasks"][0]["id"]
    assert admin.post(f"/api/v1/tasks/{other}/complete", json={"variables": {}}).status_code == 200

    assert ids(admin.get("/api/v1/tasks?state=completed&candidate_group=sales")) == {done}
    assert ids(admin.get("/api/v1/tasks?state=completed&candidate_group=support")) == {other}
    assert ids(admin.get("/api/v1/tasks?state=completed&candidate_group=sale")) == set()
    assert ids(admin.get("/api/v1/tasks?state=cancelled&candidate_group=sales")) == {cancelled["tasks"][0]["id"]}
    assert ids(admin.get("/api/v1/tasks?candidate_group=sales")) == {open_}
    # a member lists the group's closed tasks of the instances she may read (one she completed), not every
    # task the group was ever offered: closed, a task is no longer offered to anyone
    by_admin = admin.start("sales_call")["tasks"][0]["id"]
    assert admin.post(f"/api/v1/tasks/{by_admin}/complete", json={"variables": {}}).status_code == 200
    assert ids(admin.get("/api/v1/tasks?state=completed&candidate_group=sales")) == {done, by_admin}
    assert ids(rita.get("/api/v1/tasks?state=completed&candidate_group=sales")) == {done}
    assert ids(rita.get("/api/v1/tasks?state=cancelled&candidate_group=sales")) == set()
    assert ids(rita.get("/api/v1/tasks?state=completed&candidate_user=rita")) == set()  # offered to her group
    assert rita.get(f"/api/v1/tasks/{by_admin}").status_code == 200  # by its id, as a candidate (docs/security.md)


def test_a_closed_task_that_named_a_user_is_listed_to_them_only_as_its_instance_is(admin, make, tmp_path):
    nina = make.client("nina")
    named = tmp_path / "named.bpmn"
    named.write_text(offered(tmp_path, "named_call", "x").read_text()
                     .replace('camunda:candidateGroups="x"', 'camunda:candidateUsers="nina"'))
    admin.deploy(named)
    task = admin.start("named_call")["tasks"][0]["id"]
    assert ids(nina.get("/api/v1/tasks?candidate_user=nina")) == {task}  # open: offered to her
    assert admin.post(f"/api/v1/tasks/{task}/complete", json={"variables": {}}).status_code == 200
    assert ids(admin.get("/api/v1/tasks?state=completed&candidate_user=nina")) == {task}
    assert ids(nina.get("/api/v1/tasks?state=completed&candidate_user=nina")) == set()
