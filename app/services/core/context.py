"""What every command runs with: who is acting, the engine, the clock, and the per-step context.

The per-step context is the instance an engine call is running for: the
functions scripts call (CRM actions) read it to know which instance and
record they act for, and write through its savepoint, so whatever a task
writes commits or rolls back with that task. It lives in a contextvar, as
does the depth of record-starts-process cascades, so threads and nested
commands each see their own.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from flask import current_app

from ...clock import utcnow  # noqa: F401 - services read the one clock through here
from ...engine import Engine, TaskEffects
from ...extensions import db


@dataclass(frozen=True)
class Actor:
    """The authenticated caller."""

    username: str
    groups: tuple[str, ...] = field(default_factory=tuple)
    is_admin: bool = False


SYSTEM = Actor("system", (), True)


def engine() -> Engine:
    return current_app.extensions["stagecoach.engine"]


class StepContext(TaskEffects):
    """The instance being run, and the savepoint of the rows its current task wrote."""

    def __init__(self, instance_id: str, module: str | None, record_id: str | None, actor: Actor,
                 process_key: str | None = None, business_key: str | None = None):
        self.instance_id, self.module, self.record_id, self.actor = instance_id, module, record_id, actor
        self.process_key, self.business_key = process_key, business_key
        self.savepoint = None
        self.outbound_calls = 0  # webhooks and emails this step queued, against the per-step limit

    def writing(self) -> None:
        """Called before a function writes: the first write of a task opens a savepoint."""
        if self.savepoint is None:
            self.savepoint = db.session.begin_nested()

    def task_started(self) -> None:
        self.task_finished(True)

    def task_finished(self, succeeded: bool) -> None:
        savepoint, self.savepoint = self.savepoint, None
        if savepoint is not None and savepoint.is_active:
            if succeeded:
                savepoint.commit()
            else:
                savepoint.rollback()


_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("step_context", default=None)
_cascade: contextvars.ContextVar[int] = contextvars.ContextVar("cascade_depth", default=0)


@contextmanager
def acting_for(instance_id: str, module: str | None, record_id: str | None, actor: Actor,
               process_key: str | None = None, business_key: str | None = None) -> Iterator[StepContext]:
    """Run the engine for this instance; pass the yielded context to the runner as its `effects`."""
    context = StepContext(instance_id, module, record_id, actor, process_key, business_key)
    token = _current.set(context)
    try:
        yield context
        context.task_finished(True)
    finally:
        _current.reset(token)


def current_step() -> StepContext | None:
    """The instance the engine is running for right now, if any."""
    return _current.get()


def cascade_depth() -> int:
    """How many record events deep the current command was started (0: by a caller)."""
    return _cascade.get()


@contextmanager
def cascading() -> Iterator[int]:
    """One level deeper in a record-starts-process cascade; yields the new depth."""
    token = _cascade.set(_cascade.get() + 1)
    try:
        yield _cascade.get()
    finally:
        _cascade.reset(token)
