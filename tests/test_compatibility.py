"""docs/compatibility.md stays current, and no corpus diagram crashes the parser.

The third-party corpus lives beside the project (`BPMN_CORPUS`, or a `bpmn-corpus` folder in a
folder next to the project's); CI has it, a fresh clone does not, and then these tests skip.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (Path(os.environ["BPMN_CORPUS"]) if os.environ.get("BPMN_CORPUS")
          else next(iter(sorted(ROOT.parent.glob("*/bpmn-corpus"))), ROOT.parent / "bpmn-corpus"))

pytestmark = pytest.mark.skipif(
    not (CORPUS / "miwg").is_dir() or not (CORPUS / "camunda-bpm-examples").is_dir(),
    reason=f"the third-party BPMN corpus is not at {CORPUS} (it is not part of a fresh clone)",
)

# These four copies of MIWG C.9.0 (a business rule task without camunda:decisionRef) used to
# crash SpiffWorkflow's Camunda parser with a KeyError; they are refused with a problem now.
C_9_0 = {
    "miwg/reference/C.9.0.bpmn",
    "miwg/bpmn-io-camunda-modeler-18.6.1/C.9.0-roundtrip.bpmn",
    "miwg/sap-signavio-19.9.0/C.9.0-roundtrip.bpmn",
    "miwg/trisotech-workflow-modeler-12.6.3/C.9.0-roundtrip.bpmn",
}


RUNS, WAITS = "runs to the end", "waits (documented wait state)"

# Every accepted diagram and its result; every other diagram of the corpus is refused, each with
# a problem naming file, line and element. (The table in docs/compatibility.md says why.)
ACCEPTED = {
    "camunda-bpm-examples/deployment/ejb-pa-jakarta/src/main/resources/EjbExpressionResolvingTest.testResolveBean.bpmn": RUNS,
    "camunda-bpm-examples/deployment/embedded-spring-rest/src/main/resources/loanApproval.bpmn": RUNS,
    "camunda-bpm-examples/deployment/servlet-pa/src/main/resources/exampleProcess.bpmn": RUNS,
    "camunda-bpm-examples/deployment/spring-servlet-pa-tomcat/src/main/resources/SpringExpressionResolvingTest.testResolveBean.bpmn": RUNS,
    "camunda-bpm-examples/deployment/spring-servlet-pa-tomcat/src/main/resources/SpringExpressionResolvingTest.testResolveBeanFromJobExecutor.bpmn": RUNS,
    "camunda-bpm-examples/deployment/spring-servlet-pa-wildfly/src/main/resources/SpringExpressionResolvingTest.testResolveBean.bpmn": RUNS,
    "camunda-bpm-examples/deployment/spring-servlet-pa-wildfly/src/main/resources/SpringExpressionResolvingTest.testResolveBeanFromJobExecutor.bpmn": RUNS,
    "camunda-bpm-examples/migration/migrate-on-deployment/src/main/resources/exampleProcess.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/schema-isolation/src/main/resources/processes/tenant1/tenant1_process.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/schema-isolation/src/main/resources/processes/tenant2/tenant2_process.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-embedded/src/main/resources/processes/tenant1/tenant1_process.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-embedded/src/main/resources/processes/tenant2/tenant2_process.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-shared/src/main/resources/processes/tenant1/tenant1_process.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-shared/src/main/resources/processes/tenant2/tenant2_process.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-shared-definitions/src/main/resources/processes/default/mainProcess.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-shared-definitions/src/main/resources/processes/default/subProcess.bpmn": RUNS,
    "camunda-bpm-examples/multi-tenancy/tenant-identifier-shared-definitions/src/main/resources/processes/tenant2/subProcess.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/bpmn-parse-listener/src/main/resources/bpmnParseListener.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/bpmn-parse-listener/src/main/resources/bpmnParseListenerOnUserTask.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/custom-history-level/src/main/resources/process-history-activity.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/custom-history-level/src/main/resources/process-history-custom-variable.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/custom-history-level/src/main/resources/process-history-full.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/custom-history-level/src/main/resources/process-history-none.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/custom-history-level/src/main/resources/process.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/failed-job-retry-profile/src/main/resources/retry-example.bpmn": RUNS,
    "camunda-bpm-examples/process-engine-plugin/handling-jpa-variables/src/test/resources/process.bpmn": RUNS,
    "camunda-bpm-examples/quarkus-extension/datasource-example/src/main/resources/bpmn/process.bpmn": RUNS,
    "camunda-bpm-examples/quarkus-extension/spin-plugin-example/src/main/resources/process.bpmn": RUNS,
    "camunda-bpm-examples/servicetask/rest-service/src/main/resources/invokeRestService.bpmn": RUNS,
    "camunda-bpm-examples/servicetask/service-invocation-asynchronous/src/main/resources/asynchronousServiceInvocation.bpmn": RUNS,
    "camunda-bpm-examples/servicetask/service-invocation-synchronous/src/main/resources/synchronousServiceInvocation.bpmn": RUNS,
    "camunda-bpm-examples/spring-boot-starter/example-simple/src/main/resources/bpmn/sample.bpmn": RUNS,
    "camunda-bpm-examples/spring-boot-starter/example-twitter/src/main/resources/TwitterDemoProcess.bpmn": RUNS,
    "camunda-bpm-examples/spring-boot-starter/example-web/src/main/resources/bpmn/sample.bpmn": RUNS,
    "camunda-bpm-examples/spring-boot-starter/example-webapp/src/main/resources/bpmn/sample.bpmn": RUNS,
    "camunda-bpm-examples/spring-boot-starter/example-webapp-ee/src/main/resources/bpmn/sample.bpmn": RUNS,
    # a timer start event; a JavaScript input parameter sets a variable, as Camunda runs it
    "camunda-bpm-examples/spring-boot-starter/external-task-client/loan-granting-spring-boot-webapp/src/main/resources/bpmn/loan-granting.bpmn": WAITS,
    "camunda-bpm-examples/startevent/message-start/src/main/resources/instantiating_process.bpmn": RUNS,
    "camunda-bpm-examples/startevent/message-start/src/main/resources/message_start_process.bpmn": WAITS,
    # a cron timer start event; its external task has a conditional boundary event
    "camunda-bpm-examples/clients/java/order-handling/order-handling.bpmn": WAITS,
    "camunda-bpm-examples/testing/assert/job-announcement-publication-process/src/test/resources/camunda-testing-job-announcement-publication.bpmn": RUNS,
    "camunda-bpm-examples/testing/junit5/camunda-bpm-junit-assert/src/test/resources/testProcess.bpmn": RUNS,
    "camunda-bpm-examples/testing/junit5/camunda-bpm-junit-use-engine/src/test/resources/testProcess.bpmn": RUNS,
    "camunda-bpm-examples/usertask/task-camunda-forms/src/main/resources/invoiceApproval.bpmn": RUNS,
    "camunda-bpm-examples/usertask/task-form-embedded/src/main/resources/loanApproval.bpmn": RUNS,
    "camunda-bpm-examples/usertask/task-form-embedded-bpmn-events/src/main/resources/invoicePayment.bpmn": RUNS,
    "camunda-bpm-examples/usertask/task-form-embedded-react/src/main/resources/react-example.bpmn": RUNS,
    "camunda-bpm-examples/wildfly/jackson-annotations/src/main/resources/waitingState.bpmn": RUNS,
    "miwg/bpmn-io-camunda-modeler-18.6.1/A.3.0-export.bpmn": RUNS,
    "miwg/bpmn-io-camunda-modeler-18.6.1/A.4.0-export.bpmn": RUNS,
    "miwg/bpmn-io-camunda-modeler-18.6.1/A.4.1-export.bpmn": RUNS,
    "miwg/bpmn-io-camunda-modeler-18.6.1/C.1.0-roundtrip.bpmn": WAITS,
    "miwg/bpmn-io-camunda-modeler-18.6.1/C.2.0-export.bpmn": WAITS,
    "miwg/bpmn-io-camunda-modeler-18.6.1/C.9.1-roundtrip.bpmn": WAITS,
    "miwg/reference/C.1.0.bpmn": WAITS,
    "miwg/reference/C.9.1.bpmn": WAITS,
    "miwg/sap-signavio-19.9.0/C.1.0-roundtrip.bpmn": WAITS,
    "miwg/sap-signavio-19.9.0/C.9.1-export.bpmn": WAITS,
    "miwg/sap-signavio-19.9.0/C.9.1-roundtrip.bpmn": WAITS,
    "miwg/trisotech-workflow-modeler-12.6.3/C.1.0-roundtrip.bpmn": WAITS,
    "miwg/trisotech-workflow-modeler-12.6.3/C.9.1-roundtrip.bpmn": WAITS,
}


def _script():
    spec = importlib.util.spec_from_file_location("stagecoach_compatibility_script", ROOT / "scripts" / "compatibility.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compatibility():
    module = _script()
    return module, module.collect(CORPUS)


def test_every_corpus_diagram_is_in_the_table(compatibility):
    module, results = compatibility
    assert len(results) == len(list(CORPUS.rglob("*.bpmn")))


def test_docs_compatibility_md_is_current(compatibility):
    module, results = compatibility
    expected = module.render(results)
    current = (ROOT / "docs" / "compatibility.md").read_text()
    assert current == expected, "docs/compatibility.md is out of date: run python scripts/compatibility.py"


def test_no_unexpected_parser_crash(compatibility):
    module, results = compatibility
    crashes = {f"{r.folder}/{r.file}": r.crash for r in results if r.result == module.CRASH}
    assert not crashes, "\n\n".join(f"{name}:\n{crash}" for name, crash in crashes.items())


def test_a_business_rule_task_without_a_decision_is_refused_not_a_crash(compatibility):
    module, results = compatibility
    by_name = {f"{r.folder}/{r.file}": r for r in results}
    assert {by_name[name].result for name in C_9_0} == {module.REFUSED}


def test_refusals_name_the_refused_file(compatibility):
    module, results = compatibility
    for r in results:
        if r.result == module.REFUSED:
            assert r.problem_files, f"{r.folder}/{r.file} refused without any problem"
            assert any(name in r.group for name in r.problem_files), (
                f"{r.folder}/{r.file} refused, but no problem names one of its files: {sorted(set(r.problem_files))}")


def test_every_result_is_a_known_category(compatibility):
    module, results = compatibility
    assert {r.result for r in results} <= set(module.RESULTS)


def test_each_diagram_has_its_expected_result(compatibility):
    module, results = compatibility
    actual = {f"{r.folder}/{r.file}": r.result for r in results}
    expected = {name: ACCEPTED.get(name, module.REFUSED) for name in actual}
    assert actual == expected


def test_every_refusal_names_the_line_and_element_of_each_problem():
    from app.engine import BpmnRejected, Engine

    module = _script()
    engine = Engine()
    imprecise = []
    for path, others in module.corpus_files(CORPUS):
        files = [(path.name, path.read_bytes())] + [(o.name, o.read_bytes()) for o in others]
        try:
            engine.parse(files)
        except BpmnRejected as exc:
            imprecise += [f"{path.relative_to(CORPUS)}: {p}" for p in exc.problems if not (p.line and p.element_id)]
    assert imprecise == []


def test_no_refusal_is_an_unexplained_engine_error(compatibility):
    """SpiffWorkflow's crashes and unstorable specs used to surface as TypeErrors; each is now a real message."""
    module, results = compatibility
    unexplained = [f"{r.folder}/{r.file}: {r.detail}" for r in results if r.result == module.REFUSED and (
        "TypeError" in r.detail or "cannot run yet" in r.detail or "cannot be read" in r.detail
        or "AssertionError" in r.detail or "Must contain" in r.detail)]
    assert unexplained == []


def test_java_implemented_camunda_examples_run_with_a_worker_for_the_java_code(compatibility):
    module, results = compatibility
    by_name = {f"{r.folder}/{r.file}": r for r in results}
    servlet = by_name["camunda-bpm-examples/deployment/servlet-pa/src/main/resources/exampleProcess.bpmn"]
    rest = by_name["camunda-bpm-examples/servicetask/rest-service/src/main/resources/invokeRestService.bpmn"]
    assert servlet.result == module.RUNS
    assert "org.camunda.bpm.platform.example.servlet.ExampleServiceTask" in servlet.detail
    assert rest.result == module.RUNS and "http-connector" in rest.detail
