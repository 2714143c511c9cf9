"""Reading uploads: what each file of a deployment is, and whether it can be read at all.

A file is a BPMN diagram, a DMN decision table, a JSON Schema form or a Camunda form (form-js), by its
suffix and root element. XML is read by `xml.parse_untrusted` (no DTD, no entities, no network: a DOCTYPE
is refused before parsing, whatever the declared encoding) and a diagram is checked against the BPMN 2.0
XSD, each error reported against the element it is about. The namespaces and the few lookups on a read
tree that every later stage shares (`_owner`, `_zeebe`) live here too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators as jsonschema_validators
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

from ... import patterns
from .. import formjs
from ..xml import Problem, XmlRejected, element_at, local_name, parse_untrusted
from . import bounds

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"  # Camunda 8 Modeler extensions
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20151101/dmn11.xsd",  # DMN 1.1 as well, as Camunda 7 reads it
}


@dataclass
class _File:
    name: str
    content: bytes
    root: etree._Element | None = None
    kind: str = "bpmn"
    dialect: str = "spiff"
    problems: list[Problem] = field(default_factory=list)
    form_id: str | None = None  # a Camunda form's own id (camunda:formRef, zeebe formId name it)
    flow_elements: int = 0  # of its largest executable process (`bounds.check_sizes`)
    limits: bounds.DiagramLimits = field(default_factory=bounds.DiagramLimits)
    renamed: dict[str, str] = field(default_factory=dict)  # id given for parsing -> the modeler's id (`standard`)


_validator: BpmnValidator | None = None


def _xsd() -> etree.XMLSchema:
    global _validator
    if _validator is None:
        _validator = BpmnValidator()
    return _validator.validator


def _read(name: str, content: bytes, limits: bounds.DiagramLimits) -> tuple[_File, bool]:
    """One upload as a `_File`, and whether it is a BPMN 2.0 diagram, valid against the XSD, for the
    rewrite passes to go on with. Anything else comes back as it is, with its problems if it has
    any. Forms are read within `limits` and their patterns checked (`bounds`)."""
    f = _File(name, content, limits=limits)
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        f.kind = "json"
        schema, problem = bounds.load_json(name, content, limits.max_nesting, "a valid JSON Schema form")
        if problem is not None:
            f.problems.append(problem)
            return f, False
        f.problems.extend(bounds.schema_pattern_problems(name, content, schema))
        if f.problems:
            return f, False
        try:
            jsonschema_validators.validator_for(schema).check_schema(schema, format_checker=patterns.FORMAT_CHECKER)
        except (ValueError, jsonschema_exceptions.SchemaError) as exc:
            f.problems.append(Problem(name, f"not a valid JSON Schema form: {_first_line(exc)}"))
        return f, False
    if suffix == ".form":
        f.kind = "form"
        document, problem = bounds.load_json(name, content, limits.max_nesting, "a Camunda form (form-js JSON)")
        if problem is not None:
            f.problems.append(problem)
            return f, False
        try:
            formjs.form_schema(document)
            f.form_id = document.get("id")
        except (ValueError, formjs.FormError) as exc:
            f.problems.append(Problem(name, f"not a Camunda form (form-js JSON): {_first_line(exc)}"))
            return f, False
        f.problems.extend(bounds.form_pattern_problems(name, document, lambda p: bounds.line_of(content, p)))
        return f, False
    if suffix not in {".bpmn", ".xml", ".dmn", ""}:
        f.problems.append(Problem(name, "unsupported file type (expected .bpmn, .dmn, .form or .json)"))
        return f, False
    try:
        f.root = parse_untrusted(content, name)
    except XmlRejected as exc:
        f.problems.extend(exc.problems)
        return f, False
    too_deep = bounds.xml_nesting_problem(name, f.root, limits.max_nesting)
    if too_deep is not None:
        f.problems.append(too_deep)
        return f, False
    ns = etree.QName(f.root).namespace
    tag = local_name(f.root)
    if ns in DMN_NAMESPACES and tag == "definitions":
        f.kind = "dmn"
        return f, False
    if ns != BPMN_NS or tag != "definitions":
        f.problems.append(Problem(name, f"not a BPMN 2.0 document (root element is <{tag}>)", f.root.sourceline))
        return f, False
    schema = _xsd()
    if not schema.validate(f.root):
        for error in schema.error_log:
            el = element_at(f.root, error.line)
            if el is None:
                el = _identified_owner(f.root, error.line)
            f.problems.append(Problem(
                name, f"not valid BPMN 2.0: {_short_xsd_message(error.message)}", error.line,
                el.get("id") if el is not None else None, local_name(el) if el is not None else None))
        return f, False
    return f, True


def _identified_owner(root, line: int | None):
    """The element starting on `line` (or the nearest before it), or its nearest ancestor with an id: an
    XSD error on an `outMessageRef` is reported against its operation."""
    if line is None:
        return None
    found = None
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline:
            if el.sourceline > line:
                break
            found = el
    while found is not None and not found.get("id"):
        found = found.getparent()
    return found


def _short_xsd_message(message: str) -> str:
    message = message.replace(f"{{{BPMN_NS}}}", "bpmn:")
    return re.sub(r"\s*Expected is one of \(.*\)\.?$", "", message, flags=re.S)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _owner(el):
    """The nearest element with an id: the flow of a condition, the task of a loop, the event of a timer."""
    owner = el.getparent()
    while owner.getparent() is not None and (not owner.get("id") or local_name(owner).endswith(
            ("EventDefinition", "LoopCharacteristics"))):
        owner = owner.getparent()
    return owner


def _zeebe(el, name: str):
    """The element's own zeebe:`name` extension (Camunda 8 Modeler), or None."""
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    return None if ext is None else ext.find(f"{{{ZEEBE_NS}}}{name}")
