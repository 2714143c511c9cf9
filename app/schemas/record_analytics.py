"""Schemas of process analytics: a module's conversion goal, Path Finder and the funnel."""
from marshmallow import Schema, fields, validate

from .common import MAX_ID, MAX_KEY, MAX_MODULE, MAX_NAME, Moment, text


class ConversionGoalSchema(Schema):
    module = fields.String(dump_only=True)
    field = text(MAX_MODULE, required=True, metadata={"description": "a text or picklist field, e.g. `stage`"})
    value = fields.String(required=True, validate=validate.Length(min=1, max=MAX_KEY),
                 metadata={"description": "a record converts when the field first takes it, e.g. `Closed Won`"})
    lost = fields.List(text(MAX_KEY), load_default=list, validate=validate.Length(max=20), metadata={
        "description": "values of the same field at which a record is lost, e.g. [\"Closed Lost\"]"})
    criteria = fields.String(dump_only=True, metadata={"description": "the goal as a criteria expression"})
    updated_by = fields.String(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True, allow_none=True)


class AnalyticsQuerySchema(Schema):
    start = Moment(data_key="from", load_default=None, metadata={
        "description": "the period's start (ISO 8601; UTC when no offset; default: 90 days before `to`)"})
    end = Moment(data_key="to", load_default=None, metadata={
        "description": "the period's end, excluded (default: now); at most 366 days after `from`"})
    anchor = fields.String(load_default="created", validate=validate.OneOf(("created", "first_touchpoint")),
                           metadata={"description": "a record is in the period when its creation (or its first "
                                                    "touchpoint) is"})
    owner = text(MAX_NAME, load_default=None, metadata={"description": "only the records this user owns"})
    process_key = text(MAX_KEY, load_default=None, metadata={
        "description": "only the records an instance of this process ran on"})
    definition_id = text(MAX_ID, load_default=None, metadata={
        "description": "only the records an instance of this definition version ran on"})
    business_key_prefix = text(MAX_KEY, load_default=None, metadata={
        "description": "only the records whose business key (the record id their processes carry) starts so"})


class PathFinderQuerySchema(AnalyticsQuerySchema):
    variants = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100), metadata={
        "description": "how many of the most frequent variants to return"})
    collapse = fields.Boolean(load_default=False, metadata={
        "description": "consecutive repeats of a step count once in a variant"})
    idle_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650), metadata={
        "description": "a record with no touchpoint for this many days (before now) is idle"})


class ScopeSchema(Schema):
    module = fields.String()
    start = Moment(data_key="from")
    end = Moment(data_key="to")
    anchor = fields.String()
    owner = fields.String(allow_none=True)
    process_key = fields.String(allow_none=True)
    definition_id = fields.String(allow_none=True)
    business_key_prefix = fields.String(allow_none=True)


class NodeSchema(Schema):
    node = fields.String(metadata={"description": "a touchpoint type, `type: name`, or `stage: <stage>`"})
    occurrences = fields.Integer()
    records = fields.Integer(metadata={"description": "records with this step at least once"})


class EdgeSchema(Schema):
    source = fields.String(data_key="from")
    target = fields.String(data_key="to")
    count = fields.Integer(metadata={"description": "times a record took this step right after the other"})
    median_seconds = fields.Float(allow_none=True)


class VariantSchema(Schema):
    steps = fields.List(fields.String())
    records = fields.Integer()
    converted = fields.Integer()
    conversion_rate = fields.Float(allow_none=True)


class VariantsSchema(Schema):
    collapsed = fields.Boolean()
    distinct = fields.Integer(metadata={"description": "how many different paths the records took"})
    limit = fields.Integer()
    items = fields.List(fields.Nested(VariantSchema), metadata={
        "description": "most records first, then most conversions, then the steps in order alphabetically"})


class DropOffSchema(Schema):
    reason = fields.String(metadata={"description": "lost, cancelled or idle"})
    last_step = fields.String(allow_none=True, metadata={"description": "the last step before it; null: none"})
    records = fields.Integer()


class DropOffsSchema(Schema):
    idle_days = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "records that did not convert, by reason: lost, cancelled, idle, open"})
    items = fields.List(fields.Nested(DropOffSchema))


class PathFinderSchema(Schema):
    scope = fields.Nested(ScopeSchema)
    goal = fields.Nested(ConversionGoalSchema)
    records = fields.Integer()
    converted = fields.Integer()
    conversion_rate = fields.Float(allow_none=True)
    nodes = fields.List(fields.Nested(NodeSchema))
    edges = fields.List(fields.Nested(EdgeSchema))
    variants = fields.Nested(VariantsSchema)
    drop_offs = fields.Nested(DropOffsSchema)


class FunnelStageSchema(Schema):
    stage = fields.String()
    reached = fields.Integer(metadata={"description": "records that got to this stage or a later one"})
    conversion = fields.Float(allow_none=True, metadata={
        "description": "reached / the previous stage's reached (the first stage: / the cohort's records)"})


class TimeToConvertSchema(Schema):
    median_seconds = fields.Float(allow_none=True)
    p90_seconds = fields.Float(allow_none=True)


class CohortSchema(Schema):
    cohort = fields.String(metadata={"description": "YYYY-MM (UTC), or `all`"})
    records = fields.Integer()
    converted = fields.Integer()
    conversion_rate = fields.Float(allow_none=True)
    stages = fields.List(fields.Nested(FunnelStageSchema))
    time_to_convert = fields.Nested(TimeToConvertSchema)


class FunnelSchema(Schema):
    scope = fields.Nested(ScopeSchema)
    goal = fields.Nested(ConversionGoalSchema)
    field = fields.String()
    stages = fields.List(fields.String())
    source = fields.String(metadata={"description": "`blueprint <process key>` or `field <name>`"})
    overall = fields.Nested(CohortSchema)
    cohorts = fields.List(fields.Nested(CohortSchema))
