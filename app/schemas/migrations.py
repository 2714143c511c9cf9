"""Migrations of running instances, and modifications of one instance."""
from marshmallow import Schema, fields, validate

from .common import MAX_ID, MAX_INSTANCE_ID, MAX_KEY, MAX_MODULE, Moment, PageArgs, page_of, text

MAX_INSTANCES = 10_000  # instance ids in one request; a filter selects any number
MAX_MAPPING = 1_000


class InstanceFilterSchema(Schema):
    """The instance list's filters, over the source definition's instances that have not ended."""

    status = fields.String(load_default=None, validate=validate.OneOf(["running", "suspended", "error"]))
    business_key = text(MAX_KEY, load_default=None)
    activity = text(MAX_KEY, load_default=None, metadata={"description": "instances waiting at this element"})
    started_after = Moment(load_default=None)
    started_before = Moment(load_default=None)
    module = text(MAX_MODULE, load_default=None)
    record_id = text(MAX_ID, load_default=None)


class MigrationRequestSchema(Schema):
    source_definition_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID))
    target_definition_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID))
    instance_ids = fields.List(fields.String(validate=validate.Length(min=1, max=MAX_INSTANCE_ID)), load_default=None,
                               validate=validate.Length(min=1, max=MAX_INSTANCES),
                               metadata={"description": "the instances to migrate (or give `filter`)"})
    filter = fields.Nested(InstanceFilterSchema, load_default=None,
                           metadata={"description": "select the source's live instances instead of naming them"})
    mapping = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=MAX_KEY)),
                          values=fields.String(validate=validate.Length(min=1, max=MAX_KEY)), load_default=dict,
                          validate=validate.Length(max=MAX_MAPPING),
                          metadata={"description": "{source element: target element} for elements that do not "
                                                   "keep their id; every other element goes to the same id"})
    variables = fields.Dict(keys=fields.String(), load_default=dict,
                            metadata={"description": "variables set on every migrated instance"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check every instance, change nothing"})
    run_async = fields.Boolean(data_key="async", load_default=False,
                               metadata={"description": "only queue the batch: the job runner works it through"})


class RefusalReasonSchema(Schema):
    element_id = fields.String(allow_none=True)
    reason = fields.String(metadata={"description": "no-counterpart, not-mapped, type-changed, "
                                                    "multi-instance-changed, event-changed, other-definition, "
                                                    "not-live, not-found"})
    message = fields.String()


class MigrationItemSchema(Schema):
    instance_id = fields.String()
    status = fields.String(metadata={"description": "migrated, refused, failed, pending; in a dry run "
                                                    "migratable, refused or failed"})
    reasons = fields.List(fields.Nested(RefusalReasonSchema), allow_none=True)
    error = fields.String(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class ChangesSchema(Schema):
    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    changed = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class MigrationSchema(Schema):
    id = fields.String(allow_none=True, metadata={"description": "the batch (none for a dry run)"})
    dry_run = fields.Boolean()
    status = fields.String(metadata={"description": "running, completed, or dry-run"})
    source_definition_id = fields.String()
    target_definition_id = fields.String()
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    variables = fields.Dict()
    total = fields.Integer()
    migrated = fields.Integer()
    migratable = fields.Integer(allow_none=True)
    refused = fields.Integer()
    failed = fields.Integer()
    pending = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    changes = fields.Nested(ChangesSchema, allow_none=True)
    instances = fields.List(fields.Nested(MigrationItemSchema))


class MigrationItemQuerySchema(PageArgs):
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "migrated", "refused", "failed"]))


class InstructionSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["cancel", "start_before", "start_after", "reset"]))
    element_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_KEY))
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class ModificationSchema(Schema):
    instructions = fields.List(fields.Nested(InstructionSchema), required=True,
                               validate=validate.Length(min=1, max=100))
    annotation = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                               metadata={"description": "why: kept in the instance's history with who modified it"})


MigrationPageSchema = page_of(MigrationSchema, "MigrationPage")
MigrationItemPageSchema = page_of(MigrationItemSchema, "MigrationItemPage")
