"""Related lists: the records of another module whose lookup field points at a record.

A deal's contacts are the Contacts whose `deal` lookup holds the deal's id; an account's deals are
the Deals whose `account` lookup holds it. The caller must read the record, and sees only the
related records they may read (`access.readable_records`).
"""
from __future__ import annotations

from sqlalchemy import or_, select

from ..errors import NotFoundError, ValidationError
from ..models import Record
from .access import readable_records
from .core import Actor, Page, paginate
from .modules import get_module
from .records import get_record


def lookup_fields(module: str, other_module: str) -> list[str]:
    """The lookup fields of `other_module` that point at records of `module`."""
    return [f["name"] for f in get_module(other_module).fields
            if f.get("type") == "lookup" and f.get("lookup") == module]


def list_related(module: str, record_id: str, other_module: str, actor: Actor, page: int, per_page: int,
                 field: str | None = None) -> Page:
    """The records of `other_module` pointing at this record through a lookup field (or `field`), newest first.

    Raises:
        NotFoundError: no such record (or not readable), no such module, or no lookup from it to `module`.
        ValidationError: `field` is not one of those lookups.
    """
    record = get_record(module, record_id, actor)
    fields = lookup_fields(record.module, other_module)
    if not fields:
        raise NotFoundError(f"{other_module} has no lookup field pointing at {module}: there is no related list")
    if field is not None:
        if field not in fields:
            raise ValidationError("not a lookup to this module", errors={"field": [
                f"one of {', '.join(fields)}"]})
        fields = [field]
    stmt = select(Record).where(Record.module == other_module,
                                or_(*(Record.data[name].as_string() == record.id for name in fields)))
    readable = readable_records(actor, other_module)
    if readable is not None:
        stmt = stmt.where(readable)
    return paginate(stmt.order_by(Record.created_at.desc(), Record.id.desc()), page, per_page)
