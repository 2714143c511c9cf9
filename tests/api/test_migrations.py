"""POST /api/v1/migrations and POST /api/v1/process-instances/{id}/modification over HTTP.

Scenarios run on one server and again across a restart between the migration (or modification) and
the rest of the run, so the state the migration stored is what a fresh engine loads and runs to its end.
Diagrams: tests/fixtures/bpmn/migration (written for these tests).
"""
from __future__ import annotations

import datetime as dt

import pytest

from app.jobs.runner import run_due_jobs
from app.extensions import db

from ..factories import ApiClient, assert_problem, fixture

PATH = "/api/v1/migrations"


def _deploy(client: ApiClient, name: str) -> str:
    [definition] = client.deploy(fixture("migration", name))["definitions"]
    return definition["id"]


def _history(client: ApiClient, instance_id: str) -> list[dict]:
    response = client.get(f"/api/v1/process-instances/{instance_id}/history?per_page=500")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _task(client: ApiClient, instance_id: str) -> dict:
    [task] = client.instance(instance_id)["tasks"]
    return task


def _migrate(client: ApiClient, expect: int = 200, **body) -> dict:
    response = client.post(PATH, json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def _by_instance(answer: dict) -> dict[str, dict]:
    return {item["instance_id"]: item for item in answer["instances"]}


# -- elements added, removed, renamed; a waiting user task -------------------------------------------------------

def test_waiting_tasks_move_across_added_removed_and_renamed_elements_keeping_their_people_and_data(server, make):
    admin = server.login()
    make.user("sam", groups=["staff"])
    sam = ApiClient.login(server.app, "sam", "secret")
    v1 = _deploy(admin, "order_v1.bpmn")
    at_review = admin.start("order", {"customer": "ACME"})["id"]
    at_ship = admin.start("order", {"customer": "Globex"})["id"]
    admin.complete(_task(admin, at_ship)["id"], {"note": "checked"})
    ship_task = _task(admin, at_ship)
    assert sam.post(f"/api/v1/tasks/{ship_task['id']}/claim").status_code == 200
    admin.patch(f"/api/v1/process-instances/{at_ship}/variables", json={"variables": {"note": "fragile"}})
    at_notify = admin.start("order", {"customer": "Initech"})["id"]
    admin.complete(_task(admin, at_notify)["id"])
    admin.complete(_task(admin, at_notify)["id"])
    v2 = _deploy(admin, "order_v2.bpmn")

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=v2, mapping={"ship": "dispatch"},
                      instance_ids=[at_review, at_ship, at_notify])

    assert answer["status"] == "completed" and answer["id"]
    assert (answer["total"], answer["migrated"], answer["refused"], answer["pending"]) == (3, 2, 1, 0)
    items = _by_instance(answer)
    assert items[at_review]["status"] == items[at_ship]["status"] == "migrated"
    assert items[at_notify]["status"] == "refused"
    assert [(r["element_id"], r["reason"]) for r in items[at_notify]["reasons"]] == [("notify", "no-counterpart")]

    moved = _task(admin, at_ship)
    assert moved["id"] == ship_task["id"]  # the same task, renamed: not a new one
    assert (moved["element_id"], moved["name"]) == ("dispatch", "Dispatch order")
    assert moved["assignee"] == "sam" and moved["candidate_groups"] == ["staff"]
    assert admin.instance(at_ship)["definition"] == {"id": v2, "key": "order", "version": 2}
    assert admin.instance(at_notify)["definition"]["id"] == v1
    [migrated] = [e for e in _history(admin, at_ship) if e["type"] == "migrated"]
    assert migrated["user"] == "admin"
    assert migrated["data"]["from"] == {"definition_id": v1, "key": "order", "version": 1}
    assert migrated["data"]["to"] == {"definition_id": v2, "key": "order", "version": 2}
    assert not [e for e in _history(admin, at_notify) if e["type"] == "migrated"]

    server.restart()
    admin = server.admin
    sam = ApiClient.login(server.app, "sam", "secret")
    form = sam.get(f"/engine-rest/task/{moved['id']}/form-variables",
                   headers={"Authorization": f"Bearer {sam.token}"}).get_json()
    assert form["note"]["value"] == "fragile"
    assert sam.complete(moved["id"], {"note": "sent"})["status"] == "completed"
    after_review = admin.complete(_task(admin, at_review)["id"], {"note": "ok"})
    assert [t["element_id"] for t in after_review["tasks"]] == ["dispatch"]  # through the added stock check
    assert admin.instance(at_review)["variables"]["in_stock"] is True
    assert admin.complete(after_review["tasks"][0]["id"])["status"] == "completed"
    assert admin.complete(_task(admin, at_notify)["id"])["status"] == "completed"  # the refused one runs on v1


