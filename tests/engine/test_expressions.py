"""JUEL and FEEL expressions, as modelers write them, become the sandbox Python they mean, or are refused
with the column and what to write instead."""
from __future__ import annotations

import pytest

from app.engine import Engine
from app.engine.expressions import TranslationError, is_modeler_expression, property_path, translate
from app.engine.parser import BpmnRejected, parse_deployment, resolve_assignment, resolve_candidates
from app.engine.sandbox import Sandbox

from ..factories import fixture

# (written by the modeler, the Python it becomes)
TRANSLATIONS = [
    # identifiers, property and index access: dot access on data is item access
    ("${approved}", "approved"),
    ("#{approved}", "approved"),
    ("${customer.region}", "customer['region']"),
    ("${order.lines[0].sku}", "order['lines'][0]['sku']"),
    ("${limits['EU']}", "limits['EU']"),
    ("${ customer . region }", "customer['region']"),
    # literals
    ("${'EU'}", "'EU'"),
    ('${"EU"}', "'EU'"),
    ("${'it\\'s'}", '"it\'s"'),
    ("${42}", "42"),
    ("${2.5}", "2.5"),
    ("${1e3}", "1000.0"),
    ("${true}", "True"),
    ("${false}", "False"),
    ("${null}", "None"),
    # comparisons, symbolic and named
    ("${amount > 1000}", "amount > 1000"),
    ("${amount >= 1000}", "amount >= 1000"),
    ("${amount < 1000}", "amount < 1000"),
    ("${amount <= 1000}", "amount <= 1000"),
    ("${region == 'EU'}", "region == 'EU'"),
    ("${region != 'EU'}", "region != 'EU'"),
    ("${amount gt 1000}", "amount > 1000"),
    ("${amount ge 1000}", "amount >= 1000"),
    ("${amount lt 1000}", "amount < 1000"),
    ("${amount le 1000}", "amount <= 1000"),
    ("${region eq 'EU'}", "region == 'EU'"),
    ("${region ne 'EU'}", "region != 'EU'"),
    ("${owner == null}", "owner == None"),
    # logic: grouping is explicit, so Python's comparison chaining and `not` precedence cannot apply
    ("${a && b}", "a and b"),
    ("${a || b}", "a or b"),
    ("${a and b or c}", "(a and b) or c"),
    ("${a || b && c}", "a or (b and c)"),
    ("${!approved}", "not approved"),
    ("${not approved}", "not approved"),
    ("${!a == b}", "(not a) == b"),
    ("${a == b == c}", "(a == b) == c"),
    ("${empty items}", "items in (None, '', [], {})"),
    ("${not empty items}", "not (items in (None, '', [], {}))"),
    # arithmetic
    ("${a + b * c}", "a + (b * c)"),
    ("${(a + b) * c}", "(a + b) * c"),
    ("${a - b - c}", "(a - b) - c"),
    ("${a / b}", "a / b"),
    ("${a div b}", "a / b"),
    ("${a % b}", "a % b"),
    ("${a mod b}", "a % b"),
    ("${-a + 1}", "(-a) + 1"),
    # ternary
    ("${vip ? 'gold' : 'standard'}", "'gold' if vip else 'standard'"),
    ("${a ? 1 : b ? 2 : 3}", "1 if a else (2 if b else 3)"),
    # FEEL
    ("= amount > 1000", "amount > 1000"),
    ('= customer.region = "EU"', "customer['region'] == 'EU'"),
    ('= region != "EU"', "region != 'EU'"),
    ("= a and b or c", "(a and b) or c"),
    ("= not(approved)", "not approved"),
    ("= not(a or b)", "not (a or b)"),
    ("= items[1]", "items[0]"),
    ("= items[-1]", "items[-1]"),
    ("= amount * 2 ** 2", "amount * (2 ** 2)"),
    ('= if amount > 1000 then "big" else "small"', "'big' if (amount > 1000) else 'small'"),
    ("= null", "None"),
    ('= "tab\\tend"', "'tab\\tend'"),
    ('= ["sales", region]', "['sales', region]"),
    ("= []", "[]"),
    ('= {total: order.total * 2, "due date": due}', "{'total': order['total'] * 2, 'due date': due}"),
    ("= {nested: {ids: [1, 2]}}", "{'nested': {'ids': [1, 2]}}"),
    ("= [if vip then 1 else 2, -a]", "[1 if vip else 2, -a]"),
    # FEEL built-in functions with a direct sandbox equivalent
    ('= string join(risks, ", ")', "', '.join(risks)"),
    ("= count(items) > 2", "len(items) > 2"),
    ("= upper case(name)", "name.upper()"),
    ('= list contains(tags, "vip")', "('vip' in tags)"),
    ("= substring(code, 2, 3)", "code[(2) - 1:((2) - 1) + (3)]"),
    ("= max(a, b + 1)", "max(a, b + 1)"),
]


@pytest.mark.parametrize(("written", "python"), TRANSLATIONS)
def test_an_expression_becomes_the_python_it_means(written, python):
    assert translate(written) == python


