"""Writing one command's effect on one instance: state, status and projections.

Instances are read through their projections (human tasks, active
activities, history, incidents), so lists and inboxes never deserialize a
workflow. A `Step` collects everything one command changes and writes it
with a handful of Core statements (one per table touched, rows batched),
which keeps a task completion to about nine statements in one transaction.
Writing calls no use case: what follows a step runs as after-step hooks
(`hooks.py`), registered by the app factory.
"""
from __future__ import annotations

import datetime as dt
import decimal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select

from ...engine import (STATE_VERSION, Outcome, resolve_assignment, resolve_candidates, resolve_due_date,
                       resolve_external_task, resolve_priority)
from ...errors import InstanceBusyError
from ...extensions import db
from ...models import (
    ENDED_STATE, ActiveActivity, ActivityInstance, EventSubscription, ExternalTask, HistoryEvent, HumanTask, Incident,
    ProcessInstance, TaskCandidate,
)
from ...models.base import UTCDateTime, new_id
from ...statuses import InstanceStatus, TaskState
from .context import Actor, engine, utcnow
from .activity import ActivityTrail, end_earlier_activities
from .definitions import DefinitionInfo
from .hooks import run_after_step
from .retention import removal_time
from .transactions import InstanceRow

FINAL_STATUSES = InstanceStatus.ENDED
# Tables, not mapped classes: projections are written with Core, bypassing the ORM's unit of work.
INSTANCES = ProcessInstance.__table__
TASKS = HumanTask.__table__
CANDIDATES = TaskCandidate.__table__
ACTIVITIES = ActiveActivity.__table__
INCIDENTS = Incident.__table__
HISTORY = HistoryEvent.__table__
ACTIVITY_INSTANCES = ActivityInstance.__table__
SUBSCRIPTIONS = EventSubscription.__table__
EXTERNAL_TASKS = ExternalTask.__table__


# Every step runs some of these: built once, a statement keeps its cache key and compiled form, so a
# write costs its parameters only (SQLAlchemy builds and keys a new statement object at every call).
_INSERT_INSTANCE = INSTANCES.insert()
# The SET clause is the parameters' column keys; the b_ parameters find the row and check its version.
_UPDATE_INSTANCE = INSTANCES.update().where(INSTANCES.c.id == bindparam("b_id"),
                                            INSTANCES.c.lock_version == bindparam("b_lock_version"))
_CANCEL_TASKS = (TASKS.update().where(TASKS.c.id.in_(bindparam("b_ids", expanding=True)),
                                      TASKS.c.state == TaskState.OPEN)
                 .values(state=TaskState.CANCELLED, completed_at=bindparam("b_at", type_=UTCDateTime())))
_INSERT_TASKS = TASKS.insert()
_INSERT_CANDIDATES = CANDIDATES.insert()
_DELETE_ACTIVE = ACTIVITIES.delete().where(ACTIVITIES.c.instance_id == bindparam("b_iid"))
_INSERT_ACTIVE = ACTIVITIES.insert()
# One active element replaced by another (a token moving on): the row of the one left becomes the other's.
_MOVE_ACTIVE = (ACTIVITIES.update()
                .where(ACTIVITIES.c.id == select(func.min(ACTIVITIES.c.id))
                       .where(ACTIVITIES.c.instance_id == bindparam("b_iid"),
                              ACTIVITIES.c.element_id == bindparam("b_element_id"),
                              ACTIVITIES.c.state == bindparam("b_state")).scalar_subquery())
                .values(element_id=bindparam("element_id"), element_name=bindparam("element_name"),
                        element_type=bindparam("element_type"), state=bindparam("state")))
_ACTIVE_KEY = ("element_id", "element_name", "element_type", "state")
_INSERT_INCIDENTS = INCIDENTS.insert()
_INSERT_HISTORY = HISTORY.insert()
_INSERT_ACTIVITY_INSTANCES = ACTIVITY_INSTANCES.insert()
_DELETE_SUBSCRIPTIONS = SUBSCRIPTIONS.delete().where(SUBSCRIPTIONS.c.instance_id == bindparam("b_iid"))
_INSERT_SUBSCRIPTIONS = SUBSCRIPTIONS.insert()


