"""Activity rows of the shipped Case SLA process written by the factory, and what analytics should answer
about them, computed here in Python from the same rows (nearest-rank percentiles).

Twelve cases, a day apart: resolved by support, closed after 7 days without the customer's reply, cancelled
while at the task, or still open there (some unclaimed); queue and work times drawn from a seeded random,
so some tasks finish after their 4-hour due date and fire the 4- and 8-hour escalation timers.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

GATEWAYS = ("work_on_case", "case_outcome", "reply_or_seven_days")
FLOW_TARGETS = {  # the gateways' outgoing flows in the diagram
    ("work_on_case", "flow_work_to_resolve"): "resolve_case",
    ("case_outcome", "flow_resolved"): "close_case",
    ("case_outcome", "flow_waiting_on_customer"): "note_waiting",
    ("reply_or_seven_days", "flow_wait_to_reply"): "customer_replied",
    ("reply_or_seven_days", "flow_wait_to_silence"): "seven_days_silent",
}


@dataclass
class Row:
    instance: "Case"
    element_id: str
    element_type: str
    started: dt.datetime
    ended: dt.datetime | None
    state: str
    from_element: str | None = None
    from_flow: str | None = None
    claimed: dt.datetime | None = None
    actor: str | None = None
    groups: list | None = None
    due: dt.datetime | None = None

    @property
    def duration_ms(self):
        return ms(self.ended - self.started) if self.ended else None


@dataclass
class Case:
    business_key: str
    owner: str
    module: str | None
    started: dt.datetime
    status: str = "running"
    ended: dt.datetime | None = None
    end: str | None = None
    id: str | None = None
    rows: list[Row] = field(default_factory=list)


def ms(delta: dt.timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def nearest_rank(values: list, p: int):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


def cases(now: dt.datetime, count: int = 12, seed: int = 11) -> list[Case]:
    """The scenario, in memory (timestamps in whole milliseconds)."""
    rnd = random.Random(seed)
    now = now.replace(microsecond=0)
    made = []
    for i in range(count):
        t = now - dt.timedelta(days=20) + dt.timedelta(days=i, minutes=rnd.randint(0, 600))
        case = Case(("CASE-%03d" if i % 4 else "VIP-%03d") % i, ("ann", "bob")[i % 2], "cases" if i % 3 else None, t)
        kind = "cancelled" if i % 6 == 5 else ("resolved", "resolved", "closed", "open")[i % 4]
        add = case.rows.append

        def step(element, kind_, start, end, source=None, flow=None, state=None, **extra):
            add(Row(case, element, kind_, start, end, state or ("completed" if end else "active"), source, flow,
                    **extra))

        step("start_case_opened", "startEvent", t, t)
        script = t + dt.timedelta(milliseconds=rnd.randint(1, 900))
        step("open_case", "scriptTask", t, script, "start_case_opened", "flow_opened_to_open")
        step("work_on_case", "exclusiveGateway", script, script, "open_case", "flow_open_to_work")
        queue = dt.timedelta(seconds=rnd.randint(60, 7200))
        work = dt.timedelta(seconds=rnd.randint(60, 6 * 3600))
        groups = ["support"] if i % 3 else ["support", "tier2"]
        due = script + dt.timedelta(hours=4)
        task = dict(groups=groups, due=due)
        if kind == "open":
            claimed = None if i % 8 == 3 else script + queue
            step("resolve_case", "userTask", script, None, "work_on_case", "flow_work_to_resolve",
                 claimed=claimed, actor="maria" if claimed else None, **task)
            end_of_task = now
        elif kind == "cancelled":
            end_of_task = script + dt.timedelta(hours=1)
            step("resolve_case", "userTask", script, end_of_task, "work_on_case", "flow_work_to_resolve",
                 state="cancelled", **task)
            case.status, case.ended = "cancelled", end_of_task
        else:
            end_of_task = script + queue + work
            step("resolve_case", "userTask", script, end_of_task, "work_on_case", "flow_work_to_resolve",
                 claimed=script + queue, actor=("maria", "omar")[i % 2], **task)
        for hours, boundary in ((4, "four_hours_unresolved"), (8, "eight_hours_unresolved")):
            fired = script + dt.timedelta(hours=hours)
            if fired < end_of_task:
                step(boundary, "boundaryEvent", fired, fired, "resolve_case")
        if kind in ("open", "cancelled"):
            made.append(case)
            continue
        t = end_of_task
        step("case_outcome", "exclusiveGateway", t, t, "resolve_case", "flow_resolve_to_outcome")
        if kind == "resolved":
            done = t + dt.timedelta(milliseconds=rnd.randint(1, 500))
            step("close_case", "scriptTask", t, done, "case_outcome", "flow_resolved")
            step("case_resolved", "endEvent", done, done, "close_case", "flow_close_to_end")
            case.status, case.ended, case.end = "completed", done, "case_resolved"
        else:
            step("note_waiting", "scriptTask", t, t, "case_outcome", "flow_waiting_on_customer")
            step("reply_or_seven_days", "eventBasedGateway", t, t, "note_waiting", "flow_note_to_wait")
            week = t + dt.timedelta(days=7)
            step("seven_days_silent", "intermediateCatchEvent", t, week, "reply_or_seven_days", "flow_wait_to_silence")
            step("auto_close", "scriptTask", week, week, "seven_days_silent", "flow_silence_to_close")
            step("closed_without_reply", "endEvent", week, week, "auto_close", "flow_auto_close_to_end")
            case.status, case.ended, case.end = "completed", week, "closed_without_reply"
        made.append(case)
    return made


def write(make, definition_id: str, made: list[Case]) -> None:
    """Insert the scenario's instances and rows through the factory."""
    for case in made:
        case.id = make.process_instance(definition_id, started_at=case.started, status=case.status,
                                        ended_at=case.ended, end_element_id=case.end, business_key=case.business_key,
                                        started_by=case.owner, record_module=case.module)
        for row in case.rows:
            make.activity(case.id, row.element_id, started_at=row.started, ended_at=row.ended, state=row.state,
                          element_type=row.element_type, from_element_id=row.from_element, from_flow_id=row.from_flow,
                          claimed_at=row.claimed, actor=row.actor, candidate_groups=row.groups, due_at=row.due)


