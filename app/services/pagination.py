"""Paginated queries: `{items, total, page, per_page}` for every list."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int


def paginate(stmt, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total or 0, page, per_page)
