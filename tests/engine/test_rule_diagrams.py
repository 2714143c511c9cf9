"""The BPMN a workflow rule generates, written by the engine from plain data."""
import ast

from lxml import etree

from app.engine import rule_bpmn
from app.engine.rule_diagrams import action_label, action_script

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
SNEAKY = "\"'); import os; ('\""
RULE = {"name": "high value deal", "module": "Deals", "event": "create", "field": None, "criteria": "amount > 1",
        "actions": [{"type": "field_update", "field": "approved", "value": False},
                    {"type": "email", "to": ["owner"], "subject": SNEAKY, "body": "b"},
                    {"type": "task", "subject": "Call", "owner": None, "due_in_days": 2},
                    {"type": "webhook", "url": "https://hooks.example.com/deals"}]}


def test_a_rule_is_a_row_of_script_tasks_with_its_diagram():
    root = etree.fromstring(rule_bpmn(RULE, "rule_high_value_deal"))

    [process] = root.iter(f"{BPMN}process")
    assert process.get("id") == "rule_high_value_deal" and process.get("isExecutable") == "true"
    assert [t.get("id") for t in process.iter(f"{BPMN}scriptTask")] == ["action_1", "action_2", "action_3", "action_4"]
    flows = [(f.get("sourceRef"), f.get("targetRef")) for f in process.iter(f"{BPMN}sequenceFlow")]
    assert flows == [("start", "action_1"), ("action_1", "action_2"), ("action_2", "action_3"),
                     ("action_3", "action_4"), ("action_4", "end")]
    assert len(list(root.iter(f"{BPMNDI}BPMNShape"))) == 6 and len(list(root.iter(f"{BPMNDI}BPMNEdge"))) == 5


def test_values_reach_the_script_as_literals():
    script = action_script(RULE["actions"][1])

    call = ast.parse(script, mode="eval").body
    assert call.func.id == "send_email" and [ast.literal_eval(a) for a in call.args] == [["owner"], SNEAKY, "b"]
    assert action_label(RULE["actions"][3]) == "Call hooks.example.com"
