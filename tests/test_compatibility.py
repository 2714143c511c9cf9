"""docs/compatibility.md stays current, and no corpus diagram crashes the parser.

The third-party corpus is at ../shared/bpmn-corpus (relative to the project
root); CI has it, a fresh clone does not, and then these tests skip.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "bpmn-corpus"

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
