"""Decision tables as Camunda 7 evaluates them: input entries are FEEL unary tests (lists, intervals, `not`,
comparisons, `null`, dates, expressions over `?`), and the hit policies UNIQUE, FIRST, ANY, RULE ORDER and
COLLECT (with SUM, MIN, MAX, COUNT) give Camunda's results; PRIORITY and OUTPUT ORDER are refused at
deploy. Every run also goes through a save/restore round trip."""
from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from app.engine import BpmnRejected, Engine

from .test_decisions import files
from .test_runner import roundtrip, start  # noqa: F401 - fixtures


def table(entries: list[tuple[str, str]], hit_policy: str = "FIRST", aggregation: str = "",
          output_type: str = "string") -> str:
    """One decision `label` over input `v`: a rule per (input entry, output entry), then a `-` catch-all
    (FIRST only) giving "other"."""
    rules = "".join(f'<rule id="r{i}"><inputEntry id="i{i}"><text>{escape(test)}</text></inputEntry>'
                    f'<outputEntry id="o{i}"><text>{escape(out)}</text></outputEntry></rule>'
                    for i, (test, out) in enumerate(entries))
    if hit_policy == "FIRST":
        rules += ('<rule id="rest"><inputEntry id="irest"><text>-</text></inputEntry>'
                  '<outputEntry id="orest"><text>"other"</text></outputEntry></rule>')
    extra = f' aggregation="{aggregation}"' if aggregation else ""
    return (f'  <decision id="label" name="Label"><decisionTable id="t" hitPolicy="{hit_policy}"{extra}>'
            '<input id="v_in"><inputExpression id="v_expr"><text>v</text></inputExpression></input>'
            f'<output id="label_out" name="label" typeRef="{output_type}" />{rules}</decisionTable></decision>\n')


def decide(start, tmp_path, decision: str, v):
    run = start(*files(tmp_path, "label", decision), data={"v": v})
    return run.last.incident, (run.task("review").data.get("label") if run.last.status == "running" else None)


@pytest.mark.parametrize("test, matching, other", [
    ('"EU","UK"', "UK", "DE"),
    ("1,2,3", 2, 4),
    ("not(1,2)", 3, 1),
    ('not("US")', "DE", "US"),
    ("[0..100]", 100, 101),
    ("]0..100[", 50, 0),
    ("(0..100)", 99, 100),
    ("[1..5],[10..20]", 12, 7),
    ("< 10", 9, 10),
    (">= 10", 10, 9),
    ("true", True, False),
    ("null", None, 0),
    ("not(null)", 0, None),
    ('[date("2024-06-01")..date("2024-08-31")]', "2024-07-15", "2024-09-01"),
    ('< date("2024-06-01")', "2024-05-31", "2024-06-01"),
    ('starts with(?, "ab")', "abc", "xab"),
    ("? > 10 and ? < 20", 15, 25),
    ("limit", 7, 8),  # a variable: equal to its value
])
def test_an_input_entry_is_a_feel_unary_test(start, tmp_path, test, matching, other):
    decision = table([(test, '"hit"')])
    for value, expected in ((matching, "hit"), (other, "other")):
        run = start(*files(tmp_path, "label", decision), data={"v": value, "limit": 7})
        assert run.last.incident is None, run.last.incident
        assert run.task("review").data["label"] == expected, (test, value)


def test_python_entries_of_spiffworkflows_reading_still_work(start, tmp_path):
    decision = table([("'low'", '"named"'), ("50 <= ? < 500", '"mid"')])
    assert decide(start, tmp_path, decision, 60)[1] == "mid"
    assert decide(start, tmp_path, decision, "low")[1] == "named"


def test_unique_with_two_matching_rules_is_an_incident(start, tmp_path):
    incident, _ = decide(start, tmp_path, table([("> 1", '"a"'), ("> 2", '"b"')], "UNIQUE"), 5)
    assert incident is not None and "UNIQUE" in incident.message and "1, 2" in incident.message
    assert decide(start, tmp_path, table([("> 1", '"a"'), ("> 9", '"b"')], "UNIQUE"), 5) == (None, "a")


def test_any_requires_the_matching_rules_to_agree(start, tmp_path):
    assert decide(start, tmp_path, table([("> 1", '"a"'), ("> 2", '"a"')], "ANY"), 5) == (None, "a")
    incident, _ = decide(start, tmp_path, table([("> 1", '"a"'), ("> 2", '"b"')], "ANY"), 5)
    assert incident is not None and "ANY" in incident.message


@pytest.mark.parametrize("policy, aggregation, expected", [
    ("RULE ORDER", "", ["a", "b", "c"]),
    ("COLLECT", "", ["a", "b", "c"]),
])
def test_rule_order_and_collect_give_every_match_in_rule_order(start, tmp_path, policy, aggregation, expected):
    decision = table([("> 1", '"a"'), ("> 2", '"b"'), ("> 3", '"c"'), ("> 9", '"d"')], policy, aggregation)
    assert decide(start, tmp_path, decision, 5) == (None, expected)


@pytest.mark.parametrize("aggregation, expected", [("SUM", 13), ("MIN", 1), ("MAX", 7), ("COUNT", 3)])
def test_collect_aggregates_the_outputs(start, tmp_path, aggregation, expected):
    decision = table([("> 1", "5"), ("> 2", "7"), ("> 3", "1"), ("> 9", "100")], "COLLECT", aggregation, "number")
    assert decide(start, tmp_path, decision, 5) == (None, expected)


def test_a_collected_output_replaces_the_variable_it_held(start, tmp_path):
    decision = table([("> 1", '"a"'), ("> 2", '"b"')], "COLLECT")
    bpmn, dmn = files(tmp_path, "label", decision)
    run = start(bpmn, dmn, data={"v": 2, "label": ["x", "y", "z"]})
    assert run.task("review").data["label"] == ["a"]


@pytest.mark.parametrize("policy", ["PRIORITY", "OUTPUT ORDER"])
def test_hit_policies_stagecoach_does_not_evaluate_are_refused_at_deploy(tmp_path, policy):
    bpmn, dmn = files(tmp_path, "label", table([("> 1", '"a"')], policy))
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([(bpmn.name, bpmn.read_bytes()), (dmn.name, dmn.read_bytes())])
    assert any(policy in p.message and p.element_id == "label" for p in caught.value.problems)


def test_an_input_expression_may_be_a_path_into_an_object(start, tmp_path):
    """`customer.age` reads a key of the object `customer`, as FEEL reads it (it matched nothing before)."""
    decision = table([("[1..60]", '"adult"')]).replace("<text>v</text>", "<text>customer.age</text>")
    for age, expected in ((30, "adult"), (70, "other")):
        run = start(*files(tmp_path, "label", decision), data={"customer": {"age": age}})
        assert run.last.incident is None, run.last.incident
        assert run.task("review").data["label"] == expected
