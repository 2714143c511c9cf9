"""What a deployment may cost: size limits of diagrams and forms, and the patterns forms carry.

Checked before anything expensive runs, each refusal a `Problem` naming the file, the line, the element
and the setting that bounds it:

- nesting: the XML elements of a diagram or decision table, the objects and lists of a form or form
  schema, at most `DiagramLimits.max_nesting` deep (libxml2 stops at 256 anyway; jsonschema and the
  form reader recurse per level);
- size: an executable process with more flow elements (activities, events, gateways, sequence flows,
  its sub-processes' included) than `max_elements`; parsing and every engine step cost time in
  proportion, and SpiffWorkflow's parser recurses once per element (`depth.run_deep`);
- sub-processes nested more than `max_subprocess_depth` deep;
- patterns: every regular expression a form declares (JSON Schema `pattern`, form-js
  `validate.pattern`, a `camunda:constraint name="pattern"`) must compile on RE2 (`app.patterns`);
  JSON Schema `patternProperties` is refused (a form accepts only the fields it declares).

Every walk here is a loop over an explicit stack: a hostile file decides how deep it nests.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from lxml import etree

from ... import patterns
from ..xml import Problem, local_name

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"  # as in `reading`, which reads through this module

__all__ = ["DiagramLimits", "FLOW_ELEMENTS", "check_sizes", "form_pattern_problems", "json_depth",
           "line_of", "load_json", "pattern_problem", "schema_pattern_problems", "xml_nesting_problem"]

FLOW_NODES = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}
FLOW_ELEMENTS = FLOW_NODES | {"sequenceFlow"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}


@dataclass(frozen=True)
class DiagramLimits:
    """The settings BPMN_MAX_ELEMENTS, BPMN_MAX_SUBPROCESS_DEPTH and DEPLOY_MAX_NESTING."""

    max_elements: int = 5_000
    max_subprocess_depth: int = 10
    max_nesting: int = 64


# -- nesting -------------------------------------------------------------------------------------------------

def xml_nesting_problem(name: str, root, limit: int) -> Problem | None:
    """A problem at the first element nested deeper than `limit`, or None."""
    depth = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > limit:
            owner = el
            while owner is not None and not owner.get("id"):
                owner = owner.getparent()
            return Problem(name, f"elements nest more than {limit} deep; at most {limit} levels are accepted "
                                 f"(STAGECOACH_DEPLOY_MAX_NESTING)", el.sourceline,
                           owner.get("id") if owner is not None else None,
                           local_name(owner) if owner is not None else None)
    return None


def json_depth(value) -> int:
    """How deeply `value` nests objects and lists (a scalar is 0)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def load_json(name: str, content: bytes, limit: int, what: str):
    """The JSON document of an upload, or (None, problem) when it cannot be read or nests too deep."""
    too_deep = False
    try:
        document = json.loads(content)
    except RecursionError:  # the decoder gave up before our limit did
        document, too_deep = None, True
    except ValueError as exc:
        return None, Problem(name, f"not {what}: {str(exc).splitlines()[0]}")
    if too_deep or json_depth(document) > limit:
        return None, Problem(name, f"not {what}: it nests objects and lists more than {limit} deep; at most "
                                   f"{limit} levels are accepted (STAGECOACH_DEPLOY_MAX_NESTING)")
    return document, None


# -- size ----------------------------------------------------------------------------------------------------

def check_sizes(name: str, root, limits: DiagramLimits) -> tuple[list[Problem], int]:
    """Problems with the size of each executable process and its sub-process nesting, and the size of
    the largest process (in flow elements)."""
    problems: list[Problem] = []
    largest = 0
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("isExecutable") != "true":
            continue
        count = 0
        for el in process.iter(f"{{{BPMN_NS}}}*"):
            kind = local_name(el)
            if kind in FLOW_ELEMENTS:
                count += 1
            if kind in SUBPROCESSES and not problems:
                depth = sum(1 for a in el.iterancestors(f"{{{BPMN_NS}}}*") if local_name(a) in SUBPROCESSES) + 1
                if depth > limits.max_subprocess_depth:
                    problems.append(Problem(
                        name, f"sub-process {el.get('id')!r} is nested {depth} deep; at most "
                              f"{limits.max_subprocess_depth} sub-processes may nest (STAGECOACH_BPMN_MAX_SUBPROCESS_DEPTH)"
                              f"; move the inner part into a process of its own and call it with a call activity",
                        el.sourceline, el.get("id"), kind))
        largest = max(largest, count)
        if count > limits.max_elements:
            problems.append(Problem(
                name, f"process {process.get('id')!r} has {count} flow elements (activities, events, gateways and "
                      f"sequence flows); at most {limits.max_elements} are accepted (STAGECOACH_BPMN_MAX_ELEMENTS); "
                      f"split it into processes joined by call activities",
                process.sourceline, process.get("id"), "process"))
    return problems, largest


