"""Which tenants a list is narrowed to: Camunda's `tenantIdIn`, `withoutTenantId` and
`include...WithoutTenantId`, one rule for every list that has them.

A tenant id is a label a deployment carries onto its definitions and everything they run
(instances, tasks, external tasks, history, incidents); it is not an access boundary: who may
read or change what stays the grants' business (`access`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_


@dataclass(frozen=True)
class TenantFilter:
    """`ids`: keep rows of these tenants; `without`: keep only rows without a tenant (it wins over
    `ids`, as in Camunda's queries); `include_without`: rows without a tenant as well as `ids`'."""

    ids: tuple[str, ...] | None = None
    without: bool = False
    include_without: bool = False

    @classmethod
    def of(cls, ids=None, without=False, include_without=False) -> "TenantFilter | None":
        """A filter, or None when nothing narrows the list (`include_without` alone narrows nothing)."""
        ids = tuple(dict.fromkeys(ids)) if ids else None
        if not ids and not without:
            return None
        return cls(ids, bool(without), bool(include_without))

    def clause(self, column):
        """The SQL condition on a tenant id column."""
        if self.without:
            return column.is_(None)
        if self.include_without:
            return or_(column.in_(self.ids), column.is_(None))
        return column.in_(self.ids)

    def matches(self, tenant_id: str | None) -> bool:
        """The same condition on one value."""
        if self.without:
            return tenant_id is None
        return tenant_id in self.ids or (self.include_without and tenant_id is None)


def narrowed(stmt, tenants: TenantFilter | None, column):
    """`stmt` kept to the tenants of the filter (unchanged without one)."""
    return stmt if tenants is None else stmt.where(tenants.clause(column))
