"""Content a modeler deploys or an admin saves cannot take the server down, over HTTP.

Form and CRM field patterns run on RE2 (a backtracking pattern is answered at once, one RE2 cannot run is
refused where it is saved); email templates render under a deadline and an output limit, and one over a
limit or refused by the sandbox fails its step as an incident the instance can be retried from; diagrams
are refused past their size limits with a 422 naming the setting, and a 2,000-activity chain deploys and
runs. Deployments are made by a member of `modelers`, who may deploy by default.
"""
from __future__ import annotations

import io
import json

import pytest

from ..factories import ApiClient, assert_problem

DEPLOY = "/api/v1/deployments"
MODULES = "/api/v1/modules"
INSTANCES = "/api/v1/process-instances"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
REDOS = "^(a+)+$"
REDOS_INPUT = "a" * 30 + "!"


def diagram(key: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" '
            f'id="d_{key}" targetNamespace="t">\n<bpmn:process id="{key}" isExecutable="true">\n{body}\n'
            f'</bpmn:process>\n</bpmn:definitions>\n').encode()


def one_step(key: str, step: str) -> bytes:
    """start → `step` (an element with id "step") → end."""
    return diagram(key, f'<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step"/>\n'
                        f'{step}\n<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end"/><bpmn:endEvent id="end"/>')


def chain(key: str, n: int) -> bytes:
    parts, previous = ['<bpmn:startEvent id="start"/>'], "start"
    for i in range(n):
        parts.append(f'<bpmn:userTask id="t{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="t{i}"/>')
        previous = f"t{i}"
    parts.append(f'<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="fend" sourceRef="{previous}" targetRef="end"/>')
    return diagram(key, "\n".join(parts))


def upload(client: ApiClient, *files: tuple[str, bytes]):
    return client.post(DEPLOY, data={"files": [(io.BytesIO(content), name) for name, content in files]},
                       content_type="multipart/form-data")


def line_of(content: bytes, text: str) -> int:
    return content[:content.index(text.encode())].count(b"\n") + 1


@pytest.fixture
def modeler(make) -> ApiClient:
    return make.client("mona", groups=["modelers"])


# -- regular expressions -------------------------------------------------------------------------------------

def test_a_crm_field_with_a_backtracking_pattern_answers_a_hostile_value_at_once(admin):
    """Python's `re` takes seconds per extra character here (2**30 ways to split thirty a's); RE2 does not
    backtrack. That it is RE2 shows in what it refuses: a backreference."""
    saved = admin.post(MODULES, json={"api_name": "Vouchers", "fields": [
        {"name": "code", "type": "text", "pattern": REDOS}]})
    backreference = admin.post(MODULES, json={"api_name": "Echoes", "fields": [
        {"name": "code", "type": "text", "pattern": r"^(\w)\1$"}]})

    refused = admin.post(f"{MODULES}/Vouchers/records", json={"code": REDOS_INPUT})
    accepted = admin.post(f"{MODULES}/Vouchers/records", json={"code": "aaaa"})

    assert saved.status_code == 201, saved.get_json()
    assert assert_problem(refused, 400)["errors"] == {"code": [f"must match {REDOS}"]}
    assert accepted.status_code == 201
    problem = assert_problem(backreference, 400)
    [message] = problem["errors"]["code"]
    assert "not a valid regular expression" in message and "backreferences" in message


def test_a_value_longer_than_patterns_are_checked_against_is_refused(admin):
    admin.post(MODULES, json={"api_name": "Vouchers", "fields": [
        {"name": "code", "type": "long_text", "pattern": "^a+$"}]})

    problem = assert_problem(admin.post(f"{MODULES}/Vouchers/records", json={"code": "a" * 10_001}), 400)

    [message] = problem["errors"]["code"]
    assert "longer than 10000 characters" in message and "STAGECOACH_PATTERN_MAX_INPUT" in message


