"""Who may do what, and where the server may call: authorizations and the outbound allow list."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow


class Authorization(db.Model):
    """A grant: `permissions` on one resource (or `*`) to a user, a group, or every user (`*`).

    As in Camunda's authorization service, a grant names either a user or a group;
    the user `*` stands for every authenticated user.
    """

    __tablename__ = "authorization_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "group_id", "resource_type", "resource_id", name="uq_authorization_grant"),
        Index("ix_authorization_lookup", "resource_type", "resource_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(String(200))  # a username, or "*"
    group_id: Mapped[str | None] = mapped_column(String(200))  # a group name
    resource_type: Mapped[str] = mapped_column(String(40))  # process | topic | module | deployment
    resource_id: Mapped[str] = mapped_column(String(255), default="*")
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))


class OutboundHost(db.Model):
    """A host (or `*.domain`) that webhooks and outbound calls may reach."""

    __tablename__ = "outbound_host"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    pattern: Mapped[str] = mapped_column(String(255), unique=True)  # host, *.example.com, or an IP/CIDR
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)  # may resolve to private addresses
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
