"""Paginated queries: `{items, total, page, per_page}` for every list."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ...extensions import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int


def paginate(stmt, page: int, per_page: int, offset: int | None = None) -> Page:
    """One page of `stmt`; `offset` (rows to skip) overrides `page` for clients that page by row."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    skip = offset if offset is not None else (page - 1) * per_page
    items = list(db.session.scalars(stmt.limit(per_page).offset(skip))) if per_page else []
    return Page(items, total or 0, page, per_page)
