"""Content any modeler deploys stays bounded: patterns run on RE2, templates under a deadline and an output
limit, diagrams within size limits, and long chains deploy and run without a RecursionError.

Engine scenarios that keep state run twice (`roundtrip`): straight through, and with the instance saved
and loaded again before every step, as the server does between requests.
"""
from __future__ import annotations

import json

import pytest

from app import patterns
from app.crm.templates import TemplateLimitError, TemplateLimits, TemplateRefusedError, render, template_problem
from app.engine import BpmnRejected, DiagramLimits, Engine

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
REDOS = "^(a+)+$"
REDOS_INPUT = "a" * 30 + "!"


def diagram(body: str, process: str = "p", extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" '
            f'xmlns:zeebe="{ZEEBE}" id="d" targetNamespace="t">\n{extra}<bpmn:process id="{process}" '
            f'isExecutable="true">\n{body}\n</bpmn:process>\n</bpmn:definitions>\n').encode()


def chain(n: int, kind: str = "userTask", start: str = "start", prefix: str = "t") -> str:
    """Flow elements of a linear chain of `n` activities from `start` to an end event `end`."""
    script = "<bpmn:script>count = count + 1</bpmn:script>" if kind == "scriptTask" else ""
    parts, previous = [], start
    for i in range(n):
        parts.append(f'<bpmn:{kind} id="{prefix}{i}">{script}</bpmn:{kind}>'
                     f'<bpmn:sequenceFlow id="{prefix}f{i}" sourceRef="{previous}" targetRef="{prefix}{i}"/>')
        previous = f"{prefix}{i}"
    parts.append(f'<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="{prefix}fend" sourceRef="{previous}" targetRef="end"/>')
    return "\n".join(parts)


def one_task(task: str) -> bytes:
    """start → `task` (an element with id "ask") → end."""
    return diagram(f'<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>\n'
                   f'{task}\n<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="end"/><bpmn:endEvent id="end"/>')


def line_of(content: bytes, text: str) -> int:
    return content[:content.index(text.encode())].count(b"\n") + 1


def refused(engine: Engine, *files: tuple[str, bytes]) -> list[dict]:
    with pytest.raises(BpmnRejected) as caught:
        engine.parse(list(files))
    return [p.as_dict() for p in caught.value.problems]


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def pattern_limits():
    """Set the pattern limits for one test; the defaults come back after it."""
    before = patterns.limits()
    yield patterns.configure
    patterns.configure(before.max_pattern_length, before.max_input_length)


class Run:
    """One instance of a parsed model, saved and restored before each step when `roundtrip`."""

    def __init__(self, engine: Engine, model, roundtrip: bool, data: dict | None = None):
        self.engine, self.model, self.roundtrip = engine, model, roundtrip
        self.definition_id = f"{model.key}:{model.content_hash}"
        self.spec_json = engine.dump_spec(model)
        self.wf = engine.new_workflow(self.definition_id, model.dialect, self.spec_json, data)
        self.restores = 0

    def _restore(self) -> None:
        if self.roundtrip:
            state = self.engine.dump(self.model.dialect, self.wf)
            self.wf = self.engine.load(self.definition_id, self.model.dialect, self.spec_json, state)
            self.restores += 1

    def advance(self):
        self._restore()
        return self.engine.runner.advance(self.wf)

    def complete(self, task_id: str, data: dict | None = None):
        self._restore()
        return self.engine.runner.complete(self.wf, task_id, data or {}, "tester")

    def deliver(self, name: str):
        self._restore()
        return self.engine.runner.deliver(self.wf, "message", name, {})

    def cancel(self):
        self._restore()
        return self.engine.runner.cancel(self.wf)


# -- patterns run on RE2 -------------------------------------------------------------------------------------

def test_patterns_run_on_re2_which_refuses_backreferences_and_lookaround():
    compiled = patterns.compile_pattern(REDOS)

    assert type(compiled).__module__.startswith("re2")
    assert "backreferences" in patterns.problem(r"^(a)\1$")
    assert "lookaround" in patterns.problem(r"^(?=a)a$")
    assert "lookaround" in patterns.problem(r"(?<!x)a")
    assert patterns.problem(REDOS) is None and patterns.problem(r"[A-Z]{3}-\d{2}") is None


