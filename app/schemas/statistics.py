"""Statistics: instances per process key, and what happens at each element of a definition."""
from marshmallow import Schema, fields, validate

from .definitions import DefinitionRefSchema


class ProcessStatisticsQuerySchema(Schema):
    completed_within_hours = fields.Integer(load_default=24, validate=validate.Range(min=1, max=24 * 366), metadata={
        "description": "how far back `completed_recently` counts (hours, default 24)"})


class ProcessStatisticsSchema(Schema):
    key = fields.String()
    running = fields.Integer()
    error = fields.Integer()
    suspended = fields.Integer()
    incidents = fields.Integer(data_key="open_incidents")
    open_tasks = fields.Integer()
    completed_recently = fields.Integer(metadata={"description": "instances completed within the hours asked"})


class ProcessStatisticsListSchema(Schema):
    items = fields.List(fields.Nested(ProcessStatisticsSchema))
    total = fields.Integer()


class ElementStatisticsSchema(Schema):
    element_id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    waiting = fields.Integer(metadata={"description": "instances not ended that are at the element now"})
    incidents = fields.Integer(metadata={"description": "open incidents at the element"})
    completed = fields.Integer(metadata={"description": "times the element was left, in the history sample"})
    cancelled = fields.Integer(metadata={"description": "instances of the sample cancelled while at the element"})
    timed = fields.Integer(metadata={"description": "entered and left pairs measured, in the history sample"})
    p50_seconds = fields.Float(allow_none=True, metadata={"description": "median time from entering to leaving"})
    avg_seconds = fields.Float(allow_none=True, metadata={"description": "average time from entering to leaving"})


class HistorySampleSchema(Schema):
    instances = fields.Integer(metadata={
        "description": "the latest instances of the definition (that you may read) whose history was read"})
    limit = fields.Integer()
    oldest_started_at = fields.DateTime(allow_none=True)


class DefinitionStatisticsSchema(Schema):
    definition = fields.Nested(DefinitionRefSchema)
    sample = fields.Nested(HistorySampleSchema, metadata={
        "description": "what `completed`, `cancelled` and the durations are counted over"})
    elements = fields.List(fields.Nested(ElementStatisticsSchema), metadata={
        "description": "the definition's elements in the order it lists them, then any other the history names"})