def test_a_dry_run_answers_per_instance_and_changes_nothing(admin):
    v1 = _deploy(admin, "order_v1.bpmn")
    at_review = admin.start("order")["id"]
    at_ship = admin.start("order")["id"]
    admin.complete(_task(admin, at_ship)["id"])
    v2 = _deploy(admin, "order_v2.bpmn")
    before = {i: (admin.instance(i), _history(admin, i)) for i in (at_review, at_ship)}

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=v2, filter={}, dry_run=True)

    assert answer["dry_run"] is True and answer["id"] is None
    assert (answer["total"], answer["migratable"], answer["refused"]) == (2, 1, 1)
    items = _by_instance(answer)
    assert items[at_review]["status"] == "migratable"
    assert [r["element_id"] for r in items[at_ship]["reasons"]] == ["ship"]
    assert answer["changes"]["added"] == ["check_stock", "dispatch"]
    assert answer["changes"]["removed"] == ["notify", "ship"]
    assert {i: (admin.instance(i), _history(admin, i)) for i in (at_review, at_ship)} == before
    assert admin.get(PATH).get_json()["total"] == 0  # no batch was made


def test_an_instance_may_move_to_another_process(server):
    admin = server.login()
    v1 = _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order")["id"]
    other = _deploy(admin, "shipment.bpmn")

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=other, instance_ids=[instance])

    assert answer["migrated"] == 1
    details = admin.instance(instance)
    assert details["definition"]["key"] == "shipment"
    assert admin.get("/api/v1/process-instances?key=shipment").get_json()["total"] == 1
    server.restart()
    done = server.admin.complete(_task(server.admin, instance)["id"])
    assert done["status"] == "running"  # at the external task of the new process
    assert [a["element_id"] for a in server.admin.instance(instance)["active_activities"]] == ["label"]


# -- a waiting timer --------------------------------------------------------------------------------------------

def test_a_waiting_timer_keeps_its_due_time_and_fires_onto_the_targets_path(clock, server):
    admin = server.login()
    v1 = _deploy(admin, "reminder_v1.bpmn")
    instance = admin.start("reminder")["id"]
    [job] = admin.get("/api/v1/jobs").get_json()["items"]
    v2 = _deploy(admin, "reminder_v2.bpmn")  # waits three hours, not one

    assert _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[instance])["migrated"] == 1

    [after] = [j for j in admin.get("/api/v1/jobs").get_json()["items"] if j["kind"] == "timer"]
    assert after["due_at"] == job["due_at"]
    server.restart()
    clock.shift(dt.timedelta(minutes=59))
    assert server.fire()["done"] == 0
    clock.shift(dt.timedelta(minutes=2))  # past the hour the instance was waiting for; v2's three are far off
    assert server.fire()["done"] == 1
    details = server.login().instance(instance)
    assert details["variables"]["path"] == "new"
    assert [t["element_id"] for t in details["tasks"]] == ["follow_up"]


# -- a waiting message catch ----------------------------------------------------------------------------------------

def test_a_message_sent_after_migration_reaches_the_migrated_catch(server):
    admin = server.login()
    v1 = _deploy(admin, "reply_v1.bpmn")
    instance = admin.start("reply", business_key="R-1")["id"]
    v2 = _deploy(admin, "reply_v2.bpmn")

    assert _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[instance])["migrated"] == 1

    server.restart()
    admin = server.admin
    sent = admin.post("/api/v1/messages", json={"name": "customer-reply", "business_key": "R-1",
                                                "variables": {"answer": "yes"}})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["delivered"] == [instance]
    details = admin.instance(instance)
    assert [t["element_id"] for t in details["tasks"]] == ["handle_reply"]
    assert details["variables"]["answer"] == "yes"


# -- multi-instance ---------------------------------------------------------------------------------------------

