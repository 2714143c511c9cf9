"""Process analytics: the query every call shares, and the heat map, bottlenecks, branches and durations."""
from marshmallow import Schema, fields, validate

from .common import MAX_INSTANCE_ID, MAX_KEY, MAX_MODULE, MAX_NAME, Moment, text
from .definitions import DefinitionRefSchema

FORMATS = ("csv", "xes")


class AnalyticsQuerySchema(Schema):
    """Which definition (by id, or key and version) and which of its occurrences or instances count."""

    definition_id = text(MAX_INSTANCE_ID, load_default=None, metadata={"description": "a definition version's id"})
    key = text(MAX_KEY, load_default=None, metadata={
        "description": "the process key (without definition_id); its latest version unless `version` is given"})
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    started_from = Moment(load_default=None, metadata={
        "description": "count what started at or after this moment (activities; instances for durations and "
                       "the event log)"})
    started_to = Moment(load_default=None, metadata={"description": "... and before this moment"})
    business_key_prefix = text(MAX_KEY, load_default=None, metadata={
        "description": "instances whose business key starts with this"})
    owner = text(MAX_NAME, load_default=None, metadata={"description": "instances started by this user"})
    module = text(MAX_MODULE, load_default=None, metadata={"description": "instances running on a record of this module"})


class BottleneckQuerySchema(AnalyticsQuerySchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100), metadata={
        "description": "how many ranked elements (default 10)"})


class EventLogQuerySchema(AnalyticsQuerySchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS), metadata={
        "description": "csv (one row per activity) or xes (IEEE 1849-2016)"})
    limit = fields.Integer(load_default=10_000, validate=validate.Range(min=1, max=100_000), metadata={
        "description": "at most this many instances, the earliest started (default 10,000)"})


class FiltersSchema(Schema):
    started_from = Moment(allow_none=True)
    started_to = Moment(allow_none=True)
    business_key_prefix = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    module = fields.String(allow_none=True)


def _timing(prefix: str = ""):
    return {f"{prefix}p50_ms": fields.Integer(allow_none=True, metadata={"description": "median, in milliseconds"}),
            f"{prefix}p90_ms": fields.Integer(allow_none=True, metadata={"description": "90th percentile (ms)"})}


class ElementHeatSchema(Schema.from_dict({
    "element_id": fields.String(), "name": fields.String(allow_none=True), "type": fields.String(allow_none=True),
    "count": fields.Integer(metadata={"description": "occurrences entered"}),
    "completed": fields.Integer(), "cancelled": fields.Integer(), "interrupted": fields.Integer(),
    "active": fields.Integer(metadata={"description": "occurrences open now"}),
    **_timing()})):
    """One element: its occurrences, how they ended, and the completed ones' durations."""


class FlowHeatSchema(Schema):
    flow_id = fields.String()
    name = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    target = fields.String(allow_none=True)
    taken = fields.Integer(metadata={"description": "times a token came along the flow"})


class HeatMapSchema(Schema):
    definition = fields.Nested(DefinitionRefSchema)
    filters = fields.Nested(FiltersSchema)
    elements = fields.List(fields.Nested(ElementHeatSchema), metadata={
        "description": "every element of the definition (in its order), then any other the rows name"})
    flows = fields.List(fields.Nested(FlowHeatSchema))


class ElementWaitSchema(Schema.from_dict({
    "element_id": fields.String(), "name": fields.String(allow_none=True), "type": fields.String(allow_none=True),
    "completed": fields.Integer(), **_timing(),
    "score_ms": fields.Integer(metadata={"description": "completed x p50_ms: the rank"})})):
    pass


class GroupTimesSchema(Schema.from_dict({
    "element_id": fields.String(), "name": fields.String(allow_none=True),
    "candidate_group": fields.String(allow_none=True, metadata={"description": "null: offered to no group"}),
    "tasks": fields.Integer(), "claimed": fields.Integer(),
    **_timing("queue_"), **_timing("work_")})):
    """Queue time: entered to first claim; work time: first claim to completion."""


class SlaBreachesSchema(Schema):
    element_id = fields.String()
    name = fields.String(allow_none=True)
    with_due_date = fields.Integer()
    completed_late = fields.Integer()
    open_overdue = fields.Integer()
    breached = fields.Integer()


class EscalationLevelSchema(Schema):
    element_id = fields.String()
    name = fields.String(allow_none=True)
    attached_to = fields.String()
    interrupting = fields.Boolean()
    fired = fields.Integer()


class BottlenecksSchema(Schema):
    definition = fields.Nested(DefinitionRefSchema)
    filters = fields.Nested(FiltersSchema)
    elements = fields.List(fields.Nested(ElementWaitSchema), metadata={"description": "ranked, highest score first"})
    human_tasks = fields.List(fields.Nested(GroupTimesSchema))
    sla = fields.List(fields.Nested(SlaBreachesSchema))
    escalations = fields.List(fields.Nested(EscalationLevelSchema), metadata={
        "description": "boundary timers of human tasks (SLA levels) and how often each fired"})


class BranchOutcomeSchema(Schema):
    status = fields.String()
    end_element_id = fields.String(allow_none=True)
    instances = fields.Integer()


class BranchSchema(Schema):
    flow_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    target = fields.String(allow_none=True)
    taken = fields.Integer()
    instances = fields.Integer()
    outcomes = fields.List(fields.Nested(BranchOutcomeSchema))


class GatewayBranchesSchema(Schema):
    gateway_id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String()
    taken = fields.Integer()
    branches = fields.List(fields.Nested(BranchSchema))


class GatewaysSchema(Schema):
    definition = fields.Nested(DefinitionRefSchema)
    filters = fields.Nested(FiltersSchema)
    gateways = fields.List(fields.Nested(GatewayBranchesSchema))


class EndEventDurationsSchema(Schema.from_dict({
    "end_element_id": fields.String(allow_none=True), "name": fields.String(allow_none=True),
    "completed": fields.Integer(), **_timing()})):
    pass


class DefinitionDurationsSchema(Schema.from_dict({
    "definition": fields.Nested(DefinitionRefSchema),
    "instances": fields.Integer(metadata={"description": "instances started (in the period)"}),
    "by_status": fields.Dict(keys=fields.String(), values=fields.Integer()),
    "completed": fields.Integer(), **_timing(),
    "end_events": fields.List(fields.Nested(EndEventDurationsSchema))})):
    pass


class DurationsSchema(Schema):
    key = fields.String()
    filters = fields.Nested(FiltersSchema)
    definitions = fields.List(fields.Nested(DefinitionDurationsSchema), metadata={"description": "newest version first"})
