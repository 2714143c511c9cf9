"""Process analytics in the console: Path Finder (the graph as a table of edges, the most frequent paths,
the drop-offs) and the funnel by cohort month, for a module and a period.

The pages ask `path_finder.path_finder` and `funnels.funnel` what the API answers; a refusal (no grant, no
goal, a bad period) is the service's problem shown as the console's error page or, for htmx, in the page.
Shown to admins and to holders of `analytics` on some module (`record_analytics.may_analyse`).
"""
from __future__ import annotations

import datetime as dt

from flask import render_template, request

from .. import clock
from ..errors import ValidationError
from ..services import conversion_goals, funnels, modules, path_finder, record_analytics
from .auth import current_actor
from .blueprint import bp, nav
from .helpers import htmx_target

nav("Analytics", "console.analytics_paths", admin=True, order=66, also=("console.analytics_funnel",),
    shown_to=record_analytics.may_analyse)


def _day(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name) or ""
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("not a date", errors={name: ["a date, YYYY-MM-DD"]}) from None


def _question() -> dict:
    """The module and the period the page asks about (whole days, `to` included), from its form."""
    actor = current_actor()
    allowed = record_analytics.analysable_modules(actor)
    names = [m.api_name for m in modules.list_modules() if allowed is None or m.api_name in allowed]
    with_goal = [name for name in names if conversion_goals.find_goal(name) is not None]
    module = request.args.get("module") or (with_goal or names or [""])[0]  # the first one it can answer for
    today = clock.today()
    last = _day("to", today)
    midnight = dt.time(tzinfo=dt.timezone.utc)
    try:
        first = _day("from", last - dt.timedelta(days=89))
        end = dt.datetime.combine(last + dt.timedelta(days=1), midnight)
    except OverflowError:
        raise ValidationError("the period reaches past the dates this server can count",
                              errors={"to": ["a date after 0001-03-31 and before 9999-12-31"]}) from None
    params = {"start": dt.datetime.combine(first, midnight), "end": end,
              "anchor": request.args.get("anchor") or "created", "owner": request.args.get("owner") or None}
    return {"module": module, "modules": names, "first": first, "last": last, "params": params}


@bp.route("/analytics/paths")
def analytics_paths():
    """Path Finder: the touchpoints and stages a module's records went through, their paths and drop-offs."""
    question = _question()
    collapse = request.args.get("collapse") == "1"
    answer = path_finder.path_finder(question["module"], dict(question["params"], collapse=collapse, variants=15),
                                     current_actor()) if question["module"] else None
    template = "_paths.html" if htmx_target() == "analytics-results" else "paths.html"
    return render_template(f"console/analytics/{template}", q=question, answer=answer, collapse=collapse)


@bp.route("/analytics/funnel")
def analytics_funnel():
    """The funnel of a module's stages by cohort month, and the time to convert."""
    question = _question()
    answer = funnels.funnel(question["module"], question["params"], current_actor()) if question["module"] else None
    template = "_funnel.html" if htmx_target() == "analytics-results" else "funnel.html"
    return render_template(f"console/analytics/{template}", q=question, answer=answer)


@bp.app_template_filter("span")
def _span_filter(seconds) -> str:
    """Seconds as the two largest units: 3d 4h, 2h 5m, 40s; — for none."""
    if seconds is None:
        return "—"
    left = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2])
