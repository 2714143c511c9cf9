"""The inbox: finding, claiming and completing human tasks."""
from __future__ import annotations

from sqlalchemy import bindparam, func, or_, select, update

from ..engine import TaskCompletionError as EngineTaskCompletionError
from ..engine import TaskNotReadyError
from ..errors import ConflictError, NotFoundError, TaskCompletionError, ValidationError
from ..extensions import db
from ..models import HumanTask, ProcessInstance, Record, User
from ..models.base import UTCDateTime
from ..statuses import InstanceStatus, TaskState
from .access import (
    is_candidate, require_admin, require_assignee, require_claim, require_delegate,
    require_read_task, require_work_on,
)
from .core import (
    LOCK_MODE, Actor, InstanceResult, Turn, activity_claimed, definition_info, history, instance_columns,
    instance_from, run_on_instance, utcnow, write_transaction,
)
from .forms import check_variable_names, validate_form
from .instances import change_variables
from .task_lists import SORT_COLUMNS, list_tasks  # noqa: F401 - the inbox's lists, used as tasks.list_tasks


def find_task(task_id: str) -> HumanTask:
    """The task, unchecked: for commands that decide who may act themselves (404 if there is none)."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFoundError(f"no task {task_id}")
    return task


def get_task(task_id: str, actor: Actor) -> HumanTask:
    """A task the actor may read: theirs, offered to them, or of an instance they may read (404 otherwise)."""
    task = find_task(task_id)
    require_read_task(actor, task)
    return task


def task_records(tasks) -> dict[str, dict]:
    """The CRM record each task's instance runs on, by task id: {"module", "record_id", "data"} (one query).

    For tasks the caller was given by `list_tasks` or `get_task`: whoever may read a task may read the
    record its instance runs on (`access.readable_records`). Tasks of instances without a record are left out.
    """
    by_instance: dict[str, list[str]] = {}
    for task in tasks:
        by_instance.setdefault(task.instance_id, []).append(task.id)
    if not by_instance:
        return {}
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.record_module, ProcessInstance.record_id, Record.data)
        .outerjoin(Record, Record.id == ProcessInstance.record_id)
        .where(ProcessInstance.id.in_(list(by_instance)), ProcessInstance.record_id.is_not(None))).all()
    return {task_id: {"module": module, "record_id": record_id, "data": data or {}}
            for instance_id, module, record_id, data in rows for task_id in by_instance[instance_id]}


def task_form(task: HumanTask) -> dict:
    """The task's form as a JSON Schema."""
    element = definition_info(task.definition_id).elements.get(task.element_id, {})
    return element.get("form") or {"type": "object", "properties": {}, "additionalProperties": False}


def task_camunda_form(task: HumanTask) -> dict | None:
    """The Camunda form (form-js JSON) the task names, for a client rendering it with form-js; None if none."""
    return definition_info(task.definition_id).elements.get(task.element_id, {}).get("camunda_form")


def task_form_key(task: HumanTask) -> str | None:
    """The task's camunda:formKey (zeebe:formDefinition formKey), for a client rendering its own form."""
    return definition_info(task.definition_id).elements.get(task.element_id, {}).get("form_key")


def _require_open(task: HumanTask) -> None:
    if task.state != TaskState.OPEN:
        raise ConflictError(f"task is {task.state}", task_state=task.state)


def _require_not_suspended(task: HumanTask) -> None:
    """A task of a suspended instance is suspended with it: nobody claims, gives back or hands it on until
    the instance is resumed (as Camunda refuses to act on a suspended task)."""
    status = db.session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == task.instance_id))
    if status == InstanceStatus.SUSPENDED:
        raise ConflictError("the task's instance is suspended; resume it first", instance_status=status)


