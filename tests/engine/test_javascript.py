"""JavaScript scripts, listeners, mappings and conditions, as Camunda 7 runs them, through the engine.

Every scenario runs twice (`roundtrip`): straight through, and with the instance saved and loaded again
before every step, as the server does between requests: the language of each script lives in the stored
spec and mappings, not in the running process.
"""
from __future__ import annotations

import json

import pytest

from app.engine import BpmnRejected, Engine, RunSettings, TaskEffects

from ..factories import fixture

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ORDER = {"items": [{"qty": 2, "price": 300.0}, {"qty": 1, "price": 500.0}],
         "customer": {"name": "ACME", "currency": "USD"}}


class Identity(TaskEffects):
    instance_id = "instance-1"
    business_key = "order-42"


class Scenario:
    """One instance of a deployed diagram, run with its mappings and listeners; saved and loaded again
    before every step when `roundtrip`."""

    def __init__(self, engine: Engine, xml: bytes, roundtrip: bool, data: dict | None = None):
        [self.model] = engine.parse([("js.bpmn", xml)])
        self.engine, self.roundtrip = engine, roundtrip
        self.definition_id = f"{self.model.key}:{self.model.content_hash}"
        self.spec_json = engine.dump_spec(self.model)
        self.settings = RunSettings.from_elements(self.model.elements)
        self.wf = self._prepared(engine.new_workflow(self.definition_id, self.model.dialect, self.spec_json, data))
        self.last = None

    def _prepared(self, wf):
        return self.engine.runner.prepare(wf, self.settings)

    def _restore(self) -> None:
        if self.roundtrip:
            state = self.engine.dump(self.model.dialect, self.wf)
            self.wf = self._prepared(self.engine.load(self.definition_id, self.model.dialect, self.spec_json, state))

    def advance(self):
        self._restore()
        self.last = self.engine.runner.advance(self.wf, Identity())
        return self.last

    def complete(self, element_id: str, data: dict | None = None):
        [task] = [t for t in self.last.open_tasks if t.element_id == element_id]
        self._restore()
        self.last = self.engine.runner.complete(self.wf, task.id, data or {}, "tester", effects=Identity())
        return self.last

    def retry(self):
        self._restore()
        self.last = self.engine.runner.retry(self.wf, Identity())
        return self.last

    def update_variables(self, changes: dict) -> dict:
        self._restore()
        return self.engine.runner.update_variables(self.wf, changes)

    def variables(self) -> dict:
        self._restore()
        return self.engine.runner.variables(self.wf)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(params=[False, True], ids=["straight", "roundtrip"])
def roundtrip(request) -> bool:
    return request.param


def diagram(script: str, *, attrs: str = "", extensions: str = "", after: str = "userTask") -> bytes:
    """start -> script task "work" (JavaScript `script`, on line 6) -> `after` "next" -> end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}" id="d" targetNamespace="t">
  <bpmn:process id="js" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="work" name="Work" scriptFormat="javascript" {attrs}>{extensions}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:{after} id="next" name="Next"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:{after}>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="next" />
    <bpmn:sequenceFlow id="f3" sourceRef="next" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


# -- the order: a script task with its result variable, listeners, a condition, mappings ---------------------

def test_a_large_order_is_priced_and_waits_for_its_review(engine, roundtrip):
    run = Scenario(engine, fixture("valid", "javascript_order.bpmn").read_bytes(), roundtrip, ORDER)

    waiting = run.advance()

    assert waiting.incident is None
    assert [t.element_id for t in waiting.open_tasks] == ["review"]  # the JavaScript condition held
    variables = run.variables()
    assert variables["total"] == 1100  # camunda:resultVariable: the script's last value
    assert (variables["currency"], variables["priced_by"], variables["lines"]) == ("USD", "price:start", 2)
    assert variables["review_opened"] == "Review order (review)"  # a task listener on create
    assert variables["summary"] == "ACME: 1100 USD"  # a JavaScript input parameter, local to the review


def test_the_review_ends_with_javascript_outputs_and_listeners(engine, roundtrip):
    run = Scenario(engine, fixture("valid", "javascript_order.bpmn").read_bytes(), roundtrip, ORDER)
    run.advance()

    done = run.complete("review", {"approved": True})

    assert done.status == "completed" and done.incident is None
    variables = done.variables
    assert variables["verdict"] == "approved"  # a JavaScript output parameter
    assert variables["review_event"] == "complete"  # a task listener on complete
    assert "summary" not in variables  # the input parameter was local to the review
    assert variables["shipped"] == {"total": 1100, "verdict": "approved", "instance": "instance-1",
                                    "business_key": "order-42"}


def test_an_order_below_the_limit_skips_the_review(engine, roundtrip):
    run = Scenario(engine, fixture("valid", "javascript_order.bpmn").read_bytes(), roundtrip,
                   dict(ORDER, coupon={"percent": 10}))

    done = run.advance()

    assert done.status == "completed" and done.incident is None
    assert done.variables["total"] == 990 and done.variables["shipped"]["verdict"] == "auto"
    assert "coupon" not in done.variables  # execution.removeVariable


# -- the execution idiom and the variables rules ----------------------------------------------------------------

def test_get_set_has_and_remove_variable_read_and_write_the_instance(engine, roundtrip):
    script = """
