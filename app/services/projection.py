"""Writing one command's effect on one instance: state, status and projections.

Instances are read through their projections (human tasks, active
activities, history, incidents), so lists and inboxes never deserialize a
workflow. A `Step` collects everything one command changes and writes it
with a handful of Core statements (one per table touched, rows batched),
which keeps a task completion to about nine statements in one transaction.
"""
from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import Any

from ..engine import (STATE_VERSION, Outcome, is_modeler_expression, resolve_assignment, resolve_candidates,
                      resolve_due_date, resolve_priority)
from ..errors import InstanceBusyError
from ..extensions import db
from ..models import (
    ActiveActivity, EventSubscription, ExternalTask, HistoryEvent, HumanTask, Incident, Job, ProcessInstance,
    TaskCandidate,
)
from .context import Actor, engine, utcnow
from .definitions import DefinitionInfo
from .transactions import InstanceRow

FINAL_STATUSES = {"completed", "cancelled"}
# Tables, not mapped classes: projections are written with Core, bypassing the ORM's unit of work.
INSTANCES = ProcessInstance.__table__
TASKS = HumanTask.__table__
CANDIDATES = TaskCandidate.__table__
ACTIVITIES = ActiveActivity.__table__
INCIDENTS = Incident.__table__
HISTORY = HistoryEvent.__table__
JOBS = Job.__table__
SUBSCRIPTIONS = EventSubscription.__table__
EXTERNAL_TASKS = ExternalTask.__table__


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
    db.session.connection().execute(HISTORY.insert(), [_history_row(instance_id, type_, actor, utcnow(), fields)])


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
    incidents: list[dict] = field(default_factory=list)
    info: DefinitionInfo | None = None
    waits: list[dict] | None = None  # None: this step did not run the engine
    followed_by: object = None  # the result of a buffered message this step's waits received at once
    held: dict[str, str] | None = None  # asynchronous (external) tasks ready and waiting for a job (a worker)
    outcome_variables: dict = field(default_factory=dict)  # the variables the engine step left

    # -- collecting -------------------------------------------------------------
    def record(self, type_: str, **fields) -> None:
        self.events.append(_history_row(self.instance.id, type_, fields.pop("actor", self.actor), self.now, fields))

    def set(self, **values) -> None:
        self.updates.update(values)
        for key, value in values.items():
            setattr(self.instance, key, value)

    def set_status(self, status: str, reason: str | None = None) -> None:
        if self.instance.status == status:
            return
        self.record("status_changed", message=reason, data={"from": self.instance.status, "to": status})
        self.set(status=status)
        if status in FINAL_STATUSES:
            self.set(ended_at=self.now)

    def apply_outcome(self, info: DefinitionInfo, wf, outcome: Outcome) -> list[dict]:
        """Take in an engine outcome; returns the rows of the human tasks it opened."""
        self.info = info
        self.outcome_variables = outcome.variables
        self.set(state=engine().dump(info.dialect, wf), variables=jsonable(outcome.variables))
        for event in outcome.events:
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
                   "process_key": info.key, "element_id": task.element_id, "name": task.name, "state": "open",
                   "created_at": self.now, "assignee": resolve_assignment(element.get("assignee"), task.data),
                   "candidate_users": users, "candidate_groups": groups,
                   "due_at": resolve_due_date(element.get("due_date"), task.data, self.now),
                   "follow_up_at": resolve_due_date(element.get("follow_up_date"), task.data, self.now),
                   "priority": resolve_priority(element.get("priority"), task.data),
                   "completed_at": None, "completed_by": None}
            self.tasks.append(row)
            self.candidates += [{"task_id": task.id, "kind": "user", "name": u} for u in dict.fromkeys(users)]
            self.candidates += [{"task_id": task.id, "kind": "group", "name": g} for g in dict.fromkeys(groups)]
            opened.append(row)
        self.active = [dict(a, instance_id=self.instance.id) for a in outcome.active]
        self.waits = outcome.waits if outcome.status in {"running", "error"} else []
        self.held = outcome.held
        if outcome.incident is not None:
            self.incidents.append({"instance_id": self.instance.id, "element_id": outcome.incident.element_id,
                                   "element_name": outcome.incident.element_name,
                                   "message": outcome.incident.message, "line": outcome.incident.line,
                                   "created_at": self.now})
        if outcome.status == "error":
            self.set(status="error")  # the "error" history event records the change
        elif outcome.status == "completed":
            self.set_status("completed")
        return opened

    # -- writing ----------------------------------------------------------------
    def write(self, *, new: bool = False) -> None:
        """Write the step: one Core statement per table touched, on the session's connection."""
        conn = db.session.connection()
        inst = self.instance
        wait_statements = self._plan_waits(new) if self.waits is not None else []
        if new:
            conn.execute(INSTANCES.insert(), [{
                **{c: getattr(inst, c) for c in InstanceRow.COLUMNS}, "state_version": STATE_VERSION,
                "updated_at": self.now}])
        elif self.updates:
            values = dict(self.updates, updated_at=self.now, lock_version=inst.lock_version + 1)
            if "state" in values:
                values["state_version"] = STATE_VERSION
            done = conn.execute(INSTANCES.update().where(INSTANCES.c.id == inst.id,
                                                         INSTANCES.c.lock_version == inst.lock_version)
                                .values(**values)).rowcount
            if not done:
                raise InstanceBusyError("the instance changed while this request ran; try again")
            inst.lock_version += 1
        if self.closed_tasks:
            conn.execute(TASKS.update().where(TASKS.c.id.in_(self.closed_tasks), TASKS.c.state == "open")
                         .values(state="cancelled", completed_at=self.now))
        if self.tasks:
            conn.execute(TASKS.insert(), self.tasks)
        if self.candidates:
            conn.execute(CANDIDATES.insert(), self.candidates)
        if self.active is not None:
            if not new:
                conn.execute(ACTIVITIES.delete().where(ACTIVITIES.c.instance_id == inst.id))
            if self.active:
                conn.execute(ACTIVITIES.insert(), self.active)
        if self.incidents:
            conn.execute(INCIDENTS.insert(), [dict(i, id=_new_id()) for i in self.incidents])
        if self.events:
            conn.execute(HISTORY.insert(), self.events)
        if self.held and self._held_asynchronous():
            self._queue_async(conn)
        if self.held is not None and self.info is not None and self.info.external:
            self._sync_external_tasks(conn)
        for statement, rows in wait_statements:  # after the instance row: jobs reference it
            if rows is None:
                conn.execute(statement)
            else:
                conn.execute(statement, rows)
        if inst.record_id:
            from .crm_actions import sync_record  # records follow the processes bound to them
            sync_record(self)
        if self.waits and any(w["kind"] == "message" for w in self.waits) and _buffered_messages_exist():
            from .events import deliver_buffered  # a message sent with a ttl may be waiting for this instance
            self.followed_by = deliver_buffered(inst.id)


    def _held_asynchronous(self) -> list[str]:
        """The held elements a job runs (external tasks wait for their workers instead)."""
        external = self.info.external if self.info is not None else {}
        return [e for e in self.held.values() if e not in external]

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
        fresh = [{"id": tid, "instance_id": inst.id, "definition_id": self.info.id, "element_id": element,
                  **_topic_and_priority(self.info.external[element], self.outcome_variables),
                  "business_key": inst.business_key, "worker_id": None, "lock_expires_at": None, "retries": None,
                  "error_message": None, "error_details": None, "created_at": self.now}
                 for tid, element in wanted.items() if tid not in existing]
        if fresh:
            conn.execute(EXTERNAL_TASKS.insert(), fresh)
        if inst.status == "running" and existing & set(wanted):  # a retried instance: workers may fetch again
            conn.execute(EXTERNAL_TASKS.update().where(EXTERNAL_TASKS.c.instance_id == inst.id,
                                                       EXTERNAL_TASKS.c.retries == 0)
                         .values(retries=None, worker_id=None, lock_expires_at=None))

    def _queue_async(self, conn) -> None:
        """Asynchronous tasks are ready: make sure a job (due now) will run them."""
        inst = self.instance
        exists = conn.execute(JOBS.select().with_only_columns(JOBS.c.id).where(
            JOBS.c.instance_id == inst.id, JOBS.c.kind == "async").limit(1)).first()
        if exists is None:
            retries = max((self.info.asynchronous.get(e, {}).get("retries", 3) for e in self._held_asynchronous()),
                          default=3) if self.info is not None else 3
            conn.execute(JOBS.insert(), [{"id": _new_id(), "kind": "async", "instance_id": inst.id,
                                          "due_at": self.now, "status": "pending", "attempts": 0,
                                          "max_attempts": retries, "created_at": self.now}])

    def _plan_waits(self, new: bool) -> list:
        """Line the timer job and the message/signal subscriptions up with what the instance
        waits for: instance columns go into this step's update; returns the statements to run."""
        inst = self.instance
        timers = [w["due_at"] for w in self.waits if w["kind"] == "timer"]
        next_timer = min(timers) if timers else None
        events = [w for w in self.waits if w["kind"] in {"message", "signal"}]
        statements = []
        if next_timer != inst.next_timer_at:
            if inst.next_timer_at is not None and not new:
                statements.append((JOBS.delete().where(JOBS.c.instance_id == inst.id, JOBS.c.kind == "timer"), None))
            if next_timer is not None:
                statements.append((JOBS.insert(), [{
                    "id": _new_id(), "kind": "timer", "instance_id": inst.id, "due_at": next_timer,
                    "status": "pending", "attempts": 0, "max_attempts": 3, "created_at": self.now}]))
            self.set(next_timer_at=next_timer)
        if inst.subscribed or events:
            if inst.subscribed and not new:
                statements.append((SUBSCRIPTIONS.delete().where(SUBSCRIPTIONS.c.instance_id == inst.id), None))
            if events:
                statements.append((SUBSCRIPTIONS.insert(), [
                    {"id": _new_id(), "instance_id": inst.id, "kind": w["kind"], "name": w["name"],
                     "business_key": inst.business_key, "element_id": w.get("element_id"), "created_at": self.now}
                    for w in events]))
            if inst.subscribed != bool(events):
                self.set(subscribed=bool(events))
        return statements


def _topic_and_priority(external: dict, variables: dict) -> dict:
    """An external task's topic and priority: literal, or expressions over the instance's variables
    (camunda:topic="${region}-billing", camunda:taskPriority="${urgency}"); priority 0 by default."""
    from .external_tasks import priority_of  # it imports this module

    topic = external["topic"]
    resolved = resolve_assignment(topic, variables) if is_modeler_expression(topic) else topic
    return {"topic": resolved or topic, "priority": priority_of({"external": external}, variables)}


def _buffered_messages_exist() -> bool:
    from ..models import BufferedMessage
    return db.session.scalar(BufferedMessage.__table__.select().with_only_columns(
        BufferedMessage.__table__.c.id).limit(1)) is not None


def _new_id() -> str:
    from ..models.base import new_id
    return new_id()
