from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .common import MAX_ID, MAX_INSTANCE_ID, MAX_KEY, MAX_MODULE, CursorArgs, Moment, PageArgs, page_of, text
from .definitions import DefinitionRefSchema, TenantQuery
from .tasks import TaskSchema

STATUSES = ["running", "completed", "cancelled", "suspended", "error"]


class StartInstanceSchema(Schema):
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    business_key = text(MAX_KEY, load_default=None)


class InstanceSummarySchema(Schema):
    id = fields.String()
    definition_id = fields.String()
    process_key = fields.String(data_key="key")
    tenant_id = fields.String(allow_none=True)
    status = fields.String()
    business_key = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_element_id = fields.String(allow_none=True, metadata={"description": "the end event it completed at"})
    duration_ms = fields.Integer(allow_none=True, metadata={"description": "from start to end, once ended"})
    started_by = fields.String(allow_none=True)
    record_module = fields.String(allow_none=True, data_key="module")
    record_id = fields.String(allow_none=True)
    record_role = fields.String(allow_none=True)


class InstanceStartedSchema(Schema):
    id = fields.String()
    status = fields.String()
    variables = fields.Dict()
    tasks = fields.List(fields.Nested(TaskSchema))


class VariablesPatchSchema(Schema):
    variables = fields.Dict(keys=fields.String(), required=True)


class InstanceVariablesSchema(Schema):
    id = fields.String()
    status = fields.String()
    variables = fields.Dict()


class ActivitySchema(Schema):
    element_id = fields.String()
    element_name = fields.String(allow_none=True)
    element_type = fields.String()
    state = fields.String()


class IncidentSchema(Schema):
    id = fields.String()
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    message = fields.String()
    line = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)


class InstanceDetailSchema(Schema):
    id = fields.String()
    definition = fields.Nested(DefinitionRefSchema)
    tenant_id = fields.String(allow_none=True)
    status = fields.String()
    business_key = fields.String(allow_none=True)
    variables = fields.Dict()
    active_activities = fields.List(fields.Nested(ActivitySchema))
    tasks = fields.List(fields.Nested(TaskSchema))
    incidents = fields.List(fields.Nested(IncidentSchema))
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_element_id = fields.String(allow_none=True, metadata={"description": "the end event it completed at"})
    duration_ms = fields.Integer(allow_none=True, metadata={"description": "from start to end, once ended"})
    removal_time = fields.DateTime(allow_none=True, metadata={
        "description": "when history cleanup may remove the ended instance (docs/operations.md); null: kept"})
    started_by = fields.String(allow_none=True)


class InstanceQuerySchema(CursorArgs, PageArgs, TenantQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    module = text(MAX_MODULE, load_default=None)
    record_id = text(MAX_ID, load_default=None)
    key = text(MAX_KEY, load_default=None)
    business_key = text(MAX_KEY, load_default=None)
    business_key_like = text(MAX_KEY, load_default=None, metadata={
        "description": "a SQL LIKE pattern: `%` any text, `_` one character, a backslash takes the next as it is; "
                       "case counts"})
    activity = text(MAX_KEY, load_default=None)
    started_after = Moment(load_default=None)
    started_before = Moment(load_default=None)


class BulkFilterSchema(InstanceQuerySchema):
    """The instance list's filters, without its paging."""

    class Meta:
        exclude = ("page", "per_page", "after", "exact")


BULK_OPERATIONS = ["retry", "cancel", "suspend", "resume"]


class BulkOperationSchema(Schema):
    operation = fields.String(required=True, validate=validate.OneOf(BULK_OPERATIONS))
    instance_ids = fields.List(text(MAX_INSTANCE_ID), load_default=None, metadata={
        "description": "the instances, at most 1,000 (give this or `filter`)"})
    filter = fields.Nested(BulkFilterSchema, load_default=None, metadata={
        "description": "the instance list's filters: every instance you may read that they match, at most 1,000 "
                       "(more: 400 with `matched`)"})
    reason = fields.String(load_default=None, validate=validate.Length(max=2000),
                           metadata={"description": "kept in each instance's history"})

    @validates_schema
    def _one_selection(self, data, **kwargs):
        if (data.get("instance_ids") is None) == (data.get("filter") is None):
            raise ValidationError("give instance_ids or filter, not both", "instance_ids")


class BulkProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance_status = fields.String(metadata={"description": "the instance's status, when it does not allow the operation"})
    errors = fields.Dict()


class BulkOutcomeSchema(Schema):
    instance_id = fields.String()
    ok = fields.Boolean(metadata={"description": "the operation was done; else `problem` says why not"})
    instance_status = fields.String(allow_none=True, metadata={"description": "the instance's status after it"})
    problem = fields.Nested(BulkProblemSchema, allow_none=True, metadata={
        "description": "the problem the operation on this instance alone would have answered"})


class BulkResultSchema(Schema):
    operation = fields.String()
    matched = fields.Integer(metadata={"description": "instances named or matched, each once"})
    succeeded = fields.Integer()
    refused = fields.Integer()
    items = fields.List(fields.Nested(BulkOutcomeSchema), metadata={"description": "one per instance, in order"})


class HistoryEventSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    at = fields.DateTime()
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    element_type = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    data = fields.Raw(allow_none=True)


class HistoryQuerySchema(PageArgs):
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


InstancePageSchema = page_of(InstanceSummarySchema, "InstancePage")
HistoryPageSchema = page_of(HistoryEventSchema, "HistoryPage")
