"""DMN decisions as Camunda 7 reads them: DMN 1.1 (both of its namespaces), 1.2 and 1.3; files with several
decisions; decision requirements graphs, a decision evaluated after the decisions it requires. What cannot be
evaluated is refused naming its file, line and element, and a refusal lists the problems of every file of the
deployment. Each run goes straight through and again with a save/restore round trip before each step.
"""
from __future__ import annotations

import pytest

from app.engine import BpmnRejected, Engine

from .test_runner import roundtrip, start  # noqa: F401 - fixtures

DMN_NAMESPACES = {
    "1.1": "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "1.1 (dmn11.xsd)": "http://www.omg.org/spec/DMN/20151101/dmn11.xsd",
    "1.2": "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "1.3": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}

TIER = """  <decision id="tier" name="Customer tier">
    <decisionTable id="tier_table">
      <input id="revenue_in"><inputExpression id="revenue_expr" typeRef="number"><text>revenue</text></inputExpression></input>
      <output id="tier_out" name="tier" typeRef="string" />
      <rule id="gold"><inputEntry id="gold_in"><text>&gt;= 100000</text></inputEntry><outputEntry id="gold_out"><text>"gold"</text></outputEntry></rule>
      <rule id="silver"><inputEntry id="silver_in"><text>&lt; 100000</text></inputEntry><outputEntry id="silver_out"><text>"silver"</text></outputEntry></rule>
    </decisionTable>
  </decision>
"""
DISCOUNT = """  <decision id="discount" name="Discount">
    <informationRequirement id="needs_tier"><requiredDecision href="#{required}" /></informationRequirement>
    <decisionTable id="discount_table">
      <input id="tier_in"><inputExpression id="tier_expr" typeRef="string"><text>tier</text></inputExpression></input>
      <output id="discount_out" name="discount" typeRef="number" />
      <rule id="for_gold"><inputEntry id="for_gold_in"><text>"gold"</text></inputEntry><outputEntry id="for_gold_out"><text>15</text></outputEntry></rule>
      <rule id="for_silver"><inputEntry id="for_silver_in"><text>"silver"</text></inputEntry><outputEntry id="for_silver_out"><text>5</text></outputEntry></rule>
    </decisionTable>
  </decision>
"""


def dmn(*decisions: str, namespace: str = DMN_NAMESPACES["1.3"]) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{namespace}" id="pricing" name="Pricing" '
            f'namespace="http://stagecoach.example/dmn">\n{"".join(decisions)}</definitions>\n')