def test_an_unchanged_multi_instance_migrates_and_a_changed_one_is_refused(server):
    admin = server.login()
    v1 = _deploy(admin, "signoff_v1.bpmn")
    instance = admin.start("signoff", {"approvers": ["ann", "bob", "cy"]})["id"]
    [anns] = [t for t in admin.instance(instance)["tasks"] if t["assignee"] == "ann"]
    admin.complete(anns["id"])
    v2 = _deploy(admin, "signoff_v2.bpmn")
    v3 = _deploy(admin, "signoff_v3.bpmn")

    refused = _migrate(admin, source_definition_id=v1, target_definition_id=v3, instance_ids=[instance])
    [item] = refused["instances"]
    assert item["status"] == "refused"
    assert [(r["element_id"], r["reason"]) for r in item["reasons"]] == [("approve", "multi-instance-changed")]
    assert "sequential" in item["reasons"][0]["message"]

    assert _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[instance])["migrated"] == 1
    server.restart()
    admin = server.admin
    open_tasks = admin.instance(instance)["tasks"]
    assert sorted(t["assignee"] for t in open_tasks) == ["bob", "cy"]
    for task in open_tasks:
        last = admin.complete(task["id"])
    assert [t["element_id"] for t in last["tasks"]] == ["summary"]


# -- batches: chunks, a crash in the middle, the job that resumes -------------------------------------------------

class Crash(BaseException):
    """What a process dying in the middle of a chunk looks like to the code around it."""


def _crash_after(monkeypatch, count: int) -> list[str]:
    """Make the batch die while migrating its `count`+1-th instance; returns the instances it reached."""
    from app.services import migrations

    reached: list[str] = []
    real = migrations.migrate_instance

    def migrate_instance(plan, instance_id, actor, **kwargs):
        if len(reached) == count:
            raise Crash(instance_id)
        reached.append(instance_id)
        return real(plan, instance_id, actor, **kwargs)

    monkeypatch.setattr(migrations, "migrate_instance", migrate_instance)
    return reached


@pytest.mark.parametrize("resume", ["resume", "job"])
def test_a_batch_that_crashes_midway_is_resumed_and_migrates_every_instance_exactly_once(
        app, clock, admin, monkeypatch, resume):
    monkeypatch.setitem(app.config, "MIGRATION_CHUNK_SIZE", 2)
    v1 = _deploy(admin, "order_v1.bpmn")
    instances = [admin.start("order", {"n": n})["id"] for n in range(5)]
    v2 = _deploy(admin, "order_v2.bpmn")
    reached = _crash_after(monkeypatch, 3)

    with pytest.raises(Crash):
        admin.post(PATH, json={"source_definition_id": v1, "target_definition_id": v2, "instance_ids": instances})

    # The first chunk committed; the second died with its transaction (its first instance too).
    [batch] = admin.get(PATH).get_json()["items"]
    assert (batch["status"], batch["migrated"], batch["pending"]) == ("running", 2, 3)
    assert [admin.instance(i)["definition"]["id"] for i in instances] == [v2, v2, v1, v1, v1]
    [job] = [j for j in admin.get("/api/v1/jobs").get_json()["items"] if j["kind"] == "batch"]
    assert job["batch_id"] == batch["id"] and job["progress"]["pending"] == 3
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "MIGRATION_CHUNK_SIZE", 2)

    if resume == "resume":
        answer = admin.post(f"{PATH}/{batch['id']}/resume")
        assert answer.status_code == 200, answer.get_json()
    else:
        clock.shift(dt.timedelta(minutes=2))  # the request that ran the batch is gone: its job falls due
        with app.app_context():
            assert run_due_jobs()["done"] == 2  # two chunks left: one pass of the job each
            db.session.remove()

    done = admin.get(f"{PATH}/{batch['id']}").get_json()
    assert (done["status"], done["migrated"], done["pending"]) == ("completed", 5, 0)
    for instance in instances:
        assert admin.instance(instance)["definition"]["id"] == v2
        assert len([e for e in _history(admin, instance) if e["type"] == "migrated"]) == 1
    assert not [j for j in admin.get("/api/v1/jobs").get_json()["items"] if j["kind"] == "batch"]
    assert len(reached) == 3


