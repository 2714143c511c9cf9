"""Transactions and the per-instance lock.

Every change to an instance runs inside `locked_instance`: a write
transaction that holds the instance row (PostgreSQL: `SELECT ... FOR NO KEY UPDATE`
waiting at most LOCK_TIMEOUT_MS; SQLite: the database write lock taken by
`BEGIN IMMEDIATE`), commits once at the end and rolls back on any error. The
row also carries a version counter, so a write based on a stale read fails
instead of overwriting.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ...database import reset_write_intent, set_write_intent
from ...errors import InstanceBusyError, NotFoundError
from ...extensions import db
from ...models import ProcessInstance


@dataclass
class InstanceRow:
    """An instance as read (and locked) by a command."""

    id: str
    definition_id: str
    process_key: str
    business_key: str | None
    status: str
    variables: dict
    started_at: dt.datetime
    ended_at: dt.datetime | None
    started_by: str | None
    lock_version: int
    state: str | None = None
    record_module: str | None = None
    record_id: str | None = None
    record_role: str | None = None
    next_timer_at: dt.datetime | None = None
    subscribed: bool = False
    tenant_id: str | None = None
    removal_time: dt.datetime | None = None
    end_element_id: str | None = None

    COLUMNS = ("id", "definition_id", "process_key", "business_key", "status", "variables", "started_at",
               "ended_at", "started_by", "lock_version", "state", "record_module", "record_id", "record_role",
               "next_timer_at", "subscribed", "tenant_id", "removal_time", "end_element_id")


def _is_lock_failure(exc: OperationalError) -> bool:
    message = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "database is locked" in message or "lock timeout" in message or "could not obtain lock" in message \
        or "canceling statement due to lock timeout" in message


_inside = contextvars.ContextVar("inside_write_transaction", default=False)


def _needs_fresh_begin(session) -> bool:
    """SQLite: a write transaction must begin as one (BEGIN IMMEDIATE takes the write lock first), so a read
    transaction ends before it. PostgreSQL (read committed: each statement sees what is committed, writes take
    row locks) goes on in the transaction the request's reads began: one BEGIN and COMMIT per request."""
    return session.get_bind().dialect.name == "sqlite"


def _holds_nothing(session) -> bool:
    """Whether the session has no ORM object loaded or pending (what it read went through Core only)."""
    return not session.identity_map and not session.new and not session.deleted


def _restart(session, begin: str) -> None:
    """SQLite: end the session's transaction in the database and begin another (`begin`) on the same
    connection, keeping the session's own transaction and its connection: what a full end and a new begin
    of the session (a pool check-in and check-out, each with its events) would do, for a session that
    holds nothing the end would expire."""
    dbapi = session.connection().connection.dbapi_connection
    try:
        dbapi.execute("ROLLBACK")  # no transaction open in SQLite: a no-op
        dbapi.execute(begin)  # BEGIN IMMEDIATE waits for the write lock up to the busy timeout
    except sqlite3.Error as exc:  # as SQLAlchemy would raise it (a lock failure is told by its message)
        raise OperationalError(begin, None, exc) from exc


def end_read() -> None:
    """A read made before the request's own work (who is calling): where the next write transaction must
    begin afresh (SQLite), end the read transaction now; elsewhere the request goes on in it."""
    session = db.session()
    if session.in_transaction() and _needs_fresh_begin(session):
        if _holds_nothing(session):
            _restart(session, "BEGIN")  # a deferred BEGIN: the next read takes the snapshot
        else:
            session.rollback()


@contextmanager
def write_transaction() -> Iterator[None]:
    """One write transaction: commit on success, roll back on any error.

    A service called from inside another's write transaction joins it, so a
    use case made of several services commits (or rolls back) as one.
    """
    if _inside.get():
        yield
        return
    session = db.session()
    restart = False
    if session.in_transaction() and _needs_fresh_begin(session):  # SQLite must BEGIN IMMEDIATE afresh
        if _holds_nothing(session):
            restart = True
        else:
            session.commit()  # end the read transaction (nothing pending; what it loaded is read again)
    token = set_write_intent(True)
    inside = _inside.set(True)
    try:
        if restart:
            _restart(session, "BEGIN IMMEDIATE")
        else:
            session.connection()  # begins now, with the write intent
        yield
        session.commit()
    except (OperationalError, StaleDataError) as exc:
        session.rollback()
        if isinstance(exc, StaleDataError) or _is_lock_failure(exc):
            raise InstanceBusyError() from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        _inside.reset(inside)
        reset_write_intent(token)


_INSTANCES = ProcessInstance.__table__
_READ_INSTANCE = select(*[_INSTANCES.c[c] for c in InstanceRow.COLUMNS]).where(_INSTANCES.c.id == bindparam("id"))
# FOR NO KEY UPDATE: commands on one instance wait for each other, while a row that merely references the
# instance (a claim's history event: its foreign key check takes FOR KEY SHARE) is written without waiting.
LOCK_MODE = {"key_share": True}
_LOCK_INSTANCE = _READ_INSTANCE.with_for_update(**LOCK_MODE)  # built once: every command runs one of the two


def instance_columns(prefix: str = "instance__") -> list:
    """An instance's columns labelled with `prefix`, to read it joined to another row (`instance_from`)."""
    return [_INSTANCES.c[c].label(prefix + c) for c in InstanceRow.COLUMNS]


def instance_from(row, prefix: str = "instance__") -> InstanceRow:
    """The instance read by `instance_columns` in `row`."""
    mapping = row._mapping
    return InstanceRow(*(mapping[prefix + c] for c in InstanceRow.COLUMNS))


def lock_instance(instance_id: str) -> InstanceRow | None:
    """Inside a write transaction: read and lock the instance (PostgreSQL: FOR NO KEY UPDATE; SQLite: the
    transaction holds the database's write lock already)."""
    conn = db.session.connection()
    stmt = _LOCK_INSTANCE if conn.dialect.name == "postgresql" else _READ_INSTANCE
    row = conn.execute(stmt, {"id": instance_id}).one_or_none()
    return None if row is None else InstanceRow(*row)


@contextmanager
def locked_instance(instance_id: str) -> Iterator[InstanceRow]:
    """Write transaction holding one instance; 404 if it does not exist."""
    with write_transaction():
        instance = lock_instance(instance_id)
        if instance is None:
            raise NotFoundError(f"no process instance {instance_id}")
        yield instance