def claim_task(task_id: str, actor: Actor) -> HumanTask:
    """Assign an open task to the caller (a candidate, or an admin)."""
    task = find_task(task_id)
    require_read_task(actor, task)  # a task the caller may not read is not found, whatever else is wrong
    _require_open(task)
    _require_not_suspended(task)
    require_claim(task, actor)
    if task.assignee == actor.username:
        return task
    if task.assignee is not None:
        raise ConflictError(f"task is already claimed by {task.assignee}", assignee=task.assignee)
    with write_transaction():
        # Conditional update: of two users claiming at once, exactly one wins.
        won = db.session.execute(
            update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "open", HumanTask.assignee.is_(None))
            .values(assignee=actor.username).execution_options(synchronize_session=False)).rowcount
        if not won:
            raise ConflictError("task was claimed or completed by someone else")
        history(task.instance_id, "task_claimed", actor, element_id=task.element_id, element_name=task.name)
        activity_claimed(task.instance_id, task.id, utcnow())
    db.session.refresh(task)
    return task


def unclaim_task(task_id: str, actor: Actor) -> HumanTask:
    """Give an assigned task back to its candidates."""
    task = find_task(task_id)
    require_read_task(actor, task)
    _require_open(task)
    _require_not_suspended(task)
    if task.assignee is None:
        return task
    require_assignee(task, actor, "unclaim")
    with write_transaction():
        db.session.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "open")
                           .values(assignee=None).execution_options(synchronize_session=False))
        history(task.instance_id, "task_unclaimed", actor, element_id=task.element_id, element_name=task.name)
    db.session.refresh(task)
    return task


def complete_task(task_id: str, variables: dict, actor: Actor, *, check_form: bool = True) -> InstanceResult:
    """Complete a task with form data and run the instance until it waits again.

    One write transaction: read the task, check the caller and the form, lock
    the instance, run the engine, write the step.

    Args:
        check_form: accept only the task's form fields, checked against the form (Stagecoach's own
            API, Camunda's submit-form). False is Camunda's `complete`, which takes any variables:
            only their names are checked (`forms.check_variable_names`); sizes, values and who may
            complete stay checked as always.
    """
    with write_transaction():
        task = task_row(task_id)
        require_read_task(actor, task)
        _require_open(task)
        if task.delegation_state == "PENDING":  # as in Camunda: the delegate resolves, the owner completes
            raise ConflictError("a delegated task cannot be completed; its delegate resolves it first",
                                delegation_state="PENDING")
        require_work_on(task, actor, "complete")
        if check_form:
            data = validate_form(task_form(task), variables or {})
        else:
            data = check_variable_names(variables or {})
        return complete_checked(task, data, actor)


def complete_on_behalf(task_id: str, variables: dict, on_behalf_of: str, reason: str,
                       actor: Actor) -> InstanceResult:
    """An admin completes an open task for its assignee, or for a candidate of an unassigned task, with a reason.

    As Camunda records a completion in its user operation log under the user who performed it, the task's
    `completed_by` and the `task_completed` history event name the admin; the task's assignee becomes (or
    stays) the user it was done for. A `task_completed_on_behalf` event follows it in the instance's history
    with the reason (`message`) and `{task_id, on_behalf_of, completed_by}`. The form is checked as for any
    completion.

    Raises:
        ForbiddenError: the actor is not an admin.
        ValidationError: no reason; no user of that name; the user is not the task's assignee (an assigned
            task) or not a candidate (an unassigned one).
        ConflictError: the task is not open, waits for a delegate, or someone else claimed it meanwhile.
    """
    require_admin(actor, "complete a task on behalf of another user")
    on_behalf_of, reason = (on_behalf_of or "").strip(), (reason or "").strip()
    missing = {name: ["required"] for name, value in (("on_behalf_of", on_behalf_of), ("reason", reason))
               if not value}
    if missing:
        raise ValidationError("name the user the task is completed for and the reason", errors=missing)
    with write_transaction():
        task = task_row(task_id)
        _require_open(task)
        if task.delegation_state == "PENDING":
            raise ConflictError("a delegated task cannot be completed; its delegate resolves it first",
                                delegation_state="PENDING")
        _require_worker(task, on_behalf_of)
        data = validate_form(task_form(task), variables or {})
        return complete_checked(task, data, actor, on_behalf_of=on_behalf_of, reason=reason)


