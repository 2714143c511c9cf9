"""A user's instance list: its total is the number of instances it pages through, however each one concerns them.

An unfiltered list of a user without a read grant is counted from the ids of the instances that concern
them (started, assigned, completed, offered by name or through a group); a filtered one, or one with a
grant, from the instances themselves. Both must equal what the pages hold.
"""
from __future__ import annotations

from ..factories import fixture

INSTANCES = "/api/v1/process-instances"


def pages(client, query: str = "", per_page: int = 2) -> tuple[list[str], set[int]]:
    """Every id the list pages through, and every total its pages gave."""
    seen, totals, page = [], set(), 1
    while True:
        response = client.get(f"{INSTANCES}?per_page={per_page}&page={page}{query}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [i["id"] for i in body["items"]]
        totals.add(body["total"])
        if len(body["items"]) < per_page:
            return seen, totals
        page += 1


def test_the_total_of_a_users_instances_is_what_their_pages_hold(admin, make):
    admin.deploy(fixture("valid", "three_tasks.bpmn"), fixture("crm", "manager_approval.bpmn"))
    sue = make.client("sue", groups=["staff"])
    started = sue.start("three_tasks")  # started by her, and offered to her group: once in the list
    offered = admin.start("three_tasks")  # task_a offered to her group
    worked = admin.start("three_tasks")
    task = worked["tasks"][0]["id"]
    assert sue.post(f"/api/v1/tasks/{task}/claim").status_code == 200
    sue.complete(task, {})  # she completed task_a; task_b is offered to her group again
    named = admin.start("crm_manager_approval", {"owner_manager": "sue"})  # offered to her by name
    admin.start("crm_manager_approval", {"owner_manager": "max"})  # someone else's
    gone = admin.start("three_tasks")
    assert admin.post(f"{INSTANCES}/{gone['id']}/cancel", json={}).status_code == 200  # its offer went with it
    mine = {started["id"], offered["id"], worked["id"], named["id"]}

    for per_page in (1, 2, 20):
        seen, totals = pages(sue, per_page=per_page)
        assert sorted(seen) == sorted(mine) and totals == {4}
        seen, totals = pages(sue, "&exact=true", per_page)
        assert sorted(seen) == sorted(mine) and totals == {4}
    seen, totals = pages(sue, "&key=three_tasks")
    assert set(seen) == mine - {named["id"]} and totals == {3}

    make.grant("read", "process", "crm_manager_approval", group="staff")  # now she reads every approval
    seen, totals = pages(sue)
    assert len(seen) == len(set(seen)) == 5 and totals == {5}


def test_a_read_grant_on_a_key_reads_the_tasks_of_its_instances_and_only_those(app, admin, make):
    from ..camunda.test_rest import Camunda
    admin.deploy(fixture("valid", "three_tasks.bpmn"), fixture("valid", "simple_user_task.bpmn"))
    granted = admin.start("three_tasks")  # task_a offered to staff: nothing of ada's
    admin.complete(granted["tasks"][0]["id"], {})
    other = admin.start("simple_user_task")  # alice's
    make.grant("read", "process", "three_tasks", user="ada")
    ada = make.client("ada")

    for state in ("open", "completed"):  # task_b waits, task_a was done
        listed = ada.get(f"/api/v1/tasks?state={state}").get_json()
        assert [t["process_instance_id"] for t in listed["items"]] == [granted["id"]] and listed["total"] == 1
    history = Camunda(app, "ada").ok(Camunda(app, "ada").get("/history/task"))
    assert {t["processInstanceId"] for t in history} == {granted["id"]} and len(history) == 2
    assert other["id"] not in {t["processInstanceId"] for t in history}