if (!execution.hasVariable("missing") &amp;&amp; execution.getVariable("missing") === null) {
  execution.setVariable("count", execution.getVariable("count") + 1);
}
execution.setVariable("names", execution.getVariableNames().sort());
execution.removeVariable("scratch");
var all = execution.getVariables();
all.count = 1000;  // a copy: changing it changes nothing
copied = all.label;
"""
    run = Scenario(engine, diagram(script), roundtrip, {"count": 1, "scratch": "x", "label": "L"})

    assert run.advance().incident is None

    assert run.variables() == {"count": 2, "names": ["count", "label", "scratch"], "label": "L", "copied": "L"}


def test_assignments_write_back_and_declarations_stay_the_scripts_own(engine, roundtrip):
    script = """
var local = 1;
let alsoLocal = 2;
const constant = 3;
function helper(x) { return x * 10; }
doubled = helper(amount);
amount = amount + local + alsoLocal + constant;
order.status = "priced";
"""
    run = Scenario(engine, diagram(script), roundtrip, {"amount": 4, "order": {"id": 7}})

    assert run.advance().incident is None

    assert run.variables() == {"amount": 10, "doubled": 40, "order": {"id": 7, "status": "priced"}}


def test_values_become_json_by_one_rule(engine, roundtrip):
    script = """
nothing = undefined;
when = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
list = [1, undefined, "two"];
helper = function () { return 1; };
kept = function () { return 1; };
nested = {a: {b: [true, null]}};
"""
    run = Scenario(engine, diagram(script), roundtrip, {"kept": "before"})

    assert run.advance().incident is None

    assert run.variables() == {
        "nothing": None, "when": "2030-01-02T03:04:05.000Z", "list": [1, None, "two"],
        "nested": {"a": {"b": [True, None]}},
        "kept": "before",  # a variable left holding a function keeps its former value; `helper` is not stored
    }


@pytest.mark.parametrize("script, said", [
    ("ratio = 0 / 0;", "variable ratio is NaN"),
    ("big = {v: 1 / 0};", "variable big.v is Infinity"),
    ("loop = {}; loop.self = loop;", "variable loop.self refers to itself"),
    ("wrapped = {f: function () {}};", "variable wrapped.f is a function"),
    ("n = 10n;", "variable n is a BigInt"),
], ids=["nan", "infinity", "cycle", "function-inside", "bigint"])
def test_a_value_json_cannot_hold_fails_the_script_naming_it(engine, roundtrip, script, said):
    run = Scenario(engine, diagram(script), roundtrip, {"keep": 1})

    failed = run.advance()

    assert failed.status == "error" and failed.incident.element_id == "work"
    assert said in failed.incident.message
    assert run.variables() == {"keep": 1}  # nothing half-written


def test_typeof_tells_an_unset_variable_and_reading_one_is_a_reference_error(engine, roundtrip):
    run = Scenario(engine, diagram('kind = typeof discount === "undefined" ? "none" : "some";'), roundtrip, {})
    assert run.advance().incident is None
    assert run.variables() == {"kind": "none"}

    failing = Scenario(engine, diagram("price = amount * (1 - discount);"), roundtrip, {"amount": 3})
    failed = failing.advance()
    assert failed.status == "error"
    assert "ReferenceError: discount is not defined" in failed.incident.message


def test_the_result_variable_takes_the_scripts_last_value(engine, roundtrip):
    run = Scenario(engine, diagram("var x = amount * 2;\nx + 1", attrs='camunda:resultVariable="result"'),
                   roundtrip, {"amount": 20})

    assert run.advance().incident is None

    assert run.variables() == {"amount": 20, "result": 41}


def test_an_execution_listener_sees_its_event_and_activity(engine, roundtrip):
    listeners = """<bpmn:extensionElements>
        <camunda:executionListener event="start"><camunda:script scriptFormat="javascript">seen = [execution.getEventName(), execution.getCurrentActivityId(), execution.getCurrentActivityName()];</camunda:script></camunda:executionListener>
        <camunda:executionListener event="end"><camunda:script scriptFormat="javascript">ended = execution.getEventName() + ":" + doubled;</camunda:script></camunda:executionListener>
      </bpmn:extensionElements>"""
    run = Scenario(engine, diagram("doubled = amount * 2;", extensions=listeners), roundtrip, {"amount": 5})

    assert run.advance().incident is None

    assert run.variables() == {"amount": 5, "doubled": 10, "seen": ["start", "work", "Work"], "ended": "end:10"}


def test_a_parameter_script_may_set_variables_as_in_camunda(engine, roundtrip):
    mapping = """<bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="unused"><camunda:script scriptFormat="javascript">execution.setVariable("defaultScore", 5);</camunda:script></camunda:inputParameter>
        <camunda:inputParameter name="doubled"><camunda:script scriptFormat="javascript">var d = amount * 2;
