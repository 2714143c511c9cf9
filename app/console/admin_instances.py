"""Admin pages for repairing production: processes at a glance, instances, one instance, open incidents.

Each page reads the projection tables through the services (`instances.process_overview`,
`list_instances`, `instance_details`, `instance_history`, `incident_groups`); a repair (retry,
suspend, resume, cancel) is one service call whose refusal (a status that does not allow it) is the
409 page with the service's message.
"""
from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for

from ..errors import ResourceLimitError, ValidationError
from ..services import definitions, instances
from ..services.history import element_counts
from ..statuses import InstanceStatus
from .auth import admin_required, current_actor
from .blueprint import bp, nav
from .helpers import htmx_target, page_number

nav("Processes", "console.admin_processes", admin=True, order=60,
    also=("console.admin_instances", "console.admin_instance", "console.admin_definition", "console.admin_bulk"))
nav("Incidents", "console.admin_incidents", admin=True, order=61)

STATUSES = (InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED, InstanceStatus.COMPLETED,
            InstanceStatus.CANCELLED)

# What each repair calls, the statuses that allow it (the buttons shown) and what the flash says.
REPAIRS = {
    "retry": (lambda i, actor, reason: instances.retry_instance(i, actor), (InstanceStatus.ERROR,), "retried"),
    "suspend": (instances.suspend_instance, (InstanceStatus.RUNNING, InstanceStatus.ERROR), "suspended"),
    "resume": (instances.resume_instance, (InstanceStatus.SUSPENDED,), "resumed"),
    "cancel": (instances.cancel_instance, tuple(InstanceStatus.LIVE), "cancelled"),
}


@bp.route("/admin/processes")
@admin_required
def admin_processes():
    """Per process key: running, in error, suspended, open incidents and tasks, completed in the last 24 h."""
    return render_template("console/admin/processes.html", rows=instances.process_overview(current_actor()))


@bp.route("/admin/instances")
@admin_required
def admin_instances():
    """Instances, newest first, filtered by process key, status and the element they wait at."""
    filters = {name: request.args.get(name, "").strip() or None for name in ("key", "status", "activity")}
    page = instances.list_instances(current_actor(), **filters, page=page_number(), per_page=25, exact=False)
    template = "_instances.html" if htmx_target() == "instances-results" else "instances.html"
    return render_template(f"console/admin/{template}", page=page, filters=filters, statuses=STATUSES)


@bp.route("/admin/instances/<instance_id>")
@admin_required
def admin_instance(instance_id: str):
    """One instance: its diagram with active and failed elements marked and how often each element was
    entered, variables (editable), incidents, repairs, history."""
    return render_instance(instance_id)


def render_instance(instance_id: str, *, variable_errors: dict | None = None, variable_values: dict | None = None,
                    status: int = 200):
    """The instance page; after a refused variable change, with the errors beside its fields."""
    actor = current_actor()
    details = instances.instance_details(instance_id, actor)
    history = instances.instance_history(instance_id, actor, page=page_number(), per_page=100)
    open_incidents = [i for i in details["incidents"] if i.resolved_at is None]
    markers = {a.element_id: "marker-active" for a in details["active_activities"]}
    markers.update({i.element_id: "marker-incident" for i in open_incidents if i.element_id})
    badges = {element: [{"text": f"{n}×", "kind": "info"}] for element, n in element_counts(instance_id, actor).items()}
    instance_status = details["instance"].status
    allowed = [name for name, (_, statuses, _) in REPAIRS.items() if instance_status in statuses]
    return render_template("console/admin/instance.html", **details, history=history, markers=markers,
                           badges=badges, open_incidents=open_incidents, allowed=allowed,
                           editable=instance_status in InstanceStatus.LIVE, variable_errors=variable_errors or {},
                           variable_values=variable_values or {}), status


@bp.route("/admin/instances/<instance_id>/variables", methods=["POST"])
@admin_required
def admin_set_variable(instance_id: str):
    """Set a variable to a JSON value, or delete it (`delete`); audited in the instance's history."""
    name = request.form.get("name", "").strip()
    text = request.form.get("value", "")
    deleting = request.form.get("action") == "delete"
    try:
        if not name:
            raise ValidationError("name the variable", errors={"name": ["required"]})
        if deleting:
            value = None
        else:
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValidationError("the value is not JSON", errors={"value": [f"not JSON: {exc}"]}) from None
            if value is None:
                raise ValidationError("null deletes a variable", errors={"value": ["null deletes the variable: "
                                                                                   "use Delete"]})
        instances.update_variables(instance_id, {name: value}, current_actor())
    except (ValidationError, ResourceLimitError) as exc:
        errors = exc.errors or {"value": [exc.detail]}
        return render_instance(instance_id, variable_errors=errors, variable_values={"name": name, "value": text},
                               status=exc.status)
    flash(f"Variable {name} {'deleted' if deleting else 'set'}.", "success")
    return redirect(url_for("console.admin_instance", instance_id=instance_id) + "#variables-heading")


@bp.route("/admin/instances/<instance_id>/diagram.bpmn")
@admin_required
def admin_instance_diagram(instance_id: str):
    """The BPMN file of the instance's definition, for the diagram viewer."""
    instance = instances.get_instance(instance_id, current_actor())
    return Response(definitions.definition_xml(instance.definition_id), mimetype="application/xml")


@bp.route("/admin/instances/<instance_id>/<any(retry, suspend, resume, cancel):action>", methods=["POST"])
@admin_required
def admin_repair(instance_id: str, action: str):
    """Retry, suspend, resume or cancel the instance, with the reason given; a refusal is the service's page."""
    call, _, done = REPAIRS[action]
    reason = request.form.get("reason", "").strip() or None
    call(instance_id, current_actor(), reason)
    status = instances.get_instance(instance_id, current_actor()).status
    flash(f"The instance is {done}; it is now {status}.", "success" if status != InstanceStatus.ERROR else "warning")
    return redirect(url_for("console.admin_instance", instance_id=instance_id))


@bp.route("/admin/incidents")
@admin_required
def admin_incidents():
    """Open incidents grouped by process, element and message, each group linking to its instances."""
    return render_template("console/admin/incidents.html", groups=instances.incident_groups(current_actor()))