def test_an_async_migration_is_a_job_with_progress_that_the_job_runner_works_through(app, clock, admin, monkeypatch):
    monkeypatch.setitem(app.config, "MIGRATION_CHUNK_SIZE", 2)
    v1 = _deploy(admin, "order_v1.bpmn")
    instances = [admin.start("order")["id"] for _ in range(3)]
    admin.complete(_task(admin, instances[0])["id"])  # at ship: refused without a mapping
    v2 = _deploy(admin, "order_v2.bpmn")

    queued = _migrate(admin, source_definition_id=v1, target_definition_id=v2, filter={"activity": "review"},
                      **{"async": True})

    assert (queued["status"], queued["total"], queued["pending"]) == ("running", 2, 2)
    assert [i["status"] for i in queued["instances"]] == ["pending", "pending"]
    [job] = admin.get("/api/v1/jobs?status=pending").get_json()["items"]
    assert job["kind"] == "batch" and job["progress"] == {"total": 2, "migrated": 0, "refused": 0, "failed": 0,
                                                          "pending": 2}
    clock.shift(dt.timedelta(seconds=1))
    with app.app_context():
        assert run_due_jobs()["done"] == 1
        db.session.remove()
    done = admin.get(f"{PATH}/{queued['id']}").get_json()
    assert (done["status"], done["migrated"]) == ("completed", 2)
    listed = admin.get(f"{PATH}/{queued['id']}/instances?status=migrated").get_json()
    assert sorted(i["instance_id"] for i in listed["items"]) == sorted(instances[1:])
    assert admin.instance(instances[0])["definition"]["id"] == v1


# -- who may, and bad input ---------------------------------------------------------------------------------------

def test_a_plain_user_may_not_migrate_and_a_migrate_grant_opens_the_instances_they_may_read(admin, make):
    v1 = _deploy(admin, "order_v1.bpmn")
    user = make.client("pat")
    not_theirs = admin.start("order")["id"]
    theirs = user.start("order")["id"]
    v2 = _deploy(admin, "order_v2.bpmn")
    body = {"source_definition_id": v1, "target_definition_id": v2, "instance_ids": [not_theirs]}

    problem = assert_problem(user.post(PATH, json=body), 403)
    assert "migrate" in problem["detail"]

    make.grant("migrate", resource_id="order", user="pat")
    unknown = assert_problem(user.post(PATH, json=body), 400)  # not theirs to read: as if it did not exist
    assert not_theirs in unknown["errors"]["instance_ids"][0]
    answer = _migrate(user, source_definition_id=v1, target_definition_id=v2, filter={})
    assert [(i["instance_id"], i["status"]) for i in answer["instances"]] == [(theirs, "migrated")]
    assert admin.instance(not_theirs)["definition"]["id"] == v1
    assert admin.get(f"{PATH}/{answer['id']}").status_code == 200
    assert user.get(f"{PATH}/{answer['id']}").status_code == 200
    assert make.client("lee").get(f"{PATH}/{answer['id']}").status_code == 404  # another user's batch


@pytest.mark.parametrize("change, field", [
    ({"source_definition_id": "nope"}, "source_definition_id"),
    ({"target_definition_id": "nope"}, "target_definition_id"),
    ({"target_definition_id": "SOURCE"}, "target_definition_id"),
    ({"mapping": {"ship": "nowhere"}}, "mapping"),
    ({"mapping": {"nothing": "dispatch"}}, "mapping"),
    ({"instance_ids": None}, "instance_ids"),
    ({"filter": {}}, "instance_ids"),
    ({"instance_ids": ["0" * 32]}, "instance_ids"),
    ({"instance_ids": []}, "instance_ids"),
    ({"dry_run": "perhaps"}, "dry_run"),
])
def test_every_bad_migration_request_is_a_400_problem_naming_its_field(admin, change, field):
    v1 = _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order")["id"]
    v2 = _deploy(admin, "order_v2.bpmn")
    body = {"source_definition_id": v1, "target_definition_id": v2, "instance_ids": [instance]}
    body.update({k: (v1 if v == "SOURCE" else v) for k, v in change.items()})
    body = {k: v for k, v in body.items() if v is not None}

    problem = assert_problem(admin.post(PATH, json=body), 400)

    assert field in problem["errors"], problem
    assert admin.instance(instance)["definition"]["id"] == v1
    assert assert_problem(admin.get(f"{PATH}/{'0' * 32}"), 404)


# -- modification ---------------------------------------------------------------------------------------------------

