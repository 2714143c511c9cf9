"""What Path Finder and the funnel share: the scope of a question, its cohort of records, their
touchpoints as steps, and the moments each record converted, was lost or cancelled.

A question names a module and a period [start, end). Its cohort is the records whose creation (anchor
`created`) or first touchpoint (anchor `first_touchpoint`) falls in the period, narrowed by owner, by a
process that ran on them (its key or one definition version) and by a business key prefix: the
processes a record's bindings start carry the record's id as their business key, so that prefix is
one of the record's id. Only the module's timeline rows of the period are read (the index on
(module, at)), never an instance's state: what happened after the period's end is not seen, so a
question about the past gets the answer it would have had then (the idle measure excepted, which is
taken against the app clock).

A touchpoint is a timeline entry whose data has `"touchpoint": true` (the touchpoint API marks its
entries so), and every `stage_changed` entry whatever its data says. Its node is the entry's type, or
`type: name` when its data names it; a stage change's node is `stage: <the stage reached>`. A record's
steps are its touchpoints in timeline order (the entries' ids, which follow the clock).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from ..clock import as_utc
from ..errors import ResourceLimitError, StagecoachError, ValidationError
from ..extensions import db
from ..models import ConversionGoal, ProcessInstance, Record, RecordEvent
from .access import granted_ids, require_analytics
from .conversion_goals import SETTING_TYPES, find_goal, sets_field
from .core import Actor, utcnow
from .modules import get_module

ANCHORS = ("created", "first_touchpoint")
DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_RECORDS = 50_000  # records of one answer: what Path Finder holds in memory to group the paths
ENDING_ROLES = ("blueprint", "process")  # the processes a record's journey runs in (not approvals, reviews)


class NoConversionGoalError(StagecoachError):
    status, slug, title = 409, "no-conversion-goal", "The module has no conversion goal"


@dataclass(frozen=True)
class Scope:
    """The records a question is about, and the period whose timeline rows are read."""

    module: str
    start: dt.datetime
    end: dt.datetime
    anchor: str = "created"
    owner: str | None = None
    process_key: str | None = None
    definition_id: str | None = None
    business_key_prefix: str | None = None

    def view(self) -> dict:
        return {"module": self.module, "start": self.start, "end": self.end, "anchor": self.anchor,
                "owner": self.owner, "process_key": self.process_key, "definition_id": self.definition_id,
                "business_key_prefix": self.business_key_prefix}


def scope_of(module: str, params: dict, actor: Actor) -> tuple[Scope, ConversionGoal]:
    """The checked scope of a question and the module's goal.

    Raises:
        NotFoundError: no such module.
        ForbiddenError: the caller is neither an admin nor a holder of `analytics` on the module.
        ValidationError: the period is empty, reversed or longer than MAX_DAYS.
        NoConversionGoalError: the module has no conversion goal.
    """
    mod = get_module(module)
    require_analytics(actor, mod.api_name)
    end = as_utc(params.get("end")) or utcnow()
    try:
        start = as_utc(params.get("start")) or end - dt.timedelta(days=DEFAULT_DAYS)
    except OverflowError:  # an end in year 1: no period of the default length before it
        raise ValidationError("the period starts before the first representable date",
                              errors={"from": ["give the start of the period"]}) from None
    if start >= end:
        raise ValidationError("the period is empty", errors={"from": ["must be before `to`"]})
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise ValidationError("the period is too long", errors={"from": [f"at most {MAX_DAYS} days before `to`"]})
    anchor = params.get("anchor") or "created"
    if anchor not in ANCHORS:
        raise ValidationError("unknown anchor", errors={"anchor": [f"one of {', '.join(ANCHORS)}"]})
    goal = find_goal(mod.api_name)
    if goal is None:
        raise NoConversionGoalError(f"{mod.api_name} has no conversion goal; an admin sets one with "
                                    f"PUT /api/v1/modules/{mod.api_name}/conversion-goal")
    scope = Scope(mod.api_name, start, end, anchor, params.get("owner") or None, params.get("process_key") or None,
                  params.get("definition_id") or None, params.get("business_key_prefix") or None)
    return scope, goal


def analysable_modules(actor: Actor) -> list[str] | None:
    """The modules whose analytics `actor` may read (None: every module, for admins and `*` grants)."""
    ids = granted_ids(actor, "analytics", "module")
    return None if ids is None else sorted(ids)


def may_analyse(actor: Actor) -> bool:
    """Whether the actor may read the analytics of some module (the console shows them the link)."""
    modules = analysable_modules(actor)
    return modules is None or bool(modules)


# -- SQL pieces ---------------------------------------------------------------------------------

def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def is_touchpoint(event=RecordEvent):
    """SQL: the entry is a touchpoint (marked so, or a stage change): it has a node (`touchpoint_node`)."""
    return event.node.is_not(None)


def node_of(event=RecordEvent):
    """SQL: the entry's node: `stage: <to>` for a stage change, `type: name` when named, else its type."""
    return event.node