def test_a_catastrophic_pattern_is_answered_without_backtracking():
    """`^(a+)+$` against thirty a's and a '!' backtracks 2**30 ways in Python's `re`; RE2 answers at once."""
    assert patterns.fullmatch(REDOS, REDOS_INPUT) is False
    assert patterns.search(REDOS, "a" * 9_999 + "!") is False
    assert patterns.fullmatch(REDOS, "a" * 9_999) is True


def test_patterns_and_the_texts_checked_against_them_are_capped(pattern_limits):
    pattern_limits(20, 50)

    assert "STAGECOACH_PATTERN_MAX_LENGTH" in patterns.problem("a" * 21)
    assert patterns.problem("a" * 20) is None
    assert patterns.search("a", "b" * 50) is False
    with pytest.raises(patterns.PatternInputError) as caught:
        patterns.search("a", "b" * 51)
    assert "STAGECOACH_PATTERN_MAX_INPUT" in str(caught.value)


def test_json_schema_validation_runs_pattern_property_names_and_the_regex_format_on_re2():
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"code": {"type": "string", "pattern": REDOS},
                             "rule": {"type": "string", "format": "regex"},
                             "tags": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}}}
    validator = patterns.json_schema_validator(schema)

    errors = sorted(e.message for e in validator.iter_errors(
        {"code": REDOS_INPUT, "rule": r"(a)\1", "tags": {"Bad!": 1}, "extra": 1}))

    assert errors == sorted([f"{REDOS_INPUT!r} does not match {REDOS!r}", r"'(a)\\1' is not a 'regex'",
                             "'Bad!' does not match '^[a-z]+$'",
                             "Additional properties are not allowed ('extra' was unexpected)"])
    assert list(validator.iter_errors({"code": "aaaa", "rule": "[a-z]+", "tags": {"ok": 1}})) == []


# -- form patterns are checked at deploy ---------------------------------------------------------------------

def test_a_json_schema_form_with_a_backreference_is_refused_naming_file_line_and_field(engine):
    schema = json.dumps({"type": "object", "properties": {
        "name": {"type": "string"},
        "code": {"type": "string", "pattern": r"^(\d)\1$"}}}, indent=2).encode()

    [problem] = refused(engine, ("order.schema.json", schema))

    assert problem["file"] == "order.schema.json" and problem["field"] == "code"
    assert problem["line"] == line_of(schema, '"pattern"')
    assert "backreferences" in problem["message"] and "/properties/code/pattern" in problem["message"]


def test_pattern_properties_are_refused_in_a_form(engine):
    schema = json.dumps({"type": "object", "patternProperties": {"^x_": {"type": "string"}}}).encode()

    [problem] = refused(engine, ("loose.json", schema))

    assert "patternProperties" in problem["message"] and "declares" in problem["message"]


def test_a_camunda_form_pattern_with_lookahead_is_refused_naming_the_component(engine):
    form = json.dumps({"id": "order", "schemaVersion": 16, "components": [
        {"type": "group", "components": [
            {"type": "textfield", "key": "postcode", "validate": {"pattern": "^(?=\\d)\\d{5}$"}}]}]},
        indent=1).encode()

    [problem] = refused(engine, ("order.form", form))

    assert problem["file"] == "order.form" and problem["field"] == "postcode"
    assert problem["line"] == line_of(form, '"pattern"')
    assert "lookaround" in problem["message"]


def test_a_camunda_form_field_pattern_constraint_is_checked_and_becomes_the_fields_pattern(engine):
    bad = one_task('<bpmn:userTask id="ask"><bpmn:extensionElements><camunda:formData>'
                   '<camunda:formField id="code" type="string">\n'
                   '<camunda:validation><camunda:constraint name="pattern" config="^(a)\\1$"/></camunda:validation>'
                   '</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>')
    good = bad.replace(b"^(a)\\1$", REDOS.encode())

    [problem] = refused(engine, ("bad.bpmn", bad))
    [model] = engine.parse([("good.bpmn", good)])

    assert (problem["element_id"], problem["element_type"], problem["field"]) == ("ask", "userTask", "code")
    assert problem["line"] == line_of(bad, "camunda:constraint")
    assert "backreferences" in problem["message"]
    assert model.elements["ask"]["form"]["properties"]["code"]["pattern"] == REDOS


