"""Schemas of a record's approval: its state, and what submitters and approvers send."""
from marshmallow import Schema
from marshmallow import fields as ma

from .common import MAX_ID, MAX_NAME, text

MAX_REASON = 2_000


class ApprovalTaskSchema(Schema):
    id = ma.String()
    name = ma.String(allow_none=True)
    assignee = ma.String(allow_none=True)
    candidate_users = ma.List(ma.String())
    candidate_groups = ma.List(ma.String())


class ApprovalSchema(Schema):
    record_id = ma.String()
    module = ma.String()
    pending = ma.Boolean(metadata={"description": "an approval instance is running on the record"})
    locked_by = ma.String(allow_none=True, metadata={"description": "the instance holding the record's lock"})
    instance_id = ma.String(allow_none=True)
    process_key = ma.String(allow_none=True)
    submitted_by = ma.String(allow_none=True, metadata={"description": "who saved or submitted the record"})
    status = ma.String(allow_none=True)
    tasks = ma.List(ma.Nested(ApprovalTaskSchema), metadata={"description": "the open approval tasks"})


class RecallSchema(Schema):
    reason = text(MAX_REASON, load_default=None, allow_none=True)


class ApproveSchema(Schema):
    comment = text(MAX_REASON, load_default=None, allow_none=True)
    task_id = text(MAX_ID, load_default=None, allow_none=True,
                   metadata={"description": "which of your open approval tasks, when several are"})


class RejectSchema(Schema):
    reason = text(MAX_REASON, load_default=None, allow_none=True,
                  metadata={"description": "required: why the request is rejected"})
    task_id = text(MAX_ID, load_default=None, allow_none=True)


class ApprovalDelegateSchema(Schema):
    user = text(MAX_NAME, required=True)
    task_id = text(MAX_ID, load_default=None, allow_none=True)