# (written by the modeler, task data, the value it must have)
EVALUATIONS = [
    ("${amount > 1000}", {"amount": 1500}, True),
    ("${amount > 1000}", {"amount": 1000}, False),
    ("${amount <= 1000}", {"amount": 1000}, True),
    ("${customer.region == 'EU'}", {"customer": {"region": "EU"}}, True),
    ("${customer.region eq 'EU' && amount gt 10}", {"customer": {"region": "EU"}, "amount": 5}, False),
    ("${order.lines[1].qty * 2}", {"order": {"lines": [{"qty": 1}, {"qty": 4}]}}, 8),
    ("${empty notes}", {"notes": ""}, True),
    ("${empty notes}", {"notes": None}, True),
    ("${empty notes}", {"notes": []}, True),
    ("${empty notes}", {"notes": ["x"]}, False),
    ("${empty count}", {"count": 0}, False),  # JUEL: 0 is not empty
    ("${!empty tags}", {"tags": {"a": 1}}, True),
    ("${!a == b}", {"a": False, "b": True}, True),
    ("${1 < 2 == true}", {}, True),  # JUEL (1 < 2) == true; chained Python would say False
    ("${7 div 2}", {}, 3.5),
    ("${7 mod 2}", {}, 1),
    ("${vip ? 'gold' : 'standard'}", {"vip": False}, "standard"),
    ("${owner != null}", {"owner": None}, False),
    ('= customer.region = "EU"', {"customer": {"region": "EU"}}, True),
    ('= not(customer.region = "EU")', {"customer": {"region": "US"}}, True),
    ("= items[1] + items[-1]", {"items": [1, 2, 10]}, 11),
    ('= if amount > 1000 then "big" else "small"', {"amount": 5}, "small"),
]


@pytest.mark.parametrize(("written", "data", "expected"), EVALUATIONS)
def test_a_translated_expression_evaluates_in_the_sandbox_as_the_modeler_meant(written, data, expected):
    assert Sandbox().evaluate(translate(written), data) == expected


# (written by the modeler, column of the problem, words the message must contain)
REFUSALS = [
    ("${execution.getVariable('amount') > 1}", 3, "write ${amount}"),
    ("${myBean.check()}", 3, "method call myBean.check"),
    ("${'abc'.length()}", 9, "method call length"),
    ("${check(amount)}", 3, "function call check"),
    ("${execution.processBusinessKey}", 3, "Camunda engine object"),
    ("${x -> x + 1}", 5, "lambda"),
    ("${amount = 5}", 10, "assignment"),
    ("${a; b}", 4, "';'"),
    ("${{'a': 1}}", 3, "map and set literals"),
    ("${a instanceof b}", 5, "'instanceof'"),
    ("${amount > 1000", 16, "missing '}'"),
    ("${a} and ${b}", 6, "text after the closing '}'"),
    ("${'open}", 3, "string is not closed"),
    ("${a @ b}", 5, "unexpected character '@'"),
    ("${_secret}", 3, "start with '_'"),
    ("${class}", 3, "reserved word"),
    ("${1e999}", 3, "too large"),
    ("${}", 3, "unexpected '}'"),
    ("= a == b", 5, "FEEL compares with '='"),
    ("= a && b", 5, "FEEL writes 'and'"),
    ("= !a", 3, "not(...)"),
    ("= 'EU'", 3, "double quotes"),
    ('= date("2024-01-01")', 3, "FEEL function date() is not supported"),
    ("= x in [1, 2]", 5, "'in'"),
    ("= items[0]", 9, "start at 1"),
    ("= items[x > 1]", 9, "filters"),
    ("= some x in xs satisfies x > 1", 3, "'some'"),
    ("=", 2, "empty FEEL expression"),
    ("amount > 1000", 1, "not a JUEL"),
]


@pytest.mark.parametrize(("written", "column", "words"), REFUSALS)
def test_an_expression_outside_the_subset_is_refused_with_its_column(written, column, words):
    with pytest.raises(TranslationError) as caught:
        translate(written)
    assert caught.value.column == column, str(caught.value)
    assert words in caught.value.message
    assert f"(column {column})" in str(caught.value)


def test_only_juel_and_feel_texts_count_as_modeler_expressions():
    assert is_modeler_expression("  ${a}") and is_modeler_expression("#{a}") and is_modeler_expression("= a")
    assert not is_modeler_expression("a == 1") and not is_modeler_expression(None)


def test_a_property_path_is_read_as_keys_and_anything_else_is_not_a_path():
    assert property_path("${owner}") == ["owner"]
    assert property_path("${approval.approver}") == ["approval", "approver"]
    assert property_path("${approvers[0].name}") == ["approvers", 0, "name"]
    assert property_path("= approvers[1]") == ["approvers", 0]
    assert property_path("${a > 1}") is None


