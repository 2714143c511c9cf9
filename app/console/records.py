"""Records: each module's list, and a record's page with its blueprint.

The record page shows the record's fields, the blueprint's stage bar (its stages in flow order,
`services.blueprints.record_stages`, as `GET /api/v1/blueprints/{key}/stages` lists them), one
button per transition the caller may perform now (`services.transitions.list_transitions`) opening
a dialog with that transition's mandatory fields prefilled from the record, a banner while an
approval or review locks it, its open tasks, its attachments with a form to upload one (record_files.py),
its timeline and the processes that ran on it. A transition is performed
by `transitions.perform_transition`: refused fields come back beside their inputs in the dialog.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..errors import FormValidationError, NotFoundError, ValidationError
from ..services import attachments, blueprints, instances, modules, records, tasks, timeline, transitions
from ..services.core import Page
from . import forms
from .auth import current_actor
from .blueprint import bp, nav
from .helpers import htmx_target, page_number, record_title

PER_PAGE = 25
TIMELINE_SIZE = 30
ATTACHMENTS_SHOWN = 50
FILTER_TYPES = ("picklist", "boolean", "user")

nav("Records", "console.module_list", order=30, also=("console.record_list", "console.record"))


def recent_timeline(record, size: int = TIMELINE_SIZE) -> tuple[list, int]:
    """The record's latest `size` timeline entries, newest first, and how many there are in all."""
    actor = current_actor()
    first = timeline.timeline(record.module, record.id, actor, 1, size)
    last_page = max(1, -(-first.total // size))
    page = first if last_page == 1 else timeline.timeline(record.module, record.id, actor, last_page, size)
    return list(reversed(page.items)), first.total


@bp.route("/records")
def module_list():
    """The modules, each leading to its records."""
    return render_template("console/records/modules.html", modules=modules.list_modules())


def _filter_fields(module) -> list[dict]:
    title = next((f for f in module.fields if f.get("type") == "text" and f.get("required")), None)
    return ([title] if title else []) + [f for f in module.fields if f.get("type") in FILTER_TYPES]


@bp.route("/records/<module>")
def record_list(module: str):
    """A module's records the caller may read, newest first, filtered by field values."""
    mod = modules.get_module(module)
    filter_fields = _filter_fields(mod)
    filters = {f["name"]: request.args.get(f"f_{f['name']}", "").strip() for f in filter_fields}
    owner = request.args.get("owner", "").strip()
    query = {k: v for k, v in filters.items() if v}
    if owner:
        query["owner"] = owner
    errors, status = {}, 200
    try:
        page = records.list_records(module, query, page_number(), PER_PAGE, current_actor())
    except ValidationError as exc:
        errors, status = exc.errors or {"filters": [exc.detail]}, exc.status
        page = Page([], 0, 1, PER_PAGE)
    rows = [{"record": r, "title": record_title(mod.fields, r.data, r.id)} for r in page.items]
    context = {"module": mod, "page": page, "rows": rows, "filter_fields": filter_fields, "filters": filters,
               "owner": owner, "errors": errors}
    if htmx_target() == "records-results":
        return render_template("console/records/_results.html", **context), status
    return render_template("console/records/list.html", **context), status


def render_record(module: str, record_id: str, *, open_transition: str | None = None, errors: dict | None = None,
                  values: dict | None = None, upload_errors: dict | None = None, status: int = 200):
    """The record page; after a refused transition, its dialog open with the errors beside their fields."""
    actor = current_actor()
    record = records.get_record(module, record_id, actor)
    mod = modules.get_module(module)
    try:
        offered = transitions.list_transitions(module, record_id, actor)
    except NotFoundError:  # no blueprint governs the record (none bound, or it has ended)
        offered = []
    for transition in offered:
        schema = {"properties": transition["fields"]}
        mine = transition["name"] == open_transition
        prefill = values if mine and values is not None else record.data
        transition["controls"] = forms.fields_of(schema, prefill, only=transition["mandatory_fields"],
                                                 required=transition["mandatory_fields"])
        transition["errors"] = _placed(errors or {}) if mine else {}
        needs_note = "note" in transition["requires"]
        transition["controls"].append(forms.Field(
            NOTE, "Note", "textarea", required=needs_note, value=(values or {}).get(NOTE) if mine else None,
            help="Kept on the record's timeline." + ("" if needs_note else " Optional."),
            attrs={"maxlength": 10_000}))
        shown = {f.name for f in transition["controls"]} | {"attachment"}
        transition["other_errors"] = {k: v for k, v in transition["errors"].items() if k not in shown}
    processes = instances.list_instances(actor, record_id=record.id, per_page=50).items
    locking = next((p for p in processes if p.id == record.locked_by), None) if record.locked_by else None
    events, events_total = recent_timeline(record)
    context = {
        "record": record, "module": mod, "title": record_title(mod.fields, record.data, record.id),
        "stages": blueprints.record_stages(module, record_id, actor), "transitions": offered,
        "open_transition": open_transition, "locking": locking, "processes": processes,
        "open_tasks": tasks.list_tasks(actor, record_id=record.id, per_page=50).items,
        "timeline": events, "timeline_total": events_total,
        "attachments": attachments.list_attachments(module, record_id, actor, 1, ATTACHMENTS_SHOWN),
        "upload_errors": upload_errors or {},
    }
    return render_template("console/records/record.html", **context), status


# The dialog's note is posted apart from the transition's fields (a form may declare a field named `note`), as
# the API takes it apart from `fields`; the requirement's error ("note") is shown beside it.
NOTE = "_note"


def _placed(errors: dict) -> dict:
    return {NOTE if name == "note" else name: messages for name, messages in errors.items()}


@bp.route("/records/<module>/<record_id>")
def record(module: str, record_id: str):
    """One record: fields, stage bar, transitions, lock, open tasks, timeline, processes."""
    return render_record(module, record_id)


@bp.route("/records/<module>/<record_id>/transitions/<name>", methods=["POST"])
def perform_transition(module: str, record_id: str, name: str):
    """Perform a blueprint transition with the dialog's fields; refused fields are shown in the dialog."""
    actor = current_actor()
    offered = {t["name"]: t for t in _offered(module, record_id)}
    transition = offered.get(name)
    schema = {"properties": transition["fields"]} if transition else {"properties": {}}
    only = transition["mandatory_fields"] if transition else []
    values = forms.parse(schema, request.form, only=only)
    try:
        transitions.perform_transition(module, record_id, name, values, actor, note=request.form.get(NOTE))
    except (FormValidationError, ValidationError) as exc:
        return render_record(module, record_id, open_transition=name, errors=exc.errors or {"transition": [exc.detail]},
                             values=request.form.to_dict(), status=exc.status)
    label = transition["label"] if transition else name
    flash(f"“{label}” done.", "success")
    return redirect(url_for("console.record", module=module, record_id=record_id))


def _offered(module: str, record_id: str) -> list[dict]:
    records.get_record(module, record_id, current_actor())  # 404 for a record the caller may not read
    try:
        return transitions.list_transitions(module, record_id, current_actor())
    except NotFoundError:
        return []