def process(decision: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="pricing" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="decide" />
    <bpmn:businessRuleTask id="decide" camunda:decisionRef="{decision}" />
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="review" />
    <bpmn:userTask id="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def files(tmp_path, decision: str, *decisions: str, namespace: str = DMN_NAMESPACES["1.3"]):
    bpmn, table = tmp_path / "pricing.bpmn", tmp_path / "pricing.dmn"
    bpmn.write_text(process(decision))
    table.write_text(dmn(*decisions, namespace=namespace))
    return bpmn, table


def problems_of(*named_files: tuple[str, str]) -> list:
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([(name, text.encode()) for name, text in named_files])
    return caught.value.problems


@pytest.mark.parametrize("version", list(DMN_NAMESPACES))
def test_a_decision_table_of_each_dmn_version_deploys_and_decides(start, tmp_path, version):
    run = start(*files(tmp_path, "tier", TIER, namespace=DMN_NAMESPACES[version]), data={"revenue": 250000})
    assert run.task("review").data["tier"] == "gold"


def test_a_prefixed_dmn_document_is_read_too(start, tmp_path):
    bpmn, table = files(tmp_path, "tier", TIER)
    text = table.read_text().replace('xmlns="', 'xmlns:semantic="').replace("<", "<semantic:").replace(
        "<semantic:?xml", "<?xml").replace("<semantic:/", "</semantic:")
    table.write_text(text)
    run = start(bpmn, table, data={"revenue": 10})
    assert run.task("review").data["tier"] == "silver"


@pytest.mark.parametrize("version", ["1.1 (dmn11.xsd)", "1.3"])
@pytest.mark.parametrize(("revenue", "discount"), [(250000, 15), (10, 5)])
def test_a_decision_evaluates_the_decisions_it_requires_first(start, tmp_path, version, revenue, discount):
    run = start(*files(tmp_path, "discount", DISCOUNT.format(required="tier"), TIER,
                       namespace=DMN_NAMESPACES[version]), data={"revenue": revenue})
    data = run.task("review").data
    assert data["discount"] == discount
    assert "tier" not in data  # only the called decision's result is the task's, as in Camunda

    done = run.complete("review")
    assert done.status == "completed" and done.variables["discount"] == discount


def test_the_required_decision_of_a_graph_can_be_called_on_its_own(start, tmp_path):
    run = start(*files(tmp_path, "tier", DISCOUNT.format(required="tier"), TIER), data={"revenue": 250000})
    assert run.task("review").data["tier"] == "gold" and "discount" not in run.task("review").data


def test_a_required_decision_missing_from_the_file_is_refused_naming_the_requirement():
    text = dmn(DISCOUNT.format(required="segment"))
    problems = problems_of(("pricing.bpmn", process("discount")), ("pricing.dmn", text))
    dmn_problems = [p for p in problems if p.file == "pricing.dmn"]
    assert [(p.element_id, p.line) for p in dmn_problems] == [("discount", 4)]
    assert "requires decision 'segment', which is not in this file" in dmn_problems[0].message


def test_a_cycle_of_requirements_is_refused():
    tier = TIER.replace('<decisionTable id="tier_table">', '<informationRequirement id="needs_discount">'
                        '<requiredDecision href="#discount" /></informationRequirement>\n    '
                        '<decisionTable id="tier_table">')
    problems = problems_of(("pricing.bpmn", process("discount")),
                           ("pricing.dmn", dmn(DISCOUNT.format(required="tier"), tier)))
    [cycle] = [p for p in problems if p.file == "pricing.dmn"]
    assert cycle.element_id == "discount" and "requires itself (discount -> tier -> discount)" in cycle.message


def test_a_decision_that_is_not_a_decision_table_is_refused_naming_it():
    literal = ('  <decision id="vat" name="VAT">\n    <literalExpression id="vat_expr"><text>0.2</text>'
               '</literalExpression>\n  </decision>\n')
    problems = problems_of(("pricing.bpmn", process("tier")), ("pricing.dmn", dmn(TIER, literal)))
    [problem] = [p for p in problems if p.file == "pricing.dmn"]
    assert (problem.element_id, problem.line, problem.element_type) == ("vat", 11, "decision")
    assert "is a literalExpression" in problem.message


def test_a_refusal_lists_every_problem_of_every_file():
    broken_dmn = dmn(DISCOUNT.format(required="segment"))
    broken_bpmn = process("discount").replace('<bpmn:userTask id="review" />',
                                              '<bpmn:scriptTask id="review"><bpmn:script>x = = 1</bpmn:script>'
                                              '</bpmn:scriptTask>')
    other = process("tier").replace('id="pricing"', 'id="other"').replace(
        '<bpmn:startEvent id="s" />', '<bpmn:startEvent id="s"><bpmn:timerEventDefinition /></bpmn:startEvent>')
    problems = problems_of(("pricing.bpmn", broken_bpmn), ("pricing.dmn", broken_dmn), ("other.bpmn", other))
    by_file = {(p.file, p.element_id) for p in problems}
    assert {("pricing.dmn", "discount"), ("pricing.bpmn", "review"), ("other.bpmn", "s")} <= by_file
    assert all(p.line and p.element_id for p in problems)
    assert not any(word in p.message for p in problems for word in ("Traceback", "KeyError", "IndexError", "TypeError"))
    [rule_task] = [p for p in problems if (p.file, p.element_id) == ("pricing.bpmn", "decide")]
    assert "names decision 'discount' of pricing.dmn, which is refused" in rule_task.message


def test_a_business_rule_task_naming_a_decision_no_file_defines_is_refused_precisely():
    problems = problems_of(("pricing.bpmn", process("nowhere")), ("pricing.dmn", dmn(TIER)))
    [problem] = problems
    assert (problem.file, problem.element_id, problem.line) == ("pricing.bpmn", "decide", 6)
    assert "names decision 'nowhere', which is in no DMN file" in problem.message
