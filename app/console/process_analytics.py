"""A process's analyses beside its heat map, one tab each: bottlenecks, gateway branches, durations; and its
event log as a CSV or XES download.

Each page asks `services.analytics` what the API's `GET /api/v1/analytics/...` answers, for the same
version and period as the heat map (`analytics.process_choice`), as the console's current user: the
service decides who may (admins, holders of `analytics` on the process key) and a refusal is the
console's 403 page. The API takes bearer tokens, so the console streams the event log itself, from the
same service call, with the session's user.
"""
from __future__ import annotations

from flask import Response, render_template, stream_with_context

from ..services import analytics
from .analytics import PERIODS, process_choice
from .auth import current_actor
from .blueprint import bp

FORMATS = ("csv", "xes")


def _page(template: str, key: str, answer, tab: str, **context):
    return render_template(f"console/analytics/{template}", key=key, answer=answer, tab=tab, choice=process_choice(),
                           periods=PERIODS, **context)


@bp.route("/analytics/<key>/bottlenecks")
def process_bottlenecks(key: str):
    """Where a version's instances wait: elements ranked by completed × median, human tasks' queue and work
    times per candidate group, SLA breaches, escalation levels (?version=, ?days=)."""
    answer = analytics.bottlenecks(current_actor(), key=key, **process_choice().query)
    return _page("bottlenecks.html", key, answer, "process_bottlenecks", definition=answer.definition)


@bp.route("/analytics/<key>/gateways")
def process_gateways(key: str):
    """Per gateway of a version, each outgoing flow: taken, by how many instances, how they stand."""
    answer = analytics.gateway_branches(current_actor(), key=key, **process_choice().query)
    return _page("gateways.html", key, answer, "process_gateways", definition=answer.definition)


@bp.route("/analytics/<key>/durations")
def process_durations(key: str):
    """Instances per version by status, the completed ones' median and 90th percentile, per end event
    (no ?version=: every version, newest first)."""
    answer = analytics.instance_durations(current_actor(), key=key, **process_choice().query)
    statuses = sorted({status for d in answer.definitions for status in d.by_status})
    return _page("durations.html", key, answer, "process_durations", definition=answer.definitions[0].definition,
                 statuses=statuses)


@bp.route("/analytics/<key>/event-log.<any(csv, xes):format>")
def process_event_log(key: str, format: str):
    """The event log (no ?version=: every version) as a download, CSV or XES, streamed as the API streams it."""
    log = analytics.event_log(current_actor(), key=key, format=format, **process_choice().query)
    return Response(stream_with_context(log.chunks), content_type=log.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{log.filename}"',
                             "X-Content-Type-Options": "nosniff"})
