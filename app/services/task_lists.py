"""Finding human tasks: the inbox's lists, filtered, sorted and paged, of the tasks a caller may read."""
from __future__ import annotations

import operator

from sqlalchemy import and_, func, or_, select, union_all

from ..database import json_array_holds, like
from ..errors import ValidationError
from ..extensions import db
from ..models import Group, HumanTask, ProcessInstance, TaskCandidate, User
from ..statuses import TaskState
from .access import offered_to, readable_tasks
from .core import Actor, Page, TenantFilter, narrowed, paginate


# What `list_tasks(order_by=...)` sorts by; a task without a priority counts as 50 (Camunda's default).
SORT_COLUMNS = {
    "id": HumanTask.id, "name": HumanTask.name, "name_ci": func.lower(HumanTask.name),
    "priority": func.coalesce(HumanTask.priority, 50), "created_at": HumanTask.created_at,
    "due_at": HumanTask.due_at, "follow_up_at": HumanTask.follow_up_at, "assignee": HumanTask.assignee,
    "instance_id": HumanTask.instance_id,
}


def list_tasks(actor: Actor, *, assignee=None, candidate_user=None, candidate_group=None, mine=False,
               process_instance_id=None, key=None, state="open", element_id=None, definition_id=None,
               assigned=None, owner=None, delegation_state=None, priority=None, min_priority=None,
               max_priority=None, due=None, follow_up=None, order_by=None, record_id=None, page=1, per_page=20,
               offset=None, name=None, name_like=None, assignee_like=None, element_id_like=None, after=None,
               exact=True, candidate_user_groups=False, tenants: TenantFilter | None = None) -> Page:
    """Filter the tasks the caller may read; `mine` = assigned to the caller or claimable by the caller.

    Args:
        assigned: True for tasks with an assignee, False for tasks without.
        priority, min_priority, max_priority: exactly, at least, at most (a task without one counts as 50).
        due, follow_up: `{"on", "before", "after", "before_or_none", "none"}` bounds on `due_at` and
            `follow_up_at` (before and after are strict; `none: True` keeps tasks without the date).
        order_by: `[(column, "asc"|"desc")]` with columns from SORT_COLUMNS; tasks without the value
            come last ascending, first descending. Default: newest first (by creation, then id), the
            order `after` (a page's `next_cursor`) continues in.
        record_id: only tasks of instances running on that CRM record.
        name_like, assignee_like, element_id_like: LIKE patterns, as Camunda's `...Like` (`database.like`).
        exact: False caps the total, None counts nothing (see `core.pagination`).
        candidate_user_groups: `candidate_user` also matches tasks offered to a group of that user's, as
            Camunda's `candidateUser` does.
        tenants: only tasks of these tenants (Camunda's tenantIdIn, withoutTenantId).
    """
    stmt = narrowed(select(HumanTask), tenants, HumanTask.tenant_id)
    # A task offered or assigned to the caller is one they may read: asking for those (`mine`, a group of theirs,
    # themselves as candidate or assignee) needs no read rule, whose union of everything the caller touches costs
    # more than the list. Offered means open: a closed task a group was once offered is listed to its members
    # only as the rest of its instance is (the read rule), not to whoever is in the group now.
    closed = state in (TaskState.COMPLETED, TaskState.CANCELLED)
    offered_only = mine or (not closed and (
        (candidate_group is not None and candidate_group in actor.groups)
        or (candidate_user is not None and candidate_user == actor.username))) or (
        assignee is not None and assignee == actor.username)
    readable = None if offered_only else readable_tasks(actor, few=bool(record_id or process_instance_id))
    if readable is not None:
        stmt = stmt.where(readable)
    if state:
        stmt = stmt.where(HumanTask.state == state)
    if assignee:
        stmt = stmt.where(HumanTask.assignee == assignee)
    if name:
        stmt = stmt.where(HumanTask.name == name)
    for column, pattern in ((HumanTask.assignee, assignee_like), (HumanTask.name, name_like),
                            (HumanTask.element_id, element_id_like)):
        stmt = stmt.where(like(column, pattern)) if pattern else stmt
    if assigned is not None:
        stmt = stmt.where(HumanTask.assignee.is_not(None) if assigned else HumanTask.assignee.is_(None))
    if owner:
        stmt = stmt.where(HumanTask.owner == owner)
    if delegation_state:
        stmt = stmt.where(HumanTask.delegation_state == delegation_state)
    # Candidate rows live while their task is open; a closed task (state completed or cancelled) is found by
    # the candidates it names itself.
    if candidate_user:
        groups = []
        if candidate_user_groups:  # the user's groups read first: a list of names the candidate index looks up
            groups = db.session.scalars(select(Group.name).select_from(User).join(User.groups)
                                        .where(User.username == candidate_user)).all()
        if closed:
            stmt = stmt.where(or_(json_array_holds(HumanTask.candidate_users, candidate_user),
                                  *(json_array_holds(HumanTask.candidate_groups, group) for group in groups)))
        else:
            offered = and_(TaskCandidate.kind == "user", TaskCandidate.name == candidate_user)
            if groups:
                offered = or_(offered, and_(TaskCandidate.kind == "group", TaskCandidate.name.in_(groups)))
            stmt = stmt.where(HumanTask.id.in_(select(TaskCandidate.task_id).where(offered)))
    if candidate_group:
        stmt = stmt.where(json_array_holds(HumanTask.candidate_groups, candidate_group) if closed else
                          HumanTask.id.in_(select(TaskCandidate.task_id).where(
                              TaskCandidate.kind == "group", TaskCandidate.name == candidate_group)))
    if process_instance_id:
        stmt = stmt.where(HumanTask.instance_id == process_instance_id)
    if key:
        stmt = stmt.where(HumanTask.process_key == key)
    if element_id:
        stmt = stmt.where(HumanTask.element_id == element_id)
    if definition_id:
        stmt = stmt.where(HumanTask.definition_id == definition_id)
    if record_id:
        stmt = stmt.where(HumanTask.instance_id.in_(
            select(ProcessInstance.id).where(ProcessInstance.record_id == record_id)))
    effective_priority = SORT_COLUMNS["priority"]
    if priority is not None:
        stmt = stmt.where(effective_priority == priority)
    if min_priority is not None:
        stmt = stmt.where(effective_priority >= min_priority)
    if max_priority is not None:
        stmt = stmt.where(effective_priority <= max_priority)
    stmt = stmt.where(*_date_bounds(HumanTask.due_at, due or {}), *_date_bounds(HumanTask.follow_up_at,
                                                                               follow_up or {}))
    if after is not None and order_by:
        raise ValidationError("after: a cursor continues the default order only; page a sorted list by page")
    keyset = None if order_by else (HumanTask.created_at, HumanTask.id)
    counted = None
    if mine:  # the same rows both ways: listed in the inbox's order, counted from the caller's candidate rows
        stmt, counted = stmt.where(_mine_listed(actor, assigned)), stmt.where(_mine_counted(actor, state, assigned))
    elif candidate_group and state == TaskState.OPEN and readable is None and tenants is None \
            and not any((assignee, assignee_like, name, name_like, element_id_like, assigned is not None, owner,
                         delegation_state, candidate_user, process_instance_id, key, element_id, definition_id,
                         record_id, priority is not None, min_priority is not None, max_priority is not None, due,
                         follow_up)):
        # A group's open tasks, nothing else asked: as candidate rows live only while their task is open,
        # they are counted from the group's rows alone (one index range), not by looking each task up.
        counted = select(TaskCandidate.task_id).where(TaskCandidate.kind == "group",
                                                      TaskCandidate.name == candidate_group)
    return paginate(stmt.order_by(*_ordering(order_by)), page, per_page, offset, exact=exact, keyset=keyset,
                    after=after, counted=counted, unique=HumanTask.id)