d</camunda:script></camunda:inputParameter>
        <camunda:outputParameter name="result"><camunda:script scriptFormat="javascript">doubled + defaultScore</camunda:script></camunda:outputParameter>
      </camunda:inputOutput></bpmn:extensionElements>"""
    run = Scenario(engine, diagram("seen = doubled;", extensions=mapping), roundtrip, {"amount": 4})

    assert run.advance().incident is None

    # `unused` (null) and `doubled` were local to the task; defaultScore was set on the instance
    assert run.variables() == {"amount": 4, "defaultScore": 5, "seen": 8, "result": 13}


def test_listeners_write_an_activitys_local_variables_as_python_ones_do(engine, roundtrip):
    extensions = """<bpmn:extensionElements>
        <camunda:inputOutput><camunda:inputParameter name="attempt">${1}</camunda:inputParameter></camunda:inputOutput>
        <camunda:executionListener event="start"><camunda:script scriptFormat="javascript">execution.setVariable("attempt", attempt + 1);</camunda:script></camunda:executionListener>
        <camunda:executionListener event="end"><camunda:script scriptFormat="javascript">seen = attempt;</camunda:script></camunda:executionListener>
      </bpmn:extensionElements>"""
    run = Scenario(engine, diagram("attempt = attempt * 10;", extensions=extensions), roundtrip, {"attempt": "outer"})

    assert run.advance().incident is None

    # the input made `attempt` local: the listeners and the script changed the local, the outer one is back
    assert run.variables() == {"attempt": "outer", "seen": 20}


def test_a_condition_cannot_set_variables(engine, roundtrip):
    xml = fixture("valid", "javascript_order.bpmn").read_bytes().replace(
        b"total &gt; 1000", b'execution.setVariable("sneaky", 1) || true')
    run = Scenario(engine, xml, roundtrip, ORDER)

    failed = run.advance()

    assert failed.status == "error" and "a condition cannot set variables" in failed.incident.message
    assert "sneaky" not in run.variables()


# -- failures: incidents, retried after the data is fixed ------------------------------------------------------

def test_a_script_that_throws_is_an_incident_retried_once_the_data_is_fixed(engine, roundtrip):
    run = Scenario(engine, fixture("valid", "javascript_fixable.bpmn").read_bytes(), roundtrip,
                   {"amount": 10, "currency": "GBP", "rates": {"USD": 1.1}})

    failed = run.advance()

    assert failed.status == "error" and failed.open_tasks == []
    assert failed.incident.element_id == "convert" and failed.incident.line == 2
    assert "Error: no rate for GBP" in failed.incident.message
    assert "converted" not in run.variables()

    run.update_variables({"rates": {"GBP": 1.17}})
    retried = run.retry()

    assert retried.incident is None and [t.element_id for t in retried.open_tasks] == ["after"]
    assert run.variables()["converted"] == 11.7


def test_a_type_error_names_its_line(engine, roundtrip):
    run = Scenario(engine, diagram("var a = 1;\nvar b = customer.address.city;"), roundtrip, {"customer": {}})

    failed = run.advance()

    assert failed.incident.line == 2 and "TypeError" in failed.incident.message


def test_an_instance_waiting_after_a_javascript_task_survives_save_and_load(engine):
    run = Scenario(engine, diagram("greeting = 'Hello ' + name;"), True, {"name": "Ada"})
    waiting = run.advance()
    assert [t.element_id for t in waiting.open_tasks] == ["next"]

    state = engine.dump(run.model.dialect, run.wf)
    json.loads(state)  # stored as JSON, versioned as every state
    loaded = engine.load(run.definition_id, run.model.dialect, run.spec_json, state)
    assert engine.runner.variables(loaded) == {"name": "Ada", "greeting": "Hello Ada"}

    run.wf = run._prepared(loaded)
    assert run.complete("next").status == "completed"


def test_the_spec_keeps_each_scripts_language(engine):
    [model] = engine.parse([("js.bpmn", diagram("x = 1;", attrs='camunda:resultVariable="y"'))])
    spec = json.loads(engine.dump_spec(model))
    scripts = [ts["script"] for ts in spec["spec"]["task_specs"].values() if ts.get("script")]
    assert scripts == ["/*javascript result=y*/x = 1;"]


# -- refused at deploy ----------------------------------------------------------------------------------------

def refused(xml: bytes):
    with pytest.raises(BpmnRejected) as caught:
        Engine().parse([("js.bpmn", xml)])
    return caught.value.problems


def test_a_syntax_error_is_refused_at_deploy_with_its_line(engine):
    [problem] = refused(diagram("var a = 1;\nvar b = ;\n"))
    assert (problem.element_id, problem.line) == ("work", 7)  # the script starts on line 6
    assert "JavaScript script cannot run: SyntaxError" in problem.message


@pytest.mark.parametrize("script, said", [
    ('var Date = Java.type("java.util.Date");', "Java.type cannot run"),
    ("var list = new java.util.ArrayList();", "java.util cannot run"),
    ("var imports = new JavaImporter(java.io);", "JavaImporter cannot run"),
    ("x = Packages.org.example.Thing;", "Packages.org cannot run"),
    ('var price = S(json).prop("price").numberValue();', "S(...) cannot run: Camunda Spin"),
    ('var doc = XML(text);', "XML(...) cannot run"),
    ('var order = JSON(text);', "JSON(...) cannot run"),
    ('load("nashorn:mozilla_compat.js");', "load(...) cannot run"),
    ('var fs = require("fs");', "require(...) cannot run"),
    ("x = execution.getVariableTyped('car');", "execution.getVariableTyped cannot run"),
    ("execution.setVariableLocal('a', 1);", "execution.setVariableLocal cannot run"),
    ("async function f() {}", "async cannot run"),
], ids=["java-type", "java-package", "java-importer", "packages", "spin-s", "spin-xml", "spin-json", "load",
        "require", "java-api", "local", "async"])
def test_javascript_that_reaches_for_what_does_not_exist_here_is_refused_at_deploy(script, said):
    [problem] = refused(diagram("var ok = 1;\n" + script))
    assert (problem.element_id, problem.line) == ("work", 7)
    assert said in problem.message


def test_json_parse_and_property_names_like_java_are_not_taken_for_java():
    [model] = Engine().parse([("js.bpmn", diagram(
        'var order = JSON.parse(text); order.java = 1; var s = "Java.type(x)"; // S(x)\nresult = order;'))])
    assert model.key == "js"


def test_a_task_listener_asking_the_task_for_what_the_diagram_decides_is_refused():
    listener = """<bpmn:extensionElements>
        <camunda:taskListener event="create"><camunda:script scriptFormat="javascript">task.setAssignee("bob");</camunda:script></camunda:taskListener>
      </bpmn:extensionElements>"""
    xml = diagram("x = 1;").replace(
        b'<bpmn:userTask id="next" name="Next">', f'<bpmn:userTask id="next" name="Next">{listener}'.encode())
    [problem] = refused(xml)
    assert problem.element_id == "next" and "task.setAssignee cannot run" in problem.message
    assert 'camunda:assignee="${approver}"' in problem.message


def test_groovy_and_other_languages_stay_refused():
    [problem] = refused(diagram("println 'hi'").replace(b'scriptFormat="javascript"', b'scriptFormat="groovy"'))
    assert "scriptFormat 'groovy' is not supported" in problem.message and "JavaScript" in problem.message
