"""Process analytics: heat map, bottlenecks, gateway branches, durations, the event log (admins, or the
`analytics` permission on the process key)."""
from flask import Response, stream_with_context

from ..schemas.analytics import (
    AnalyticsQuerySchema, BottleneckQuerySchema, BottlenecksSchema, DurationsSchema, EventLogQuerySchema,
    GatewaysSchema, HeatMapSchema,
)
from ..services import analytics
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("analytics", __name__, "/analytics", "Process analytics over activity instances")


@blp.route("/heat-map", methods=["GET"])
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, HeatMapSchema)
@problems(blp, 400, 401, 403, 404)
def heat_map(query):
    """Per element of a definition version: occurrences, how they ended, open now, p50/p90 of their durations;
    per sequence flow: how often it was taken."""
    return analytics.heat_map(current_actor(), **query)


@blp.route("/bottlenecks", methods=["GET"])
@blp.arguments(BottleneckQuerySchema, location="query")
@blp.response(200, BottlenecksSchema)
@problems(blp, 400, 401, 403, 404)
def bottlenecks(query):
    """Elements ranked by completed occurrences x median duration; human tasks' queue and work times per
    candidate group; SLA breaches per task and per escalation level."""
    return analytics.bottlenecks(current_actor(), **query)


@blp.route("/gateways", methods=["GET"])
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, GatewaysSchema)
@problems(blp, 400, 401, 403, 404)
def gateways(query):
    """Per gateway of a definition version: how often each outgoing flow was taken, and how the instances
    that took it stand (status, end event reached)."""
    return analytics.gateway_branches(current_actor(), **query)


@blp.route("/durations", methods=["GET"])
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, DurationsSchema)
@problems(blp, 400, 401, 403, 404)
def durations(query):
    """Completed instances' p50/p90 duration per version (a key alone: every version) and per end event."""
    return analytics.instance_durations(current_actor(), **query)


@blp.route("/event-log", methods=["GET"])
@blp.arguments(EventLogQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
@blp.alt_response(200, success=True, content_type="application/xml", description="format=xes")
@problems(blp, 400, 401, 403, 404)
def event_log(query):
    """The event log (a key alone: every version), streamed: CSV, one row per activity, or XES (IEEE
    1849-2016), one trace per instance with start and complete events."""
    log = analytics.event_log(current_actor(), **query)
    return Response(stream_with_context(log.chunks), mimetype=log.media_type.split(";")[0],
                    content_type=log.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{log.filename}"'})
