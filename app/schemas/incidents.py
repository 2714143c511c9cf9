"""Incidents: a failed step that stopped an instance, open until retried or cancelled."""
from marshmallow import Schema, fields, validate

from .common import MAX_ID, MAX_INSTANCE_ID, MAX_KEY, PageArgs, page_of, text

INCIDENT_STATES = ["open", "resolved", "all"]


class IncidentQuerySchema(PageArgs):
    key = text(MAX_KEY, load_default=None)
    definition_id = text(MAX_ID, load_default=None)
    instance_id = text(MAX_INSTANCE_ID, load_default=None)
    element_id = text(MAX_KEY, load_default=None)
    message = text(2000, load_default=None, metadata={"description": "the whole message"})
    message_contains = text(2000, load_default=None, metadata={"description": "a part of the message, taken literally"})
    state = fields.String(load_default="open", validate=validate.OneOf(INCIDENT_STATES))


class ListedIncidentSchema(Schema):
    id = fields.String(attribute="incident.id")
    instance_id = fields.String(attribute="incident.instance_id")
    key = fields.String(attribute="process_key")
    definition_id = fields.String()
    element_id = fields.String(attribute="incident.element_id", allow_none=True)
    element_name = fields.String(attribute="incident.element_name", allow_none=True)
    message = fields.String(attribute="incident.message")
    line = fields.Integer(attribute="incident.line", allow_none=True)
    created_at = fields.DateTime(attribute="incident.created_at")
    resolved_at = fields.DateTime(attribute="incident.resolved_at", allow_none=True)
    resolution = fields.String(attribute="incident.resolution", allow_none=True,
                               metadata={"description": "retried or cancelled"})


IncidentPageSchema = page_of(ListedIncidentSchema, "IncidentPage")
