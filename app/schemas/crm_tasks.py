"""Schemas of CRM to-dos: what processes created for people, edited, completed and reopened by them."""
from marshmallow import Schema, validate
from marshmallow import fields as ma

from .common import MAX_ID, MAX_MODULE, MAX_NAME, PageArgs, page_of, text

STATUSES = ["open", "completed"]
KINDS = ["call", "meeting"]
DUE_FILTERS = ["overdue", "today", "next_7_days", "none"]


class CrmTaskSchema(Schema):
    id = ma.String(dump_only=True)
    subject = ma.String(dump_only=True)
    owner = text(MAX_NAME, metadata={"description": "a username; the to-do's owner, who works it"})
    record_id = ma.String(dump_only=True, allow_none=True)
    module = ma.String(dump_only=True, allow_none=True)
    instance_id = ma.String(dump_only=True, allow_none=True,
                            metadata={"description": "the process instance that created it"})
    due_date = ma.Date(allow_none=True)
    description = text(10_000, allow_none=True)
    kind = ma.String(dump_only=True, allow_none=True, metadata={
        "enum": KINDS, "description": "call or meeting: completing it logs one on the record's timeline; "
                                      "null: a plain to-do"})
    status = ma.String(dump_only=True, metadata={"enum": STATUSES})
    created_at = ma.DateTime(dump_only=True)
    completed_at = ma.DateTime(dump_only=True, allow_none=True)
    completed_by = ma.String(dump_only=True, allow_none=True)


class CrmTaskUpdateSchema(Schema):
    """The fields to change (any of them)."""

    subject = ma.String(validate=validate.Length(min=1, max=255))
    owner = text(MAX_NAME)
    due_date = ma.Date(allow_none=True)
    description = text(10_000, allow_none=True)
    kind = ma.String(allow_none=True, validate=validate.OneOf(KINDS), metadata={
        "description": "call or meeting (completing it logs one on the record's timeline), or null"})


class CrmTaskQuerySchema(PageArgs):
    mine = ma.Boolean(load_default=False, metadata={"description": "only the caller's own"})
    owner = text(MAX_NAME, load_default=None)
    record_id = text(MAX_ID, load_default=None, metadata={
        "description": "the to-dos of one record: all of them when you may read it"})
    module = text(MAX_MODULE, load_default=None)
    status = ma.String(load_default="open", validate=validate.OneOf(["", *STATUSES]),
                       metadata={"description": "open (default), completed, or empty for both"})
    due = ma.String(load_default=None, validate=validate.OneOf(DUE_FILTERS), metadata={
        "description": "overdue (open, due before today), today, next_7_days (today to a week on), none (no date)"})


CrmTaskPageSchema = page_of(CrmTaskSchema, "CrmTaskPage")