def _modify(client: ApiClient, instance_id: str, instructions: list[dict], annotation: str | None = "a repair",
            expect: int = 200):
    body = {"instructions": instructions}
    if annotation is not None:
        body["annotation"] = annotation
    response = client.post(f"/api/v1/process-instances/{instance_id}/modification", json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_cancel_and_start_before_moves_the_token_and_the_history_says_who_and_why(server):
    admin = server.login()
    _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order", {"customer": "ACME"})["id"]
    review = _task(admin, instance)

    moved = _modify(admin, instance, [{"type": "cancel", "element_id": "review"},
                                      {"type": "start_before", "element_id": "notify", "variables": {"skipped": True}}],
                    annotation="the customer shipped it themselves")

    assert [t["element_id"] for t in moved["tasks"]] == ["notify"]
    assert admin.get(f"/api/v1/tasks/{review['id']}").get_json()["state"] == "cancelled"
    [audit] = [e for e in _history(admin, instance) if e["type"] == "modified"]
    assert audit["user"] == "admin" and audit["message"] == "the customer shipped it themselves"
    assert [(i["kind"], i["element_id"]) for i in audit["data"]["instructions"]] == [
        ("cancel", "review"), ("start_before", "notify")]
    server.restart()
    details = server.admin.instance(instance)
    assert details["variables"] == {"customer": "ACME", "skipped": True}
    assert server.admin.complete(details["tasks"][0]["id"])["status"] == "completed"


def test_reset_to_an_earlier_user_task_opens_it_again_as_a_new_task(server):
    admin = server.login()
    _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order")["id"]
    first_review = _task(admin, instance)
    admin.complete(first_review["id"], {"note": "first"})
    ship = _task(admin, instance)

    reset = _modify(admin, instance, [{"type": "reset", "element_id": "review", "variables": {"note": "again"}}])

    [again] = reset["tasks"]
    assert again["element_id"] == "review" and again["id"] != first_review["id"]
    assert admin.get(f"/api/v1/tasks/{ship['id']}").get_json()["state"] == "cancelled"
    assert admin.get(f"/api/v1/tasks/{first_review['id']}").get_json()["state"] == "completed"
    server.restart()
    admin = server.admin
    assert admin.instance(instance)["variables"]["note"] == "again"
    after = admin.complete(again["id"])
    assert [t["element_id"] for t in after["tasks"]] == ["ship"]


def test_cancelling_the_last_token_ends_the_instance_as_cancelled(admin):
    _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order")["id"]

    ended = _modify(admin, instance, [{"type": "cancel", "element_id": "review"}])

    assert ended["status"] == "cancelled" and ended["tasks"] == []
    assert admin.instance(instance)["ended_at"] is not None


@pytest.mark.parametrize("instructions, annotation, field", [
    ([{"type": "cancel", "element_id": "no_such_element"}], "why", "instructions.0"),
    ([{"type": "start_before", "element_id": "review"}, {"type": "cancel", "element_id": "ship"}], "why",
     "instructions.1"),
    ([{"type": "start_after", "element_id": "end"}], "why", "instructions.0"),
    ([{"type": "reset", "element_id": "ship"}], "why", "instructions.0"),
    ([{"type": "jump", "element_id": "review"}], "why", "instructions"),
    ([{"type": "cancel", "element_id": "review"}], None, "annotation"),
    ([{"type": "cancel", "element_id": "review"}], "   ", "annotation"),
    ([], "why", "instructions"),
])
def test_a_bad_modification_is_a_400_problem_and_changes_nothing(admin, instructions, annotation, field):
    _deploy(admin, "order_v1.bpmn")
    instance = admin.start("order")["id"]
    before = (admin.instance(instance), _history(admin, instance))

    problem = _modify(admin, instance, instructions, annotation, expect=400)

    assert field in problem["errors"], problem
    assert (admin.instance(instance), _history(admin, instance)) == before


def test_modifying_needs_repair_on_the_process_and_a_suspended_instance_is_left_alone(admin, make):
    _deploy(admin, "order_v1.bpmn")
    user = make.client("pat")
    instance = user.start("order")["id"]
    cancel = [{"type": "cancel", "element_id": "review"}]

    assert assert_problem(user.post(f"/api/v1/process-instances/{instance}/modification",
                                    json={"instructions": cancel, "annotation": "mine"}), 403)
    make.grant("repair", resource_id="order", user="pat")
    admin.post(f"/api/v1/process-instances/{instance}/suspend", json={})
    assert assert_problem(user.post(f"/api/v1/process-instances/{instance}/modification",
                                    json={"instructions": cancel, "annotation": "mine"}), 409)
    admin.post(f"/api/v1/process-instances/{instance}/resume", json={})
    assert _modify(user, instance, cancel)["status"] == "cancelled"


# -- external tasks and asynchronous jobs ---------------------------------------------------------------------------

def test_an_external_task_and_an_asynchronous_job_move_with_their_instances(clock, server):
    admin = server.login()
    v1 = _deploy(admin, "charge_v1.bpmn")
    started = {admin.start("charge", {"amount": n})["id"] for n in (5, 7)}
    basic = {"Authorization": f"Bearer {admin.token}"}
    [locked] = admin.client.post("/engine-rest/external-task/fetchAndLock", headers=basic, json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "charge", "lockDuration": 60000}]}).get_json()
    assert admin.client.post(f"/engine-rest/external-task/{locked['id']}/complete", headers=basic,
                             json={"workerId": "w1"}).status_code == 204
    at_job = locked["processInstanceId"]  # charged: its asynchronous script waits for a job
    [at_worker] = started - {at_job}  # still waits for a worker to charge it
    v2 = _deploy(admin, "charge_v2.bpmn")

    answer = _migrate(admin, source_definition_id=v1, target_definition_id=v2, instance_ids=[at_worker, at_job])

    assert answer["migrated"] == 2
    [waiting] = admin.client.get("/engine-rest/external-task", headers=basic).get_json()
    assert (waiting["processInstanceId"], waiting["processDefinitionId"]) == (at_worker, v2)
    server.restart()
    admin = server.admin
    basic = {"Authorization": f"Bearer {admin.token}"}
    clock.shift(dt.timedelta(seconds=1))
    assert server.fire()["done"] == 1  # the asynchronous script of the instance that was charged
    assert [t["element_id"] for t in admin.instance(at_job)["tasks"]] == ["receipt"]
    [task] = admin.client.post("/engine-rest/external-task/fetchAndLock", headers=basic, json={
        "workerId": "w2", "maxTasks": 1, "topics": [{"topicName": "charge", "lockDuration": 60000}]}).get_json()
    assert task["processInstanceId"] == at_worker and task["processDefinitionId"] == v2
    admin.client.post(f"/engine-rest/external-task/{task['id']}/complete", headers=basic, json={"workerId": "w2"})
    clock.shift(dt.timedelta(seconds=1))
    assert server.fire()["done"] == 1
    details = admin.instance(at_worker)
    assert [t["element_id"] for t in details["tasks"]] == ["receipt"] and details["variables"]["prepared"] is True