def in_period(scope: Scope, event=RecordEvent):
    return and_(event.module == scope.module, event.at >= scope.start, event.at < scope.end)


def month_of(moment):
    """SQL: the UTC month of a timestamp, as YYYY-MM."""
    if _sqlite():
        return func.strftime("%Y-%m", moment)
    return func.to_char(func.timezone("UTC", moment), "YYYY-MM")


def cohort(scope: Scope):
    """SQL subquery (record_id, entered_at): the records of the question and the moment each entered it."""
    ev = RecordEvent
    if scope.anchor == "created":
        stmt = select(ev.record_id, func.min(ev.at).label("entered_at")).where(in_period(scope), ev.type == "created")
    else:
        earlier = aliased(RecordEvent)
        stmt = select(ev.record_id, func.min(ev.at).label("entered_at")).where(
            in_period(scope), is_touchpoint(ev),
            ~exists().where(earlier.record_id == ev.record_id, earlier.module == scope.module,
                            earlier.at < scope.start, is_touchpoint(earlier)))
    if scope.owner:
        stmt = stmt.where(ev.record_id.in_(select(Record.id).where(Record.module == scope.module,
                                                                   Record.owner == scope.owner)))
    if scope.process_key:
        stmt = stmt.where(ev.record_id.in_(select(ProcessInstance.record_id).where(
            ProcessInstance.process_key == scope.process_key, ProcessInstance.record_id.is_not(None))))
    if scope.definition_id:
        stmt = stmt.where(ev.record_id.in_(select(ProcessInstance.record_id).where(
            ProcessInstance.definition_id == scope.definition_id, ProcessInstance.record_id.is_not(None))))
    if scope.business_key_prefix:
        stmt = stmt.where(ev.record_id.startswith(scope.business_key_prefix, autoescape=True))
    return stmt.group_by(ev.record_id).subquery("cohort")


def cancels():
    """SQL over RecordEvent: a process the record's journey runs in (blueprint or bound process) ended cancelled."""
    return and_(RecordEvent.type == "process_ended", RecordEvent.data["status"].as_string() == "cancelled",
                RecordEvent.data["role"].as_string().in_(ENDING_ROLES))


@dataclass
class Marks:
    """One record of the cohort: when it entered, converted, was lost or cancelled (the first entry of each,
    by id), and its last touchpoint in the period."""

    entered_at: dt.datetime
    converted_at: dt.datetime | None = None
    converted_id: int | None = None
    lost_id: int | None = None
    cancelled_id: int | None = None
    last_touch_at: dt.datetime | None = None


def walk(scope: Scope, goal: ConversionGoal, members) -> tuple[dict[str, Marks], dict[str, list[tuple]]]:
    """Per record of the cohort, its marks and its path: its touchpoints in the period as (id, node, at),
    in timeline order; one pass over the period's rows of the cohort (its touchpoints, and the entries that
    may convert, lose or cancel it).

    Raises:
        ResourceLimitError: more than MAX_RECORDS records entered the period.
    """
    ev = RecordEvent
    entered = db.session.execute(select(members.c.record_id, members.c.entered_at).limit(MAX_RECORDS + 1)).all()
    if len(entered) > MAX_RECORDS:
        raise ResourceLimitError(f"more than {MAX_RECORDS} records entered the period; shorten it or filter",
                                  limit="analytics records", limit_value=MAX_RECORDS)
    per_record = {record_id: Marks(as_utc(at)) for record_id, at in entered}
    paths: dict[str, list[tuple]] = {record_id: [] for record_id in per_record}
    converts, loses = sets_field(goal.field, [goal.value]), sets_field(goal.field, list(goal.lost or []))
    flag = {"converts": case((converts, 1), else_=0), "loses": case((loses, 1), else_=0),
            "cancels": case((cancels(), 1), else_=0)}
    rows = db.session.connection().execute(
        select(ev.record_id, ev.id, ev.node, ev.at, flag["converts"], flag["loses"], flag["cancels"])
        .where(in_period(scope), ev.record_id.in_(select(members.c.record_id)),
               or_(ev.node.is_not(None), ev.type.in_((*SETTING_TYPES, "process_ended"))))
        .order_by(ev.record_id, ev.id)).all()
    last_touch: dict[str, object] = {}  # raw timestamps (one type per database), converted once at the end
    for record_id, entry_id, node, at, converts_it, loses_it, cancels_it in rows:
        mark = per_record.get(record_id)
        if mark is None:
            continue
        if converts_it and mark.converted_id is None:
            mark.converted_id, mark.converted_at = entry_id, as_utc(at)
        if loses_it and mark.lost_id is None:
            mark.lost_id = entry_id
        if cancels_it and mark.cancelled_id is None:
            mark.cancelled_id = entry_id
        if node is not None:
            paths[record_id].append((entry_id, node, at))
            if record_id not in last_touch or at > last_touch[record_id]:
                last_touch[record_id] = at
    for record_id, at in last_touch.items():
        per_record[record_id].last_touch_at = as_utc(at)
    return per_record, paths


def rounded(value, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)
