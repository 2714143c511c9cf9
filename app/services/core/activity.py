"""Activity instances: the engine's entered/left trail of a step, written as one row per occurrence.

The engine reports, per step, each element occurrence it entered (`element_entered`, with its engine
task and the element it came from) and each it left (`element_left`, or `element_cancelled` with how:
interrupted by a boundary event or cancelled). An occurrence entered and left within the step (an
automatic task, a gateway, an event that fired at once) is inserted whole; one entered by an earlier
step (a human task, a wait) is ended in place, by its engine task. When the instance ends, what is
still open is ended as cancelled. A human task's completion names who completed it and its outcome, as
the CRM forms state it: a blueprint's `transition`, an approval's decision.
"""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import and_, bindparam, or_, select

from ...clock import as_utc
from ...extensions import db
from ...models import ActivityInstance, ActivityState
from ...models.base import UTCDateTime
from ...statuses import InstanceStatus
from .moments import millis_between

ACTIVITY_INSTANCES = ActivityInstance.__table__
_ELEMENT_EVENTS = {"element_entered", "element_left", "element_cancelled"}
# Form fields that say how a human task ended: a blueprint's transition, an approval's decision.
_OUTCOME_FIELDS = ("transition", "outcome", "decision", "approval")

def outcome_of(data: dict | None) -> str | None:
    """How a human task ended, from its submitted data: a transition's name, an approval's decision."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("approved"), bool):
        return "approved" if data["approved"] else "rejected"
    for name in _OUTCOME_FIELDS:
        value = data.get(name)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
            return str(value)[:255]
    return None


def duration_ms(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, int((as_utc(end) - as_utc(start)).total_seconds() * 1000))


class ActivityTrail:
    """Takes a step's element events into its `activities` (rows to insert) and `activity_ends`."""

    def __init__(self, step, info):
        self.step, self.info = step, info
        self.entered: dict = {}  # engine task id -> the row this step inserts
        self.cycles: dict[str, dict] = {}  # element -> a timer cycle's firing row (no task)
        self.completions: dict[str, tuple] = {}  # engine task id -> (user, outcome)
        self.end_element_id: str | None = None
        self.last_at: dt.datetime | None = None

    def take(self, event: dict) -> bool:
        """Take in one engine event; False for events that stay history rows (`task_completed` is both)."""
        kind = event["type"]
        if kind == "task_completed" and event.get("task_id"):
            self.completions[str(event["task_id"])] = (event.get("user"), outcome_of(event.get("data")))
            return False
        if kind not in _ELEMENT_EVENTS:
            return False
        at = event.get("at") or self.step.now
        self.last_at = at if self.last_at is None or at > self.last_at else self.last_at
        task_id = str(event["task_id"]) if event.get("task_id") else None
        if kind == "element_entered":
            self._enter(event, task_id, at)
        else:
            self._leave(event, task_id, at)
        return True

    def _enter(self, event: dict, task_id, at) -> None:
        inst, element_id = self.step.instance, event.get("element_id") or ""
        came_from = event.get("from_element_id")
        incoming = ((self.info.elements.get(element_id) or {}).get("incoming") or {}) if self.info else {}
        row = {"instance_id": inst.id, "definition_id": inst.definition_id, "process_key": inst.process_key,
               "task_id": task_id, "element_id": element_id, "element_name": event.get("element_name"),
               "element_type": event.get("element_type") or "", "from_element_id": came_from,
               "from_flow_id": incoming.get(came_from) if came_from else None, "started_at": at,
               "claimed_at": None, "ended_at": None, "duration_ms": None, "state": ActivityState.ACTIVE,
               "actor": None, "outcome": None}
        self.step.activities.append(row)
        if task_id is None:
            self.cycles[element_id] = row
        else:
            self.entered[task_id] = (row, event.get("top", True))

    def _leave(self, event: dict, task_id, at) -> None:
        state = event.get("state") or (ActivityState.COMPLETED if event["type"] == "element_left"
                                       else ActivityState.CANCELLED)
        actor, outcome = self.completions.get(task_id, (None, None)) if task_id else (None, None)
        ending = {"ended_at": at, "state": state, "actor": actor, "outcome": outcome}
        if task_id is None:
            row = self.cycles.pop(event.get("element_id") or "", None)
            if row is not None:
                row.update(ending, duration_ms=0)
            return
        if task_id in self.entered:
            row, top = self.entered.pop(task_id)
            row.update(ending, duration_ms=duration_ms(row["started_at"], at))
            if top and state == ActivityState.COMPLETED and row["element_type"].endswith("EndEvent"):
                self.end_element_id = row["element_id"]
            return
        self.step.activity_ends.append(dict(ending, task_id=task_id, element_id=event.get("element_id")))
        if state == ActivityState.COMPLETED and (event.get("element_type") or "").endswith("EndEvent"):
            self.end_element_id = event.get("element_id")


@functools.cache
def _ending_statements(dialect: str):
    """The two statements that end rows entered earlier, built once per database kind: by engine task (or
    element), and every open row of an instance."""
    a = ACTIVITY_INSTANCES
    ended_at = bindparam("ended_at", type_=UTCDateTime())
    target = (select(a.c.id).where(a.c.instance_id == bindparam("iid"), a.c.ended_at.is_(None),
                                   or_(a.c.task_id == bindparam("tid"),
                                       and_(a.c.task_id.is_(None), a.c.element_id == bindparam("eid"))))
              .order_by(a.c.task_id.is_(None), a.c.id).limit(1).scalar_subquery())
    by_task = a.update().where(a.c.id == target).values(
        ended_at=ended_at, duration_ms=millis_between(ended_at, a.c.started_at, dialect), state=bindparam("state"),
        actor=bindparam("actor"), outcome=bindparam("outcome"))
    still_open = a.update().where(a.c.instance_id == bindparam("iid"), a.c.ended_at.is_(None)).values(
        ended_at=ended_at, duration_ms=millis_between(ended_at, a.c.started_at, dialect),
        state=ActivityState.CANCELLED)
    return by_task, still_open


def end_earlier_activities(conn, step) -> None:
    """End the rows earlier steps entered: those this step left (one statement, each row found by its
    engine task; rows moved from the older two-event history carry none and are found by element, oldest
    first), and, when the instance ends otherwise than by completing, every one still open (cancelled)."""
    by_task, still_open = _ending_statements(conn.dialect.name)
    if step.activity_ends:
        conn.execute(by_task, [
            {"iid": step.instance.id, "tid": end["task_id"], "eid": end["element_id"], "ended_at": end["ended_at"],
             "state": end["state"], "actor": end["actor"], "outcome": end["outcome"]} for end in step.activity_ends])
    if step.updates.get("ended_at") is not None and step.updates.get("status") != InstanceStatus.COMPLETED:
        conn.execute(still_open, {"iid": step.instance.id, "ended_at": step.updates["ended_at"]})


_CLAIMED = (ACTIVITY_INSTANCES.update()
            .where(ACTIVITY_INSTANCES.c.instance_id == bindparam("iid"),
                   ACTIVITY_INSTANCES.c.task_id == bindparam("tid"),
                   ACTIVITY_INSTANCES.c.ended_at.is_(None), ACTIVITY_INSTANCES.c.claimed_at.is_(None))
            .values(claimed_at=bindparam("at", type_=UTCDateTime())))


def activity_claimed(instance_id: str, task_id: str, at: dt.datetime) -> None:
    """A human task was claimed: its open occurrence keeps the first claim (queue time ends there)."""
    db.session.connection().execute(_CLAIMED, {"iid": instance_id, "tid": task_id, "at": at})
