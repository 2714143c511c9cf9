"""Column helpers shared by the models."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, TypeDecorator

from ..clock import utcnow  # noqa: F401 - the models' default timestamps


def new_id() -> str:
    """An opaque identifier: 32 hex characters."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self):
        return dt.datetime

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value
