"""The inbox over HTTP: who sees, claims and completes which task, and form validation on complete."""
from __future__ import annotations

import pytest

from ..factories import ApiClient, fixture, shipped, assert_problem



# -- helpers ------------------------------------------------------------------------

def inbox(api: ApiClient, query: str = "mine=true") -> dict:
    response = api.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def inbox_elements(api: ApiClient, query: str = "mine=true") -> list[str]:
    return sorted(t["element_id"] for t in inbox(api, query)["items"])


def task(api: ApiClient, task_id: str) -> dict:
    response = api.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def history_types(api: ApiClient, instance_id: str) -> list[str]:
    return [h["type"] for h in api.get(f"/api/v1/process-instances/{instance_id}/history").get_json()["items"]]


@pytest.fixture
def candidate_user_diagram(tmp_path):
    """simple_user_task, renamed `candidate_user_task`, offered to candidate user carol instead of assigned to alice."""
    source = fixture("valid", "simple_user_task.bpmn").read_bytes()
    path = tmp_path / "candidate_user_task.bpmn"
    path.write_bytes(source.replace(b"simple_user_task", b"candidate_user_task")
                     .replace(b'camunda:assignee="alice"', b'camunda:candidateUsers="carol"'))
    return path


@pytest.fixture
def inboxes(admin, candidate_user_diagram):
    """One open task each: `review` assigned to alice, `review` offered to carol, `task_a` for group staff."""
    admin.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn"),
                 candidate_user_diagram)
    return {
        "assigned": admin.start("simple_user_task")["tasks"][0],
        "candidate_user": admin.start("candidate_user_task")["tasks"][0],
        "candidate_group": admin.start("three_tasks")["tasks"][0],
    }


# -- inbox ----------------------------------------------------------------------------

def test_mine_lists_the_tasks_assigned_to_the_caller(make, inboxes):
    alice = make.client("alice")
    items = inbox(alice)["items"]
    assert [t["id"] for t in items] == [inboxes["assigned"]["id"]]


def test_mine_lists_the_tasks_offered_to_the_caller_as_candidate_user(make, inboxes):
    carol = make.client("carol")
    items = inbox(carol)["items"]
    assert [t["id"] for t in items] == [inboxes["candidate_user"]["id"]]


def test_mine_lists_the_tasks_offered_to_a_group_of_the_caller(make, inboxes):
    bob = make.client("bob", groups=["staff"])
    items = inbox(bob)["items"]
    assert [t["id"] for t in items] == [inboxes["candidate_group"]["id"]]


def test_mine_lists_nothing_for_someone_the_tasks_are_not_for(make, inboxes):
    dave = make.client("dave", groups=["sales_reps"])
    assert inbox(dave) == {"items": [], "total": 0, "page": 1, "per_page": 20, "total_exact": True, "next_cursor": None}


def test_a_claimed_group_task_leaves_the_other_candidates_inbox(make, inboxes):
    bob = make.client("bob", groups=["staff"])
    eve = make.client("eve", groups=["staff"])
    assert bob.post(f"/api/v1/tasks/{inboxes['candidate_group']['id']}/claim").status_code == 200

    assert inbox_elements(bob) == ["task_a"]
    assert inbox_elements(eve) == []


def test_task_filters_by_assignee_candidate_instance_and_key(admin, inboxes):
    assert inbox_elements(admin, "assignee=alice") == ["review"]
    assert [t["id"] for t in inbox(admin, "candidate_user=carol")["items"]] == [inboxes["candidate_user"]["id"]]
    assert inbox_elements(admin, "candidate_group=staff") == ["task_a"]
    assert inbox_elements(admin, "candidate_group=nobody") == []
    instance_id = inboxes["candidate_group"]["process_instance_id"]
    assert inbox_elements(admin, f"process_instance_id={instance_id}") == ["task_a"]
    assert inbox_elements(admin, "key=three_tasks") == ["task_a"]
    assert inbox(admin, "")["total"] == 3


def test_task_filter_by_state_finds_completed_tasks(admin, inboxes):
    admin.complete(inboxes["candidate_group"]["id"])

    done = inbox(admin, "state=completed")["items"]
    assert [t["id"] for t in done] == [inboxes["candidate_group"]["id"]]
    assert done[0]["completed_by"] == "admin"
    assert inbox_elements(admin, "key=three_tasks") == ["task_b"]


