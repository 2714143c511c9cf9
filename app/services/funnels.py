"""The funnel of a module's stage field, by cohort month, and the time its records take to convert.

The stages are those of the module's active blueprint, in the order the diagram leads a record through
them (`blueprints.blueprint_stages`), the field being the binding's stage field; a module no blueprint
leads takes its goal field's picklist values in their order. The goal's lost values are left out: they
are where records leave the funnel, not steps of it.

A record reached a stage when an entry of the period set its stage field to that stage or to a later
one (the furthest stage it got to counts for every stage before it, so a funnel never widens). A
stage's conversion is the share of the records that reached the stage before it that reached it too.
A cohort is the UTC month a record entered the question (its creation or its first touchpoint); the
time to convert runs from that moment to its conversion (median: the middle value or the mean of the
two middle ones; p90: the nearest rank, the ceil(0.9 n)-th smallest). Everything is counted in SQL,
from the period's timeline rows.
"""
from __future__ import annotations

import statistics

from sqlalchemy import Integer, case, func, literal, select

from ..errors import NotFoundError
from ..extensions import db
from ..models import RecordEvent
from .record_analytics import cohort, in_period, month_of, rounded, scope_of
from .blueprints import blueprint_stages
from .conversion_goals import SETTING_TYPES, goal_view, sets_field, stage_value
from .core import Actor, seconds_between
from .modules import get_module, list_bindings


def stage_order(module: str, goal, actor: Actor) -> tuple[str, list[str], str]:
    """(field, stages, source) of the module's funnel: its active blueprint's stages, else the goal
    field's values; the goal's lost values left out."""
    field, stages, source = goal.field, [], f"field {goal.field}"
    for binding in list_bindings(module):
        if binding.kind == "blueprint" and binding.active:
            try:
                found = blueprint_stages(binding.process_key, actor)
            except NotFoundError:  # bound, not deployed (yet)
                continue
            field = (binding.options or {}).get("stage_field", "stage")
            stages, source = [s.name for s in found.stages], f"blueprint {binding.process_key}"
            break
    if not stages:
        spec = next((f for f in get_module(module).fields if f["name"] == goal.field), {})
        stages = list(spec.get("values") or [])
    lost = set(goal.lost or []) if field == goal.field else set()
    return field, [s for s in stages if s not in lost], source


def funnel(module: str, params: dict, actor: Actor) -> dict:
    """Stage to stage conversion of a module's records in a period, overall and per cohort month, and the
    time to convert (median, p90).

    Raises:
        NotFoundError: no such module.
        ForbiddenError: neither an admin nor a holder of `analytics` on the module.
        ValidationError: a bad period.
        NoConversionGoalError: the module has no goal to convert to.
    """
    scope, goal = scope_of(module, params, actor)
    field, stages, source = stage_order(scope.module, goal, actor)
    members = cohort(scope)
    ev = RecordEvent
    index = case({name: i for i, name in enumerate(stages)}, value=stage_value(field), else_=None) if stages \
        else literal(None, Integer)
    converts = sets_field(goal.field, [goal.value])
    # Only the entries that can set a field (a creation, an update, a stage change) are read; each record's
    # furthest stage and conversion come out of one grouped pass, then are counted per cohort here.
    reached = (select(ev.record_id, func.max(index).label("furthest"),
                      func.min(case((converts, ev.at))).label("converted_at"))
               .where(in_period(scope), ev.record_id.in_(select(members.c.record_id)),
                      ev.type.in_(SETTING_TYPES))
               .group_by(ev.record_id).subquery("reached"))
    records = db.session.execute(
        select(month_of(members.c.entered_at), reached.c.furthest,
               seconds_between(reached.c.converted_at, members.c.entered_at))
        .outerjoin(reached, reached.c.record_id == members.c.record_id)).all()
    overall = _rows(((("all"), furthest, seconds) for _, furthest, seconds in records), len(stages))
    months = _rows(records, len(stages))
    return {
        "scope": scope.view(), "goal": goal_view(goal), "field": field, "stages": stages, "source": source,
        "overall": _cohort("all", overall.get("all"), stages),
        "cohorts": [_cohort(month, months[month], stages) for month in sorted(months)],
    }


def _rows(records, stage_count: int) -> dict[str, dict]:
    """Per cohort of (cohort, furthest stage index, seconds to convert) rows: records, reached per stage,
    converted, median (the middle value, or the mean of the two middle ones) and p90 (nearest rank) seconds."""
    out: dict[str, dict] = {}
    times: dict[str, list[float]] = {}
    for group, furthest, seconds in records:
        row = out.setdefault(group, {"records": 0, "converted": 0, "reached": [0] * stage_count,
                                     "median": None, "p90": None})
        row["records"] += 1
        for k in range(stage_count):
            row["reached"][k] += furthest is not None and furthest >= k
        if seconds is not None:
            row["converted"] += 1
            times.setdefault(group, []).append(float(seconds))
    for group, seconds in times.items():
        ordered = sorted(seconds)
        out[group]["median"] = rounded(statistics.median(ordered))
        out[group]["p90"] = rounded(ordered[(len(ordered) * 9 + 9) // 10 - 1])
    return out


def _cohort(name: str, row: dict | None, stages: list[str]) -> dict:
    row = row or {"records": 0, "converted": 0, "reached": [0] * len(stages), "median": None, "p90": None}
    funnel_steps, before = [], row["records"]
    for stage, n in zip(stages, row["reached"]):
        funnel_steps.append({"stage": stage, "reached": n, "conversion": round(n / before, 4) if before else None})
        before = n
    return {"cohort": name, "records": row["records"], "converted": row["converted"],
            "conversion_rate": round(row["converted"] / row["records"], 4) if row["records"] else None,
            "stages": funnel_steps,
            "time_to_convert": {"median_seconds": row["median"], "p90_seconds": row["p90"]}}
