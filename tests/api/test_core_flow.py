"""The core contract end to end: token, deploy, start, inbox, claim, complete, history."""
from __future__ import annotations

from ..factories import fixture, shipped


def test_calls_without_a_token_get_a_401_problem(client):
    response = client.get("/api/v1/process-definitions")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 401 and body["title"] and body["type"].startswith("/problems/")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_password_and_forged_token_are_refused(client, make):
    make.user("alice")
    bad = client.post("/api/v1/auth/token", json={"username": "alice", "password": "nope"})
    assert bad.status_code == 401
    forged = client.get("/api/v1/tasks", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401 and forged.get_json()["detail"] == "invalid token"


def test_approval_straight_through(admin, make):
    deployment = admin.deploy(shipped("approvals", "discount_approval.bpmn"))
    assert [d["key"] for d in deployment["definitions"]] == ["discount_approval"]
    assert deployment["definitions"][0]["version"] == 1

    started = admin.start("discount_approval", {"discount": 20, "deal_name": "Big deal"}, business_key="DEAL-1")
    assert started["status"] == "running"
    [task] = started["tasks"]
    assert task["element_id"] == "approve_discount"
    assert task["candidate_groups"] == ["sales_managers"]

    manager = make.client("maria", groups=["sales_managers"])
    inbox = manager.get("/api/v1/tasks?mine=true").get_json()
    assert inbox["total"] == 1 and inbox["items"][0]["id"] == task["id"]

    detail = manager.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert detail["form"]["properties"]["approved"]["type"] == "boolean"
    assert detail["form"]["required"] == ["approved"]

    claimed = manager.post(f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "maria"

    done = manager.complete(task["id"], {"approved": True, "comment": "fine"})
    assert done == {"process_instance_id": started["id"], "status": "completed", "tasks": []}

    instance = admin.instance(started["id"])
    assert instance["status"] == "completed"
    assert instance["variables"]["approval_status"] == "approved"
    assert instance["definition"]["key"] == "discount_approval"
    assert instance["ended_at"] is not None and instance["active_activities"] == []

    history = admin.get(f"/api/v1/process-instances/{started['id']}/history").get_json()["items"]
    types = [(h["type"], h["element_id"]) for h in history]
    assert types[0] == ("instance_started", None)
    assert ("task_claimed", "approve_discount") in types
    completed = next(h for h in history if h["type"] == "task_completed")
    assert completed["user"] == "maria" and completed["data"] == {"approved": True, "comment": "fine"}
    assert ("element_left", "mark_approved") in types
    assert history[-1]["type"] == "status_changed" and history[-1]["data"] == {"from": "running", "to": "completed"}


def test_rejection_path(admin):
    admin.deploy(shipped("approvals", "discount_approval.bpmn"))
    started = admin.start("discount_approval", {"discount": 30})
    admin.complete(started["tasks"][0]["id"], {"approved": False})
    assert admin.instance(started["id"])["variables"]["approval_status"] == "rejected"


def test_small_discount_is_approved_without_a_task(admin):
    admin.deploy(shipped("approvals", "discount_approval.bpmn"))
    started = admin.start("discount_approval", {"discount": 5})
    assert started["status"] == "completed" and started["tasks"] == []
    assert started["variables"]["approval_status"] == "auto_approved"


def test_redeploying_the_same_content_keeps_the_version_and_a_change_makes_a_new_one(admin, tmp_path):
    path = fixture("valid", "simple_user_task.bpmn")
    first = admin.deploy(path)["definitions"][0]
    again = admin.deploy(path)["definitions"][0]
    assert again["id"] == first["id"] and again["version"] == 1

    changed = tmp_path / "simple_user_task.bpmn"
    changed.write_bytes(path.read_bytes().replace(b'name="Review"', b'name="Review it"'))
    second = admin.deploy(changed)["definitions"][0]
    assert second["version"] == 2 and second["id"] != first["id"]

    latest = admin.get("/api/v1/process-definitions?key=simple_user_task&latest=true").get_json()
    assert latest["total"] == 1 and latest["items"][0]["version"] == 2
    every = admin.get("/api/v1/process-definitions?key=simple_user_task").get_json()
    assert [d["version"] for d in every["items"]] == [2, 1]

    xml = admin.get(f"/api/v1/process-definitions/{first['id']}/xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert xml.data == path.read_bytes()


def test_start_a_given_version(admin, tmp_path):
    path = fixture("valid", "simple_user_task.bpmn")
    v1 = admin.deploy(path)["definitions"][0]
    changed = tmp_path / "simple_user_task.bpmn"
    changed.write_bytes(path.read_bytes().replace(b'name="Review"', b'name="Check"'))
    admin.deploy(changed)
    response = admin.post(f"/api/v1/process-definitions/{v1['id']}/start", json={})
    assert response.status_code == 201
    assert response.get_json()["tasks"][0]["name"] == "Review"
    assert admin.start("simple_user_task")["tasks"][0]["name"] == "Check"


def test_unknown_ids_are_404_problems(admin):
    for url in ("/api/v1/process-definitions/nope", "/api/v1/process-instances/nope", "/api/v1/tasks/nope",
                "/api/v1/process-definitions/nope/xml"):
        response = admin.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json"
    assert admin.post("/api/v1/process-definitions/key/nope/start", json={}).status_code == 404
    assert admin.get("/api/v1/no-such-route").status_code in (401, 404)


def test_openapi_spec_is_generated_from_the_schemas(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/tasks/{task_id}/complete" in spec["paths"]
    assert "TaskDetail" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
