"""The task page: its form, claim and unclaim, complete, approve or reject, delegate, its record and the
instance's diagram.

A Camunda form (`task_camunda_form`) is rendered by the form-js viewer in the browser and posted
as JSON in one field; any other form is the task's JSON Schema rendered here. Either way the
services check the data exactly as for an API client: a refused field comes back beside its input
(400) with the values kept, a task someone else completed first is the 409 page. A task of a record's
approval also has Approve and Reject (with a reason, kept on the record's timeline), as the approval API
(`POST /api/v1/modules/{module}/records/{id}/approval/approve|reject`) decides it.
"""
from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from ..errors import FormValidationError, NotFoundError, ValidationError
from ..services import approvals, definitions, instances, modules, records, tasks
from ..services.access import may_work_on
from ..services.core import definition_info
from . import forms
from .auth import current_actor
from .blueprint import bp
from .helpers import is_htmx, local_path, record_title
from .jobs import task_rows
from .records import recent_timeline

def _record_of(instance) -> dict | None:
    """The record the instance runs on, with its title and latest timeline entries, if the caller may read it."""
    if instance is None or not instance.record_id:
        return None
    try:
        record = records.get_record(instance.record_module, instance.record_id, current_actor())
    except NotFoundError:  # deleted since, or not the caller's to read
        return None
    module = modules.get_module(record.module)
    events, total = recent_timeline(record)
    return {"record": record, "module": module, "title": record_title(module.fields, record.data, record.id),
            "timeline": events, "timeline_total": total}


def render_task(task_id: str, *, errors: dict | None = None, values: dict | None = None,
                delegate_error: str | None = None, delegate_to: str = "", behalf_errors: dict | None = None,
                behalf: dict | None = None, decision_errors: dict | None = None, reason: str = "",
                status: int = 200):
    """The task page; after a refused post, with the errors beside their fields and the posted values."""
    actor = current_actor()
    task = tasks.get_task(task_id, actor)
    try:
        instance = instances.get_instance(task.instance_id, actor)
    except NotFoundError:
        instance = None
    schema = tasks.task_form(task)
    camunda_form = tasks.task_camunda_form(task)
    if values is None:  # the form starts from the instance's current values of its fields
        current = instance.variables if instance is not None else {}
        values = {k: current[k] for k in (schema.get("properties") or {}) if k in current}
    errors = errors or {}
    fields = forms.fields_of(schema, values)
    known = {f.name for f in fields} | {c.name for f in fields for c in f.children}
    may_work = task.state == "open" and may_work_on(task, actor)
    context = {
        "task": task, "instance": instance, "process": definition_info(task.definition_id),
        "may_work": may_work, "decision": approvals.decision_of(task) if may_work else None,
        "decision_errors": decision_errors or {}, "reason": reason,
        "row": task_rows([task])[0], "fields": fields, "errors": errors,
        "other_errors": {k: v for k, v in errors.items() if k not in known},
        "camunda_form": camunda_form, "form_data": values, "linked": _record_of(instance),
        "delegate_error": delegate_error, "delegate_to": delegate_to, "behalf_errors": behalf_errors or {},
        "behalf": behalf or {"on_behalf_of": task.assignee or ""},
    }
    return render_template("console/task.html", **context), status


@bp.route("/tasks/<task_id>")
def task(task_id: str):
    """One task: its form, its record, the instance's diagram with the task marked."""
    return render_task(task_id)


@bp.route("/tasks/<task_id>/diagram.bpmn")
def task_diagram(task_id: str):
    """The BPMN file of the task's process, for the diagram viewer (to those who may read the task)."""
    task = tasks.get_task(task_id, current_actor())
    return Response(definitions.definition_xml(task.definition_id), mimetype="application/xml")


def _back_to(task) -> str:
    return local_path(request.form.get("next"), "/console/") or url_for("console.task", task_id=task.id)


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
def claim(task_id: str):
    """Claim a task; from My Jobs (htmx) the row is swapped in place."""
    task = tasks.claim_task(task_id, current_actor())
    if is_htmx():
        return render_template("console/jobs/_row.html", row=task_rows([task])[0])
    flash(f"You claimed “{task.name}”.", "success")
    return redirect(_back_to(task))


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
def unclaim(task_id: str):
    """Give a task back to its candidates; from My Jobs (htmx) the row is swapped in place."""
    task = tasks.unclaim_task(task_id, current_actor())
    if is_htmx():
        return render_template("console/jobs/_row.html", row=task_rows([task])[0])
    flash(f"“{task.name}” is back with its candidates.", "success")
    return redirect(_back_to(task))