def test_the_inbox_is_paginated(admin, make):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = {admin.start("three_tasks")["tasks"][0]["id"] for _ in range(3)}
    bob = make.client("bob", groups=["staff"])

    pages = [inbox(bob, f"mine=true&per_page=1&page={n}") for n in (1, 2, 3, 4)]

    assert [(p["total"], p["page"], p["per_page"], len(p["items"])) for p in pages] == [
        (3, 1, 1, 1), (3, 2, 1, 1), (3, 3, 1, 1), (3, 4, 1, 0)]
    assert {p["items"][0]["id"] for p in pages[:3]} == started


def test_an_out_of_range_per_page_is_a_400_problem(admin):
    body = assert_problem(admin.get("/api/v1/tasks?per_page=0"), 400)
    assert "per_page" in body["errors"]


# -- claim, unclaim, complete: who may ---------------------------------------------------

@pytest.fixture
def staff_task(admin):
    admin.deploy(fixture("valid", "three_tasks.bpmn"))
    return admin.start("three_tasks")["tasks"][0]


def test_someone_who_is_not_a_candidate_may_neither_claim_nor_complete(admin, make, staff_task):
    """Nor learn that the task exists: a task the caller may not read is a 404 to every verb, as an unknown
    id is (unclaiming an unassigned task answered it whole)."""
    outsider = make.client("olga", groups=["sales_reps"])
    url = f"/api/v1/tasks/{staff_task['id']}"

    for verb in ("claim", "unclaim"):
        assert_problem(outsider.post(f"{url}/{verb}"), 404)
    assert_problem(outsider.post(f"{url}/delegate", json={"user": "olga"}), 404)
    assert_problem(outsider.post(f"{url}/complete", json={"variables": {}}), 404)
    assert_problem(outsider.get(url), 404)  # not hers to see either
    for verb in ("claim", "unclaim"):
        camunda = outsider.post(f"/engine-rest/task/{staff_task['id']}/{verb}", json={"userId": "olga"})
        assert camunda.status_code == 404 and camunda.get_json()["type"] == "InvalidRequestException"
    assert staff_task["id"] not in {t["id"] for t in outsider.get("/api/v1/tasks").get_json()["items"]}
    after = task(admin, staff_task["id"])
    assert after["state"] == "open" and after["assignee"] is None


def test_only_the_assignee_may_work_on_an_assigned_task(admin, make):
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    review = admin.start("simple_user_task")["tasks"][0]
    bob = make.client("bob", groups=["staff"])
    alice = make.client("alice")

    # bob may not even read alice's task: to him it does not exist
    assert_problem(bob.post(f"/api/v1/tasks/{review['id']}/claim"), 404)
    assert_problem(bob.post(f"/api/v1/tasks/{review['id']}/complete", json={"variables": {"ok": True}}), 404)

    assert alice.complete(review["id"], {"ok": True})["status"] == "completed"


def test_claiming_a_task_claimed_by_someone_else_is_a_409(make, staff_task):
    bob = make.client("bob", groups=["staff"])
    eve = make.client("eve", groups=["staff"])
    first = bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")
    assert first.status_code == 200 and first.get_json()["assignee"] == "bob"

    second = eve.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    assert_problem(second, 409)
    assert task(eve, staff_task["id"])["assignee"] == "bob"


def test_claiming_a_task_one_already_holds_is_harmless(make, staff_task):
    bob = make.client("bob", groups=["staff"])
    bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    again = bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    assert again.status_code == 200 and again.get_json()["assignee"] == "bob"


def test_a_candidate_may_not_complete_a_task_claimed_by_another(make, staff_task):
    bob = make.client("bob", groups=["staff"])
    eve = make.client("eve", groups=["staff"])
    bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    response = eve.post(f"/api/v1/tasks/{staff_task['id']}/complete", json={"variables": {}})

    assert_problem(response, 403)
    assert task(eve, staff_task["id"])["state"] == "open"


def test_only_the_assignee_or_an_admin_may_unclaim(admin, make, staff_task):
    bob = make.client("bob", groups=["staff"])
    eve = make.client("eve", groups=["staff"])
    bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    refused = eve.post(f"/api/v1/tasks/{staff_task['id']}/unclaim")
    assert_problem(refused, 403)
    assert task(eve, staff_task["id"])["assignee"] == "bob"

    by_admin = admin.post(f"/api/v1/tasks/{staff_task['id']}/unclaim")
    assert by_admin.status_code == 200 and by_admin.get_json()["assignee"] is None
    assert inbox_elements(eve) == ["task_a"]


