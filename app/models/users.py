"""Users and groups."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow

user_groups = Table(
    "user_group",
    db.metadata,
    Column("user_id", String(32), ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", String(32), ForeignKey("app_group.id", ondelete="CASCADE"), primary_key=True),
)


class Group(db.Model):
    __tablename__ = "app_group"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(db.Model):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(255))
    manager: Mapped[str | None] = mapped_column(String(200))  # the manager's username
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a disabled user cannot log in and every token of theirs stops working
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # bumped on logout, disabling, a new password, new groups or role: older tokens are refused
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    groups: Mapped[list[Group]] = relationship(secondary=user_groups, lazy="selectin")

    @property
    def group_names(self) -> list[str]:
        return sorted(g.name for g in self.groups)
