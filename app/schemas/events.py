"""Messages, signals and jobs."""
from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from .common import MAX_INSTANCE_ID, MAX_KEY, PageArgs, page_of, text


class MessageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    business_key = text(MAX_KEY, load_default=None)
    process_instance_id = text(MAX_INSTANCE_ID, load_default=None)
    correlation = fields.Dict(keys=fields.String(), load_default=None,
                              metadata={"description": "instance variables that must match"})
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    ttl = fields.Integer(load_default=None, validate=validate.Range(min=1, max=30 * 86400),
                         metadata={"description": "seconds to keep an undeliverable message for a later receiver"})
    all = fields.Boolean(load_default=False, metadata={"description": "deliver to every matching receiver"})

    @validates_schema
    def _one_target(self, data, **kwargs):
        given = [k for k in ("business_key", "process_instance_id", "correlation") if data.get(k)]
        if len(given) > 1:
            raise ValidationError("give one of business_key, correlation, process_instance_id", "business_key")


class DeliverySchema(Schema):
    delivered = fields.List(fields.String())
    started = fields.List(fields.String())
    buffered = fields.String(allow_none=True)


class SignalSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "timer, async, or batch (a migration working through its "
                                                  "instances)"})
    instance_id = fields.String(allow_none=True)
    batch_id = fields.String(allow_none=True)
    progress = fields.Method("_progress", allow_none=True,
                             metadata={"description": "a batch's instances: total, migrated, refused, failed, pending"})
    due_at = fields.DateTime()
    status = fields.String()
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()

    def _progress(self, job):
        batch = getattr(job, "batch", None)
        if batch is None:
            return None
        return {"total": batch.total, "migrated": batch.done, "refused": batch.refused, "failed": batch.failed,
                "pending": batch.pending}


class JobQuerySchema(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "failed"]))
    due = fields.Boolean(load_default=False, metadata={"description": "only jobs due now"})


JobPageSchema = page_of(JobSchema, "JobPage")