def test_the_assignee_may_unclaim_and_another_candidate_then_claim(make, staff_task):
    bob = make.client("bob", groups=["staff"])
    eve = make.client("eve", groups=["staff"])
    bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    assert bob.post(f"/api/v1/tasks/{staff_task['id']}/unclaim").get_json()["assignee"] is None
    claimed = eve.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "eve"
    types = history_types(bob, staff_task["process_instance_id"])
    assert types.count("task_claimed") == 2 and types.count("task_unclaimed") == 1


def test_an_admin_may_claim_and_complete_any_task(admin, staff_task):
    claimed = admin.post(f"/api/v1/tasks/{staff_task['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "admin"

    done = admin.complete(staff_task["id"], {"note": "done by admin"})

    assert [t["element_id"] for t in done["tasks"]] == ["task_b"]


def test_completing_a_completed_task_is_a_409(make, staff_task):
    bob = make.client("bob", groups=["staff"])
    bob.complete(staff_task["id"])

    again = bob.post(f"/api/v1/tasks/{staff_task['id']}/complete", json={"variables": {}})
    claim = bob.post(f"/api/v1/tasks/{staff_task['id']}/claim")

    assert_problem(again, 409)
    assert_problem(claim, 409)
    assert history_types(bob, staff_task["process_instance_id"]).count("task_completed") == 1


def test_an_unknown_task_is_a_404_problem(admin):
    for action in ("claim", "unclaim", "complete"):
        assert_problem(admin.post(f"/api/v1/tasks/nope/{action}", json={}), 404)


# -- form validation -----------------------------------------------------------------------

@pytest.fixture
def approval(admin, make):
    """A discount approval waiting for a sales manager, and that manager."""
    admin.deploy(shipped("approvals", "discount_approval.bpmn"))
    started = admin.start("discount_approval", {"discount": 20, "deal_name": "Big deal"})
    manager = make.client("maria", groups=["sales_managers"])
    return started, manager


@pytest.mark.parametrize("variables, errors", [
    ({}, {"approved": ["required"]}),
    ({"comment": "no decision"}, {"approved": ["required"]}),
    ({"approved": "yes"}, {"approved": None}),
    ({"approved": True, "discount": 0}, {"discount": None}),
], ids=["nothing", "approved-missing", "approved-not-boolean", "field-not-in-form"])
def test_form_data_that_does_not_fit_the_form_is_refused_per_field_and_changes_nothing(
        admin, approval, variables, errors):
    started, manager = approval
    task_id = started["tasks"][0]["id"]
    before = admin.instance(started["id"])["variables"]

    response = manager.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": variables})

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/invalid-form-data"
    assert set(body["errors"]) == set(errors)
    for field, messages in errors.items():
        assert body["errors"][field], field
        if messages is not None:
            assert body["errors"][field] == messages
    assert task(admin, task_id)["state"] == "open"
    instance = admin.instance(started["id"])
    assert instance["status"] == "running" and instance["variables"] == before
    assert instance["variables"]["discount"] == 20
    assert "task_completed" not in history_types(admin, started["id"])


def test_several_bad_fields_are_reported_together(approval):
    started, manager = approval

    response = manager.post(f"/api/v1/tasks/{started['tasks'][0]['id']}/complete",
                            json={"variables": {"approved": "yes", "comment": 7, "approval_status": "approved"}})

    body = assert_problem(response, 400)
    assert set(body["errors"]) == {"approved", "comment", "approval_status"}


def test_valid_form_data_after_a_refusal_completes_the_task(approval):
    started, manager = approval
    task_id = started["tasks"][0]["id"]
    manager.complete(task_id, {"approved": "yes"}, expect=400)

    done = manager.complete(task_id, {"approved": False})

    assert done["status"] == "completed"


@pytest.fixture
def enquiry(admin, make):
    """An enquiry blueprint instance at stage New, and a sales rep (lane sales_reps)."""
    admin.deploy(shipped("blueprints", "enquiry_blueprint.bpmn"), shipped("blueprints", "enquiry_new.schema.json"),
                 shipped("blueprints", "enquiry_contacted.schema.json"))
    started = admin.start("enquiry_blueprint", business_key="ENQ-1")
    rep = make.client("rita", groups=["sales_reps"])
    return started, rep


def test_a_transition_outside_the_enum_is_refused(admin, enquiry):
    started, rep = enquiry
    task_id = started["tasks"][0]["id"]

    response = rep.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"transition": "teleport"}})

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["transition"]
    assert task(admin, task_id)["state"] == "open"
    assert admin.instance(started["id"])["variables"] == {"stage": "New"}