def _mine_listed(actor: Actor, assigned: bool | None):
    """SQL: assigned to the caller, or unassigned and offered to them; with `assigned` (its own filter says if
    there is an assignee) only the half that can match, without a second `assignee IS NULL` the planner would
    take for a rarer row (it walked every unassigned task)."""
    own = HumanTask.assignee == actor.username
    offered = HumanTask.id.in_(select(TaskCandidate.task_id).where(offered_to(actor)))
    return own if assigned else offered if assigned is False else or_(own, and_(HumanTask.assignee.is_(None), offered))


def _mine_counted(actor: Actor, state: str | None, assigned: bool | None):
    """`_mine_listed` written for a count: the ids come from the caller's own tasks and candidate rows (a few
    thousand), each task looked up by id, not every unassigned open task tested (80,000 of 100,000)."""
    own = select(HumanTask.id).where(HumanTask.assignee == actor.username,
                                     *([HumanTask.state == state] if state else []))
    offered = select(TaskCandidate.task_id).where(offered_to(actor))
    if assigned is not None:  # as _mine_listed
        return HumanTask.id.in_(own if assigned else offered)
    return and_(HumanTask.id.in_(union_all(own, offered)),
                or_(HumanTask.assignee == actor.username, HumanTask.assignee.is_(None)))


def _date_bounds(column, bounds: dict) -> list:
    clauses = [compare(column, bounds[name]) for name, compare in _BOUNDS.items() if bounds.get(name) is not None]
    if bounds.get("before_or_none") is not None:
        clauses.append(or_(column.is_(None), column < bounds["before_or_none"]))
    if bounds.get("none"):
        clauses.append(column.is_(None))
    return clauses


_BOUNDS = {"on": operator.eq, "before": operator.lt, "after": operator.gt}


def _ordering(order_by) -> list:
    if not order_by:
        return [HumanTask.created_at.desc(), HumanTask.id.desc()]
    clauses = []
    for name, direction in order_by:
        column = SORT_COLUMNS[name]
        # The same null placement on every database: missing values last ascending, first descending
        # (PostgreSQL's own default, which an index in the column's order serves: open tasks by due date).
        clauses.append(column.desc().nulls_first() if direction == "desc" else column.asc().nulls_last())
    # Ties by id in the last key's direction: an index of (column, id) read either way serves both orders.
    return clauses + [HumanTask.id.desc() if order_by[-1][1] == "desc" else HumanTask.id]
