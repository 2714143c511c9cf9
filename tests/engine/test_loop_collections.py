"""Multi-instance activities over a collection as Camunda 7 (`camunda:collection="${items}"`) and Camunda 8
(`zeebe:loopCharacteristics`) write them, by a variable or a path to one (`${customer.orders}`); a computed
collection is refused at deploy with its line."""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="per_item" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      {loop}
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
LOOPS = {
    "camunda expression": '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${documents}" '
                          'camunda:elementVariable="document" />',
    "zeebe": '<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics '
             'inputCollection="= documents" inputElement="document" /></bpmn:extensionElements>'
             '</bpmn:multiInstanceLoopCharacteristics>',
}


@pytest.mark.parametrize("loop", list(LOOPS))
def test_one_task_per_item_of_the_collection(start, tmp_path, loop):
    path = tmp_path / "per_item.bpmn"
    path.write_text(DIAGRAM.format(loop=LOOPS[loop]))
    run = start(path, data={"documents": ["passport", "visa"]})
    tasks = sorted(run.last.open_tasks, key=lambda t: t.data["document"])
    assert [t.data["document"] for t in tasks] == ["passport", "visa"]
    for task in tasks:
        run.complete_id(task.id)
    assert run.last.status == "completed"


@pytest.mark.parametrize("collection", ["${customer.orders}", "customer.orders", "= customer.orders"])
def test_a_collection_given_as_a_path_runs_one_task_per_item(start, tmp_path, collection):
    path = tmp_path / "per_item.bpmn"
    path.write_text(DIAGRAM.format(loop=f'<bpmn:multiInstanceLoopCharacteristics camunda:collection="{collection}" '
                                        f'camunda:elementVariable="order" />'))
    run = start(path, data={"customer": {"name": "Zylker", "orders": ["A-1", "B-2"]}})
    tasks = sorted(run.last.open_tasks, key=lambda t: t.data["order"])
    assert [t.data["order"] for t in tasks] == ["A-1", "B-2"]
    for task in tasks:
        run.complete_id(task.id)
    assert run.last.status == "completed"


def test_a_computed_collection_is_refused_with_its_line():
    xml = DIAGRAM.format(loop='<bpmn:multiInstanceLoopCharacteristics camunda:collection="${open + closed}" />')
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("per_item.bpmn", xml.encode())])
    [problem] = caught.value.problems
    assert (problem.element_id, problem.line) == ("check", 6)
    assert "must name a variable or a path to one" in problem.message


def test_a_zeebe_output_collection_is_refused_saying_where_results_go():
    xml = DIAGRAM.format(loop=LOOPS["zeebe"].replace('inputElement="document"',
                                                     'inputElement="document" outputCollection="results"'))
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("per_item.bpmn", xml.encode())])
    [problem] = caught.value.problems
    assert problem.element_id == "check" and "outputCollection 'results' is not supported" in problem.message
