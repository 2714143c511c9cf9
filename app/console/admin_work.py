"""Admin pages for the server's background work: due and failed jobs, and the outbox of emails and webhooks.

Both lists come from the services (`jobs.list_jobs`, `outbox.list_messages`), filtered and paged with htmx
like the other lists; a failed job or message shows its error and a Retry button (`jobs.retry_job`,
`outbox.retry_message`), whose refusal (it has not failed) is the 409 page with the service's message.
A job that ran leaves no row: what it did is in its instance's history.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from .. import clock
from ..services import jobs, outbox
from ..statuses import JobStatus, OutboxStatus
from .auth import admin_required, current_actor
from .blueprint import bp, nav
from .helpers import htmx_target, local_path, page_number

PER_PAGE = 25
JOB_STATUSES = (JobStatus.PENDING, JobStatus.FAILED)
OUTBOX_STATUSES = (OutboxStatus.PENDING, "sending", OutboxStatus.SENT, OutboxStatus.FAILED)

nav("Job queue", "console.admin_jobs", admin=True, order=62)
nav("Outbox", "console.admin_outbox", admin=True, order=63)


def _back(endpoint: str) -> str:
    """The list the post came from (its filters and page kept), else the plain list."""
    return local_path(request.form.get("next"), "/console/admin/") or url_for(endpoint)


@bp.route("/admin/jobs")
@admin_required
def admin_jobs():
    """Timer and continuation jobs, soonest first: pending (all, or only those due now) and failed ones."""
    status = request.args.get("status") if request.args.get("status") in JOB_STATUSES else ""
    due = request.args.get("due") == "1"
    page = jobs.list_jobs(current_actor(), status or None, page_number(), PER_PAGE, due=due)
    context = {"page": page, "filters": {"status": status, "due": due}, "statuses": JOB_STATUSES,
               "now": clock.utcnow()}
    template = "_jobs.html" if htmx_target() == "job-queue-results" else "jobs.html"
    return render_template(f"console/admin/{template}", **context)


@bp.route("/admin/jobs/<job_id>/retry", methods=["POST"])
@admin_required
def admin_retry_job(job_id: str):
    """Put a failed job back in line, due now."""
    job = jobs.retry_job(job_id, current_actor())
    flash(f"The job is back in line ({job.status}, due now).", "success")
    return redirect(_back("console.admin_jobs"))


@bp.route("/admin/outbox")
@admin_required
def admin_outbox():
    """Emails and webhook calls, newest first, by status; failed ones with their error."""
    status = request.args.get("status") if request.args.get("status") in OUTBOX_STATUSES else ""
    page = outbox.list_messages(current_actor(), status or None, None, page_number(), PER_PAGE)
    context = {"page": page, "filters": {"status": status}, "statuses": OUTBOX_STATUSES}
    template = "_outbox.html" if htmx_target() == "outbox-results" else "outbox.html"
    return render_template(f"console/admin/{template}", **context)


@bp.route("/admin/outbox/<message_id>/retry", methods=["POST"])
@admin_required
def admin_retry_message(message_id: str):
    """Send a failed message again; any other is the service's 409."""
    message = outbox.retry_message(message_id, current_actor())
    flash(f"The {message.kind} is back in line ({message.status}).", "success")
    return redirect(_back("console.admin_outbox"))
