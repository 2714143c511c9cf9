"""Deploying: from the uploaded files of a deployment to runnable, validated process models.

`parse_deployment` reads every file (`reading`), checks and rewrites each diagram (`checks`, `rewrite`),
parses the diagrams of each dialect together with the deployment's decision tables, in SpiffWorkflow's
Camunda parser (`tasks`) or its SpiffWorkflow one, reads each process's element metadata (`metadata`,
`forms`) and checks that its spec can be stored. All problems of all files are collected before
`BpmnRejected` is raised.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .. import conditional, depth
from ..sandbox import Sandbox
from ..serializer import SERIALIZERS
from ..xml import Problem
from .bounds import DiagramLimits, check_sizes
from .decisions import check_decisions, decision_ids
from .compensation import adopt_compensation_event_subprocesses
from .checks import (TOO_DEEP_TO_READ, _check_cron_cycles, _check_event_references, _check_expressions, _check_references,
                     _check_misplaced_listeners, _check_service_tasks, _check_unsupported, _no_executable_process,
                     _problem_from, _recursed)
from .metadata import ElementReader
from .reading import BPMN_NS, _File, _first_line, _read
from .retention import history_ttl
from .rewrite import (_add_implicit_starts, _adopt_activiti_namespace, _dialect_of, _mark_javascript,
                      _quote_iso_timers, _read_loop_collections, _resolve_qualified_references,
                      _split_implicit_forks, _translate_expressions, _use_cron_timers)
from .standard import (break_gatewayless_cycles, end_event_subprocesses, ignore_data_stores, join_link_events,
                       rename_reserved_ids, restore_ids, take_unconditioned_flows)
from .tasks import _StagecoachCamundaParser, _StagecoachSpiffParser


class BpmnRejected(Exception):
    """The deployment cannot run; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class ProcessModel:
    """One executable process, ready to store as a definition version."""

    key: str
    name: str
    file: str
    dialect: str
    spec: object
    subprocess_specs: dict
    elements: dict[str, dict]
    content_hash: str
    history_ttl_days: int | None = None  # camunda:historyTimeToLive, in days


def parse_deployment(files: list[tuple[str, bytes]], sandbox: Sandbox,
                     limits: DiagramLimits = DiagramLimits()) -> list[ProcessModel]:
    """Parse and validate a deployment as a whole.

    Args:
        files: (file name, content) pairs: .bpmn/.xml diagrams, .dmn decision
            tables and .json form schemas.
        sandbox: compiles scripts and conditions to check them.
        limits: how large and how deeply nested its files may be (`bounds`).

    Raises:
        BpmnRejected: with every problem found in every file.
    """
    if not files:
        raise BpmnRejected([Problem("", "no files in the deployment")])
    loaded = [_load(name, content, limits) for name, content in files]
    problems = [p for f in loaded for p in f.problems]
    forms = {Path(f.name).name: f for f in loaded if f.kind in ("json", "form") and not f.problems}
    forms.update({f"id:{f.form_id}": f for f in loaded if f.kind == "form" and not f.problems and f.form_id})
    diagrams = [f for f in loaded if f.kind == "bpmn" and not f.problems]
    decisions = [f for f in loaded if f.kind == "dmn" and not f.problems]

    # SpiffWorkflow's parser recurses once per flow element: give it room for the largest process.
    frames = depth.frames_for(max((f.flow_elements for f in diagrams), default=0))
    refused_decisions = {decision_id: f.name for f in loaded if f.kind == "dmn" and f.problems and f.root is not None
                         for decision_id in decision_ids(f.root)}
    models: list[ProcessModel] = depth.run_deep(frames, _parse_groups, diagrams, decisions, forms, sandbox, problems,
                                                refused_decisions)
    if not models:
        # Nothing would run: say so first, whatever else is wrong (a non-executable model is refused for that).
        readable = [f for f in loaded
                    if f.kind == "bpmn" and f.root is not None and f.root.tag == f"{{{BPMN_NS}}}definitions"]
        if not any(p.get("isExecutable") == "true" for f in readable for p in f.root.iter(f"{{{BPMN_NS}}}process")):
            if readable or not problems:
                problems[:0] = _no_executable_process(readable, files)
    if problems:
        raise BpmnRejected(_with_modelers_ids(problems, loaded))
    return models


def _with_modelers_ids(problems: list[Problem], loaded: list[_File]) -> list[Problem]:
    """Problems name the ids the modeler wrote, not those given for parsing (`standard.rename_reserved_ids`)."""
    renamed = {f.name: f.renamed for f in loaded if f.renamed}
    for problem in problems:
        ids = renamed.get(problem.file)
        if ids and problem.element_id in ids:
            problem.element_id = ids[problem.element_id]
    return problems


def _parse_groups(diagrams, decisions, forms, sandbox, problems, refused_decisions) -> list[ProcessModel]:
    models: list[ProcessModel] = []
    for dialect in ("camunda", "spiff"):
        group = [f for f in diagrams if f.dialect == dialect]
        if group:
            models.extend(_parse_group(dialect, group, decisions, forms, sandbox, problems, refused_decisions))
    return models


