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
