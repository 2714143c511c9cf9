"""Input/output mappings (camunda:inputOutput, zeebe:ioMapping) and camunda:asyncAfter, as Camunda runs them."""
from __future__ import annotations

import re

import base64
import datetime as dt
import json

import time_machine

from ..factories import fixture
from ..timing import iso, next_at

NINE = next_at(9)
START = {"order": {"total": 100}, "manager": "mia", "customer": {"name": "Ada"}, "note": "keep me"}


def _open_task(admin, instance_id):
    [task] = admin.get(f"/api/v1/tasks?process_instance_id={instance_id}").get_json()["items"]
    return task


def test_inputs_are_the_task_s_local_variables_and_outputs_reach_the_process(server):
    admin = server.login()
    admin.deploy(fixture("valid", "io_mapping.bpmn"))
    started = admin.start("io_quote", START)

    at_review = admin.instance(started["id"])["variables"]
    assert at_review["amount"] == 100
    assert at_review["approvers"] == ["mia", "finance"]
    assert at_review["greeting"] == "Dear Ada, your total is 100"
    assert at_review["limits"] == {"max": 200, "currency": "EUR"}
    assert at_review["note"] is None  # an empty parameter is null, shadowing the process's note

    server.restart()
    admin = server.admin
    admin.complete(_open_task(admin, started["id"])["id"], {"decision": "yes"})

    done = admin.instance(started["id"])
    assert done["status"] == "completed"
    variables = done["variables"]
    assert variables["approved_amount"] == 100 and variables["tax_due"] == 20.0
    assert variables["note"] == "keep me"  # the local note is gone: the process's own is back
    for local in ("amount", "approvers", "greeting", "limits", "rate", "base"):
        assert local not in variables
    assert variables["decision"] == "yes"  # what the user submitted is the process's, as in Camunda


def test_an_output_reads_what_the_user_submitted(admin):
    admin.deploy(fixture("valid", "io_mapping.bpmn"))
    started = admin.start("io_quote", START)
    admin.complete(_open_task(admin, started["id"])["id"], {"decision": "no"})
    variables = admin.instance(started["id"])["variables"]
    assert variables["approved_amount"] == 0 and variables["tax_due"] == 0.0


def test_an_input_that_fails_is_an_incident_on_its_task_and_can_be_retried(admin):
    admin.deploy(fixture("valid", "io_mapping.bpmn"))
    started = admin.start("io_quote", {"manager": "mia", "customer": {"name": "Ada"}})  # no order

    instance = admin.instance(started["id"])
    assert instance["status"] == "error"
    [incident] = instance["incidents"]
    assert incident["element_id"] == "review" and "input parameter 'amount'" in incident["message"]

    assert admin.patch(f"/api/v1/process-instances/{started['id']}/variables",
                       json={"variables": {"order": {"total": 40}}}).status_code == 200
    retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()
    assert retried["status"] == "running"
    assert admin.instance(started["id"])["variables"]["amount"] == 40


def _basic(username="admin", password="admin-password"):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_zeebe_mappings_give_the_worker_its_inputs_and_map_its_result(app, admin):
    from config import TestConfig

    admin.deploy(fixture("valid", "zeebe_io.bpmn"))
    started = admin.start("zeebe_io", {"order": {"total": 75}})
    client = app.test_client()
    headers = _basic(password=TestConfig.ADMIN_PASSWORD)
    [locked] = client.post("/engine-rest/external-task/fetchAndLock", headers=headers, json={
        "workerId": "w1", "maxTasks": 1,
        "topics": [{"topicName": "charge-card", "lockDuration": 10000}]}).get_json()
    assert locked["variables"]["amount"] == {"value": 75, "type": "Integer", "valueInfo": {}}
    assert locked["variables"]["currency"]["value"] == "EUR"

    response = client.post(f"/engine-rest/external-task/{locked['id']}/complete", headers=headers, json={
        "workerId": "w1", "variables": {"receipt": {"value": '{"id": "R-1"}', "type": "Json"}}})
    assert response.status_code == 204, response.get_json()
    variables = admin.instance(started["id"])["variables"]
    assert variables["receipt_id"] == "R-1"
    assert "amount" not in variables and "currency" not in variables