def jsonable(value):
    """Instance data as plain JSON (dates as ISO strings, decimals as strings)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def history(instance_id: str, type_: str, actor: Actor | None = None, **fields) -> None:
    """Append one audit row now (outside a Step)."""
    db.session.connection().execute(_INSERT_HISTORY, [_history_row(instance_id, type_, actor, utcnow(), fields)])


def _history_row(instance_id, type_, actor, now, fields) -> dict:
    row = {"instance_id": instance_id, "type": type_, "at": fields.pop("at", None) or now,
           "user": actor.username if actor else fields.pop("user", None), "element_id": None,
           "element_name": None, "element_type": None, "message": None, "data": None}
    row.update(fields)
    return row


@dataclass
class Step:
    """What one command does to one instance, written by `write()`."""

    instance: InstanceRow
    actor: Actor | None
    now: dt.datetime = field(default_factory=utcnow)
    updates: dict[str, Any] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    closed_tasks: set[str] = field(default_factory=set)
    active: list[dict] | None = None
    # the instance's active rows as they stand (as `active`): those of the state the step loaded; None: unknown
    active_before: list[dict] | None = None
    _loaded_definition: str | None = None
    incidents: list[dict] = field(default_factory=list)
    info: DefinitionInfo | None = None
    waits: list[dict] | None = None  # None: this step did not run the engine
    followed_by: object = None  # the result of a buffered message this step's waits received at once
    held: dict[str, str] | None = None  # asynchronous (external) tasks ready and waiting for a job (a worker)
    held_locals: dict[str, dict] | None = None  # their own variables, where they have some
    outcome_variables: dict = field(default_factory=dict)  # the variables the engine step left
    new: bool = False  # the step inserts the instance
    written: bool = False
    previous_timer_at: dt.datetime | None = None  # the instance's next timer before this step
    # Activity instances (`activity.py`): the rows this step enters, and the ends of rows entered earlier.
    activities: list[dict] = field(default_factory=list)
    activity_ends: list[dict] = field(default_factory=list)

    # -- collecting -------------------------------------------------------------
    def loaded(self, definition_id: str, active: list[dict]) -> None:
        """The step's command loaded the instance's stored state of `definition_id`, at these elements."""
        self._loaded_definition, self.active_before = definition_id, active

    def record(self, type_: str, **fields) -> None:
        self.events.append(_history_row(self.instance.id, type_, fields.pop("actor", self.actor), self.now, fields))

    def set(self, **values) -> None:
        self.updates.update(values)
        for key, value in values.items():
            setattr(self.instance, key, value)

    def set_status(self, status: str, reason: str | None = None, at: dt.datetime | None = None) -> None:
        """Change the instance's status (`at`: when, if not the step's start: an end reached by the engine)."""
        if self.instance.status == status:
            return
        at = at or self.now
        self.record("status_changed", message=reason, data={"from": self.instance.status, "to": status}, at=at)
        self.set(status=status)
        if status in FINAL_STATUSES:  # nothing acts on an ended instance: its engine state goes
            self.set(ended_at=at, removal_time=removal_time(self.instance.definition_id, at),
                     state=ENDED_STATE)

    def apply_outcome(self, info: DefinitionInfo, wf, outcome: Outcome) -> list[dict]:
        """Take in an engine outcome; returns the rows of the human tasks it opened."""
        self.info = info
        self.outcome_variables = outcome.variables
        if outcome.status != InstanceStatus.COMPLETED:  # a completed instance keeps no engine state
            self.set(state=engine().dump(info.dialect, wf))
        self.set(variables=jsonable(outcome.variables))
        activity = ActivityTrail(self, info)
        for event in outcome.events:
            if activity.take(event):
                continue
            self.events.append(_history_row(
                self.instance.id, event["type"], None, event.get("at") or self.now,
                {"user": event.get("user"), "element_id": event.get("element_id"),
                 "element_name": event.get("element_name"), "element_type": event.get("element_type"),
                 "message": event.get("message"),
                 "data": jsonable(event["data"]) if event.get("data") is not None else None}))
        self.closed_tasks |= outcome.closed_tasks
        opened = []
        for task in outcome.open_tasks:
            if task.id not in outcome.opened_tasks:
                continue
            element = info.elements.get(task.element_id, {})
            users = resolve_candidates(element.get("candidate_users"), task.data)
            groups = resolve_candidates(element.get("candidate_groups"), task.data)
            row = {"id": task.id, "instance_id": self.instance.id, "definition_id": info.id,
                   "process_key": info.key, "tenant_id": info.tenant_id, "element_id": task.element_id, "name": task.name,
                   "state": TaskState.OPEN,
                   "created_at": self.now, "assignee": resolve_assignment(element.get("assignee"), task.data),
                   "candidate_users": users, "candidate_groups": groups,
                   "due_at": resolve_due_date(element.get("due_date"), task.data, self.now),
                   "follow_up_at": resolve_due_date(element.get("follow_up_date"), task.data, self.now),
                   "priority": resolve_priority(element.get("priority"), task.data),
                   "completed_at": None, "completed_by": None}
            self.tasks.append(row)
            self.candidates += [{"task_id": task.id, "instance_id": self.instance.id, "kind": "user", "name": u}
                                for u in dict.fromkeys(users)]
            self.candidates += [{"task_id": task.id, "instance_id": self.instance.id, "kind": "group", "name": g}
                                for g in dict.fromkeys(groups)]
            opened.append(row)
        assigned = {row["id"] for row in opened if row["assignee"]}
        for row in self.activities:  # a task given to someone as it opens waits in no queue
            if row["task_id"] in assigned:
                row["claimed_at"] = row["started_at"]
        if info.id != self._loaded_definition or "definition_id" in self.updates:
            self.active_before = None  # another definition's rows: all written anew
        self.active = [dict(a, instance_id=self.instance.id, definition_id=info.id) for a in outcome.active]
        self.waits = outcome.waits if outcome.status in {InstanceStatus.RUNNING, InstanceStatus.ERROR} else []
        self.held = outcome.held
        self.held_locals = outcome.held_locals
        if outcome.incident is not None:
            self.incidents.append({"instance_id": self.instance.id, "element_id": outcome.incident.element_id,
                                   "element_name": outcome.incident.element_name,
                                   "message": outcome.incident.message, "line": outcome.incident.line,
                                   "created_at": self.now})
        if outcome.status == InstanceStatus.ERROR:
            self.set(status=InstanceStatus.ERROR)  # the "error" history event records the change
        elif outcome.status == InstanceStatus.COMPLETED:
            self.set(end_element_id=activity.end_element_id)
            self.set_status(InstanceStatus.COMPLETED, at=activity.last_at)
        return opened

    # -- writing ----------------------------------------------------------------
    @property
    def changed(self) -> bool:
        """Whether writing this step would change anything."""
        return bool(self.updates or self.events or self.activities or self.activity_ends or self.tasks
                    or self.closed_tasks or self.incidents
                    or self.active is not None or self.waits is not None or self.held is not None)

    def write(self, *, new: bool = False) -> None:
        """Write the step (one Core statement per table touched, on the session's connection),
        then run the after-step hooks."""
        conn = db.session.connection()
        inst = self.instance
        self.new, self.written = new, True
        self.previous_timer_at = inst.next_timer_at
        if self.waits is not None:  # the earliest waiting timer, which the jobs hook keeps a job for
            next_timer = min((w["due_at"] for w in self.waits if w["kind"] == "timer"), default=None)
            if next_timer != inst.next_timer_at:
                self.set(next_timer_at=next_timer)
        subscriptions = self._plan_subscriptions(new) if self.waits is not None else []
        if new:
            conn.execute(_INSERT_INSTANCE, [{
                **{c: getattr(inst, c) for c in InstanceRow.COLUMNS}, "state_version": STATE_VERSION,
                "updated_at": self.now}])
        elif self.updates:
            values = dict(self.updates, updated_at=self.now, lock_version=inst.lock_version + 1)
            if "state" in values:
                values["state_version"] = STATE_VERSION
            done = conn.execute(_UPDATE_INSTANCE, dict(values, b_id=inst.id, b_lock_version=inst.lock_version)).rowcount
            if not done:
                raise InstanceBusyError("the instance changed while this request ran; try again")
            inst.lock_version += 1
        if self.closed_tasks:
            # their candidate rows go with them (a trigger, migration 0031)
            conn.execute(_CANCEL_TASKS, {"b_ids": list(self.closed_tasks), "b_at": self.now})
        if self.tasks:
            conn.execute(_INSERT_TASKS, self.tasks)
        if self.candidates:
            conn.execute(_INSERT_CANDIDATES, self.candidates)
        if self.active is not None:
            self._write_active(conn, new)
        if self.incidents:
            conn.execute(_INSERT_INCIDENTS, [dict(i, id=new_id()) for i in self.incidents])
        if self.events:
            conn.execute(_INSERT_HISTORY, self.events)
        if self.activities:
            conn.execute(_INSERT_ACTIVITY_INSTANCES, self.activities)
        if self.activity_ends or (not new and self.updates.get("status") in FINAL_STATUSES):
            end_earlier_activities(conn, self)
        if self.held is not None and self.info is not None and self.info.external:
            self._sync_external_tasks(conn)
        for statement, rows in subscriptions:  # after the instance row: subscriptions reference it
            conn.execute(statement, rows)
        run_after_step(self)

    def _write_active(self, conn, new: bool) -> None:
        """Make the instance's active rows `active`: as they were before, nothing to write; one element
        replaced by another, one UPDATE; otherwise (or when the rows before are unknown, or the UPDATE finds
        no row) all of them written anew."""
        rows, inst = self.active, self.instance
        if not new and self.active_before is not None:
            was = Counter(tuple(r[k] for k in _ACTIVE_KEY) for r in self.active_before)
            now = Counter(tuple(r[k] for k in _ACTIVE_KEY) for r in rows)
            if was == now:
                return
            left, came = was - now, now - was
            if rows and left.total() == 1 and came.total() == 1:
                (old,), (fresh,) = left, came
                moved = conn.execute(_MOVE_ACTIVE, {"b_iid": inst.id, "b_element_id": old[0], "b_state": old[3],
                                                    **dict(zip(_ACTIVE_KEY, fresh))}).rowcount
                if moved == 1:
                    return
        if not new:
            conn.execute(_DELETE_ACTIVE, {"b_iid": inst.id})
        if rows:
            conn.execute(_INSERT_ACTIVE, rows)

    def _sync_external_tasks(self, conn) -> None:
        """One external_task row per held external task: new ones appear for workers to fetch,
        rows of tasks no longer held (completed, cancelled, interrupted) go."""
        inst = self.instance
        wanted = {tid: element for tid, element in self.held.items() if element in self.info.external}
        existing = set(conn.execute(EXTERNAL_TASKS.select().with_only_columns(EXTERNAL_TASKS.c.id)
                                    .where(EXTERNAL_TASKS.c.instance_id == inst.id)).scalars())
        gone = existing - set(wanted)
        if gone:
            conn.execute(EXTERNAL_TASKS.delete().where(EXTERNAL_TASKS.c.id.in_(gone)))
        fresh = [{"id": tid, "instance_id": inst.id, "definition_id": self.info.id, "tenant_id": self.info.tenant_id,
                  "element_id": element,
                  **resolve_external_task(self.info.external[element], self.outcome_variables),
                  "business_key": inst.business_key, "worker_id": None, "locked_by": None, "lock_expires_at": None,
                  "retries": None, "error_message": None, "error_details": None, "created_at": self.now,
                  "local_variables": (self.held_locals or {}).get(tid)}
                 for tid, element in wanted.items() if tid not in existing]
        if fresh:
            conn.execute(EXTERNAL_TASKS.insert(), fresh)
        if inst.status == InstanceStatus.RUNNING and existing & set(wanted):  # a retried instance: workers may fetch again
            conn.execute(EXTERNAL_TASKS.update().where(EXTERNAL_TASKS.c.instance_id == inst.id,
                                                       EXTERNAL_TASKS.c.retries == 0)
                         .values(retries=None, worker_id=None, locked_by=None, lock_expires_at=None))

    def _plan_subscriptions(self, new: bool) -> list:
        """Line the message/signal subscriptions up with what the instance waits for: the instance
        column goes into this step's update; returns the statements to run."""
        inst = self.instance
        events = [w for w in self.waits if w["kind"] in {"message", "signal"}]
        statements = []
        if inst.subscribed or events:
            if inst.subscribed and not new:
                statements.append((_DELETE_SUBSCRIPTIONS, {"b_iid": inst.id}))
            if events:
                statements.append((_INSERT_SUBSCRIPTIONS, [
                    {"id": new_id(), "instance_id": inst.id, "kind": w["kind"], "name": w["name"],
                     "business_key": inst.business_key, "element_id": w.get("element_id"), "created_at": self.now}
                    for w in events]))
            if inst.subscribed != bool(events):
                self.set(subscribed=bool(events))
        return statements
