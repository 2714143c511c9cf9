"""Camunda Forms (form-js, the form editor of Camunda Modeler) as JSON Schema.

A `.form` file is JSON: `{"id": "invoice", "components": [{"type": "number", "key": "amount",
"label": "Amount", "validate": {"required": true, "min": 0}}, ...], "schemaVersion": 16}`. Deployed
with a diagram and named by a user task (`camunda:formRef`, `camunda:formKey="camunda-forms:
deployment:invoice.form"`, `zeebe:formDefinition formId`, or a Camunda 8 embedded
`zeebe:userTaskForm`), it becomes the task's form: the JSON Schema completion data is validated
against (only the form's fields are accepted), while the form itself is served to a client that
renders it with form-js.

Input components map to JSON Schema types: textfield/textarea → string (minLength, maxLength,
pattern), number → number (min, max), checkbox → boolean, select/radio → one of their values,
checklist/taglist → an array of their values, datetime → a date, time or date-time string.
`validate.required` makes a field required, unless the field is shown conditionally (form-js
does not submit hidden fields). Dotted keys (`customer.name`) and groups with a `path` become
nested objects, dynamic lists arrays of objects. Display-only components (text, html, image,
button, spacer, separator) carry no data.
"""
from __future__ import annotations

__all__ = ["FormError", "form_schema"]

_DISPLAY_ONLY = {"text", "html", "image", "button", "spacer", "separator", "iframe", "table", "documentPreview"}
_STRING_LIMITS = {"minLength": "minLength", "maxLength": "maxLength"}


class FormError(ValueError):
    """The file is not a form-js form this module can read."""


def form_schema(form: dict) -> dict:
    """The JSON Schema of a form-js form.

    Raises:
        FormError: not a form-js document, or a component without the key its type needs.
    """
    if not isinstance(form, dict) or not isinstance(form.get("components"), list):
        raise FormError("not a Camunda form: a form-js document has a list of components")
    schema = _object()
    _add_components(schema, form["components"])
    return schema


def _object() -> dict:
    return {"type": "object", "properties": {}, "required": [], "additionalProperties": False}


def _add_components(schema: dict, components: list) -> None:
    for component in components:
        if not isinstance(component, dict):
            raise FormError("a form component must be an object")
        kind = component.get("type")
        if kind in _DISPLAY_ONLY:
            continue
        if kind == "group":
            target = _at_path(schema, component["path"].split(".")) if component.get("path") else schema
            _add_components(target, component.get("components") or [])
            continue
        key = component.get("key") or component.get("path")
        if not key or not isinstance(key, str):
            raise FormError(f"form component {component.get('id') or kind!r} of type {kind!r} has no key")
        if kind == "dynamiclist":
            item = _object()
            _add_components(item, component.get("components") or [])
            prop = {"type": "array", "items": item}
        else:
            prop = _field(component)
        *parents, name = key.split(".")
        target = _at_path(schema, parents) if parents else schema
        target["properties"][name] = prop
        validate = component.get("validate") or {}
        if validate.get("required") and not component.get("conditional") and name not in target["required"]:
            target["required"].append(name)


def _at_path(schema: dict, parts: list[str]) -> dict:
    for part in parts:
        child = schema["properties"].get(part)
        if child is None or child.get("type") != "object":
            child = _object()
            schema["properties"][part] = child
        schema = child
    return schema


def _field(component: dict) -> dict:
    kind = component.get("type")
    validate = component.get("validate") or {}
    prop: dict
    if kind in ("textfield", "textarea"):
        prop = {"type": "string"}
        for source, target in _STRING_LIMITS.items():
            if isinstance(validate.get(source), int):
                prop[target] = validate[source]
        if isinstance(validate.get("pattern"), str) and validate["pattern"]:
            prop["pattern"] = validate["pattern"]
        if validate.get("validationType") == "email":
            prop["format"] = "email"
    elif kind == "number":
        prop = {"type": "number"}
        if isinstance(validate.get("min"), (int, float)):
            prop["minimum"] = validate["min"]
        if isinstance(validate.get("max"), (int, float)):
            prop["maximum"] = validate["max"]
    elif kind == "checkbox":
        prop = {"type": "boolean"}
    elif kind in ("select", "radio"):
        prop = _choice(component)
    elif kind in ("checklist", "taglist"):
        prop = {"type": "array", "items": _choice(component)}
    elif kind == "datetime":
        subtype = component.get("subtype") or "date"
        prop = {"type": "string", "format": {"date": "date", "time": "time"}.get(subtype, "date-time")}
    else:  # a component type of a newer form-js: accept what it sends
        prop = {}
    if component.get("label"):
        prop["title"] = component["label"]
    if "defaultValue" in component:
        prop["default"] = component["defaultValue"]
    if component.get("readonly") is True:
        prop["readOnly"] = True
    return prop


def _choice(component: dict) -> dict:
    values = [v.get("value") for v in component.get("values") or [] if isinstance(v, dict) and "value" in v]
    if not values:  # values from a variable (valuesKey) or an expression: any text
        return {"type": "string"}
    return {"enum": values}
