"""External tasks: workers outside the server fetch service tasks by topic, lock, complete or fail them.

An external service task (camunda:type="external") is held ready in its
workflow, like an asynchronous task, and projected into an `external_task`
row (written by `Step`). A worker claims rows with a conditional UPDATE (on
PostgreSQL after `FOR UPDATE SKIP LOCKED`), so two workers never hold the
same task; a lock that expires makes the task fetchable again. Completing
or throwing a BPMN error runs the instance under its lock like any other
command; a failure with no retries left stops the instance with an incident.

Who may: fetching, and every command on a task, needs the `work` permission
on its topic (`access`; the `workers` group holds it on every topic, admins
need none), and only tasks of such topics are listed. A lock belongs to the
worker id and to the user who fetched it (`locked_by`): a worker id is a
string anyone can send, so another user sending it is refused. Unlocking is
for that user or an admin.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import and_, or_, select

from ..engine import TaskCompletionError as EngineTaskCompletionError
from ..engine import TaskNotReadyError, priority_of  # noqa: F401 - priority_of: read through this use case
from ..errors import (
    ConflictError, ForbiddenError, NotFoundError, TaskCompletionError, ValidationError, WrongWorkerError,
)
from ..extensions import db
from ..models import ExternalTask, ProcessInstance
from ..statuses import InstanceStatus
from .access import granted_ids, require
from .core import (
    SYSTEM, Actor, InstanceNotActionableError, Page, TenantFilter, Turn, definition_info, narrowed, paginate,
    run_on_instance, utcnow, write_transaction,
)
from .core.projection import EXTERNAL_TASKS

MAX_LONG_POLL_MS = 60_000
POLL_INTERVAL_S = 0.2


@dataclass
class LockedTask:
    """A task a worker just locked, with what it needs to do the work."""

    task: ExternalTask
    process_key: str
    variables: dict


def _fetchable(now: dt.datetime):
    table = EXTERNAL_TASKS
    return and_(or_(table.c.lock_expires_at.is_(None), table.c.lock_expires_at < now),
                or_(table.c.retries.is_(None), table.c.retries > 0))


def fetch_and_lock(actor: Actor, worker_id: str, max_tasks: int, topics: list[dict], timeout_ms: int = 0, *,
                   use_priority: bool = True, created_order: str = "asc",
                   sleep: Callable[[float], None] | None = None,
                   clock: Callable[[], float] | None = None) -> list[LockedTask]:
    """Lock up to `max_tasks` tasks of `topics` for `worker_id` and `actor`, waiting up to `timeout_ms` for one.

    Args:
        actor: who fetches; they need `work` on every topic asked for, and the locks are theirs.
        topics: each `{"topicName", "lockDuration" (ms)}` with, optionally, Camunda's per-topic
            options: `variables` (names to return, None for all), `localVariables` (True: only the
            task's own variables, its input parameters), and the filters `businessKey`,
            `processDefinitionId`, `processDefinitionIdIn`, `processDefinitionKey`,
            `processDefinitionKeyIn` (an empty list filters nothing), `processVariables` (name →
            value the instance must hold), `tenantIdIn` and `withoutTenantId`.
        timeout_ms: long polling: look again every 0.2 s until a task comes or the time is up
            (at most 60 s); 0 looks once.
        use_priority: highest priority first; otherwise (and among equal priorities) by creation.
        created_order: "asc" (oldest first) or "desc".
        sleep, clock: `time.sleep` and `time.monotonic` unless a test controls time.

    Raises:
        ForbiddenError: a topic `actor` may not work (nothing is locked).
    """
    if not worker_id:
        raise ValidationError("workerId is required")
    if not topics or any(not t.get("topicName") or not t.get("lockDuration") or t["lockDuration"] <= 0
                         for t in topics):
        raise ValidationError("each topic needs a topicName and a positive lockDuration (ms)")
    _require_topics(actor, [t["topicName"] for t in topics])
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    order = _fetch_order(use_priority, created_order)
    deadline = clock() + min(max(timeout_ms or 0, 0), MAX_LONG_POLL_MS) / 1000
    while True:
        with write_transaction():
            locked = _claim(worker_id, actor.username, max(max_tasks, 0), topics, order, utcnow())
        if locked or clock() >= deadline:
            return locked
        db.session.rollback()  # a fresh snapshot on the next look, and the connection back to the pool
        sleep(min(POLL_INTERVAL_S, max(deadline - clock(), 0)))


def _require_topics(actor: Actor, names: list[str]) -> None:
    """403 naming every topic of `names` that `actor` may not work (one query for all of them)."""
    granted = granted_ids(actor, "work", "topic")
    refused = [] if granted is None else sorted(set(names) - granted)
    if refused:
        raise ForbiddenError(f"{actor.username} may not fetch tasks of topic {', '.join(map(repr, refused))}: "
                             "it needs the 'work' permission on the topic")


def _fetch_order(use_priority: bool, created_order: str) -> list:
    table = EXTERNAL_TASKS
    created = table.c.created_at.desc() if created_order == "desc" else table.c.created_at.asc()
    return ([table.c.priority.desc()] if use_priority else []) + [created, table.c.id]


def _topic_filters(topic: dict) -> list:
    """Camunda's per-topic filters, on the task's row and its instance."""
    table, instances = EXTERNAL_TASKS, ProcessInstance.__table__
    clauses = [table.c.topic == topic["topicName"], instances.c.status == InstanceStatus.RUNNING]
    if topic.get("businessKey") is not None:
        clauses.append(instances.c.business_key == topic["businessKey"])
    if topic.get("processDefinitionId"):
        clauses.append(table.c.definition_id == topic["processDefinitionId"])
    if topic.get("processDefinitionIdIn"):
        clauses.append(table.c.definition_id.in_(list(topic["processDefinitionIdIn"])))
    if topic.get("processDefinitionKey"):
        clauses.append(instances.c.process_key == topic["processDefinitionKey"])
    if topic.get("processDefinitionKeyIn"):
        clauses.append(instances.c.process_key.in_(list(topic["processDefinitionKeyIn"])))
    tenants = TenantFilter.of(topic.get("tenantIdIn"), topic.get("withoutTenantId"))
    if tenants is not None:
        clauses.append(tenants.clause(table.c.tenant_id))
    return clauses


def _claim(worker_id: str, username: str, max_tasks: int, topics: list[dict], order: list, now: dt.datetime) -> list[LockedTask]:
    conn = db.session.connection()
    table, instances = EXTERNAL_TASKS, ProcessInstance.__table__
    locked: list[LockedTask] = []
    for topic in topics:
        wanted = max_tasks - len(locked)
        if wanted <= 0:
            break
        stmt = (select(table.c.id).join(instances, instances.c.id == table.c.instance_id)
                .where(*_topic_filters(topic), _fetchable(now)).order_by(*order))
        required = topic.get("processVariables") or {}
        if required:
            candidates = _holding(conn, stmt.add_columns(instances.c.variables), required, wanted)
        else:
            stmt = stmt.limit(wanted)
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=table)
            candidates = conn.execute(stmt).scalars().all()
        expires = now + dt.timedelta(milliseconds=int(topic["lockDuration"]))
        for task_id in candidates:
            # Conditional: of two workers reaching for the same task, exactly one wins it.
            won = conn.execute(table.update().where(table.c.id == task_id, _fetchable(now))
                               .values(worker_id=worker_id, locked_by=username, lock_expires_at=expires)).rowcount
            if won:
                locked.append(_locked(task_id, topic.get("variables"), bool(topic.get("localVariables"))))
    return locked


def _holding(conn, stmt, required: dict, wanted: int) -> list[str]:
    """The first `wanted` task ids of `stmt` (rows of id, instance variables) whose instance holds `required`.

    Compared in Python, the same way on every database: JSON equality in SQL
    differs between SQLite and PostgreSQL (and `json` columns have none there).
    """
    ids: list[str] = []
    result = conn.execute(stmt.execution_options(yield_per=200))
    try:
        for task_id, variables in result:
            variables = variables or {}
            if all(name in variables and _same_value(variables[name], value) for name, value in required.items()):
                ids.append(task_id)
                if len(ids) >= wanted:
                    break
    finally:
        result.close()
    return ids


def _same_value(actual, expected) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):  # True is not 1
        return type(actual) is type(expected) and actual == expected
    return actual == expected


def _locked(task_id: str, names: list[str] | None, local_only: bool = False) -> LockedTask:
    task = db.session.get(ExternalTask, task_id, populate_existing=True)
    key, variables = db.session.execute(
        select(ProcessInstance.process_key, ProcessInstance.variables)
        .where(ProcessInstance.id == task.instance_id)).one()
    own = dict(task.local_variables or {})  # a multi-instance instance's item and counter
    variables = {**(variables or {}), **own}
    if local_only:  # the task's own variables: its input parameters, in the instance's data while it waits
        inputs = (definition_info(task.definition_id).elements.get(task.element_id, {}).get("io") or {})
        local = {name for name, _ in inputs.get("inputs", [])} | set(own)
        variables = {n: v for n, v in variables.items() if n in local}
    if names is not None:
        variables = {n: variables[n] for n in names if n in variables}
    return LockedTask(task, key, variables)


def get_external_task(task_id: str, actor: Actor) -> ExternalTask:
    """One external task; 404, not 403, for a task of a topic `actor` may not work."""
    task = db.session.get(ExternalTask, task_id)
    granted = granted_ids(actor, "work", "topic")
    if task is None or (granted is not None and task.topic not in granted):
        raise NotFoundError(f"no external task {task_id}")
    return task


def list_external_tasks(actor: Actor, topic: str | None = None, instance_id: str | None = None, worker_id: str | None = None,
                        locked: bool | None = None, page: int = 1, per_page: int = 20,
                        offset: int | None = None, tenants: TenantFilter | None = None) -> Page:
    """External tasks waiting for or held by workers, oldest first: those of the topics `actor` may work."""
    stmt = narrowed(select(ExternalTask), tenants, ExternalTask.tenant_id)
    granted = granted_ids(actor, "work", "topic")
    if granted is not None:
        stmt = stmt.where(ExternalTask.topic.in_(sorted(granted)))
    if topic:
        stmt = stmt.where(ExternalTask.topic == topic)
    if instance_id:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    if worker_id:
        stmt = stmt.where(ExternalTask.worker_id == worker_id)
    if locked is not None:
        now = utcnow()
        held = ExternalTask.lock_expires_at > now
        stmt = stmt.where(held if locked else or_(ExternalTask.lock_expires_at.is_(None), ~held))
    return paginate(stmt.order_by(ExternalTask.created_at, ExternalTask.id), page, per_page, offset)


def _task_row(task_id: str, actor: Actor) -> ExternalTask:
    """Inside a write transaction: the task's row, of a topic `actor` may work."""
    task = db.session.get(ExternalTask, task_id, populate_existing=True)
    if task is None:
        raise NotFoundError(f"no external task {task_id}")
    require(actor, "work", "topic", task.topic, f"work on external task {task_id}")
    return task


def _held_by(task: ExternalTask, username: str) -> bool:
    """The lock is `username`'s (a lock taken before its user was recorded is its worker id's alone)."""
    return task.locked_by is None or task.locked_by == username


def _locked_row(task_id: str, worker_id: str, actor: Actor, action: str) -> ExternalTask:
    """Inside a write transaction: the task's row, which `worker_id` must hold locked for `actor`."""
    task = _task_row(task_id, actor)
    if task.worker_id is not None and not _held_by(task, actor.username):
        # the same worker id sent by someone else: the id is only a string in the request
        raise ForbiddenError(f"external task {task_id} cannot be {action} by {actor.username}: "
                             "another user locked it")
    if task.worker_id != worker_id:
        mine = task.locked_by == actor.username or actor.is_admin
        holder = "not locked" if not task.worker_id else (
            f"locked by worker {task.worker_id!r}" if mine else "locked by another worker")
        raise WrongWorkerError(f"external task {task_id} cannot be {action} by worker {worker_id!r}: it is {holder}")
    return task


def complete(task_id: str, worker_id: str, variables: dict, actor: Actor) -> None:
    """The worker did the work: set `variables` on the task, run the instance on, drop the row."""
    with write_transaction():
        task = _locked_row(task_id, worker_id, actor, "completed")
        _run(task, "external_task_completed", worker_id, actor,
             lambda runner, wf, effects: runner.complete_held(wf, task.id, variables or {}, effects))


def handle_bpmn_error(task_id: str, worker_id: str, error_code: str, error_message: str | None,
                      variables: dict, actor: Actor) -> None:
    """The worker reports a business error: throw it to the task's error boundary event."""
    if not error_code:
        raise ValidationError("errorCode is required")
    with write_transaction():
        task = _locked_row(task_id, worker_id, actor, "reported with a BPMN error")
        data = dict(variables or {})
        _run(task, "external_task_bpmn_error", worker_id, actor,
             lambda runner, wf, effects: runner.throw_error(wf, task.id, error_code, data, effects,
                                                            message=error_message),
             {"error_code": error_code, "error_message": error_message})


def _run(task: ExternalTask, event: str, worker_id: str, actor: Actor, command, extra: dict | None = None) -> None:
    def act(turn: Turn):
        try:
            turn.run(command)
        except TaskNotReadyError as exc:
            raise ConflictError(f"external task {task.id} cannot go on: {exc}") from None
        except EngineTaskCompletionError as exc:  # rolled back with the transaction: the task stays locked
            raise TaskCompletionError.of(exc.incident, task.id, "external task") from None
        turn.step.record(event, element_id=task.element_id,
                         data={"worker": worker_id, "user": actor.username, "task_id": task.id, **(extra or {})})
        # writing the step drops this task's row: it is no longer held
    try:
        run_on_instance(task.instance_id, SYSTEM, act, refusal="the process instance is {status}")
    except NotFoundError:
        raise ConflictError("the process instance is gone") from None


def handle_failure(task_id: str, worker_id: str, error_message: str | None, error_details: str | None,
                   retries: int | None, retry_timeout_ms: int | None, actor: Actor) -> None:
    """The worker failed: with retries left the task is fetchable again after `retry_timeout_ms`;
    with none, the instance stops with a "failedExternalTask" incident."""
    if retries is None or retries < 0:
        raise ValidationError("retries must be a number of at least 0")
    with write_transaction():
        task = _locked_row(task_id, worker_id, actor, "failed")
        now = utcnow()
        task.retries, task.error_message, task.error_details = retries, error_message, error_details
        task.worker_id, task.locked_by = None, None
        task.lock_expires_at = now + dt.timedelta(milliseconds=max(retry_timeout_ms or 0, 0)) \
            if retries > 0 and retry_timeout_ms else None
        db.session.flush()
        if retries > 0:
            return
        def act(turn: Turn):
            element = turn.info.elements.get(task.element_id, {})
            message = error_message or f"external task {task.element_id} failed"
            step = turn.step
            step.now = now
            step.record("error", element_id=task.element_id, element_name=element.get("name"),
                        element_type=element.get("type"), message=message,
                        data={"worker": worker_id, "user": actor.username, "task_id": task.id,
                              "kind": "failedExternalTask"})
            step.incidents.append({"instance_id": turn.instance.id, "element_id": task.element_id,
                                   "element_name": element.get("name"), "message": message, "line": None,
                                   "created_at": now})
            step.set(status=InstanceStatus.ERROR)
        try:
            run_on_instance(task.instance_id, SYSTEM, act)
        except (NotFoundError, InstanceNotActionableError):
            return


def extend_lock(task_id: str, worker_id: str, new_duration_ms: int, actor: Actor) -> None:
    """Keep the task locked `new_duration_ms` from now (only by the worker and user that hold it)."""
    if not new_duration_ms or new_duration_ms <= 0:
        raise ValidationError("newDuration must be a positive number of milliseconds")
    with write_transaction():
        task = _locked_row(task_id, worker_id, actor, "extended")
        now = utcnow()
        if task.lock_expires_at is None or task.lock_expires_at < now:
            raise WrongWorkerError(f"the lock of external task {task_id} has expired")
        task.lock_expires_at = now + dt.timedelta(milliseconds=new_duration_ms)


def unlock(task_id: str, actor: Actor) -> None:
    """Release the task's lock: any worker may fetch it again (the user who locked it, or an admin)."""
    with write_transaction():
        task = _task_row(task_id, actor)
        if task.worker_id is not None and not actor.is_admin and task.locked_by != actor.username:
            raise ForbiddenError(f"only the user who locked external task {task_id} or an admin may unlock it")
        task.worker_id, task.locked_by, task.lock_expires_at = None, None, None


def definition_key(definition_id: str) -> str:
    return definition_info(definition_id).key

