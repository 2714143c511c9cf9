"""Paginated queries: `{items, total, page, per_page}` for every list.

Two ways through a long list:
- page numbers (`page`, or `offset` rows): simple, but a deep page costs the rows it skips;
- a cursor (`after`, the `next_cursor` of the page before): the next rows by the list's default order,
  found through its index whatever the depth (keyset pagination). A cursor is opaque to clients.

Totals: `exact=False` counts at most `TOTAL_CAP` rows, so a page of a huge list does not count the whole
list; `total_exact` then says whether `total` is the true count or only "at least this many".
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, literal, select, tuple_

from ...clock import as_utc
from ...errors import ValidationError
from ...extensions import db

TOTAL_CAP = 10_000
NOT_A_CURSOR = "after: not a cursor of this list (use the next_cursor of a page)"


@dataclass
class Page:
    items: list
    total: int | None  # None: not counted (a list whose API does not show its total)
    page: int
    per_page: int
    total_exact: bool = True
    next_cursor: str | None = None


def paginate(stmt, page: int, per_page: int, offset: int | None = None, *, exact: bool | None = True,
             keyset: tuple | None = None, after: str | None = None, counted=None, unique=None) -> Page:
    """One page of `stmt`.

    `offset` (rows to skip) overrides `page` for clients that page by row. `keyset`: the columns of the
    statement's default order (newest first: each descending, the last one unique); with it each page
    carries the cursor of the next one, and `after` (such a cursor) continues from it. `exact=False`
    caps the count at TOTAL_CAP; `exact=None` counts nothing (total None: a list whose API shows none).
    `counted`: the same rows as `stmt`, written for a database to count them faster (the total is counted
    from it). `unique`: a column that tells rows apart and ends the order (default: the keyset's last); a
    page past the first skips its rows as that column alone."""
    base = stmt if counted is None else counted
    if after is not None:
        if keyset is None:
            raise ValidationError("this list has no cursor")
        stmt = stmt.where(_after(keyset, _fitting(decode_cursor(after, len(keyset)), keyset)))
        skip = 0
    else:
        skip = offset if offset is not None else (page - 1) * per_page
    total, total_exact = (None, False) if exact is None else _count(base, exact)
    unique = keyset[-1] if unique is None and keyset is not None else unique
    if skip and unique is not None:
        stmt, skip = past(stmt, unique, per_page, skip), 0
    items = list(db.session.scalars(stmt.limit(per_page).offset(skip))) if per_page else []
    next_cursor = None
    if keyset is not None and per_page and len(items) == per_page:
        next_cursor = encode_cursor([getattr(items[-1], column.key) for column in keyset])
    return Page(items, total, page, per_page, total_exact, next_cursor)


def past(stmt, key, limit: int, offset: int, keys=None):
    """`stmt` kept to its page at `offset`, for a deep page: the rows to skip are read as `key` alone (an index
    in the list's order, without a table row each), from `keys` when given (the same rows in the same order,
    without the tables only the page needs), then only the page's rows are read. Run it without an offset."""
    keys = stmt.with_only_columns(key) if keys is None else keys
    return stmt.where(key.in_(keys.limit(limit).offset(offset).scalar_subquery()))


def _count(stmt, exact: bool) -> tuple[int, bool]:
    counted = stmt.order_by(None)
    if not exact:
        counted = counted.limit(TOTAL_CAP + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    if not exact and total > TOTAL_CAP:
        return TOTAL_CAP, False
    return total, True


def _fitting(values: list, columns) -> list:
    """The cursor's values, each of its column's kind (a moment a UTC timestamp can hold); a cursor made by hand
    with other values is refused like any other that is not this list's."""
    fitted = []
    for value, column in zip(values, columns):
        if isinstance(value, bool) or not isinstance(value, column.type.python_type):
            raise ValidationError(NOT_A_CURSOR)
        if isinstance(value, dt.datetime):
            try:
                value = as_utc(value)
            except (OverflowError, ValueError):
                raise ValidationError(NOT_A_CURSOR) from None
        fitted.append(value)
    return fitted


def _after(columns, values):
    """Rows after `values` in the descending order of `columns`: the row value (a, b) < (x, y), which
    PostgreSQL and SQLite read as one range of an index in that order."""
    return tuple_(*columns) < tuple_(*[literal(value, type_=column.type) for column, value in zip(columns, values)])


def encode_cursor(values: list) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != size:
            raise ValueError("wrong size")
        values = []
        for value in raw:
            if isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str):
                value = dt.datetime.fromisoformat(value["t"])
            elif not isinstance(value, (str, int)) or isinstance(value, bool):
                raise ValueError("wrong value")
            if isinstance(value, str):
                value.encode("utf-8")  # a lone surrogate is no text a database stores: UnicodeEncodeError
                if len(value) > 64:
                    raise ValueError("too long")
            values.append(value)
        return values
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError(NOT_A_CURSOR) from None
