"""Database engine set-up: SQLite pragmas, write transactions, lock waits.

SQLite allows one writer at a time. A transaction that starts by reading and
later writes can fail at once with "database is locked" when another writer
committed in between, whatever the busy timeout. So write transactions start
with `BEGIN IMMEDIATE` (taking the write lock up front, waiting up to the
busy timeout for it) and read-only ones with a plain `BEGIN`. PostgreSQL
uses row locks (`SELECT ... FOR UPDATE`) bounded by `lock_timeout`.

`like` gives LIKE one meaning on both: SQLite's LIKE is made to mind case as PostgreSQL's does, and
backslash escapes are said explicitly.
"""
from __future__ import annotations

import contextvars
import sqlite3
import weakref

from sqlalchemy import Boolean, String, event, literal
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

_configured: "weakref.WeakSet[Engine]" = weakref.WeakSet()
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


def configure(engine: Engine, lock_timeout_ms: int) -> None:
    """Attach the per-dialect connection set-up to `engine` (idempotent)."""
    if engine in _configured:
        return
    _configured.add(engine)
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _on_pg_connect(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
                # No JIT: a list or a count over many rows passes jit_above_cost and spends 20 to 100 ms
                # compiling what runs in less (bench/README.md, scale.py).
                cursor.execute("SET jit = off")
            dbapi_connection.commit()
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if not isinstance(dbapi_connection, sqlite3.Connection):  # pragma: no cover
            return
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA case_sensitive_like=ON")  # LIKE minds case, as PostgreSQL's does (`like`)
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        begin = "BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN"
        try:  # at the driver: a statement of its own, with no result, needs none of SQLAlchemy's execution
            connection.connection.driver_connection.execute(begin)
        except sqlite3.Error as exc:  # as SQLAlchemy raises it: a lock not had is told by its message
            raise OperationalError(begin, None, exc) from exc


def set_write_intent(value: bool) -> contextvars.Token:
    return _write_intent.set(value)


def reset_write_intent(token: contextvars.Token) -> None:
    _write_intent.reset(token)


def like(column, pattern: str):
    """`column LIKE pattern` as Camunda's `...Like` filters mean it, the same on every database: `%` any
    text, `_` any one character, a backslash takes the character after it as it is (`50\\%` is "50%"), and
    case counts (SQLite's LIKE is made to mind case as each connection opens). A pattern ending in a lone
    backslash matches a backslash there, where PostgreSQL would refuse it."""
    if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
        pattern += "\\"
    return column.like(pattern, escape="\\")


def built_on(obj, dialect_name: str) -> bool:
    """Whether the schema item `obj` (a table, an index) is built on `dialect_name`: False for one declared
    `.ddl_if(dialect=...)` of another database. Alembic's comparison of the models with a database does not
    ask it by itself (an index of PostgreSQL's alone would be missing on SQLite)."""
    condition = getattr(obj, "_ddl_if", None)
    wanted = getattr(condition, "dialect", None)
    if wanted is None:
        return True
    return dialect_name in ((wanted,) if isinstance(wanted, str) else tuple(wanted))


def schema_items_of(dialect_name: str):
    """Alembic's `include_object` for comparing the models with a `dialect_name` database: what the database
    has, and what the models build there (`built_on`)."""
    return lambda obj, name, type_, reflected, compare_to: reflected or built_on(obj, dialect_name)


class json_array_holds(FunctionElement):
    """SQL: the JSON array in `column` holds the string `value` (`json_array_holds(column, value)`), on
    PostgreSQL as a jsonb containment, on SQLite by its array's elements."""

    type = Boolean()
    name = "json_array_holds"
    inherit_cache = True

    def __init__(self, column, value: str):
        super().__init__(column, literal(value, String()))


@compiles(json_array_holds, "postgresql")
def _json_array_holds_postgresql(element, compiler, **kw):
    column, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({column} AS JSONB) @> jsonb_build_array({value}))"


@compiles(json_array_holds, "sqlite")
def _json_array_holds_sqlite(element, compiler, **kw):
    column, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return (f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type({column}) = 'array' THEN {column} END) AS held "
            f"WHERE held.type = 'text' AND held.value = {value})")
