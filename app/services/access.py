"""Who may do what: every authorization rule of the use cases, in one place.

Use cases call these checks themselves, with the actor they were given (an
actor is required: there is no call path where leaving it out skips a check).
Views, the console, the CLI and jobs only say who is calling; the server's
own work runs as `SYSTEM`, an admin. A refusal is a ForbiddenError (403).
"""
from __future__ import annotations

from ..errors import ForbiddenError
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
