"""Counting instances: the after-step hook that notes what a step did, counted once its transaction commits.

A step runs inside a transaction that may still roll back after the hooks ran
(a later step of the same command fails, the commit itself fails), so the hook
only notes what it saw on the session: a step that started, completed,
stopped with an incident or cancelled an instance. The notes become counts
when the transaction commits and are dropped when it (or the savepoint they
were made in) rolls back.
"""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db
from ..statuses import InstanceStatus
from .metrics import metrics

_NOTES = "stagecoach.instance_counts"  # session.info: [(savepoint or None, counter name, process key)]
_COUNTERS = {InstanceStatus.COMPLETED: "instances_completed", InstanceStatus.ERROR: "instances_failed",
             InstanceStatus.CANCELLED: "instances_cancelled"}


def count_step(step) -> None:
    """After-step hook: note what the step did to its instance; remember the instance for the request's log."""
    inst = step.instance
    counted = ["instances_started"] if step.new else []
    status = step.updates.get("status")
    if status in _COUNTERS:
        counted.append(_COUNTERS[status])
    if counted:
        session = db.session()
        savepoint = session.get_nested_transaction()
        session.info.setdefault(_NOTES, []).extend((savepoint, name, inst.process_key) for name in counted)
    if has_request_context() and "step_instance_id" not in g:
        g.step_instance_id = inst.id


def _after_commit(session: Session) -> None:
    notes = session.info.get(_NOTES)
    if not notes:
        return
    savepoint = session.get_nested_transaction()
    if savepoint is not None:  # a savepoint was released: its notes now belong to the one around it
        outer = savepoint.parent if savepoint.parent is not None and savepoint.parent.nested else None
        session.info[_NOTES] = [(outer if sp is savepoint else sp, name, key) for sp, name, key in notes]
        return
    session.info.pop(_NOTES, None)
    counters = metrics()
    for _, name, key in notes:
        getattr(counters, name).labels(key).inc()


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    notes = session.info.get(_NOTES)
    if not notes:
        return
    if previous.nested:
        session.info[_NOTES] = [note for note in notes if note[0] is not previous]
    elif previous.parent is None:
        session.info.pop(_NOTES, None)


def listen_for_commits() -> None:
    """Count the notes on commit, drop them on rollback (every session of the process; once)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