def _load(name: str, content: bytes, limits: DiagramLimits) -> _File:
    """Read one upload; a BPMN diagram within the size limits is then checked and rewritten into what
    SpiffWorkflow parses."""
    f, diagram = _read(name, content, limits)
    if f.kind == "dmn":
        check_decisions(f)
    if not diagram:
        return f
    too_large, f.flow_elements = check_sizes(name, f.root, limits)
    if too_large:
        f.problems.extend(too_large)
        return f
    _resolve_qualified_references(f.root)
    ignore_data_stores(f.root)
    _check_references(f)
    _check_event_references(f)
    _check_cron_cycles(f)
    _adopt_activiti_namespace(f.root)
    _read_loop_collections(f)
    join_link_events(f)
    if f.problems:
        return f
    rename_reserved_ids(f)
    adopt_compensation_event_subprocesses(f.root)
    _split_implicit_forks(f.root)
    _add_implicit_starts(f.root)
    end_event_subprocesses(f.root)
    _quote_iso_timers(f.root)
    _mark_javascript(f.root)
    _translate_expressions(f.root)
    take_unconditioned_flows(f.root)
    break_gatewayless_cycles(f.root)
    f.dialect = _dialect_of(f)
    return f


def _read_elements_of_refused(parser, key: str) -> None:
    """A refused file's processes are still parsed as far as SpiffWorkflow gets, so that the problems of
    their elements (assignments, mappings, forms) are listed beside the refusal; its errors are noise."""
    try:
        parser.get_spec(key)
    except Exception:  # noqa: BLE001 - the file is refused already, with its reasons
        pass


def _parse_group(dialect, group, decisions, forms, sandbox, problems, refused_decisions) -> list[ProcessModel]:
    parser = _StagecoachCamundaParser() if dialect == "camunda" else _StagecoachSpiffParser(validator=None)
    parser.validator = None
    parser.refused_decisions = refused_decisions
    reader = parser.element_reader = ElementReader(group, forms, problems)
    models = []
    files_ok = []
    for d in decisions:
        try:
            parser.add_dmn_xml(d.root, filename=d.name)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_problem_from(exc, d))
    refused: set[str] = set()  # files with elements SpiffWorkflow cannot run: its own errors on them are noise
    for f in group:
        if _check_service_tasks(f, dialect, problems) + _check_unsupported(f, problems):
            refused.add(f.name)
        try:
            parser.add_bpmn_xml(f.root, filename=f.name)
            files_ok.append(f)
        except (ValidationException, SpiffWorkflowException) as exc:
            if f.name not in refused:
                problems.append(_problem_from(exc, f))
        except Exception as exc:  # SpiffWorkflow's parsers raise bare errors on some models
            if f.name not in refused:
                problems.append(Problem(f.name, TOO_DEEP_TO_READ if _recursed(exc)
                                        else f"cannot be read: {type(exc).__name__}: {exc}"))
    dmn_bytes = b"".join(d.content for d in sorted(decisions, key=lambda d: d.name))
    for f in group:
        if f not in files_ok and f.name not in refused:
            continue
        before = len(problems)
        _check_expressions(f, sandbox, problems)
        processes = [p for p in f.root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"]
        _check_misplaced_listeners(f, processes, problems)
        for process in processes:
            key = process.get("id")
            if f.name in refused:
                _read_elements_of_refused(parser, key)
                reader.read_unreached(f, process, parser)
                continue
            try:
                spec = parser.get_spec(key)
                subprocess_specs = parser.get_subprocess_specs(key)
                restore_ids([spec, *subprocess_specs.values()], f.renamed)
                _use_cron_timers([spec, *subprocess_specs.values()])
                conditional.adopt([spec, *subprocess_specs.values()])
            except (ValidationException, SpiffWorkflowException) as exc:
                problems.append(_problem_from(exc, f))
                reader.read_unreached(f, process, parser)
                continue
            except Exception as exc:  # SpiffWorkflow raises bare errors on some malformed models
                problems.append(Problem(f.name, TOO_DEEP_TO_READ if _recursed(exc)
                                        else f"cannot build process {key}: {type(exc).__name__}: {exc}",
                                        process.sourceline, key, "process"))
                reader.read_unreached(f, process, parser)
                continue
            reader.read_unreached(f, process, parser)
            elements = {f.renamed.get(element_id, element_id): info
                        for element_id, info in reader.elements.get(key, {}).items()}
            form_files = reader.form_files.get(key, set())
            ttl = history_ttl(f.name, process, problems)
            if len(problems) > before:
                continue
            try:
                SERIALIZERS[dialect].dump_spec(spec, subprocess_specs)
            except Exception as exc:  # an element the engine parsed but cannot store
                problems.append(Problem(f.name, f"process {key} uses an element Stagecoach cannot run yet "
                                                f"({type(exc).__name__}: {_first_line(exc)})",
                                        process.sourceline, key, "process"))
                continue
            digest = hashlib.sha256(f.content)
            for name in sorted(form_files):
                digest.update(forms[name].content)
            digest.update(dmn_bytes)
            models.append(ProcessModel(
                key=key, name=process.get("name") or key, file=f.name, dialect=dialect,
                spec=spec, subprocess_specs=subprocess_specs, elements=elements,
                content_hash=digest.hexdigest(), history_ttl_days=ttl))
    return models