def test_a_form_schema_with_a_backreference_is_refused_at_deploy_naming_file_line_and_field(modeler):
    schema = json.dumps({"type": "object", "properties": {"code": {"type": "string", "pattern": r"^(\d)\1$"}}},
                        indent=2).encode()

    problem = assert_problem(upload(modeler, ("order.schema.json", schema)), 422)

    [found] = problem["bpmn"]
    assert found["file"] == "order.schema.json" and found["field"] == "code"
    assert found["line"] == line_of(schema, '"pattern"') and "backreferences" in found["message"]
    assert modeler.get("/api/v1/process-definitions").get_json()["total"] == 0


def test_a_task_form_pattern_checks_submitted_values_on_re2(modeler):
    content = one_step("voucher", '<bpmn:userTask id="step" camunda:candidateGroups="modelers"><bpmn:extensionElements>'
                                  '<camunda:formData><camunda:formField id="code" type="string"><camunda:validation>'
                                  f'<camunda:constraint name="pattern" config="{REDOS}"/></camunda:validation>'
                                  '</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>')
    assert upload(modeler, ("voucher.bpmn", content)).status_code == 201
    [task] = modeler.start("voucher")["tasks"]

    hostile = modeler.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"code": REDOS_INPUT}})
    too_long = modeler.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"code": "a" * 10_001}})
    done = modeler.complete(task["id"], {"code": "aaa"})

    assert assert_problem(hostile, 400)["errors"] == {"code": [f"{REDOS_INPUT!r} does not match {REDOS!r}"]}
    [message] = assert_problem(too_long, 400)["errors"]["code"]
    assert "STAGECOACH_PATTERN_MAX_INPUT" in message
    assert done["status"] == "completed"


def test_a_form_field_pattern_with_lookahead_is_refused_naming_element_line_and_field(modeler):
    content = one_step("lookahead", '<bpmn:userTask id="step"><bpmn:extensionElements><camunda:formData>'
                                    '<camunda:formField id="postcode" type="string">\n<camunda:validation>'
                                    '<camunda:constraint name="pattern" config="^(?=\\d)\\d{5}$"/></camunda:validation>'
                                    '</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>')

    problem = assert_problem(upload(modeler, ("lookahead.bpmn", content)), 422)

    [found] = problem["bpmn"]
    assert (found["file"], found["element_id"], found["element_type"]) == ("lookahead.bpmn", "step", "userTask")
    assert (found["line"], found["field"]) == (line_of(content, "<camunda:validation>"), "postcode")
    assert "lookaround" in found["message"]


# -- templates -----------------------------------------------------------------------------------------------

EMAIL = one_step("mailer", '<bpmn:scriptTask id="step" name="Send the summary">'
                           '<bpmn:script>send_email("ops@example.com", "Summary", body)</bpmn:script></bpmn:scriptTask>')


def _incident(client: ApiClient, instance_id: str) -> dict:
    instance = client.instance(instance_id)
    assert instance["status"] == "error"
    [incident] = [i for i in instance["incidents"] if i["resolved_at"] is None]
    return incident


def test_a_template_loop_fails_the_step_with_an_incident_naming_the_time_limit_and_a_fix_retries(
        app, admin, modeler, monkeypatch):
    monkeypatch.setitem(app.config, "TEMPLATE_MAX_SECONDS", 0.2)
    assert upload(modeler, ("mailer.bpmn", EMAIL)).status_code == 201
    looping = "{% for a in range(100000) %}{% for b in range(2000) %}{% endfor %}{% endfor %}"

    started = modeler.start("mailer", {"body": looping})

    assert started["status"] == "error"
    incident = _incident(admin, started["id"])
    assert incident["element_id"] == "step"
    assert "time limit of 0.2 s" in incident["message"] and "STAGECOACH_TEMPLATE_MAX_SECONDS" in incident["message"]
    assert admin.get("/api/v1/outbox").get_json()["items"] == []  # nothing of the failed step was kept

    patched = admin.patch(f"{INSTANCES}/{started['id']}/variables", json={"variables": {"body": "{{ 6 * 7 }} deals"}})
    retried = admin.post(f"{INSTANCES}/{started['id']}/retry")

    assert patched.status_code == 200 and retried.status_code == 200
    assert retried.get_json()["status"] == "completed"
    [message] = admin.get("/api/v1/outbox").get_json()["items"]
    assert message["payload"]["body"] == "42 deals"