def _require_worker(task, username: str) -> None:
    """`username` is the task's assignee or, for an unassigned task, one of its candidates (400 otherwise)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        problem = f"no user {username}"
    elif task.assignee is not None:
        problem = None if task.assignee == username else f"the task is assigned to {task.assignee}"
    elif is_candidate(task, Actor(user.username, tuple(user.group_names))):
        problem = None
    else:
        problem = f"{username} is not a candidate of this task"
    if problem:
        raise ValidationError(problem, errors={"on_behalf_of": [problem]})


_TASKS = HumanTask.__table__
_INSTANCES = ProcessInstance.__table__
# The task with its instance, read for a completion: one statement instead of two (PostgreSQL: the instance
# locked as `run_on_instance` would lock it; SQLite: the write transaction holds the database).
_TASK_ROW = (select(_TASKS, *instance_columns())
             .join(_INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id).where(_TASKS.c.id == bindparam("b_id")))
_TASK_ROW_LOCKED = _TASK_ROW.with_for_update(of=_INSTANCES, **LOCK_MODE)
# A completion, conditional on what the checks saw: a claim that landed in between wins. Either anyone may
# complete the open task (an admin, the owners of a blueprint transition), or its assignee, or anyone
# while it has none (the worker then becomes its assignee).
_COMPLETE = dict(state=TaskState.COMPLETED, completed_at=bindparam("b_at", type_=UTCDateTime()),
                 completed_by=bindparam("b_by"), assignee=func.coalesce(_TASKS.c.assignee, bindparam("b_worker")))
_COMPLETE_ANY = (_TASKS.update().where(_TASKS.c.id == bindparam("b_id"), _TASKS.c.state == TaskState.OPEN)
                 .values(**_COMPLETE))
_COMPLETE_AS_WORKER = (_TASKS.update().where(_TASKS.c.id == bindparam("b_id"), _TASKS.c.state == TaskState.OPEN,
                                             or_(_TASKS.c.assignee == bindparam("b_worker"),
                                                 _TASKS.c.assignee.is_(None)))
                       .values(**_COMPLETE))


def task_row(task_id: str):
    """The task's row with its instance (`instance_from`), read and the instance locked inside the caller's
    write transaction; 404 if none."""
    conn = db.session.connection()
    stmt = _TASK_ROW_LOCKED if conn.dialect.name == "postgresql" else _TASK_ROW
    task = conn.execute(stmt, {"b_id": task_id}).one_or_none()
    if task is None:
        raise NotFoundError(f"no task {task_id}")
    return task


def complete_checked(task, data: dict, actor: Actor, *, as_owner: bool = False, on_behalf_of: str | None = None,
                     reason: str | None = None) -> InstanceResult:
    """With caller and form already checked: complete the task and run its instance until it waits.

    Args:
        as_owner: the caller was authorized by something other than the
            task's assignment (a blueprint transition's owners).
        on_behalf_of, reason: an admin completes it for this user (see `complete_on_behalf`).
    """

    def act(turn: Turn):
        try:
            outcome = turn.run(lambda runner, wf, effects: runner.complete(wf, task.id, data, actor.username, effects))
        except TaskNotReadyError:
            raise ConflictError("task was completed by someone else") from None
        except EngineTaskCompletionError as exc:  # rolled back with the transaction: the task stays open
            raise TaskCompletionError.of(exc.incident, task.id) from None
        worker = on_behalf_of or actor.username
        statement = _COMPLETE_AS_WORKER if on_behalf_of or not (actor.is_admin or as_owner) else _COMPLETE_ANY
        done = db.session.connection().execute(statement, {"b_id": task.id, "b_at": utcnow(),
                                                           "b_by": actor.username, "b_worker": worker}).rowcount
        if not done:
            raise ConflictError("task was claimed or completed by someone else meanwhile")
        if on_behalf_of:
            _record_on_behalf(turn, task, on_behalf_of, reason, actor)
        turn.step.write()
        if turn.step.followed_by is not None:  # a buffered message moved it on already
            return turn.step.followed_by
        opened = turn.opened
        still_open = {t.id for t in outcome.open_tasks} - {t["id"] for t in opened}
        if still_open:
            opened = list(db.session.scalars(select(HumanTask).where(HumanTask.id.in_(still_open)))) + opened
        return InstanceResult(turn.instance, opened)

    return run_on_instance(task.instance_id, actor, act, refusal="the process instance is {status}",
                           locked=instance_from(task))


def _record_on_behalf(turn: Turn, task, on_behalf_of: str, reason: str | None, actor: Actor) -> None:
    """The `task_completed_on_behalf` event, right after the step's `task_completed` event of the task."""
    events = turn.step.events
    at = next((i for i, e in enumerate(events) if e["type"] == "task_completed" and e["element_id"] == task.element_id),
              None)
    turn.step.record("task_completed_on_behalf", element_id=task.element_id, element_name=task.name, message=reason,
                     data={"task_id": task.id, "on_behalf_of": on_behalf_of, "completed_by": actor.username},
                     **({"at": events[at]["at"]} if at is not None else {}))
    if at is not None:
        events.insert(at + 1, events.pop())


