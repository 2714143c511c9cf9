"""Who may do what: every authorization rule of the use cases, in one place.

Use cases call these checks themselves, with the actor they were given (an
actor is required: there is no call path where leaving it out skips a check).
Views, the console, the CLI and jobs only say who is calling; the server's
own work runs as `SYSTEM`, an admin. A refusal is a ForbiddenError (403).
"""
from __future__ import annotations

from sqlalchemy import and_, bindparam, exists, or_, select, union
from sqlalchemy.orm import aliased

from ..errors import ForbiddenError, NotFoundError
from ..extensions import db
from ..models import Authorization, HumanTask, ProcessInstance, Record, TaskCandidate, User
from .core import Actor


def require_admin(actor: Actor, what: str) -> Actor:
    """`actor` must be an admin to `what` (e.g. "repair instances")."""
    if actor is None or not actor.is_admin:
        raise ForbiddenError(f"only an admin may {what}")
    return actor


def is_candidate(task, actor: Actor) -> bool:
    """The actor is one of the task's candidate users, or in one of its candidate groups."""
    return actor.username in (task.candidate_users or []) or bool(set(task.candidate_groups or []) & set(actor.groups))


def may_work_on(task, actor: Actor) -> bool:
    """Complete or delegate: an admin, the assignee, or a candidate of an unassigned task."""
    if actor.is_admin or task.assignee == actor.username:
        return True
    return task.assignee is None and is_candidate(task, actor)


def require_work_on(task, actor: Actor, what: str) -> None:
    if not may_work_on(task, actor):
        raise ForbiddenError(f"only the assignee, a candidate or an admin may {what} this task")


def require_claim(task, actor: Actor) -> None:
    if not (actor.is_admin or is_candidate(task, actor) or task.assignee == actor.username):
        raise ForbiddenError("only a candidate user or group member may claim this task")


def require_assignee(task, actor: Actor, what: str) -> None:
    """Unclaim or resolve: the assignee or an admin."""
    if not (actor.is_admin or task.assignee == actor.username):
        raise ForbiddenError(f"only the assignee or an admin may {what} this task")


# -- grants: permissions per resource, as Camunda's authorization service gives them ---------

ALL = "*"
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # a process key: deploy a version of it, start it, read / update (variables) / delete (cancel) /
    # repair (suspend, resume, retry, modify) its instances, migrate them (from and to a version of it),
    # read its process analytics (heat map, bottlenecks, branches, durations, the event log export)
    "process": ("deploy", "start", "read", "update", "delete", "repair", "migrate", "analytics"),
    # an external task topic: fetch, lock, extend, fail and complete its tasks
    "topic": ("work",),
    # a CRM module: create records, and read / update / delete records one does not own; analytics: its
    # Path Finder, funnel and cohorts (counts over every record of the module, no record's fields)
    "module": ("create", "read", "update", "delete", "analytics"),
}


_GRANTS = Authorization.__table__


def _grants_statement(by_resource: bool):
    stmt = select(_GRANTS.c.resource_id, _GRANTS.c.permissions).where(
        _GRANTS.c.resource_type == bindparam("type"),
        or_(_GRANTS.c.user_id.in_(bindparam("users", expanding=True)),
            _GRANTS.c.group_id.in_(bindparam("groups", expanding=True))))
    return stmt.where(_GRANTS.c.resource_id.in_(bindparam("ids", expanding=True))) if by_resource else stmt


# Built once: a check runs one of them with its values (the caller's name and groups, the resource).
_GRANTS_OF_RESOURCE, _GRANTS_OF_TYPE = _grants_statement(True), _grants_statement(False)


def _grant_rows(actor: Actor, resource_type: str, resource_id: str | None):
    values = {"type": resource_type, "users": [actor.username, ALL], "groups": list(actor.groups)}
    if resource_id is None:
        return db.session.connection().execute(_GRANTS_OF_TYPE, values).all()
    return db.session.connection().execute(_GRANTS_OF_RESOURCE, dict(values, ids=[resource_id, ALL])).all()


def allowed(actor: Actor, permission: str, resource_type: str, resource_id: str) -> bool:
    """Admins may do everything; anyone else needs a grant of `permission` on the resource or on `*`."""
    if actor.is_admin:
        return True
    return any(permission in (perms or ()) for _, perms in _grant_rows(actor, resource_type, resource_id))


NOT_READ = object()  # `keys` not given: read from the database


def granted_ids(actor: Actor, permission: str, resource_type: str) -> set[str] | None:
    """The resource ids on which `actor` holds `permission`; None means all of them."""
    if actor.is_admin:
        return None
    ids = {rid for rid, perms in _grant_rows(actor, resource_type, None) if permission in (perms or ())}
    return None if ALL in ids else ids


def require(actor: Actor, permission: str, resource_type: str, resource_id: str, what: str) -> None:
    """403 unless `actor` holds `permission` on the resource (e.g. require(a, "deploy", "process", key, ...))."""
    if actor is None or not allowed(actor, permission, resource_type, resource_id):
        raise ForbiddenError(f"{actor.username if actor else 'nobody'} may not {what}: "
                             f"it needs the {permission!r} permission on {resource_type} {resource_id!r}")


