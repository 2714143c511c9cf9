"""A module's scoring rules: criteria worth points and points per touchpoint, summed into a number field."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class ScoringRules(db.Model):
    """One per module that is scored; the module's `field` is recomputed on every write and touchpoint."""

    __tablename__ = "crm_scoring"

    module: Mapped[str] = mapped_column(String(100), primary_key=True)
    field: Mapped[str] = mapped_column(String(100), default="score")
    # [{name, expression, points}]: points (positive or negative) while the expression holds
    criteria: Mapped[list] = mapped_column(JSON, default=list)
    # {touchpoint type: points}: per timeline event of that type (email_opened, form_submitted, ...)
    touchpoints: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