# -- assignment -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "data", "expected"), [
    ("alice", {}, "alice"),
    ("${owner}", {"owner": "olga"}, "olga"),
    ("#{owner}", {"owner": "olga"}, "olga"),
    ("${approval.approver}", {"approval": {"approver": "a2"}}, "a2"),
    ("${approvers[1]}", {"approvers": ["a1", "a2"]}, "a2"),
    ("= approvers[1]", {"approvers": ["a1", "a2"]}, "a1"),
    ("${region == 'EU' ? 'eu_team' : 'world_team'}", {"region": "EU"}, "eu_team"),
    ("${owner}", {}, None),
    ("${approval.approver}", {"approval": "a2"}, None),
    ("${approvers[5]}", {"approvers": ["a1"]}, None),
    ("${missing ? 'a' : 'b'}", {}, None),
    ("${owner}", {"owner": None}, None),
    (None, {}, None),
])
def test_an_assignment_resolves_names_paths_and_expressions_over_task_data(value, data, expected):
    assert resolve_assignment(value, data) == expected


# -- deploy-time translation ---------------------------------------------------------------------

def _diagram(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


TIMER_PROCESS = """    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{timer}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />"""


def test_a_juel_timer_becomes_a_python_expression_at_deploy():
    [model] = parse_deployment([("t.bpmn", _diagram(TIMER_PROCESS.format(timer="${reminder.delay}")))], Sandbox())

    assert model.spec.task_specs["wait"].event_definition.expression == "reminder['delay']"


def test_an_untranslatable_timer_is_a_problem_naming_its_event_and_line():
    content = _diagram(TIMER_PROCESS.format(timer="${dates.plusDays(2)}"))
    with pytest.raises(BpmnRejected) as caught:
        parse_deployment([("t.bpmn", content)], Sandbox())

    [problem] = caught.value.problems
    assert (problem.file, problem.element_id, problem.element_type) == ("t.bpmn", "wait", "intermediateCatchEvent")
    assert problem.line == 10
    assert "method call dates.plusDays" in problem.message and "column 3" in problem.message


def test_a_translated_gateway_routes_in_the_engine():
    path = fixture("valid", "juel_gateway.bpmn")
    [model] = parse_deployment([(path.name, path.read_bytes())], Sandbox())
    gateway = model.spec.task_specs["gateway_amount"]
    conditions = [condition.args[0] for condition, _ in gateway.cond_task_specs]
    assert conditions == ["amount > 1000", "amount <= 1000"]
    assert Engine().script_engine.sandbox.evaluate(conditions[0], {"amount": 1001}) is True


@pytest.mark.parametrize(("values", "data", "expected"), [
    (["sales", "finance"], {}, ["sales", "finance"]),
    (['= ["sales", region + "-team"]'], {"region": "eu"}, ["sales", "eu-team"]),
    (["${approvers}"], {"approvers": ["ann", "bob", "ann"]}, ["ann", "bob"]),
    (["${groups}", "audit"], {"groups": "sales, managers"}, ["sales", "managers", "audit"]),
    (["${missing}", "audit"], {}, ["audit"]),
    (["= [1, null]"], {}, ["1"]),
])
def test_candidates_resolve_to_names_from_lists_texts_and_literals(values, data, expected):
    assert resolve_candidates(values, data) == expected


def test_feel_list_and_context_literals_refuse_what_is_not_a_literal():
    with pytest.raises(TranslationError) as caught:
        translate("= {1: 2}")
    assert "context key" in caught.value.message and caught.value.column == 4
    with pytest.raises(TranslationError) as caught:
        translate('= ["a" "b"]')
    assert caught.value.column == 8


@pytest.mark.parametrize(("written", "data", "expected"), [
    ('= string join(risks, ", ")', {"risks": ["fraud", "churn"]}, "fraud, churn"),
    ("= count(items) + sum(items)", {"items": [1, 2, 3]}, 9),
    ("= mean(scores)", {"scores": [2, 4]}, 3.0),
    ('= starts with(upper case(name), "AD")', {"name": "ada"}, True),
    ("= substring(code, 2)", {"code": "ABCDEF"}, "BCDEF"),
    ("= substring(code, 2, 3)", {"code": "ABCDEF"}, "BCD"),
    ("= floor(x) + ceiling(x)", {"x": 1.5}, 3),
    ("= decimal(x, 1)", {"x": 2.345}, 2.3),
    ('= append(tags, "new")', {"tags": ["vip"]}, ["vip", "new"]),
    ("= reverse(items)", {"items": [1, 2]}, [2, 1]),
])
def test_feel_built_in_functions_evaluate_as_feel_defines_them(written, data, expected):
    assert Sandbox().evaluate(translate(written), data) == expected


def test_an_unknown_feel_function_is_refused_naming_the_supported_ones():
    with pytest.raises(TranslationError) as caught:
        translate("= frobnicate(x)")
    assert caught.value.column == 3 and "string join" in caught.value.message
    with pytest.raises(TranslationError) as caught:
        translate("= count(a, b)")
    assert "takes 1 argument(s), not 2" in caught.value.message
