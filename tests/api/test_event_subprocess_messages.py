"""Event sub-processes started by a message or a signal belong to the running instance (BPMN 2.0, 10.5.6):
the instance subscribes to their events while it runs, a message reaches it (interrupting or not), and no
new instance starts."""
from __future__ import annotations

from ..factories import assert_problem, fixture
from .test_messages import MESSAGES, send, signal, subscriptions


def open_elements(admin, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in admin.instance(instance_id)["tasks"])


def test_the_message_of_an_event_sub_process_starts_no_instance(admin):
    admin.deploy(fixture("events", "event_subprocess_messages.bpmn"))
    assert_problem(admin.post(MESSAGES, json={"name": "abort", "business_key": "NONE"}), 404)
    assert admin.get("/api/v1/process-instances?key=esp_messages").get_json()["items"] == []


def test_messages_and_signals_reach_the_running_instances_event_sub_processes(app, admin):
    admin.deploy(fixture("events", "event_subprocess_messages.bpmn"))
    instance_id = admin.start("esp_messages", business_key="E-1")["id"]
    assert sorted(subscriptions(app, instance_id)) == ["abort", "alarm", "info"]

    for _ in range(2):  # a non-interrupting one, each time
        delivery = send(admin, "info", business_key="E-1")
        assert delivery["delivered"] == [instance_id] and delivery["started"] == []
    assert open_elements(admin, instance_id) == ["read_info", "read_info", "work"]

    assert signal(admin, "alarm")["delivered"] == [instance_id]
    assert open_elements(admin, instance_id) == ["check_alarm", "read_info", "read_info", "work"]

    delivery = send(admin, "abort", business_key="E-1")  # interrupting: the instance's work is cancelled
    assert delivery["delivered"] == [instance_id] and delivery["started"] == []
    assert open_elements(admin, instance_id) == ["review_abort"]
    [task] = admin.instance(instance_id)["tasks"]
    done = admin.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).get_json()
    assert done["status"] == "completed"