def _posted_variables(task) -> dict:
    """The form's data: form-js posts JSON in `variables`, the server-rendered form posts its fields."""
    if "variables" in request.form:
        try:
            data = current_app.json.loads(request.form["variables"] or "{}")
        except ValueError:
            raise FormValidationError("the form data is not JSON", errors={"variables": ["not valid JSON"]}) from None
        return data
    return forms.parse(tasks.task_form(task), request.form)


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
def complete(task_id: str):
    """Complete a task with its form's data; a refused field is shown beside its input, values kept."""
    actor = current_actor()
    task = tasks.get_task(task_id, actor)
    variables = None
    try:
        variables = _posted_variables(task)
        result = tasks.complete_task(task_id, variables, actor)
    except FormValidationError as exc:
        return render_task(task_id, errors=exc.errors or {"variables": [exc.detail]}, values=_kept(variables),
                           status=exc.status)
    flash(f"“{task.name}” is completed.", "success")
    return redirect(next_page(result, actor))


def _kept(variables) -> dict:
    """What the form shows again after a refusal: form-js's data as it was sent, else the posted fields."""
    if "variables" in request.form:
        return variables if isinstance(variables, dict) else {}
    return request.form.to_dict()


@bp.route("/tasks/<task_id>/complete-on-behalf", methods=["POST"])
def complete_on_behalf(task_id: str):
    """An admin completes the task with its form's data for its assignee or a candidate, giving a reason
    (the service refuses everyone else: 403); a refused field is shown beside its input."""
    actor = current_actor()
    task = tasks.get_task(task_id, actor)
    behalf = {"on_behalf_of": request.form.get("on_behalf_of", "").strip(),
              "reason": request.form.get("on_behalf_reason", "").strip()}
    variables = None
    try:
        variables = _posted_variables(task)
        tasks.complete_on_behalf(task_id, variables, behalf["on_behalf_of"], behalf["reason"], actor)
    except FormValidationError as exc:
        return render_task(task_id, errors=exc.errors or {"variables": [exc.detail]}, values=_kept(variables),
                           behalf=behalf, status=exc.status)
    except ValidationError as exc:  # who it is for, or the reason
        return render_task(task_id, behalf_errors=exc.errors or {"on_behalf_of": [exc.detail]},
                           values=_kept(variables), behalf=behalf, status=exc.status)
    flash(f"“{task.name}” is completed on behalf of {behalf['on_behalf_of']}.", "success")
    return redirect(url_for("console.admin_instance", instance_id=task.instance_id))


def next_page(result, actor) -> str:
    """Where to go after a command: the first task it opened that is the caller's or offered to them, else My Jobs."""
    for opened in result.tasks:
        get = opened.get if isinstance(opened, dict) else (lambda name, t=opened: getattr(t, name, None))
        offered = actor.username in (get("candidate_users") or []) or bool(
            set(get("candidate_groups") or []) & set(actor.groups))
        if get("assignee") == actor.username or (get("assignee") is None and offered):
            return url_for("console.task", task_id=get("id"))
    return url_for("console.jobs")


@bp.route("/tasks/<task_id>/decide", methods=["POST"])
def decide(task_id: str):
    """Approve or reject a task of a record's approval; a rejection without a reason is refused beside it."""
    choice, reason = request.form.get("decision"), request.form.get("reason", "")
    try:
        if choice not in ("approve", "reject"):
            raise FormValidationError("choose Approve or Reject", errors={"decision": ["approve or reject"]})
        task = tasks.get_task(task_id, current_actor())
        approvals.decide_task(task_id, choice == "approve", reason, current_actor())
    except FormValidationError as exc:
        return render_task(task_id, decision_errors=exc.errors or {"decision": [exc.detail]}, reason=reason,
                           status=exc.status)
    flash(f"You {'approved' if choice == 'approve' else 'rejected'} “{task.name}”.", "success")
    return redirect(url_for("console.jobs"))


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
def delegate(task_id: str):
    """Hand the task to another user; an unknown or disabled user is shown beside the field."""
    username = request.form.get("user", "").strip()
    try:
        if not username:
            raise ValidationError("name the user to hand the task to")
        task = tasks.delegate_task(task_id, username, current_actor())
    except (NotFoundError, ValidationError) as exc:
        if isinstance(exc, NotFoundError) and exc.detail != f"no user {username}":
            raise  # the task itself is not there (or not the caller's): the 404 page
        return render_task(task_id, delegate_error=exc.detail, delegate_to=username, status=exc.status)
    flash(f"“{task.name}” is now with {username}.", "success")
    return redirect(url_for("console.jobs"))
