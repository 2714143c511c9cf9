"""Path Finder: how the records of a module and a period moved through their touchpoints and stages.

Three views of one cohort (see `analytics` for the cohort, the period and what a touchpoint is):

- the graph: a node per touchpoint kind or stage, an edge per two consecutive touchpoints of one record,
  with how often it was taken and the median time between the two; counted in SQL (window functions,
  one pass over the period's touchpoints);
- the variants: whole paths (every step of a record, or with consecutive repeats collapsed), how many
  records took each and how many of those converted; the most frequent first, ties broken by more
  conversions, then by the steps compared in order (alphabetically, a shorter path before its longer
  continuation), so the order is stable whatever the database returns;
- the drop-offs: each record that did not convert in the period, why (`lost`: it reached one of the
  goal's lost values; else `cancelled`: its blueprint or bound process ended cancelled; else `idle`: no
  touchpoint for `idle_days` before the app clock's now; else `open`, still moving) and its last step
  before that (`null` when it had none).
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict


from ..clock import as_utc
from ..errors import ValidationError
from .record_analytics import Marks, cohort, rounded, scope_of, walk
from .conversion_goals import goal_view
from .core import Actor, utcnow

DEFAULT_VARIANTS = 10
MAX_VARIANTS = 100
DEFAULT_IDLE_DAYS = 30
REASONS = ("lost", "cancelled", "idle", "open")


def path_finder(module: str, params: dict, actor: Actor) -> dict:
    """The graph, the most frequent variants and the drop-offs of a module's records in a period.

    `params`: start, end (the period; default the 90 days before now), anchor (`created` or
    `first_touchpoint`), owner, process_key, definition_id, business_key_prefix; variants (how many to
    return, 1 to 100), collapse (consecutive repeats of a step count once in a variant), idle_days.

    Raises:
        NotFoundError: no such module.
        ForbiddenError: neither an admin nor a holder of `analytics` on the module.
        ValidationError: a bad period or limit.
        NoConversionGoalError: the module has no goal to convert to.
        ResourceLimitError: more records than `analytics.MAX_RECORDS` entered the period.
    """
    limit = params.get("variants") or DEFAULT_VARIANTS
    idle_days = params.get("idle_days") or DEFAULT_IDLE_DAYS
    if not 1 <= limit <= MAX_VARIANTS:
        raise ValidationError("too many variants asked", errors={"variants": [f"between 1 and {MAX_VARIANTS}"]})
    scope, goal = scope_of(module, params, actor)
    members = cohort(scope)
    per_record, walked = walk(scope, goal, members)
    # The graph, counted from the paths: nodes, and consecutive pairs of one record's steps with their gaps.
    paths: dict[str, list[tuple[int, str]]] = {}
    occurrences: Counter = Counter()
    node_records: dict[str, set] = defaultdict(set)
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record_id, path in walked.items():
        previous = None
        for _, node, at in path:
            occurrences[node] += 1
            node_records[node].add(record_id)
            if previous is not None:
                gaps[(previous[0], node)].append((as_utc(at) - as_utc(previous[1])).total_seconds())
            previous = (node, at)
        paths[record_id] = [(step_id, node) for step_id, node, _ in path]
    converted = sum(1 for m in per_record.values() if m.converted_id is not None)
    return {
        "scope": scope.view(),
        "goal": goal_view(goal),
        "records": len(per_record),
        "converted": converted,
        "conversion_rate": _rate(converted, len(per_record)),
        "nodes": _nodes(occurrences, node_records),
        "edges": _edges(gaps),
        "variants": _variants(per_record, paths, limit, bool(params.get("collapse"))),
        "drop_offs": _drop_offs(per_record, paths, idle_days),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _nodes(occurrences: Counter, node_records: dict) -> list[dict]:
    return sorted(({"node": node, "occurrences": n, "records": len(node_records[node])}
                   for node, n in occurrences.items()), key=lambda n: (-n["occurrences"], n["node"]))


def _edges(gaps: dict) -> list[dict]:
    """Consecutive pairs of one record's steps: how often, and the median seconds between the two (the middle
    value, or the mean of the two middle ones)."""
    edges = [{"source": source, "target": target, "count": len(seconds),
              "median_seconds": rounded(statistics.median(seconds))} for (source, target), seconds in gaps.items()]
    return sorted(edges, key=lambda e: (-e["count"], e["source"], e["target"]))


def _collapsed(nodes: list[str]) -> list[str]:
    return [node for i, node in enumerate(nodes) if i == 0 or nodes[i - 1] != node]


def _variants(per_record: dict[str, Marks], paths: dict, limit: int, collapse: bool) -> dict:
    taken: Counter = Counter()
    won: Counter = Counter()
    for record_id, mark in per_record.items():
        nodes = [node for _, node in paths.get(record_id, [])]
        key = tuple(_collapsed(nodes) if collapse else nodes)
        taken[key] += 1
        won[key] += mark.converted_id is not None
    ordered = sorted(taken, key=lambda key: (-taken[key], -won[key], key))
    return {"collapsed": collapse, "distinct": len(taken), "limit": limit, "items": [
        {"steps": list(key), "records": taken[key], "converted": won[key], "conversion_rate": _rate(won[key], taken[key])}
        for key in ordered[:limit]]}


def _drop_offs(per_record: dict[str, Marks], paths: dict, idle_days: int) -> dict:
    idle_before = utcnow() - dt.timedelta(days=idle_days)
    counts = dict.fromkeys(REASONS, 0)
    last_steps: Counter = Counter()
    for record_id, mark in per_record.items():
        if mark.converted_id is not None:
            continue
        path = paths.get(record_id, [])
        if mark.lost_id is not None:
            reason, before = "lost", mark.lost_id
        elif mark.cancelled_id is not None:
            reason, before = "cancelled", mark.cancelled_id
        elif (mark.last_touch_at or mark.entered_at) <= idle_before:
            reason, before = "idle", None
        else:
            reason, before = "open", None
        counts[reason] += 1
        if reason == "open":
            continue
        earlier = [node for step_id, node in path if before is None or step_id < before]
        last_steps[(reason, earlier[-1] if earlier else None)] += 1
    items = [{"reason": reason, "last_step": step, "records": n} for (reason, step), n in last_steps.items()]
    items.sort(key=lambda d: (-d["records"], REASONS.index(d["reason"]), d["last_step"] or ""))
    return {"idle_days": idle_days, "counts": counts, "items": items}