def test_an_embedded_camunda_8_form_pattern_is_checked(engine):
    form = json.dumps({"components": [{"type": "textfield", "key": "iban", "validate": {"pattern": "(x)\\1"}}]})
    content = diagram(f'<bpmn:extensionElements><zeebe:userTaskForm id="f1">{form}</zeebe:userTaskForm>'
                      f'</bpmn:extensionElements>\n<bpmn:startEvent id="start"/>'
                      f'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>\n<bpmn:userTask id="ask">'
                      f'<bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:f1"/>'
                      f'</bpmn:extensionElements></bpmn:userTask><bpmn:sequenceFlow id="f2" sourceRef="ask" '
                      f'targetRef="end"/><bpmn:endEvent id="end"/>')

    [problem] = refused(engine, ("embedded.bpmn", content))

    assert (problem["element_id"], problem["field"]) == ("ask", "iban")
    assert problem["line"] == line_of(content, "<zeebe:userTaskForm") and "backreferences" in problem["message"]


# -- diagrams within size limits ----------------------------------------------------------------------------

def test_a_process_over_the_element_limit_is_refused_naming_the_limit_and_the_process():
    engine = Engine(diagram_limits=DiagramLimits(max_elements=40))
    content = diagram('<bpmn:startEvent id="start"/>' + chain(20))  # 22 nodes + 21 flows

    [problem] = refused(engine, ("long.bpmn", content))

    assert (problem["element_id"], problem["element_type"], problem["line"]) == ("p", "process", line_of(content, "<bpmn:process"))
    assert "43 flow elements" in problem["message"] and "at most 40" in problem["message"]
    assert "STAGECOACH_BPMN_MAX_ELEMENTS" in problem["message"]
    assert engine.parse([("short.bpmn", diagram('<bpmn:startEvent id="start"/>' + chain(18)))])  # 39


def test_by_default_a_chain_of_2500_activities_is_over_the_limit(engine):
    [problem] = refused(engine, ("huge.bpmn", diagram('<bpmn:startEvent id="start"/>' + chain(2_500))))

    assert "5003 flow elements" in problem["message"] and "at most 5000" in problem["message"]


def test_sub_processes_nested_deeper_than_the_limit_are_refused():
    engine = Engine(diagram_limits=DiagramLimits(max_subprocess_depth=3))
    inner = '<bpmn:startEvent id="s4"/><bpmn:endEvent id="e4"/><bpmn:sequenceFlow id="x4" sourceRef="s4" targetRef="e4"/>'
    for level in (4, 3, 2, 1):
        inner = (f'<bpmn:subProcess id="sub{level}">{inner}</bpmn:subProcess>' if level == 4 else
                 f'<bpmn:subProcess id="sub{level}"><bpmn:startEvent id="s{level}"/>{inner}<bpmn:endEvent id="e{level}"/>'
                 f'<bpmn:sequenceFlow id="a{level}" sourceRef="s{level}" targetRef="sub{level + 1}"/>'
                 f'<bpmn:sequenceFlow id="b{level}" sourceRef="sub{level + 1}" targetRef="e{level}"/></bpmn:subProcess>')
    content = diagram('<bpmn:startEvent id="start"/>' + inner.replace('<bpmn:subProcess id="sub4">', '\n<bpmn:subProcess id="sub4">')
                      + '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub1"/>'
                        '<bpmn:sequenceFlow id="f2" sourceRef="sub1" targetRef="end"/>')

    [problem] = refused(engine, ("nested.bpmn", content))

    assert (problem["element_id"], problem["element_type"]) == ("sub4", "subProcess")
    assert problem["line"] == line_of(content, '<bpmn:subProcess id="sub4">')
    assert "nested 4 deep" in problem["message"] and "STAGECOACH_BPMN_MAX_SUBPROCESS_DEPTH" in problem["message"]
    assert Engine(diagram_limits=DiagramLimits(max_subprocess_depth=4)).parse([("nested.bpmn", content)])