def delegate_task(task_id: str, username: str, actor: Actor, *, pending: bool = False) -> HumanTask:
    """Hand a task to another user: they become its assignee (the assignee, a candidate or an admin may).

    The user must exist (404) and be enabled (400): a disabled account cannot sign in to work or resolve it.

    Args:
        pending: a delegation to be resolved (Camunda's `delegateTask`): the
            task's `owner` becomes the current assignee (unless it already has
            one), its `delegation_state` PENDING, and `resolve_task` gives it
            back to the owner.
    """
    task = find_task(task_id)
    require_read_task(actor, task)
    _require_open(task)
    _require_not_suspended(task)
    require_work_on(task, actor, "delegate")
    disabled = db.session.scalar(select(User.disabled).where(User.username == username))
    if disabled is None:
        raise NotFoundError(f"no user {username}")
    if disabled:
        raise ValidationError(f"user {username} is disabled: a task cannot be handed to them")
    values: dict = {"assignee": username}
    if pending:
        values.update(delegation_state="PENDING", owner=task.owner if task.owner is not None else task.assignee)
    with write_transaction():
        # Conditional on the assignee seen above: a claim or another delegation meanwhile wins.
        won = db.session.execute(
            update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "open",
                                    _same(HumanTask.assignee, task.assignee), _same(HumanTask.owner, task.owner))
            .values(**values).execution_options(synchronize_session=False)).rowcount
        if not won:
            raise ConflictError("task was completed or reassigned meanwhile")
        data = {"from": task.assignee, "to": username}
        if pending:
            data.update(task_id=task.id, delegation="pending", owner=values["owner"])
        history(task.instance_id, "task_delegated", actor, element_id=task.element_id, element_name=task.name,
                data=data)
    db.session.refresh(task)
    return task


def _same(column, value):
    return column.is_(None) if value is None else column == value


def resolve_task(task_id: str, variables: dict | None, actor: Actor) -> HumanTask:
    """Resolve a pending delegation: set instance variables and give the task back to its owner (one transaction).

    As in Camunda, the task keeps its `owner` and its `delegation_state` becomes RESOLVED. The
    variables are the delegate's form data: checked against the task's form as `complete_task`
    checks them, so a delegation never sets what completing the task could not.

    Raises:
        ConflictError: the task has no pending delegation, or is not open.
        ForbiddenError: the caller is not the delegate (the assignee).
        FormValidationError: the variables break the task's form; nothing changes.
    """
    task = find_task(task_id)
    require_read_task(actor, task)
    _require_open(task)
    if task.delegation_state != "PENDING":
        raise ConflictError("task has no pending delegation to resolve")
    require_delegate(task, actor)
    data = validate_form(task_form(task), variables) if variables else {}
    with write_transaction():
        if data:
            change_variables(task.instance_id, data, actor)
        won = db.session.execute(
            update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "open",
                                    HumanTask.delegation_state == "PENDING", HumanTask.assignee == actor.username,
                                    _same(HumanTask.owner, task.owner))
            .values(assignee=task.owner, delegation_state="RESOLVED")
            .execution_options(synchronize_session=False)).rowcount
        if not won:
            raise ConflictError("task was completed or resolved meanwhile")
        history(task.instance_id, "task_resolved", actor, element_id=task.element_id, element_name=task.name,
                data={"task_id": task.id, "from": task.assignee, "to": task.owner})
    db.session.refresh(task)
    return task
