"""What process analytics measure against: a module's conversion goal."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class ConversionGoal(db.Model):
    """One per module: a record converts when `field` takes `value`; `lost` values of the field lose it."""

    __tablename__ = "crm_conversion_goal"

    module: Mapped[str] = mapped_column(String(100), primary_key=True)
    field: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(255))
    # values of the same field that mean the record is lost (e.g. ["Closed Lost"]): drop-offs
    lost: Mapped[list] = mapped_column(JSON, default=list)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
