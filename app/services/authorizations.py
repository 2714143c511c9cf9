"""Managing grants: which users and groups hold which permissions on which resources (admins only).

The rules that read the grants live in `access`; this module lists, creates,
changes and removes them. A grant names a user (or `*`, every user) or a
group, a resource type and id (or `*`), and permissions from
`access.PERMISSIONS`.
"""
from __future__ import annotations

from sqlalchemy import select

from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Authorization
from .access import ALL, PERMISSIONS, require_admin
from .core import Actor, Page, paginate, write_transaction

# Every user may start every process and create records; the `modelers` group deploys
# (and starts and reads what it deploys); the `workers` group works every external task topic.
DEFAULT_GRANTS = (
    {"id": "default-start", "user_id": ALL, "resource_type": "process", "resource_id": ALL, "permissions": ["start"]},
    {"id": "default-records", "user_id": ALL, "resource_type": "module", "resource_id": ALL,
     "permissions": ["create"]},
    {"id": "default-deploy", "group_id": "modelers", "resource_type": "process", "resource_id": ALL,
     "permissions": ["deploy", "start", "read"]},
    {"id": "default-topics", "group_id": "workers", "resource_type": "topic", "resource_id": ALL,
     "permissions": ["work"]},
)


def restore_default_grants() -> None:
    """Put back each default grant that is missing (the schema migration seeds them once)."""
    existing = set(db.session.scalars(select(Authorization.id)))
    missing = [g for g in DEFAULT_GRANTS if g["id"] not in existing]
    if not missing:
        db.session.rollback()
        return
    with write_transaction():
        for grant in missing:
            db.session.add(Authorization(created_by="system", **grant))


def _checked(data: dict, current: Authorization | None = None) -> dict:
    merged = {k: getattr(current, k) for k in ("user_id", "group_id", "resource_type", "resource_id",
                                               "permissions")} if current else {}
    merged.update({k: v for k, v in data.items() if v is not None or k in ("user_id", "group_id")})
    errors: dict[str, list[str]] = {}
    if bool(merged.get("user_id")) == bool(merged.get("group_id")):
        errors["user_id"] = ["name either a user (or '*' for every user) or a group"]
    rtype = merged.get("resource_type")
    if rtype not in PERMISSIONS:
        errors["resource_type"] = [f"one of {', '.join(sorted(PERMISSIONS))}"]
    else:
        unknown = sorted(set(merged.get("permissions") or ()) - set(PERMISSIONS[rtype]))
        if unknown or not merged.get("permissions"):
            errors["permissions"] = [f"a non-empty list from {', '.join(PERMISSIONS[rtype])}"
                                     + (f"; unknown: {', '.join(unknown)}" if unknown else "")]
    if errors:
        raise ValidationError("the grant is not valid", errors=errors)
    merged["resource_id"] = merged.get("resource_id") or ALL
    merged["permissions"] = sorted(set(merged["permissions"]), key=PERMISSIONS[rtype].index)
    return merged


def list_grants(actor: Actor, *, user_id=None, group_id=None, resource_type=None, resource_id=None,
                page: int = 1, per_page: int = 50, offset: int | None = None) -> Page:
    require_admin(actor, "read authorizations")
    stmt = select(Authorization)
    for column, value in ((Authorization.user_id, user_id), (Authorization.group_id, group_id),
                          (Authorization.resource_type, resource_type), (Authorization.resource_id, resource_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return paginate(stmt.order_by(Authorization.resource_type, Authorization.resource_id, Authorization.id),
                    page, per_page, offset)


def get_grant(grant_id: str, actor: Actor) -> Authorization:
    require_admin(actor, "read authorizations")
    grant = db.session.get(Authorization, grant_id)
    if grant is None:
        raise NotFoundError(f"no authorization {grant_id}")
    return grant


def _unique(values: dict, exclude: str | None = None) -> None:
    stmt = select(Authorization.id).where(
        Authorization.user_id.is_(None) if not values.get("user_id") else Authorization.user_id == values["user_id"],
        Authorization.group_id.is_(None) if not values.get("group_id") else Authorization.group_id == values["group_id"],
        Authorization.resource_type == values["resource_type"], Authorization.resource_id == values["resource_id"])
    other = db.session.scalar(stmt)
    if other and other != exclude:
        raise ConflictError(f"authorization {other} already grants to this user or group on this resource; "
                            "change its permissions instead")


def create_grant(data: dict, actor: Actor) -> Authorization:
    require_admin(actor, "manage authorizations")
    values = _checked(data)
    with write_transaction():
        _unique(values)
        grant = Authorization(created_by=actor.username, **{k: values.get(k) for k in (
            "user_id", "group_id", "resource_type", "resource_id", "permissions")})
        db.session.add(grant)
    return grant


def update_grant(grant_id: str, data: dict, actor: Actor) -> Authorization:
    require_admin(actor, "manage authorizations")
    with write_transaction():
        grant = get_grant(grant_id, actor)
        values = _checked(data, grant)
        _unique(values, exclude=grant.id)
        for key in ("user_id", "group_id", "resource_type", "resource_id", "permissions"):
            setattr(grant, key, values.get(key))
    return grant


def delete_grant(grant_id: str, actor: Actor) -> None:
    require_admin(actor, "manage authorizations")
    with write_transaction():
        db.session.delete(get_grant(grant_id, actor))
