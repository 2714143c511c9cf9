"""Forms: what a start event or a user task asks for, as a JSON Schema.

Read from camunda:formField (types and constraints: required, readonly, min, max, minlength, maxlength,
and pattern, a regular expression the value must contain a match of), from a spiffworkflow formJsonSchemaFilename property
naming a deployed .json schema, or from a Camunda form (form-js) named by camunda:formRef,
camunda:formKey or zeebe:formDefinition, deployed with the diagram or embedded in it. A form named but not
deployed, or not readable, is a problem; so is a pattern RE2 cannot run (`bounds`).
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import formjs
from ..xml import Problem, local_name
from . import bounds
from .reading import CAMUNDA_NS, SPIFF_NS, ZEEBE_NS, _File, _first_line, _zeebe

_CAMUNDA_TYPES = {"string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
                  "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
                  "double": {"type": "number"}}


def _camunda_form(f: _File, el, forms, problems) -> tuple[dict, str | None, dict] | None:
    """A Camunda form (form-js) the task names, as (JSON Schema, deployed file or None, the form), or None.

    Named by camunda:formRef (the form's id), camunda:formKey "camunda-forms:deployment:<file>" (or
    "camunda-forms:app:<file>", used when the file is deployed too), zeebe:formDefinition formId, or
    formKey "camunda-forms:bpmn:<id>" naming a zeebe:userTaskForm embedded in the diagram."""
    def refuse(message: str):
        problems.append(Problem(f.name, message, el.sourceline, el.get("id"), local_name(el)))
        return None

    zeebe = _zeebe(el, "formDefinition")
    ref = el.get(f"{{{CAMUNDA_NS}}}formRef") or (zeebe.get("formId") if zeebe is not None else None)
    key = el.get(f"{{{CAMUNDA_NS}}}formKey") or (zeebe.get("formKey") if zeebe is not None else None) or ""
    if ref:
        found = forms.get(f"id:{ref}")
        if found is None:
            return refuse(f"form {ref!r} is not part of the deployment; deploy its .form file with the diagram")
        document = json.loads(found.content)
        return formjs.form_schema(document), Path(found.name).name, document
    if key.startswith("camunda-forms:bpmn:"):
        embedded = f.root.xpath("//zeebe:userTaskForm[@id=$i]", namespaces={"zeebe": ZEEBE_NS},
                                i=key.split(":", 2)[2])
        if not embedded:  # a form the client knows by that key: served as the form key, nothing to check
            return None
        document, problem = bounds.load_json(f.name, (embedded[0].text or "").encode(), f.limits.max_nesting,
                                              "a Camunda form (form-js JSON)")
        if problem is not None:
            return refuse(f"embedded form {key!r} is {problem.message}")
        try:
            schema = formjs.form_schema(document)
        except (ValueError, formjs.FormError) as exc:
            return refuse(f"embedded form {key!r} is not a Camunda form (form-js JSON): {_first_line(exc)}")
        found = bounds.form_pattern_problems(f.name, document)
        for problem in found:
            problems.append(Problem(f.name, problem.message, embedded[0].sourceline, el.get("id"), local_name(el),
                                    problem.field))
        return (schema, None, document) if not found else None
    for prefix in ("camunda-forms:deployment:", "camunda-forms:app:"):
        if key.startswith(prefix):
            found = forms.get(Path(key[len(prefix):]).name)
            if found is not None and found.kind == "form":
                document = json.loads(found.content)
                return formjs.form_schema(document), Path(found.name).name, document
            if prefix == "camunda-forms:deployment:":
                return refuse(f"form {key[len(prefix):]!r} is not part of the deployment; deploy it with the diagram")
    return None


def _form(f: _File, el, forms, problems) -> tuple[dict, str | None]:
    """The task's form as a JSON Schema, from camunda:formField or a spiffworkflow form file."""
    schema: dict = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    for prop in el.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == "formJsonSchemaFilename":
            filename = prop.get("value") or ""
            if filename not in forms or forms[filename].kind != "json":
                problems.append(Problem(f.name, f"form schema {filename!r} is not part of the deployment; "
                                                "upload it with the diagram", prop.sourceline, el.get("id"),
                                        local_name(el)))
                return schema, None
            return json.loads(forms[filename].content), filename
    for field_el in el.iter(f"{{{CAMUNDA_NS}}}formField"):
        fid = field_el.get("id")
        ftype = field_el.get("type") or "string"
        if ftype not in _CAMUNDA_TYPES:
            problems.append(Problem(f.name, f"form field {fid!r} has unsupported type {ftype!r} "
                                            f"(use one of {', '.join(sorted(_CAMUNDA_TYPES))})",
                                    field_el.sourceline, el.get("id"), local_name(el)))
            continue
        prop: dict = dict(_CAMUNDA_TYPES[ftype])
        prop["title"] = field_el.get("label") or fid
        if field_el.get("defaultValue") is not None:
            prop["default"] = field_el.get("defaultValue")
        if ftype == "enum":
            prop["enum"] = [v.get("id") for v in field_el.iter(f"{{{CAMUNDA_NS}}}value")]
        for constraint in field_el.iter(f"{{{CAMUNDA_NS}}}constraint"):
            cname, cvalue = constraint.get("name"), constraint.get("config")
            try:
                if cname == "required":
                    schema["required"].append(fid)
                elif cname == "readonly":
                    prop["readOnly"] = True
                elif cname in {"min", "max"} and ftype in {"long", "double"}:
                    prop["minimum" if cname == "min" else "maximum"] = float(cvalue)
                elif cname in {"minlength", "maxlength"}:
                    prop["minLength" if cname == "minlength" else "maxLength"] = int(cvalue)
                elif cname == "pattern":
                    why = bounds.pattern_problem(cvalue, fid)
                    if why:
                        problems.append(Problem(f.name, why, constraint.sourceline, el.get("id"), local_name(el), fid))
                    else:
                        prop["pattern"] = cvalue
            except (TypeError, ValueError):
                problems.append(Problem(f.name, f"constraint {cname} of form field {fid!r} needs a number",
                                        constraint.sourceline, el.get("id"), local_name(el)))
        schema["properties"][fid] = prop
    return schema, None
