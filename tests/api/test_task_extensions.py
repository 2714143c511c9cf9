"""camunda:followUpDate, camunda:priority and camunda:formKey on user tasks, and the Zeebe (Camunda 8 Modeler)
extensions zeebe:assignmentDefinition, zeebe:formDefinition and zeebe:taskDefinition, through /api/v1."""
from __future__ import annotations

import datetime as dt

from ..factories import fixture


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_follow_up_date_priority_and_form_key_reach_the_task(admin):
    admin.deploy(fixture("valid", "task_extensions.bpmn"))
    before = dt.datetime.now(dt.timezone.utc)
    started = admin.start("task_extensions", {"urgency": 90, "follow_up": "2030-01-02T03:04:05+00:00"})
    [task] = started["tasks"]
    assert task["priority"] == 90
    follow_up, due = _at(task["follow_up_at"]), _at(task["due_at"])
    assert dt.timedelta(hours=2) - dt.timedelta(seconds=5) <= follow_up - before <= dt.timedelta(hours=2, minutes=1)
    assert due - follow_up > dt.timedelta(hours=20)

    detail = admin.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert detail["form_key"] == "embedded:app:forms/review.html"
    assert detail["priority"] == 90 and detail["follow_up_at"] == task["follow_up_at"]
    listed = admin.get(f"/api/v1/tasks?process_instance_id={started['id']}").get_json()["items"]
    assert listed[0]["priority"] == 90 and listed[0]["follow_up_at"] == task["follow_up_at"]

    [plain] = admin.complete(task["id"])["tasks"]
    assert plain["priority"] == 80
    assert _at(plain["follow_up_at"]) == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert admin.get(f"/api/v1/tasks/{plain['id']}").get_json()["form_key"] is None


def test_a_task_without_the_extensions_has_the_default_priority(admin):
    admin.deploy(fixture("valid", "simple_user_task.bpmn"))
    [task] = admin.start("simple_user_task")["tasks"]
    assert task["priority"] == 50 and task["follow_up_at"] is None
    assert admin.get(f"/api/v1/tasks/{task['id']}").get_json()["form_key"] is None


def test_an_unreadable_priority_variable_falls_back_to_the_default(admin):
    admin.deploy(fixture("valid", "task_extensions.bpmn"))
    [task] = admin.start("task_extensions", {"urgency": "very"})["tasks"]
    assert task["priority"] == 50


def test_a_priority_that_is_not_an_integer_is_refused_at_deploy(admin, tmp_path):
    path = tmp_path / "task_extensions.bpmn"
    path.write_bytes(fixture("valid", "task_extensions.bpmn").read_bytes().replace(
        b'camunda:priority="80"', b'camunda:priority="high"'))
    response = admin.deploy(path, expect=422)
    [problem] = response["bpmn"]
    assert problem["element_id"] == "plain" and "priority" in problem["message"]


def test_zeebe_assignment_and_form_definitions_and_task_definition(admin, make):
    deployed = admin.deploy(fixture("valid", "zeebe_tasks.bpmn"))
    assert [d["key"] for d in deployed["definitions"]] == ["zeebe_tasks"]
    started = admin.start("zeebe_tasks", {"owner": "carol"})
    assert started["status"] == "running" and started["tasks"] == []  # held for a worker of topic charge-card

    activities = admin.instance(started["id"])["active_activities"]
    assert [a["element_id"] for a in activities] == ["charge"]


def test_a_zeebe_service_task_without_a_type_is_refused_at_deploy(admin, tmp_path):
    path = tmp_path / "zeebe_tasks.bpmn"
    path.write_bytes(fixture("valid", "zeebe_tasks.bpmn").read_bytes().replace(
        b'type="charge-card"', b'type=""'))
    response = admin.deploy(path, expect=422)
    [problem] = response["bpmn"]
    assert problem["element_id"] == "charge" and "topic" in problem["message"]


def test_a_feel_list_of_candidate_groups_is_evaluated_not_split_on_its_commas(admin, tmp_path):
    path = tmp_path / "zeebe_tasks.bpmn"
    path.write_bytes(fixture("valid", "zeebe_tasks.bpmn").read_bytes()
                     .replace(b'candidateGroups="approvers, finance"',
                              b'candidateGroups="= [&quot;approvers&quot;, region + &quot;-finance&quot;]"')
                     .replace(b'<zeebe:taskDefinition type="charge-card" retries="3" />', b"")
                     .replace(b'<bpmn:serviceTask id="charge" name="Charge card">', b'<bpmn:task id="charge">')
                     .replace(b"</bpmn:serviceTask>", b"</bpmn:task>"))
    admin.deploy(path)
    started = admin.start("zeebe_tasks", {"owner": "carol", "region": "eu"})
    [charge] = started["tasks"]  # a plain bpmn:task now: done by a person
    admin.complete(charge["id"])
    [task] = admin.get(f"/api/v1/tasks?process_instance_id={started['id']}").get_json()["items"]
    assert task["candidate_groups"] == ["approvers", "eu-finance"]
    assert task["assignee"] == "carol"