def offered_to(actor: Actor, candidate=TaskCandidate):
    """SQL: a candidate row (`candidate`: TaskCandidate, an alias of it or a table alias's columns) naming the
    actor or a group of theirs."""
    clauses = [and_(candidate.kind == "user", candidate.name == actor.username)]
    if actor.groups:
        clauses.append(and_(candidate.kind == "group", candidate.name.in_(list(actor.groups))))
    return or_(*clauses)


# -- instances: who may see and change one ---------------------------------------------------

def _concerns(actor: Actor):
    """SQL: the instance was started by the actor, runs on a record they own, or gave them a task.

    Written as `id IN (a UNION of index lookups)` rather than correlated EXISTS per row, so a list
    asks each index once instead of probing every instance it pages through.
    """
    return ProcessInstance.id.in_(_concerning_ids(actor))


# Table aliases made once (an ORM alias costs milliseconds to make and to adapt at each use): the queries of
# the instances that concern a user name them inside queries of process_instance and human_task.
_INSTANCE, _TASK = ProcessInstance.__table__.alias("concerning_instance"), HumanTask.__table__.alias("concerning_task")
_CANDIDATE, _RECORD = TaskCandidate.__table__.alias("concerning_candidate"), Record.__table__.alias("concerning_record")


def _concerning_ids(actor: Actor):
    """SELECT the ids of the instances that concern the actor (`_concerns`): a UNION, each id once, each an
    instance that exists (every part reads a row that goes with its instance)."""
    user = actor.username
    return union(
        select(_INSTANCE.c.id).where(_INSTANCE.c.started_by == user),
        select(_TASK.c.instance_id).where(_TASK.c.assignee == user),
        select(_TASK.c.instance_id).where(_TASK.c.owner == user),
        select(_TASK.c.instance_id).where(_TASK.c.completed_by == user),
        # offered to them and to their groups, each its own part: one index range each, read from the index alone
        # (asked as one OR, PostgreSQL reads both through a bitmap and then every candidate row from the table)
        select(_CANDIDATE.c.instance_id).where(_CANDIDATE.c.kind == "user", _CANDIDATE.c.name == user),
        *([select(_CANDIDATE.c.instance_id).where(_CANDIDATE.c.kind == "group",
                                                   _CANDIDATE.c.name.in_(list(actor.groups)))]
          if actor.groups else []),
        select(_INSTANCE.c.id).join(_RECORD, _RECORD.c.id == _INSTANCE.c.record_id).where(_RECORD.c.owner == user),
    )


def _concerns_per_row(actor: Actor):
    """SQL: as `_concerns`, asked of each instance by correlated index lookups.

    For a list already narrowed to a few instances (a record's): the union of `_concerns` holds every
    instance offered to the actor's groups, tens of thousands on a busy server, to intersect with a few.
    """
    task, candidate, record = aliased(HumanTask), aliased(TaskCandidate), aliased(Record)
    user = actor.username
    return or_(
        ProcessInstance.started_by == user,
        exists().where(task.instance_id == ProcessInstance.id,
                       or_(task.assignee == user, task.owner == user, task.completed_by == user)),
        exists().where(candidate.instance_id == ProcessInstance.id, offered_to(actor, candidate)),
        exists().where(record.id == ProcessInstance.record_id, record.owner == user),
    )


def readable_keys(actor: Actor) -> set[str] | None:
    """The process keys of which `actor` reads every instance (None: all of them); one query, which
    `readable_instances` and `only_concerning_ids` take instead of asking it again."""
    return granted_ids(actor, "read", "process")


def readable_instances(actor: Actor, *, few: bool = False, keys=NOT_READ):
    """A WHERE clause for the instances `actor` may read (None: all of them).

    Admins and holders of `read` on the process key read every instance of it; anyone else
    reads the instances that concern them (started, on a record they own, or a task of theirs).
    `few=True` when the query is narrowed to a few instances by other means (a record's): each one is
    checked by itself rather than against the set of all the actor's instances. `keys`: `readable_keys`
    already read in this request.
    """
    keys = readable_keys(actor) if keys is NOT_READ else keys
    if keys is None:
        return None
    clause = _concerns_per_row(actor) if few else _concerns(actor)
    return or_(ProcessInstance.process_key.in_(keys), clause) if keys else clause


def only_concerning_ids(actor: Actor, *, keys=NOT_READ):
    """SELECT the ids of every instance `actor` may read when those are only the instances that concern
    them (`readable_instances` without a grant to read a process key): each once, so a list of all they may
    read is counted from it without reading the instances. None when they may read more."""
    keys = readable_keys(actor) if keys is NOT_READ else keys
    return None if keys is None or keys else _concerning_ids(actor)


def may_read_instance(actor: Actor, instance) -> bool:
    clause = readable_instances(actor)
    if clause is None:
        return True
    return bool(db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance.id, clause)))