def test_xml_nested_deeper_than_the_limit_is_refused_at_the_element():
    engine = Engine(diagram_limits=DiagramLimits(max_nesting=12))
    deep = "".join(f'<camunda:property name="p{i}" value="v">' for i in range(10)) + "</camunda:property>" * 10
    content = one_task(f'<bpmn:userTask id="ask"><bpmn:extensionElements>\n{deep}</bpmn:extensionElements></bpmn:userTask>')

    [problem] = refused(engine, ("deep.bpmn", content))

    assert problem["element_id"] == "ask" and problem["line"] == line_of(content, "<camunda:property")
    assert "more than 12 deep" in problem["message"] and "STAGECOACH_DEPLOY_MAX_NESTING" in problem["message"]


@pytest.mark.parametrize("depth", [70, 100_000])
def test_a_form_nested_deeper_than_the_limit_is_refused_not_a_crash(engine, depth):
    nested = ('{"type": "object", "properties": {"x": ' + '[' * depth + ']' * depth + '}}').encode()

    [problem] = refused(engine, ("nested.json", nested))

    assert "more than 64 deep" in problem["message"] and "STAGECOACH_DEPLOY_MAX_NESTING" in problem["message"]


# -- long chains deploy and run -----------------------------------------------------------------------------

@pytest.mark.parametrize("roundtrip", [False, True], ids=["straight", "roundtrip"])
def test_a_chain_of_2000_user_tasks_deploys_starts_runs_and_is_cancelled(engine, roundtrip):
    """Parsing recursed once per element (RecursionError near 490 activities), starting once per predicted
    task (near 980) and cancelling once per dropped task: all of it is loops now."""
    [model] = engine.parse([("chain.bpmn", diagram('<bpmn:startEvent id="start"/>' + chain(2_000)))])
    run = Run(engine, model, roundtrip, {"count": 0})

    outcome = run.advance()
    for expected in ("t0", "t1", "t2"):
        assert outcome.status == "running" and [t.element_id for t in outcome.open_tasks] == [expected]
        outcome = run.complete(outcome.open_tasks[0].id, {"count": int(expected[1:]) + 1})
    cancelled = run.cancel()

    assert [t.element_id for t in outcome.open_tasks] == ["t3"] and outcome.variables["count"] == 3
    assert cancelled.status == "cancelled" and cancelled.incident is None
    assert run.restores == (5 if roundtrip else 0)


@pytest.mark.parametrize("roundtrip", [False, True], ids=["straight", "roundtrip"])
def test_a_chain_of_600_script_tasks_runs_to_its_end(roundtrip):
    engine = Engine(max_engine_steps=1_000)
    [model] = engine.parse([("scripts.bpmn", diagram('<bpmn:startEvent id="start"/>' + chain(600, "scriptTask")))])
    run = Run(engine, model, roundtrip, {"count": 0})

    outcome = run.advance()

    assert outcome.status == "completed" and outcome.incident is None
    assert outcome.variables["count"] == 600


@pytest.mark.parametrize("roundtrip", [False, True], ids=["straight", "roundtrip"])
def test_a_boundary_event_interrupts_the_first_task_of_a_2000_task_chain(engine, roundtrip):
    content = diagram('<bpmn:startEvent id="start"/>'
                      '<bpmn:boundaryEvent id="stop" attachedToRef="t0"><bpmn:messageEventDefinition messageRef="m"/>'
                      '</bpmn:boundaryEvent><bpmn:endEvent id="stopped"/>'
                      '<bpmn:sequenceFlow id="fs" sourceRef="stop" targetRef="stopped"/>' + chain(2_000),
                      extra='<bpmn:message id="m" name="stop"/>\n')
    [model] = engine.parse([("interrupted.bpmn", content)])
    run = Run(engine, model, roundtrip, {"count": 0})
    assert [t.element_id for t in run.advance().open_tasks] == ["t0"]

    outcome = run.deliver("stop")

    assert outcome.status == "completed" and outcome.incident is None


