"""Multi-instance activities through the server (each step loaded and stored): a call activity per item maps
each instance's element variable in and finishes; listeners and mappings are each instance's, never the
loop's own; a parallel loop of synchronous scripts stops at its completion condition."""
from __future__ import annotations

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">')

CALL_PER_ITEM = HEAD + """<bpmn:process id="per_item" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:callActivity id="ca" calledElement="child_item">
    <bpmn:extensionElements><camunda:in source="x" target="item" /><camunda:out source="res" target="res" />
    </bpmn:extensionElements>
    <bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}" camunda:collection="xs" camunda:elementVariable="x" />
  </bpmn:callActivity>
  <bpmn:userTask id="after" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ca" />
  <bpmn:sequenceFlow id="f2" sourceRef="ca" targetRef="after" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
</bpmn:process>
<bpmn:process id="child_item" isExecutable="true">
  <bpmn:startEvent id="c_start" />
  <bpmn:scriptTask id="double" scriptFormat="python"><bpmn:script>res = item * 2</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="c_wait" camunda:assignee="admin" />
  <bpmn:endEvent id="c_end" />
  <bpmn:sequenceFlow id="g1" sourceRef="c_start" targetRef="double" />
  <bpmn:sequenceFlow id="g2" sourceRef="double" targetRef="c_wait" />
  <bpmn:sequenceFlow id="g3" sourceRef="c_wait" targetRef="c_end" />
</bpmn:process></bpmn:definitions>"""

LISTENED = HEAD + """<bpmn:process id="listened" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:userTask id="approve" camunda:assignee="admin">
    <bpmn:extensionElements><camunda:taskListener event="complete">
      <camunda:script scriptFormat="python">approvals = approvals + 1
seen = seen + [x]</camunda:script></camunda:taskListener></bpmn:extensionElements>
    <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="xs" camunda:elementVariable="x" />
  </bpmn:userTask>
  <bpmn:userTask id="after" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
  <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="after" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
</bpmn:process></bpmn:definitions>"""

SCRIPTS_UNTIL = HEAD + """<bpmn:process id="scripts_until" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:scriptTask id="work" scriptFormat="python">
    <bpmn:multiInstanceLoopCharacteristics camunda:collection="xs" camunda:elementVariable="x">
      <bpmn:completionCondition>${nrOfCompletedInstances >= 2}</bpmn:completionCondition>
    </bpmn:multiInstanceLoopCharacteristics>
    <bpmn:script>log = log + [[x, loopCounter]]</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:userTask id="after" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="after" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
</bpmn:process></bpmn:definitions>"""


def deploy(admin, tmp_path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.bpmn"
    path.write_text(text)
    admin.deploy(path)


def open_tasks(admin, instance_id: str) -> list[dict]:
    return admin.instance(instance_id)["tasks"]


def test_a_call_activity_per_item_maps_each_item_in_and_finishes(admin, tmp_path):
    for sequential in ("true", "false"):
        deploy(admin, tmp_path, f"per_item_{sequential}", CALL_PER_ITEM.format(sequential=sequential))
        instance = admin.start("per_item", {"xs": [10, 20, 30]})
        for _ in range(3):
            child_task = next(t for t in open_tasks(admin, instance["id"]) if t["element_id"] == "c_wait")
            admin.complete(child_task["id"], {})
        details = admin.instance(instance["id"])
        assert details["status"] == "running", details
        assert [t["element_id"] for t in details["tasks"]] == ["after"]
        assert details["variables"]["xs"] == [10, 20, 30] and "x" not in details["variables"]
        assert details["variables"]["res"] in (20, 40, 60)
        admin.post(f"/api/v1/process-instances/{instance['id']}/cancel", json={})


def test_a_task_listener_runs_once_per_instance_and_never_for_the_loop(admin, tmp_path):
    deploy(admin, tmp_path, "listened", LISTENED)
    instance = admin.start("listened", {"xs": ["a", "b", "c"], "approvals": 0, "seen": []})
    for _ in range(3):
        [task] = open_tasks(admin, instance["id"])
        admin.complete(task["id"], {})
    details = admin.instance(instance["id"])
    assert [t["element_id"] for t in details["tasks"]] == ["after"], details
    assert details["variables"]["approvals"] == 3 and details["variables"]["seen"] == ["a", "b", "c"]


def test_a_parallel_loop_of_scripts_stops_at_its_completion_condition(admin, tmp_path):
    deploy(admin, tmp_path, "scripts_until", SCRIPTS_UNTIL)
    instance = admin.start("scripts_until", {"xs": ["a", "b", "c", "d"], "log": []})
    details = admin.instance(instance["id"])
    assert [t["element_id"] for t in details["tasks"]] == ["after"], details
    assert details["variables"]["log"] == [["a", 0], ["b", 1]]
