"""Conditional events through the server: a variable update fires the events whose condition now holds."""
from __future__ import annotations

from ..factories import fixture


def _open(admin, instance_id) -> list[str]:
    return sorted(t["element_id"] for t in
                  admin.get(f"/api/v1/tasks?process_instance_id={instance_id}").get_json()["items"])


def test_a_variable_update_fires_a_boundary_condition_and_a_later_one(server):
    admin = server.login()
    admin.deploy(fixture("events", "discount_watch.bpmn"))
    started = admin.start("discount_watch", {"discount": 5, "contract": {"signed": False}})
    assert _open(admin, started["id"]) == ["negotiate"]

    server.restart()
    admin = server.admin
    response = admin.patch(f"/api/v1/process-instances/{started['id']}/variables",
                           json={"variables": {"discount": 18}})
    assert response.status_code == 200
    assert _open(admin, started["id"]) == ["approve_discount"]

    [task] = admin.get(f"/api/v1/tasks?process_instance_id={started['id']}").get_json()["items"]
    admin.complete(task["id"])
    assert [a["element_id"] for a in admin.instance(started["id"])["active_activities"]] == ["signed"]

    admin.patch(f"/api/v1/process-instances/{started['id']}/variables",
                json={"variables": {"contract": {"signed": True}}})
    instance = admin.instance(started["id"])
    assert instance["status"] == "completed" and instance["variables"]["archived"] is True


def test_a_suspended_instance_waits_until_resumed_to_evaluate_its_conditions(admin):
    admin.deploy(fixture("events", "discount_watch.bpmn"))
    started = admin.start("discount_watch", {"discount": 5})
    assert admin.post(f"/api/v1/process-instances/{started['id']}/suspend").status_code == 200
    admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"discount": 30}})
    assert _open(admin, started["id"]) == ["negotiate"]

    assert admin.post(f"/api/v1/process-instances/{started['id']}/resume").status_code == 200
    assert _open(admin, started["id"]) == ["approve_discount"]  # resumed: the condition is evaluated again
