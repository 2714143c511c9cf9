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

from sqlalchemy import Float, Integer, case, cast, func, literal, select

from ..errors import NotFoundError
from ..extensions import db
from ..models import RecordEvent
from .record_analytics import cohort, in_period, month_of, rounded, scope_of, seconds_between
from .blueprints import blueprint_stages
from .conversion_goals import goal_view, sets_field, stage_value
from .core import Actor
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
    reached = (select(ev.record_id, func.max(index).label("furthest"),
                      func.min(case((converts, ev.at))).label("converted_at"))
               .where(in_period(scope), ev.record_id.in_(select(members.c.record_id)))
               .group_by(ev.record_id).subquery("reached"))
    records = (select(members.c.record_id, month_of(members.c.entered_at).label("cohort"), reached.c.furthest,
                      seconds_between(reached.c.converted_at, members.c.entered_at).label("seconds"))
               .outerjoin(reached, reached.c.record_id == members.c.record_id).subquery("records"))
    overall = _rows(records, literal("all"), len(stages))
    months = _rows(records, records.c.cohort, len(stages))
    return {
        "scope": scope.view(), "goal": goal_view(goal), "field": field, "stages": stages, "source": source,
        "overall": _cohort("all", overall.get("all"), stages),
        "cohorts": [_cohort(month, months[month], stages) for month in sorted(months)],
    }


def _rows(records, group, stage_count: int) -> dict[str, dict]:
    """Per group: records, reached per stage, converted, median and p90 seconds to convert."""
    group = group.label("grp")
    counts = select(group, func.count().label("records"), func.count(records.c.seconds).label("converted"),
                    *[func.coalesce(func.sum(case((records.c.furthest >= k, 1), else_=0)), 0).label(f"s{k}")
                      for k in range(stage_count)]).group_by(group)
    out = {row.grp: {"records": int(row.records), "converted": int(row.converted),
                     "reached": [int(getattr(row, f"s{k}")) for k in range(stage_count)],
                     "median": None, "p90": None} for row in db.session.execute(counts)}
    timed = select(group, records.c.seconds).where(records.c.seconds.is_not(None)).subquery()
    ranked = select(timed.c.grp, timed.c.seconds,
                    func.row_number().over(partition_by=timed.c.grp, order_by=timed.c.seconds).label("rank"),
                    func.count().over(partition_by=timed.c.grp).label("total")).subquery()
    middle = ranked.c.rank.in_(((ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2))
    nearest = ranked.c.rank == (ranked.c.total * 9 + 9) // 10
    for row in db.session.execute(select(ranked.c.grp, cast(func.avg(case((middle, ranked.c.seconds))), Float),
                                         cast(func.max(case((nearest, ranked.c.seconds))), Float))
                                  .group_by(ranked.c.grp)):
        out[row[0]]["median"], out[row[0]]["p90"] = rounded(row[1]), rounded(row[2])
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