def test_starting_at_a_timer_whose_expression_fails_is_a_400_naming_it_and_changes_nothing(admin, app):
    """A timer evaluates its date as it is entered: one that cannot (its variable gone, or not a date) makes
    the instruction impossible, in either API, as any other instruction that cannot apply."""
    from ..factories import fixture as diagram

    admin.deploy(diagram("events", "remind_at_variable.bpmn"))
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    instance = admin.start("remind_at_variable", {"remind_at": later})["id"]
    admin.patch(f"/api/v1/process-instances/{instance}/variables", json={"variables": {"remind_at": None}})
    before = (admin.instance(instance), _history(admin, instance))
    start_timer = {"type": "start_before", "element_id": "until_remind_at"}

    for instruction in (start_timer, dict(start_timer, variables={"remind_at": "bogus"})):
        problem = _modify(admin, instance, [instruction], expect=400)
        assert "until_remind_at" in problem["detail"] and "cannot start" in problem["detail"], problem
    camunda = app.test_client().post(
        f"/engine-rest/process-instance/{instance}/modification", headers=admin._headers(),
        json={"instructions": [{"type": "startBeforeActivity", "activityId": "until_remind_at"}]})
    assert camunda.status_code == 400 and camunda.get_json()["type"] == "InvalidRequestException", camunda.get_json()
    assert (admin.instance(instance), _history(admin, instance)) == before

    moved = _modify(admin, instance, [dict(start_timer, variables={"remind_at": later})])
    assert moved["status"] == "running"
    assert [a["element_id"] for a in admin.instance(instance)["active_activities"]].count("until_remind_at") == 2