def require_read_instance(actor: Actor, instance) -> None:
    """404, not 403, for an instance the actor may not read: its existence is not theirs to learn."""
    if not may_read_instance(actor, instance):
        raise NotFoundError(f"no process instance {instance.id}")


def require_on_instance(actor: Actor, permission: str, instance, what: str) -> None:
    """Change an instance (update, delete, repair): an admin or a grant on its process key."""
    require_read_instance(actor, instance)
    require(actor, permission, "process", instance.process_key, what)


# -- tasks: those offered to one, and those of instances one may read -----------------------------

def readable_tasks(actor: Actor, *, few: bool = False, keys=NOT_READ):
    """A WHERE clause for the human tasks `actor` may read (None: all of them): the tasks of the
    instances they may read, which include every instance in which they have or had a task
    (`few`, `keys`: as for `readable_instances`)."""
    if few:
        instances = readable_instances(actor, few=True, keys=keys)
        return None if instances is None else HumanTask.instance_id.in_(select(ProcessInstance.id).where(instances))
    keys = readable_keys(actor) if keys is NOT_READ else keys
    if keys is None:
        return None
    concerning = HumanTask.instance_id.in_(_concerning_ids(actor))  # their ids alone: no instance row read
    if not keys:
        return concerning
    return or_(HumanTask.instance_id.in_(select(ProcessInstance.id).where(ProcessInstance.process_key.in_(keys))),
               concerning)


def require_read_task(actor: Actor, task) -> None:
    """404 for a task the actor may not read, as for one that does not exist."""
    if task.assignee == actor.username or task.owner == actor.username or is_candidate(task, actor):
        return
    clause = readable_tasks(actor)
    if clause is not None and not db.session.scalar(select(HumanTask.id).where(HumanTask.id == task.id, clause)):
        raise NotFoundError(f"no task {task.id}")


# -- records: ownership and the role hierarchy ---------------------------------------------------

def _reports(username: str) -> set[str]:
    """The users who report to `username`, directly or through their managers."""
    managers = dict(db.session.execute(select(User.username, User.manager)).all())
    below: set[str] = set()
    frontier = {username}
    while frontier:
        frontier = {u for u, m in managers.items() if m in frontier and u not in below and u != username}
        below |= frontier
    return below


def owners_for(actor: Actor) -> set[str] | None:
    """The owners whose belongings (records, to-dos) `actor` acts for: themselves and everyone who
    reports to them; None for an admin (everyone's)."""
    if actor.is_admin:
        return None
    return {actor.username} | _reports(actor.username)


def acts_for(actor: Actor, owner: str | None) -> bool:
    """`actor` is `owner`, someone `owner` reports to (up the `manager` chain), or an admin."""
    owners = owners_for(actor)
    return owners is None or owner in owners


def readable_records(actor: Actor, module: str):
    """A WHERE clause for the records of `module` the actor may read (None: all of them).

    An admin or a holder of `read` on the module reads all; anyone else reads the records they
    own, those owned by the people who report to them, and those on which they have a task.
    """
    if allowed(actor, "read", "module", module):
        return None
    instance, task, candidate = aliased(ProcessInstance), aliased(HumanTask), aliased(TaskCandidate)
    task_on = exists().where(
        instance.record_id == Record.id, task.instance_id == instance.id,
        or_(task.assignee == actor.username, task.owner == actor.username,
            exists().where(candidate.task_id == task.id, offered_to(actor, candidate))))
    return or_(Record.owner.in_(owners_for(actor)), Record.created_by == actor.username, task_on)


def require_read_record(actor: Actor, record) -> None:
    if actor.is_admin or actor.username in (record.owner, record.created_by):
        return  # their own: no query
    clause = readable_records(actor, record.module)
    if clause is not None and not db.session.scalar(select(Record.id).where(Record.id == record.id, clause)):
        raise NotFoundError(f"no {record.module} record {record.id}")


def require_on_record(actor: Actor, permission: str, record, what: str) -> None:
    """Update or delete a record: its owner, someone it reports up to, or a grant on the module."""
    if actor.is_admin or record.owner == actor.username:
        return  # their own: no query
    require_read_record(actor, record)
    if allowed(actor, permission, "module", record.module):
        return
    if record.owner == actor.username or record.owner in _reports(actor.username):
        return
    raise ForbiddenError(f"{actor.username} may not {what}: the record belongs to {record.owner!r} and "
                         f"the {permission!r} permission on module {record.module!r} is not granted")


def require_analytics(actor: Actor, module: str) -> None:
    """Process analytics of a module (its conversion goal, Path Finder, funnel): an admin or a holder of
    `analytics` on the module; owning records of it gives nothing more."""
    require(actor, "analytics", "module", module, f"read the process analytics of {module}")


# -- delegation --------------------------------------------------------------------------------

def require_delegate(task, actor: Actor) -> None:
    """Resolve a delegation: its delegate (the assignee) only; an admin hands the task on, not back."""
    if actor is None or task.assignee != actor.username:
        raise ForbiddenError("only the delegate (the task's assignee) may resolve this task")
