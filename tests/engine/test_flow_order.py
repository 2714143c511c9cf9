"""Flow order: a process's elements as its sequence flows reach them, read from the stored spec.

Every element comes after the elements that lead to it (a loop's way back aside), a gateway's branches
in the order their flows were drawn, whatever order the file lists the elements in.
"""
from __future__ import annotations

from app.engine import Engine

from ..factories import fixture


def order_of(engine: Engine, name: str, content: bytes) -> list[str]:
    [model] = engine.parse([(name, content)])
    # through the stored spec, as the server reads a deployed definition
    return engine.flow_order(f"{model.key}:{model.content_hash}", model.dialect, engine.dump_spec(model))


def test_branches_come_before_their_join_and_in_the_order_their_flows_were_drawn():
    order = order_of(Engine(), "article_stages.bpmn", fixture("crm", "article_stages.bpmn").read_bytes())

    assert order == ["start", "draft", "ready", "legal", "finance", "reviewed", "stamp", "approval", "decision",
                     "published", "withdrawn"]


def test_a_loop_back_does_not_move_the_element_it_returns_to():
    order = order_of(Engine(), "article_stages.bpmn", fixture("crm", "article_stages.bpmn").read_bytes())

    # "decision" leads back to "draft" (rework): draft still comes right after the start
    assert order.index("draft") < order.index("decision")
    assert order[:2] == ["start", "draft"]


def _chain(length: int) -> bytes:
    tasks = "".join(f'<bpmn:manualTask id="t{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="t{i}" targetRef="t{i + 1}"/>'
                    for i in range(length))
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            f'id="d" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="chain" isExecutable="true">'
            f'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="fs" sourceRef="s" targetRef="t0"/>{tasks}'
            f'<bpmn:endEvent id="t{length}"/></bpmn:process></bpmn:definitions>').encode()


def test_a_chain_longer_than_the_recursion_limit_is_walked_to_its_end():
    order = order_of(Engine(), "chain.bpmn", _chain(1_200))

    assert order == ["s"] + [f"t{i}" for i in range(1_201)]
