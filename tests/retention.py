"""Diagrams and helpers the history retention tests share (services, /api/v1, /engine-rest).

`retained(key, ttl)` is a Camunda 7 diagram: start -> script "compute" (result = 100 / divisor)
-> user task "review" (candidate group sales, candidate user bob) -> end, with
`camunda:historyTimeToLive` set to `ttl` when given. Started with divisor 1 it waits at review
(a task and its candidates); with divisor 0 it fails with an incident.
"""
from __future__ import annotations

from app.services import definitions, instances, tasks
from app.services.core import SYSTEM

_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{key}" targetNamespace="http://example.com/retention">
  <bpmn:process id="{key}" name="Retention {key}" isExecutable="true"{ttl}>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="Compute" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>result = 100 / divisor</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="sales" camunda:candidateUsers="bob">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def retained(key: str, ttl: str | None = None) -> tuple[str, bytes]:
    """(file name, content) of the diagram of process `key`, with camunda:historyTimeToLive=`ttl`."""
    attribute = "" if ttl is None else f' camunda:historyTimeToLive="{ttl}"'
    return f"{key}.bpmn", _DIAGRAM.format(key=key, ttl=attribute).encode()


def deploy(key: str, ttl: str | None = None):
    """Deploy `retained(key, ttl)` as the system; returns its definition."""
    _, found = definitions.deploy([retained(key, ttl)], SYSTEM)
    return found[0]


def start(key: str, divisor: int = 1) -> str:
    """Start an instance (waiting at review, or failed with divisor 0); returns its id."""
    return instances.start_instance(SYSTEM, key=key, variables={"divisor": divisor}).instance.id


def finish(instance_id: str) -> None:
    """Complete the instance's review task: the instance ends."""
    found = tasks.list_tasks(SYSTEM, process_instance_id=instance_id, per_page=10)
    tasks.complete_task(found.items[0].id, {}, SYSTEM)
