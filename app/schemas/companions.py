"""Schemas of what records carry besides their fields: notes, attachments, related lists."""
from marshmallow import Schema, validate
from marshmallow import fields as ma

from .common import MAX_MODULE, PageArgs, page_of


class NoteSchema(Schema):
    id = ma.String(dump_only=True)
    text = ma.String(required=True, validate=validate.Length(min=1, max=10_000))
    author = ma.String(dump_only=True, allow_none=True,
                       metadata={"description": "who wrote it; null for a note a process wrote"})
    instance_id = ma.String(dump_only=True, allow_none=True,
                            metadata={"description": "the process instance that wrote it"})
    created_at = ma.DateTime(dump_only=True)
    modified_at = ma.DateTime(dump_only=True)


class AttachmentSchema(Schema):
    id = ma.String(dump_only=True)
    file_name = ma.String(dump_only=True, metadata={"description": "the name it was uploaded with (shown only)"})
    content_type = ma.String(dump_only=True, metadata={"description": "as read from the file's bytes"})
    size = ma.Integer(dump_only=True, metadata={"description": "bytes"})
    sha256 = ma.String(dump_only=True)
    uploaded_by = ma.String(dump_only=True)
    created_at = ma.DateTime(dump_only=True)


class RelatedQuerySchema(PageArgs):
    field = ma.String(load_default=None, validate=validate.Length(max=MAX_MODULE), metadata={
        "description": "one lookup field of the other module (default: every one pointing at this module)"})


NotePageSchema = page_of(NoteSchema, "NotePage")
AttachmentPageSchema = page_of(AttachmentSchema, "AttachmentPage")