@pytest.mark.parametrize("variables, errors", [
    ({"transition": "qualify"}, {"budget", "travel_date"}),
    ({"transition": "qualify", "budget": 5000}, {"travel_date"}),
    ({"transition": "qualify", "travel_date": "2030-05-01"}, {"budget"}),
    ({"transition": "qualify", "budget": "lots", "travel_date": "2030-05-01"}, {"budget"}),
    ({"transition": "qualify", "budget": 5000, "travel_date": "next spring"}, {"travel_date"}),
], ids=["both-missing", "date-missing", "budget-missing", "budget-not-number", "date-not-a-date"])
def test_qualifying_requires_a_budget_and_a_travel_date(admin, enquiry, variables, errors):
    started, rep = enquiry
    contacted = rep.complete(started["tasks"][0]["id"], {"transition": "contact"})["tasks"][0]
    before = admin.instance(started["id"])["variables"]

    response = rep.post(f"/api/v1/tasks/{contacted['id']}/complete", json={"variables": variables})

    body = assert_problem(response, 400)
    assert set(body["errors"]) == errors
    assert task(admin, contacted["id"])["state"] == "open"
    assert admin.instance(started["id"])["variables"] == before
    assert history_types(admin, started["id"]).count("task_completed") == 1


def test_disqualifying_needs_neither_budget_nor_travel_date(enquiry, admin):
    started, rep = enquiry
    contacted = rep.complete(started["tasks"][0]["id"], {"transition": "contact"})["tasks"][0]

    done = rep.complete(contacted["id"], {"transition": "disqualify"})

    assert done["status"] == "completed"
    assert admin.instance(started["id"])["variables"]["stage"] == "Lost"


def test_the_enquiry_blueprint_end_to_end(admin, enquiry):
    started, rep = enquiry
    assert started["status"] == "running" and started["variables"] == {"stage": "New"}
    [new] = started["tasks"]
    assert new["element_id"] == "stage_new" and new["candidate_groups"] == ["sales_reps"]
    assert [t["id"] for t in inbox(rep)["items"]] == [new["id"]]

    contacted_step = rep.complete(new["id"], {"transition": "contact"})

    assert contacted_step["status"] == "running"
    [contacted] = contacted_step["tasks"]
    assert contacted["element_id"] == "stage_contacted"
    assert task(rep, contacted["id"])["form"]["title"] == "Contacted enquiry"
    assert admin.instance(started["id"])["variables"]["stage"] == "Contacted"

    done = rep.complete(contacted["id"], {"transition": "qualify", "budget": 5000, "travel_date": "2030-05-01"})

    assert done == {"process_instance_id": started["id"], "status": "completed", "tasks": []}
    instance = admin.instance(started["id"])
    assert instance["status"] == "completed" and instance["business_key"] == "ENQ-1"
    assert instance["variables"]["stage"] == "Qualified"
    assert instance["variables"]["budget"] == 5000
    assert instance["variables"]["travel_date"] == "2030-05-01"
    assert inbox(rep)["total"] == 0
    completed = [h for h in admin.get(f"/api/v1/process-instances/{started['id']}/history").get_json()["items"]
                 if h["type"] == "task_completed"]
    assert [(h["element_id"], h["user"]) for h in completed] == [("stage_new", "rita"), ("stage_contacted", "rita")]


# -- parallel branches -------------------------------------------------------------------------

def test_parallel_tasks_are_completed_one_after_another(admin, make):
    admin.deploy(fixture("valid", "parallel_tasks.bpmn"))
    started = admin.start("parallel_tasks")
    tasks = {t["element_id"]: t for t in started["tasks"]}
    assert set(tasks) == {"left", "right"}
    bob = make.client("bob", groups=["staff"])
    assert inbox_elements(bob) == ["left", "right"]

    after_left = bob.complete(tasks["left"]["id"])

    assert after_left["status"] == "running"
    assert [t["element_id"] for t in after_left["tasks"]] == ["right"]
    assert inbox_elements(bob) == ["right"]
    assert admin.instance(started["id"])["status"] == "running"

    after_right = bob.complete(tasks["right"]["id"])

    assert after_right == {"process_instance_id": started["id"], "status": "completed", "tasks": []}
    assert inbox_elements(bob) == []
    assert admin.instance(started["id"])["active_activities"] == []