# -- what analytics should answer ------------------------------------------------------------------

def rows_of(made: list[Case], *, started_from=None, started_to=None, prefix=None, owner=None, module=None):
    return [r for c in made if _case_matches(c, prefix, owner, module) for r in c.rows
            if (started_from is None or r.started >= started_from) and (started_to is None or r.started < started_to)]


def _case_matches(case: Case, prefix, owner, module) -> bool:
    return ((prefix is None or case.business_key.startswith(prefix)) and (owner is None or case.owner == owner)
            and (module is None or case.module == module))


def expected_heat(rows: list[Row]) -> tuple[dict, dict]:
    elements: dict[str, dict] = {}
    for r in rows:
        e = elements.setdefault(r.element_id, {"count": 0, "completed": 0, "cancelled": 0, "interrupted": 0,
                                               "active": 0, "durations": []})
        e["count"] += 1
        e[r.state] += 1
        if r.state == "completed":
            e["durations"].append(r.duration_ms)
    for e in elements.values():
        values = e.pop("durations")
        e["p50_ms"], e["p90_ms"] = nearest_rank(values, 50), nearest_rank(values, 90)
    flows = defaultdict(int)
    for r in rows:
        if r.from_flow:
            flows[r.from_flow] += 1
    return elements, dict(flows)


def expected_branches(rows: list[Row]) -> dict:
    """(gateway, flow) -> taken, instances, outcomes {(status, end): instances}."""
    out: dict = {}
    for (gateway, flow) in FLOW_TARGETS:
        taken = [r for r in rows if r.from_element == gateway and r.from_flow == flow]
        instances = {r.instance.id: r.instance for r in taken}
        outcomes = defaultdict(int)
        for case in instances.values():
            outcomes[(case.status, case.end)] += 1
        out[(gateway, flow)] = {"taken": len(taken), "instances": len(instances), "outcomes": dict(outcomes)}
    return out


def expected_bottlenecks(rows: list[Row], now: dt.datetime, limit: int = 10) -> dict:
    durations = defaultdict(list)
    for r in rows:
        if r.state == "completed":
            durations[r.element_id].append(r.duration_ms)
    ranked = sorted(((-len(v) * nearest_rank(v, 50), eid, len(v), nearest_rank(v, 50), nearest_rank(v, 90))
                     for eid, v in durations.items()))
    elements = [{"element_id": eid, "completed": n, "p50_ms": p50, "p90_ms": p90, "score_ms": -score}
                for score, eid, n, p50, p90 in ranked[:limit]]
    groups: dict = {}
    for r in rows:
        if r.groups is None:
            continue
        for g in r.groups:
            e = groups.setdefault((r.element_id, g), {"tasks": 0, "claimed": 0, "queue": [], "work": []})
            e["tasks"] += 1
            if r.claimed:
                e["claimed"] += 1
                e["queue"].append(ms(r.claimed - r.started))
                if r.state == "completed":
                    e["work"].append(ms(r.ended - r.claimed))
    human = {key: {"tasks": e["tasks"], "claimed": e["claimed"],
                   "queue_p50_ms": nearest_rank(e["queue"], 50), "queue_p90_ms": nearest_rank(e["queue"], 90),
                   "work_p50_ms": nearest_rank(e["work"], 50), "work_p90_ms": nearest_rank(e["work"], 90)}
             for key, e in groups.items()}
    due = [r for r in rows if r.due]
    sla = {}
    for r in due:
        s = sla.setdefault(r.element_id, {"with_due_date": 0, "completed_late": 0, "open_overdue": 0})
        s["with_due_date"] += 1
        s["completed_late"] += int(r.state == "completed" and r.ended > r.due)
        s["open_overdue"] += int(r.state == "active" and r.due < now)
    fired = {b: sum(1 for r in rows if r.element_id == b and r.state == "completed")
             for b in ("four_hours_unresolved", "eight_hours_unresolved")}
    return {"elements": elements, "human": human, "sla": sla, "fired": fired}


def expected_durations(made: list[Case]) -> dict:
    completed = [c for c in made if c.status == "completed"]
    by_status = defaultdict(int)
    for c in made:
        by_status[c.status] += 1
    values = [ms(c.ended - c.started) for c in completed]
    ends = defaultdict(list)
    for c in completed:
        ends[c.end].append(ms(c.ended - c.started))
    return {"instances": len(made), "by_status": dict(by_status), "completed": len(completed),
            "p50_ms": nearest_rank(values, 50), "p90_ms": nearest_rank(values, 90),
            "end_events": {end: (len(v), nearest_rank(v, 50), nearest_rank(v, 90)) for end, v in ends.items()}}