# -- patterns ------------------------------------------------------------------------------------------------

def pattern_problem(pattern, field: str) -> str | None:
    """Why form field `field`'s pattern cannot be used, or None."""
    why = patterns.problem(pattern)
    return f"the pattern {pattern!r} of form field {field!r} cannot be used: {why}" if why else None


def line_of(content: bytes, text: str) -> int | None:
    """The line of `content` where the JSON string `text` first appears (None when it is not found)."""
    needle = json.dumps(text)[1:-1].encode()
    at = content.find(needle)
    return content[:at].count(b"\n") + 1 if at >= 0 and needle else None


_SCHEMA_MAPS = ("properties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("additionalProperties", "unevaluatedProperties", "items", "contains", "not", "if", "then",
               "else", "propertyNames", "unevaluatedItems", "additionalItems")


def _subschemas(schema: dict, pointer: str):
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                yield sub, f"{pointer}/{key}/{name}", name if key == "properties" else None
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for i, sub in enumerate(schema[key]):
                yield sub, f"{pointer}/{key}/{i}", None
    for key in _SCHEMA_ONE:
        sub = schema.get(key)
        if isinstance(sub, list):  # items as a tuple (drafts 4 to 7)
            for i, item in enumerate(sub):
                yield item, f"{pointer}/{key}/{i}", None
        elif sub is not None:
            yield sub, f"{pointer}/{key}", None
    if isinstance(schema.get("dependencies"), dict):
        for name, sub in schema["dependencies"].items():
            yield sub, f"{pointer}/dependencies/{name}", None


def schema_pattern_problems(name: str, content: bytes, schema) -> list[Problem]:
    """Every pattern of a JSON Schema form that RE2 cannot run, and every patternProperties."""
    problems: list[Problem] = []
    pending = [(schema, "", None)]
    while pending:
        sub, pointer, field = pending.pop()
        if not isinstance(sub, dict):
            continue
        label = field or pointer or "/"
        if "pattern" in sub:
            why = pattern_problem(sub["pattern"], label)
            if why:
                problems.append(Problem(name, f"{why} (at {pointer or '/'}/pattern)",
                                        line_of(content, sub["pattern"]) if isinstance(sub["pattern"], str) else None,
                                        field=label))
        if "patternProperties" in sub:
            problems.append(Problem(name, f"patternProperties (at {pointer or '/'}/patternProperties) is not "
                                          f"supported in forms: a form accepts only the fields it declares; list "
                                          f"each under properties", line_of(content, "patternProperties"),
                                    field=label))
        pending.extend(reversed(list(_subschemas(sub, pointer))))
    return problems


def form_pattern_problems(name: str, document: dict, line_of=None) -> list[Problem]:
    """Every `validate.pattern` of a form-js form that RE2 cannot run, with the component's key.

    `line_of(pattern)` gives the line to report (default: where the pattern appears in nothing: None)."""
    problems: list[Problem] = []
    pending = list(reversed(document.get("components") or [])) if isinstance(document, dict) else []
    while pending:
        component = pending.pop()
        if not isinstance(component, dict):
            continue
        validate = component.get("validate")
        if isinstance(validate, dict) and validate.get("pattern") not in (None, ""):
            key = str(component.get("key") or component.get("path") or component.get("id") or component.get("type"))
            why = pattern_problem(validate["pattern"], key)
            if why:
                line = line_of(validate["pattern"]) if line_of and isinstance(validate["pattern"], str) else None
                problems.append(Problem(name, why, line, field=key))
        pending.extend(reversed(component.get("components") or []))
    return problems
