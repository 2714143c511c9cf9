"""History retention: a definition's time to live, and the cleanup's configuration."""
from marshmallow import Schema, fields, validate

from ..engine import MAX_HISTORY_TTL_DAYS


class HistoryTtlSchema(Schema):
    days = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=0, max=MAX_HISTORY_TTL_DAYS),
                          metadata={"description": "days an ended instance of this version is kept (its removal "
                                                   "time is its end plus these days); null: the server's default"})


class CleanupConfigurationSchema(Schema):
    window_start = fields.DateTime(allow_none=True, metadata={
        "description": "start of the current or next cleanup window; null without a window"})
    window_end = fields.DateTime(allow_none=True)
    scheduled = fields.Boolean(metadata={"description": "whether the job runner cleans up in a daily window"})
    batch_size = fields.Integer(metadata={"description": "instances removed per transaction"})
    default_ttl_days = fields.Integer(allow_none=True, metadata={
        "description": "the time to live of definitions that name none; null: kept forever"})
    due_instances = fields.Integer(metadata={"description": "ended instances past their removal time now"})
