"""The heat map page: a definition version's diagram coloured by how often each element ran, or by how long it
took (p50 or p90), with each sequence flow's frequency on it; the same numbers in tables below.

For admins and holders of the `analytics` permission on the process (`services.analytics` decides, as for
the API's `GET /api/v1/analytics/heat-map`); the Definition page links here. Its tabs lead to the
process's other analyses (`process_analytics`), for the same version and period (`process_choice`).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask import Response, render_template, request, url_for

from .. import clock
from ..errors import ValidationError
from ..services import analytics
from .admin_definitions import _duration
from .auth import current_actor
from .blueprint import bp

MEASURES = {"count": "occurrences", "p50": "median duration", "p90": "90th percentile duration"}
PERIODS = {"": "all time", "1": "the last day", "7": "the last 7 days", "30": "the last 30 days",
           "90": "the last 90 days"}
LEVELS = 5  # heat classes heat-1 (coolest) to heat-5


@dataclass(frozen=True)
class ProcessChoice:
    """The version and period every page of a process's analytics is asked for, as the form sent them."""

    version: str  # "" for the default: the latest version (every version for durations and the event log)
    days: str  # a key of PERIODS

    @property
    def query(self) -> dict:
        """The service's arguments: `version`, `started_from`."""
        started_from = clock.utcnow() - dt.timedelta(days=int(self.days)) if self.days else None
        return {"version": int(self.version) if self.version else None, "started_from": started_from}

    @property
    def args(self) -> dict:
        """The query string that carries the choice from one page to another (only what was chosen)."""
        return {k: v for k, v in (("version", self.version), ("days", self.days)) if v}


def process_choice() -> ProcessChoice:
    """The version and period of the request (?version=, ?days=); a 400 page for others."""
    days = request.args.get("days", "")
    version = request.args.get("version", "").strip()
    if days not in PERIODS:
        raise ValidationError(f"days is one of {', '.join(d for d in PERIODS if d)}, or empty for all time")
    if version and not (version.isascii() and version.isdigit() and 0 < int(version) < 2**31):
        raise ValidationError("version is a version number")
    return ProcessChoice(version, days)


@bp.route("/analytics/<key>/heat-map")
def heat_map(key: str):
    """The heat map of process `key` (?version=, default the latest; ?measure=count|p50|p90; ?days=)."""
    measure = request.args.get("measure", "count")
    if measure not in MEASURES:
        raise ValidationError(f"measure is one of {', '.join(MEASURES)}")
    choice = process_choice()
    heat = analytics.heat_map(current_actor(), key=key, **choice.query)
    badges, markers = _overlays(heat, measure)
    return render_template("console/analytics/heat_map.html", key=key, heat=heat, measure=measure,
                           measures=MEASURES, choice=choice, periods=PERIODS, badges=badges, markers=markers,
                           diagram_url=url_for("console.analytics_diagram", definition_id=heat.definition.id))


@bp.route("/analytics/definitions/<definition_id>/diagram.bpmn")
def analytics_diagram(definition_id: str):
    """The BPMN file of a definition version whose analytics the caller may read, for the viewer."""
    return Response(analytics.definition_diagram(current_actor(), definition_id), mimetype="application/xml")


def _value(element, measure: str):
    return element.count if measure == "count" else getattr(element, f"{measure}_ms")


def _overlays(heat, measure: str) -> tuple[dict, dict]:
    """Per element a badge (the measure) and a heat class by its share of the largest value; per flow a badge."""
    values = {e.element_id: _value(e, measure) for e in heat.elements if _value(e, measure)}
    top = max(values.values(), default=0)
    badges, markers = {}, {}
    for element_id, value in values.items():
        text = str(value) if measure == "count" else _duration(value / 1000)
        badges[element_id] = [{"text": text, "kind": "heat"}]
        markers[element_id] = f"heat-{max(1, math.ceil(LEVELS * value / top))}"
    for flow in heat.flows:
        if flow.taken:
            badges[flow.flow_id] = [{"text": f"{flow.taken}×", "kind": "flow"}]
    return badges, markers