def test_a_gateway_loop_still_stops_with_an_incident_near_its_diagrams_size():
    content = diagram('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="again"/>'
                      '<bpmn:scriptTask id="lap"><bpmn:script>laps = laps + 1</bpmn:script></bpmn:scriptTask>'
                      '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="again"/>'
                      '<bpmn:sequenceFlow id="f2" sourceRef="again" targetRef="lap"/>'
                      '<bpmn:sequenceFlow id="f3" sourceRef="lap" targetRef="again"/>')
    engine = Engine(max_engine_steps=100_000)
    [model] = engine.parse([("loop.bpmn", content)])

    outcome = Run(engine, model, False, {"laps": 0}).advance()

    assert outcome.status == "error" and "gateway loop too often" in outcome.incident.message
    assert 400 < outcome.variables["laps"] < 600  # a tree 900 levels beyond the diagram's few task specs


# -- templates render within a deadline and an output limit --------------------------------------------------

FAST = TemplateLimits(max_seconds=0.2, max_output=10_000)


def test_an_ordinary_template_renders():
    text = render("Deal {{ deal_name|upper }}: {% for i in range(3) %}{{ i }}{% endfor %} {{ '%05.1f'|format(amount) }}"
                  " {{ '{:>6}'.format(owner) }} {{ ', '.join(tags) }} {{ 'a' ~ 'b' }}",
                  {"deal_name": "acme", "amount": 2.5, "owner": "rita", "tags": ["x", "y"]}, FAST)

    assert text == "Deal ACME: 012 002.5   rita x, y ab"


def test_a_template_loop_stops_at_the_time_limit():
    with pytest.raises(TemplateLimitError) as caught:
        render("{% for a in range(100000) %}{% for b in range(2000) %}{% endfor %}{% endfor %}", {}, FAST)

    assert "time limit of 0.2 s" in str(caught.value) and "STAGECOACH_TEMPLATE_MAX_SECONDS" in str(caught.value)


def test_a_template_recursing_through_macros_stops_at_the_time_limit():
    with pytest.raises(TemplateLimitError) as caught:
        render("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}", {}, FAST)

    assert "STAGECOACH_TEMPLATE_MAX_SECONDS" in str(caught.value)


@pytest.mark.parametrize("template", [
    "{% for i in range(100000) %}{{ 'abcdefghij' }}{% endfor %}",
    "{{ 'x' * 10**10 }}",
    "{{ [1, 2] * 100000000 }}",
    "{{ 2 ** 10000000 }}",
    "{{ 'x'|center(10000000000) }}",
    "{{ 'x'.ljust(10**10) }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ '%1000000000d' % 1 }}",
    "{{ '%1000000000d'|format(1) }}",
    "{{ range(100000)|join('x' * 1000) }}",
    "{{ ('x' * 1000)|replace('', 'y' * 1000) }}",
    "{{ 'a\nb'|indent(10**9) }}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set a = 'x' * 9000 %}{{ a ~ a ~ a ~ a }}",
], ids=["output", "repeat", "list-repeat", "power", "center", "ljust", "format-width", "percent-width",
        "format-filter", "join", "replace", "indent", "doubling", "concat"])
def test_a_template_over_the_output_limit_is_stopped_before_it_builds_the_value(template):
    with pytest.raises(TemplateLimitError) as caught:
        render(template, {}, FAST)

    assert "output limit of 10000 characters" in str(caught.value)
    assert "STAGECOACH_TEMPLATE_MAX_OUTPUT" in str(caught.value)


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ record['__class__'] }}",
    "{% set l = [] %}{{ l.append(1) }}",
    "{{ '{0.__class__}'.format(1) }}",
], ids=["subclasses", "globals", "item", "mutation", "format-attribute"])
def test_a_template_that_reaches_for_internals_is_refused(template):
    with pytest.raises(TemplateRefusedError) as caught:
        render(template, {"record": {}}, FAST)

    assert "sandbox" in str(caught.value) or "unsafe" in str(caught.value)


def test_a_rule_template_reaching_for_a_private_name_is_refused_when_saved():
    assert "names starting with _" in template_problem("{{ deal.__class__ }}")
    assert "names starting with _" in template_problem("{{ deal['_secret'] }}")
    assert "line 1" in template_problem("{% for %}")
    assert template_problem("Dear {{ first_name }}") is None
