"""Start a process: the processes the caller may start by hand, and each one's start form.

The start form is rendered as the task forms are (form-js for a Camunda form, else its JSON Schema)
and checked by `instances.submit_start_form` as the API checks it.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request

from ..errors import FormValidationError
from ..services import definitions, instances
from . import forms
from .auth import current_actor
from .blueprint import bp, nav
from .tasks import next_page

nav("Start a process", "console.start", order=20, also=("console.start_form",))


@bp.route("/start")
def start():
    """The processes the caller may start by hand."""
    return render_template("console/start/index.html", processes=definitions.list_startable(current_actor()))


def _render_form(key: str, *, errors=None, values=None, business_key: str = "", status: int = 200):
    definition = definitions.get_startable(key, current_actor())
    start_form = instances.start_form(definition_id=definition.id)
    schema = start_form["form"] or {"type": "object", "properties": {}}
    errors = errors or {}
    fields = forms.fields_of(schema, values or {})
    known = {f.name for f in fields} | {c.name for f in fields for c in f.children}
    return render_template("console/start/form.html", definition=definition, fields=fields, errors=errors,
                           other_errors={k: v for k, v in errors.items() if k not in known},
                           camunda_form=start_form["camunda_form"], form_data=values or {},
                           business_key=business_key), status


@bp.route("/start/<key>", methods=["GET", "POST"])
def start_form(key: str):
    """A process's start form; posting it starts the process (refused fields beside their inputs)."""
    if request.method == "GET":
        return _render_form(key)
    actor = current_actor()
    definition = definitions.get_startable(key, actor)
    business_key = request.form.get("business_key", "").strip()
    if "variables" in request.form:  # form-js
        try:
            variables = current_app.json.loads(request.form["variables"] or "{}")
        except ValueError:
            variables = None
        kept = variables
    else:
        schema = instances.start_form(definition_id=definition.id)["form"] or {"type": "object", "properties": {}}
        variables, kept = forms.parse(schema, request.form), request.form.to_dict()
    try:
        if not isinstance(variables, dict):
            raise FormValidationError("the form data is not JSON", errors={"variables": ["not valid JSON"]})
        result = instances.submit_start_form(actor, definition_id=definition.id, variables=variables,
                                             business_key=business_key or None)
    except FormValidationError as exc:
        return _render_form(key, errors=exc.errors or {"variables": [exc.detail]}, values=kept,
                            business_key=business_key, status=exc.status)
    flash(f"“{definition.name or definition.key}” started (instance {result.id}, {result.status}).", "success")
    return redirect(next_page(result, actor))
