"""The Definition page (admins): one version of a process, its diagram with what happens at each element.

Badges on the diagram count, per element, the instances waiting there now, its open incidents and how
often it was completed (`statistics.element_statistics`: projections for now, the latest instances'
history for the rest); clicking an element lists the instances waiting there. The same numbers, with
durations, are in a table under the diagram; beside it the versions of the process with the deployment
that made each (name, when, by whom).
"""
from __future__ import annotations

from flask import Response, render_template, request, url_for

from ..errors import NotFoundError
from ..services import definitions, statistics
from .auth import admin_required, current_actor
from .blueprint import bp


@bp.route("/admin/processes/<key>/definition")
@admin_required
def admin_definition(key: str):
    """A version of process `key` (?version=, default the latest): diagram with badges, elements, versions."""
    actor = current_actor()
    versions = definitions.definition_versions(key, actor)
    wanted = request.args.get("version", "").strip()
    chosen = versions[0]
    if wanted:
        chosen = next((v for v in versions if str(v.definition.version) == wanted), None)
        if chosen is None:
            raise NotFoundError(f"no version {wanted} of process {key!r}")
    stats = statistics.element_statistics(chosen.definition.id, actor)
    badges = {}
    for element in stats.elements:
        shown = [{"text": str(n), "kind": kind} for n, kind in ((element.waiting, "active"),
                                                                (element.incidents, "incident"),
                                                                (element.completed, "completed")) if n]
        if shown:
            badges[element.element_id] = shown
    markers = {e.element_id: "marker-incident" for e in stats.elements if e.incidents}
    markers.update({e.element_id: "marker-active" for e in stats.elements if e.waiting and not e.incidents})
    waiting_at = url_for("console.admin_instances", key=key) + "&activity={id}"
    return render_template("console/admin/definition.html", key=key, versions=versions, chosen=chosen,
                           stats=stats, badges=badges, markers=markers, waiting_at=waiting_at)


@bp.route("/admin/definitions/<definition_id>/diagram.bpmn")
@admin_required
def admin_definition_diagram(definition_id: str):
    """The BPMN file of a definition version, for the diagram viewer."""
    return Response(definitions.definition_xml(definition_id), mimetype="application/xml")


@bp.app_template_filter("duration")
def _duration(seconds) -> str:
    """Seconds as people read them: 45 s, 1 min 30 s, 3 h 20 min, 2 d 4 h; a dash for none."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 and seconds % 1 else f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        rest = int(seconds % 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
