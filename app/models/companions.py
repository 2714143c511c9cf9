"""What a record carries besides its fields: notes and attachments.

Both belong to their record (deleted with it by the database); an attachment's bytes live on disk
under a random name (app/services/attachments.py), the row keeps the name the client gave only to
show it and to offer it on download.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_id, utcnow


class Note(db.Model):
    """A note on a record, written by a user or by a process (`add_note`, author null)."""

    __tablename__ = "crm_note"
    __table_args__ = (Index("ix_crm_note_record_created", "record_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    record_id: Mapped[str] = mapped_column(ForeignKey("crm_record.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    """A file attached to a record; its bytes are stored under `storage_name` in the storage path."""

    __tablename__ = "crm_attachment"
    __table_args__ = (Index("ix_crm_attachment_record_created", "record_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    record_id: Mapped[str] = mapped_column(ForeignKey("crm_record.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