def one_task_diagram(process_id: str, task: str, process_extensions: str = "", start: str = "") -> str:
    """start -> user task "review" (`task`: its attributes and extension elements) -> end, one element a line.

    The process's extensions are on line 4, the review task starts on line 6, and what `task` puts on
    the lines after its first one follows from line 7."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="{process_id}" isExecutable="true">
    {process_extensions or "<!-- no process extensions -->"}
    <bpmn:startEvent id="start" {start}><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" {task}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


MAPPED_TASK = one_task_diagram("bad_io", """><bpmn:extensionElements><camunda:inputOutput>
          <camunda:inputParameter name="total">${order.sum()}</camunda:inputParameter>
          <camunda:inputParameter name="js"><camunda:script scriptFormat="groovy">1 + 1</camunda:script></camunda:inputParameter>
          <camunda:outputParameter name="">${x}</camunda:outputParameter>
        </camunda:inputOutput></bpmn:extensionElements>""")


def test_mappings_that_cannot_run_are_refused_at_deploy_each_with_its_line(admin, tmp_path):
    path = tmp_path / "bad_io.bpmn"
    path.write_text(MAPPED_TASK)
    body = admin.deploy(path, expect=422)
    assert body["type"] == "/problems/invalid-bpmn" and body["status"] == 422
    problems = {(p["line"], p["element_id"]): p["message"] for p in body["bpmn"]}
    assert "method call order.sum(...) is not supported" in problems[(7, "review")]
    assert "'groovy' cannot run" in problems[(8, "review")]
    assert "needs a name" in problems[(9, "review")]
    assert admin.get("/api/v1/process-definitions?key=bad_io").get_json()["total"] == 0


def _lefts(admin, instance_id, element):
    history = admin.get(f"/api/v1/process-instances/{instance_id}/history?per_page=1000").get_json()["items"]
    return [h for h in history if h["element_id"] == element and h["type"] == "element_left"]


def test_async_after_runs_what_follows_in_a_job(server):
    admin = server.login()
    admin.deploy(fixture("events", "async_after.bpmn"))
    started = admin.start("async_after", {"divisor": 4})

    assert started["status"] == "running"
    assert len(_lefts(admin, started["id"], "reserve")) == 1 and _lefts(admin, started["id"], "charge") == []
    [job] = admin.get("/api/v1/jobs").get_json()["items"]
    assert job["kind"] == "async" and job["max_attempts"] == 2

    server.restart()
    assert server.fire()["done"] == 1
    instance = server.admin.instance(started["id"])
    assert instance["status"] == "completed" and instance["variables"]["charged"] == 25.0


def test_a_failure_after_async_after_is_retried_without_redoing_the_task(app, admin):
    from ..factories import ApiClient
    from app.jobs.runner import run_due_jobs

    def fire():
        with app.app_context():
            return run_due_jobs()

    with time_machine.travel(NINE, tick=False) as clock:
        admin = ApiClient.login(app, "admin", "admin-password")
        admin.deploy(fixture("events", "async_after.bpmn"))
        started = admin.start("async_after", {"divisor": 0})
        clock.shift(dt.timedelta(milliseconds=1))

        assert fire() == {"done": 0, "failed": 0, "retried": 1}
        [job] = admin.get("/api/v1/jobs").get_json()["items"]
        assert job["due_at"] == iso(NINE + dt.timedelta(minutes=1, milliseconds=1))  # PT1M, the cycle of "reserve"
        assert admin.instance(started["id"])["incidents"] == []

        clock.shift(dt.timedelta(minutes=1, milliseconds=1))
        assert fire()["done"] == 1  # the second and last try: an incident
        instance = admin.instance(started["id"])
        assert instance["status"] == "error" and instance["incidents"][0]["element_id"] == "charge"
        assert len(_lefts(admin, started["id"], "reserve")) == 1  # reserved once, whatever the retries


def _fetch(app, topic):
    from config import TestConfig

    return app.test_client().post("/engine-rest/external-task/fetchAndLock",
                                  headers=_basic(password=TestConfig.ADMIN_PASSWORD), json={
                                      "workerId": "w1", "maxTasks": 5,
                                      "topics": [{"topicName": topic, "lockDuration": 10000}]}).get_json()


def test_an_external_topic_and_priority_written_as_expressions_are_evaluated_per_instance(app, admin, tmp_path):
    path = tmp_path / "external_charge.bpmn"
    path.write_bytes(fixture("valid", "external_charge.bpmn").read_bytes().replace(
        b'camunda:topic="charge-card"', b'camunda:topic="${desk}" camunda:taskPriority="${urgency}"'))
    admin.deploy(path)
    low = admin.start("external_charge", {"desk": "eu-billing", "urgency": 5})
    high = admin.start("external_charge", {"desk": "eu-billing", "urgency": 80})
    admin.start("external_charge", {"desk": "us-billing", "urgency": 99})

    locked = _fetch(app, "eu-billing")
    assert [(t["processInstanceId"], t["priority"]) for t in locked] == [(high["id"], 80), (low["id"], 5)]
    assert [t["topicName"] for t in _fetch(app, "us-billing")] == ["us-billing"]


def test_a_zeebe_job_type_written_in_feel_names_the_topic(app, admin, tmp_path):
    path = tmp_path / "zeebe_io.bpmn"
    path.write_bytes(fixture("valid", "zeebe_io.bpmn").read_bytes().replace(
        b'type="charge-card"', b'type="= &quot;charge-&quot; + order.currency"'))
    admin.deploy(path)
    started = admin.start("zeebe_io", {"order": {"total": 5, "currency": "chf"}})
    [locked] = _fetch(app, "charge-chf")
    assert locked["processInstanceId"] == started["id"]


def test_an_external_topic_that_cannot_be_evaluated_is_refused_at_deploy(admin, tmp_path):
    path = tmp_path / "external_charge.bpmn"
    path.write_bytes(fixture("valid", "external_charge.bpmn").read_bytes().replace(
        b'camunda:topic="charge-card"', b'camunda:topic="${topics.pick()}"'))
    body = admin.deploy(path, expect=422)
    [problem] = body["bpmn"]
    assert problem["element_id"] == "charge" and "external task topic" in problem["message"]


def test_a_call_activity_maps_variables_in_and_out_with_camunda_in_and_out(admin):
    admin.deploy(fixture("valid", "call_mapping.bpmn"))
    started = admin.start("call_parent", {"order": {"total": 10}})
    assert started["status"] == "completed"
    variables = admin.instance(started["id"])["variables"]
    assert variables["child_result"] == 30
    assert "purchase" not in variables and "doubled" not in variables  # the child's inputs stay the child's
    assert "result" not in variables  # camunda:out without variables="all": only the mapped variable comes back


def test_a_call_activity_that_maps_variables_passes_only_those(admin, tmp_path):
    without_all = fixture("valid", "call_mapping.bpmn").read_bytes().replace(b'<camunda:in variables="all" />', b"")
    path = tmp_path / "call_mapping.bpmn"
    path.write_bytes(without_all.replace(b'result = purchase["total"] + doubled',
                                         b'result = purchase["total"] + doubled\nsecret = "child"'))
    admin.deploy(path)
    started = admin.start("call_parent", {"order": {"total": 10}, "secret": "parent only"})
    variables = admin.instance(started["id"])["variables"]
    assert variables["child_result"] == 30 and variables["secret"] == "parent only"  # nothing else came back

    path.write_bytes(without_all.replace(b'result = purchase["total"] + doubled', b'result = order["total"]'))
    admin.deploy(path)
    failed = admin.instance(admin.start("call_parent", {"order": {"total": 10}})["id"])
    assert failed["status"] == "error"  # the called process sees only what camunda:in maps: no `order`
    assert failed["incidents"][0]["element_id"] == "compute" and "order" in failed["incidents"][0]["message"]


def test_a_call_activity_that_passes_every_variable_in_takes_none_back_without_camunda_out(admin, tmp_path):
    """`<camunda:in variables="all"/>` alone: the called process sees everything, and nothing it sets comes
    back (it all came back, overwriting the caller's own)."""
    source = fixture("valid", "call_mapping.bpmn").read_bytes()
    only_all_in = re.sub(rb"<camunda:(in|out) (?!variables)[^>]*/>", b"", source)
    assert b'<camunda:in variables="all" />' in only_all_in and b"<camunda:out" not in only_all_in
    path = tmp_path / "call_mapping.bpmn"
    path.write_bytes(only_all_in)
    admin.deploy(path)
    started = admin.start("call_parent", {"purchase": {"total": 5}, "doubled": 1})
    assert started["status"] == "completed"  # the child read both (result = 6)
    variables = admin.instance(started["id"])["variables"]
    assert variables == {"purchase": {"total": 5}, "doubled": 1}  # and nothing of it came back


INITIATED = one_task_diagram("initiated", 'camunda:assignee="${starter}">', start='camunda:initiator="starter"')


def test_camunda_initiator_holds_the_starting_user(admin, make, tmp_path):
    path = tmp_path / "initiated.bpmn"
    path.write_text(INITIATED)
    admin.deploy(path)
    make.user("rita", password="rita-password")
    from ..factories import ApiClient

    rita = ApiClient.login(admin.app, "rita", "rita-password")
    started = rita.start("initiated")
    [task] = started["tasks"]
    assert task["assignee"] == "rita"
    assert admin.instance(started["id"])["variables"]["starter"] == "rita"


def test_python_listeners_run_when_the_task_opens_and_when_it_ends(server):
    admin = server.login()
    admin.deploy(fixture("valid", "listeners.bpmn"))
    started = admin.start("listened")
    assert admin.instance(started["id"])["variables"]["opened"] is True
    server.restart()
    admin = server.admin
    admin.complete(_open_task(admin, started["id"])["id"], {"decision": "yes"})
    variables = admin.instance(started["id"])["variables"]
    assert variables["closed"] == "YES" and variables["amount"] == 42


LISTENERS = one_task_diagram("bad_listeners", """><bpmn:extensionElements>
        <camunda:taskListener event="assignment"><camunda:script scriptFormat="python">x = 1</camunda:script></camunda:taskListener>
        <camunda:executionListener event="start"><camunda:script scriptFormat="groovy">println 'hi'</camunda:script></camunda:executionListener>
        <camunda:executionListener event="end" delegateExpression="${logger}" />
      </bpmn:extensionElements>""", process_extensions="""<bpmn:extensionElements><camunda:executionListener event="start" class="org.example.Audit" /></bpmn:extensionElements>""")


def test_listeners_that_cannot_run_are_refused_not_skipped(admin, tmp_path):
    path = tmp_path / "bad_listeners.bpmn"
    path.write_text(LISTENERS)
    body = admin.deploy(path, expect=422)
    problems = {(p["line"], p["element_id"]): p["message"] for p in body["bpmn"]}
    assert "on a process cannot run" in problems[(4, "bad_listeners")]
    assert "event 'assignment' is not supported" in problems[(7, "review")]
    assert "'groovy'" in problems[(8, "review")] and "Python" in problems[(8, "review")]
    assert "camunda:delegateExpression '${logger}' cannot run" in problems[(9, "review")]


def test_an_output_that_fails_on_completion_refuses_it_and_leaves_the_task_open(admin, tmp_path):
    path = tmp_path / "io_mapping.bpmn"
    path.write_bytes(fixture("valid", "io_mapping.bpmn").read_bytes().replace(
        b"${decision == 'yes' ? amount : 0}", b"${decision == 'yes' ? amount / divisor : 0}"))
    admin.deploy(path)
    started = admin.start("io_quote", START)
    task = _open_task(admin, started["id"])
    before = admin.instance(started["id"])

    body = admin.complete(task["id"], {"decision": "yes"}, expect=422)  # no divisor: the output fails
    assert body["type"] == "/problems/task-completion-failed"
    assert "output parameter 'approved_amount'" in body["detail"] and body["bpmn"]["element_id"] == "review"
    after = admin.instance(started["id"])
    assert after["status"] == "running" and after["incidents"] == []
    assert after["variables"] == before["variables"]  # nothing changed, as Camunda rolls back
    assert _open_task(admin, started["id"])["id"] == task["id"]

    admin.patch(f"/api/v1/process-instances/{started['id']}/variables", json={"variables": {"divisor": 4}})
    admin.complete(task["id"], {"decision": "yes"})
    done = admin.instance(started["id"])
    assert done["status"] == "completed" and done["variables"]["approved_amount"] == 25.0


def test_an_external_task_whose_output_fails_stays_locked_and_the_worker_is_told(app, admin):
    from config import TestConfig

    admin.deploy(fixture("valid", "zeebe_io.bpmn"))
    started = admin.start("zeebe_io", {"order": {"total": 75}})
    client = app.test_client()
    headers = _basic(password=TestConfig.ADMIN_PASSWORD)
    [locked] = _fetch(app, "charge-card")

    refused = client.post(f"/engine-rest/external-task/{locked['id']}/complete", headers=headers,
                          json={"workerId": "w1", "variables": {}})  # no receipt: receipt.id cannot be read
    assert refused.status_code == 422
    assert refused.get_json()["type"] == "ProcessEngineException"
    assert "output parameter 'receipt_id'" in refused.get_json()["message"]
    instance = admin.instance(started["id"])
    assert instance["status"] == "running" and instance["incidents"] == []
    assert _fetch(app, "charge-card") == []  # still locked by w1

    done = client.post(f"/engine-rest/external-task/{locked['id']}/complete", headers=headers, json={
        "workerId": "w1", "variables": {"receipt": {"value": '{"id": "R-2"}', "type": "Json"}}})
    assert done.status_code == 204
    assert admin.instance(started["id"])["variables"]["receipt_id"] == "R-2"


def test_with_zeebe_output_mappings_only_the_outputs_leave_the_task(app, admin):
    admin.deploy(fixture("valid", "zeebe_io.bpmn"))
    started = admin.start("zeebe_io", {"order": {"total": 75}, "status": "new"})
    [locked] = _fetch(app, "charge-card")
    from config import TestConfig

    response = app.test_client().post(
        f"/engine-rest/external-task/{locked['id']}/complete", headers=_basic(password=TestConfig.ADMIN_PASSWORD),
        json={"workerId": "w1", "variables": {"receipt": {"value": '{"id": "R-3"}', "type": "Json"},
                                              "status": {"value": "charged", "type": "String"},
                                              "card_token": {"value": "tok_123", "type": "String"}}})
    assert response.status_code == 204
    variables = admin.instance(started["id"])["variables"]
    assert variables["receipt_id"] == "R-3"
    # Camunda 8: with output mappings the job's own variables stay in the task
    assert "receipt" not in variables and "card_token" not in variables
    assert variables["status"] == "new" and variables["order"] == {"total": 75}


def test_a_dotted_zeebe_output_target_sets_a_nested_variable(app, admin, tmp_path):
    from config import TestConfig

    path = tmp_path / "zeebe_io.bpmn"
    path.write_bytes(fixture("valid", "zeebe_io.bpmn").read_bytes().replace(
        b'target="receipt_id"', b'target="order.receipt"'))
    admin.deploy(path)
    started = admin.start("zeebe_io", {"order": {"total": 75}})
    [locked] = _fetch(app, "charge-card")
    app.test_client().post(f"/engine-rest/external-task/{locked['id']}/complete",
                           headers=_basic(password=TestConfig.ADMIN_PASSWORD), json={
                               "workerId": "w1", "variables": {"receipt": {"value": '{"id": "R-9"}', "type": "Json"}}})
    assert admin.instance(started["id"])["variables"]["order"] == {"total": 75, "receipt": "R-9"}


def test_dotted_zeebe_input_targets_build_a_local_object(app, admin, tmp_path):
    path = tmp_path / "zeebe_io.bpmn"
    path.write_bytes(fixture("valid", "zeebe_io.bpmn").read_bytes().replace(
        b'<zeebe:input source="EUR" target="currency" />',
        b'<zeebe:input source="EUR" target="payment.currency" /><zeebe:input source="= order.total" '
        b'target="payment.amount" />'))
    admin.deploy(path)
    started = admin.start("zeebe_io", {"order": {"total": 75}, "payment": {"method": "card"}})
    [locked] = _fetch(app, "charge-card")
    assert locked["variables"]["payment"]["type"] == "Json"
    assert json.loads(locked["variables"]["payment"]["value"]) == {"currency": "EUR", "amount": 75}
    from config import TestConfig

    app.test_client().post(f"/engine-rest/external-task/{locked['id']}/complete",
                           headers=_basic(password=TestConfig.ADMIN_PASSWORD), json={
                               "workerId": "w1", "variables": {"receipt": {"value": '{"id": "R-5"}', "type": "Json"}}})
    variables = admin.instance(started["id"])["variables"]
    assert variables["payment"] == {"method": "card"}  # the local object is gone, the process's is back
    assert variables["receipt_id"] == "R-5"


CALLING_AND_WAITING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
<bpmn:process id="caller" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:callActivity id="ca" calledElement="callee">
    <bpmn:extensionElements><camunda:in source="x" target="item" /><camunda:out source="res" target="res" />
    </bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:userTask id="after" />
  <bpmn:endEvent id="end" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ca" />
  <bpmn:sequenceFlow id="f2" sourceRef="ca" targetRef="after" />
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
</bpmn:process>
<bpmn:process id="callee" isExecutable="true">
  <bpmn:startEvent id="c_start" />
  <bpmn:scriptTask id="double" scriptFormat="python"><bpmn:script>res = item * 2
secret = "hidden"</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="c_wait" />
  <bpmn:endEvent id="c_end" />
  <bpmn:sequenceFlow id="g1" sourceRef="c_start" targetRef="double" />
  <bpmn:sequenceFlow id="g2" sourceRef="double" targetRef="c_wait" />
  <bpmn:sequenceFlow id="g3" sourceRef="c_wait" targetRef="c_end" />
</bpmn:process></bpmn:definitions>"""


def test_while_a_called_process_waits_the_callers_variables_are_its_own(admin, tmp_path):
    """(They were the called process's: its `secret` showed, the caller's `x` did not.)"""
    path = tmp_path / "caller.bpmn"
    path.write_text(CALLING_AND_WAITING)
    admin.deploy(path)
    instance = admin.start("caller", {"x": 7})
    assert admin.instance(instance["id"])["variables"] == {"x": 7}
    [task] = admin.instance(instance["id"])["tasks"]
    admin.complete(task["id"], {})
    assert admin.instance(instance["id"])["variables"] == {"x": 7, "res": 14}  # only what camunda:out maps