def test_a_template_over_the_output_limit_fails_the_step_naming_the_limit(admin, modeler):
    assert upload(modeler, ("mailer.bpmn", EMAIL)).status_code == 201

    started = modeler.start("mailer", {"body": "{{ 'x' * 10**10 }}"})

    incident = _incident(admin, started["id"])
    assert "output limit of 200000 characters" in incident["message"]
    assert "STAGECOACH_TEMPLATE_MAX_OUTPUT" in incident["message"]


@pytest.mark.parametrize("body", ["{{ ''.__class__.__mro__[1].__subclasses__() }}",
                                  "{{ cycler.__init__.__globals__.os }}"], ids=["subclasses", "globals"])
def test_a_template_reaching_for_internals_is_an_incident_not_a_500(admin, modeler, body):
    assert upload(modeler, ("mailer.bpmn", EMAIL)).status_code == 201

    response = modeler.post("/api/v1/process-definitions/key/mailer/start", json={"variables": {"body": body}})

    assert response.status_code == 201, response.get_json()
    incident = _incident(admin, response.get_json()["id"])
    assert "refused by the sandbox" in incident["message"] and "unsafe" in incident["message"]


# -- diagrams ------------------------------------------------------------------------------------------------

def test_a_chain_of_2000_activities_deploys_and_runs(modeler, admin):
    deployed = upload(modeler, ("long_chain.bpmn", chain("long_chain", 2_000)))
    assert deployed.status_code == 201, deployed.get_json()

    started = admin.start("long_chain")
    assert started["status"] == "running" and [t["element_id"] for t in started["tasks"]] == ["t0"]
    second = admin.complete(started["tasks"][0]["id"])
    cancelled = admin.post(f"{INSTANCES}/{started['id']}/cancel", json={"reason": "enough"})

    assert [t["element_id"] for t in second["tasks"]] == ["t1"]
    assert cancelled.status_code == 200, cancelled.get_json()
    assert admin.instance(started["id"])["status"] == "cancelled"


def test_a_process_over_the_element_limit_is_refused_with_a_422_naming_the_limit(modeler):
    content = chain("too_long", 2_500)

    problem = assert_problem(upload(modeler, ("too_long.bpmn", content)), 422)

    [found] = problem["bpmn"]
    assert (found["file"], found["element_id"], found["element_type"]) == ("too_long.bpmn", "too_long", "process")
    assert found["line"] == line_of(content, "<bpmn:process")
    assert "5003 flow elements" in found["message"] and "STAGECOACH_BPMN_MAX_ELEMENTS" in found["message"]
    assert "RecursionError" not in json.dumps(problem)


def test_xml_nested_past_the_limit_is_refused_with_a_422_naming_the_limit(modeler):
    deep = "".join(f'<camunda:property name="p{i}" value="v">' for i in range(70)) + "</camunda:property>" * 70
    content = one_step("deep", f'<bpmn:userTask id="step"><bpmn:extensionElements>{deep}</bpmn:extensionElements>'
                               f'</bpmn:userTask>')

    problem = assert_problem(upload(modeler, ("deep.bpmn", content)), 422)

    [found] = problem["bpmn"]
    assert found["element_id"] == "step" and "STAGECOACH_DEPLOY_MAX_NESTING" in found["message"]


def test_a_form_nested_a_hundred_thousand_deep_is_a_422_not_a_crash(modeler):
    content = ('{"components": [' + "[" * 100_000 + "]" * 100_000 + "]}").encode()

    problem = assert_problem(upload(modeler, ("bomb.form", content)), 422)

    [found] = problem["bpmn"]
    assert found["file"] == "bomb.form" and "STAGECOACH_DEPLOY_MAX_NESTING" in found["message"]
