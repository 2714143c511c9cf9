"""What Path Finder and the funnel must answer, computed by a test from the plan it drove the server with.

A plan is a list of customers, each with the touchpoints it made (time, node, timeline entry id order is the
order they were made in), when it converted, was lost or cancelled. The rules are those the API documents
(README, "Process analytics"); they are written here a second time, in plain Python, over the plan only.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

REASONS = ("lost", "cancelled", "idle", "open")


@dataclass
class Customer:
    record_id: str
    entered_at: dt.datetime
    steps: list[tuple[dt.datetime, str]] = field(default_factory=list)
    converted_at: dt.datetime | None = None
    lost_after: int | None = None  # how many of its steps came before it was lost
    cancelled_after: int | None = None  # how many of its steps came before its process was cancelled
    stages: list[str] = field(default_factory=list)  # the stage values it was set to, in order

    def touch(self, at: dt.datetime, node: str) -> None:
        self.steps.append((at, node))


def _rate(part: int, whole: int):
    return round(part / whole, 4) if whole else None


def expected_path_finder(customers: list[Customer], now: dt.datetime, *, idle_days: int = 30, limit: int = 10,
                         collapse: bool = False) -> dict:
    nodes: Counter = Counter()
    node_records: dict[str, set] = defaultdict(set)
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for c in customers:
        for i, (at, node) in enumerate(c.steps):
            nodes[node] += 1
            node_records[node].add(c.record_id)
            if i:
                before_at, before = c.steps[i - 1]
                gaps[(before, node)].append((at - before_at).total_seconds())
    taken: Counter = Counter()
    won: Counter = Counter()
    for c in customers:
        path = [node for _, node in c.steps]
        if collapse:
            path = [n for i, n in enumerate(path) if i == 0 or path[i - 1] != n]
        taken[tuple(path)] += 1
        won[tuple(path)] += c.converted_at is not None
    order = sorted(taken, key=lambda k: (-taken[k], -won[k], k))
    counts = dict.fromkeys(REASONS, 0)
    last: Counter = Counter()
    for c in customers:
        if c.converted_at is not None:
            continue
        if c.lost_after is not None:
            reason, kept = "lost", c.steps[:c.lost_after]
        elif c.cancelled_after is not None:
            reason, kept = "cancelled", c.steps[:c.cancelled_after]
        elif (c.steps[-1][0] if c.steps else c.entered_at) <= now - dt.timedelta(days=idle_days):
            reason, kept = "idle", c.steps
        else:
            reason, kept = "open", None
        counts[reason] += 1
        if kept is not None:
            last[(reason, kept[-1][1] if kept else None)] += 1
    drops = [{"reason": r, "last_step": s, "records": n} for (r, s), n in last.items()]
    drops.sort(key=lambda d: (-d["records"], REASONS.index(d["reason"]), d["last_step"] or ""))
    converted = sum(c.converted_at is not None for c in customers)
    return {
        "records": len(customers), "converted": converted, "conversion_rate": _rate(converted, len(customers)),
        "nodes": sorted(({"node": n, "occurrences": k, "records": len(node_records[n])} for n, k in nodes.items()),
                        key=lambda d: (-d["occurrences"], d["node"])),
        "edges": sorted(({"from": a, "to": b, "count": len(v), "median_seconds": float(statistics.median(v))}
                         for (a, b), v in gaps.items()), key=lambda e: (-e["count"], e["from"], e["to"])),
        "variants": {"collapsed": collapse, "distinct": len(taken), "limit": limit, "items": [
            {"steps": list(k), "records": taken[k], "converted": won[k], "conversion_rate": _rate(won[k], taken[k])}
            for k in order[:limit]]},
        "drop_offs": {"idle_days": idle_days, "counts": counts, "items": drops},
    }


def expected_funnel(customers: list[Customer], stages: list[str]) -> dict:
    """Per cohort month (and `all`): records, reached per stage (furthest stage), converted, median and p90."""
    def row(group: list[Customer]) -> dict:
        furthest = [max((stages.index(s) for s in c.stages if s in stages), default=-1) for c in group]
        times = sorted((c.converted_at - c.entered_at).total_seconds() for c in group if c.converted_at)
        steps, before = [], len(group)
        for k, stage in enumerate(stages):
            n = sum(f >= k for f in furthest)
            steps.append({"stage": stage, "reached": n, "conversion": _rate(n, before)})
            before = n
        p90 = times[-(-9 * len(times) // 10) - 1] if times else None
        return {"records": len(group), "converted": len(times), "conversion_rate": _rate(len(times), len(group)),
                "stages": steps, "time_to_convert": {
                    "median_seconds": float(statistics.median(times)) if times else None,
                    "p90_seconds": float(p90) if times else None}}
    months: dict[str, list[Customer]] = defaultdict(list)
    for c in customers:
        months[c.entered_at.strftime("%Y-%m")].append(c)
    return {"overall": {"cohort": "all", **row(customers)},
            "cohorts": [{"cohort": m, **row(months[m])} for m in sorted(months)]}
