"""Bulk operations from the Instances page (admins): retry, cancel, suspend or resume the selected instances,
or every instance that matches the list's filter, then a table of what happened to each.

The form posts to `bulk.run_bulk`, the service behind POST /api/v1/process-instances/batch: each
instance goes through its own use case, so a refusal (a status that does not allow the operation)
is that instance's row in the result, not the end of the batch. A batch the service refuses as a whole
(no operation, nothing selected, a filter matching more than it takes) sends the list back with why.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..errors import ValidationError
from ..services import bulk
from .auth import admin_required, current_actor
from .blueprint import bp

# The Instances page's filters, posted back as filter_<name> with the selection.
LIST_FILTERS = ("key", "status", "activity")


@bp.route("/admin/instances/bulk", methods=["POST"])
@admin_required
def admin_bulk():
    """Apply the chosen operation to the selected instances (or all that match the filter); show each outcome."""
    filters = {name: request.form.get(f"filter_{name}", "").strip() for name in LIST_FILTERS}
    filters = {name: value for name, value in filters.items() if value}
    operation = request.form.get("operation", "")
    reason = request.form.get("reason", "").strip()[:2000] or None
    try:
        if request.form.get("scope") == "filter":
            result = bulk.run_bulk(current_actor(), operation, filters=filters, reason=reason)
        else:
            result = bulk.run_bulk(current_actor(), operation, instance_ids=request.form.getlist("instance_id"),
                                       reason=reason)
    except ValidationError as exc:
        why = "; ".join(m for messages in (exc.errors or {}).values() for m in messages) or exc.detail
        flash(f"Nothing was changed: {why}.", "error")
        return redirect(url_for("console.admin_instances", **filters))
    return render_template("console/admin/bulk.html", result=result, filters=filters,
                           back=url_for("console.admin_instances", **filters))
