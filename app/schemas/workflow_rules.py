"""Schemas of workflow rules: a binding plus actions, kept as a generated process definition."""
from marshmallow import Schema, validate
from marshmallow import fields as ma

from .common import MAX_MODULE, text

ACTION_TYPES = ["field_update", "email", "task", "webhook", "assign_owner"]
EVENTS = ["create", "edit", "create_or_edit", "field_change", "delete", "date"]


class RuleActionSchema(Schema):
    """One action; which keys it needs depends on `type` (checked by the service)."""

    type = ma.String(required=True, validate=validate.OneOf(ACTION_TYPES))
    field = ma.String(metadata={"description": "field_update: the field to set"})
    value = ma.Raw(allow_none=True, metadata={"description": "field_update: the new value (null clears it)"})
    to = ma.Raw(metadata={"description": "email: `owner`, `owner_manager`, usernames or addresses "
                                         "(a list or a comma-separated string)", "type": "array",
                          "items": {"type": "string"}})
    subject = ma.String(metadata={"description": "email (a template over the record's fields) or task"})
    body = ma.String(metadata={"description": "email: a template over the record's fields"})
    owner = ma.String(allow_none=True, metadata={"description": "task: a username (default: the record owner)"})
    due_in_days = ma.Integer(allow_none=True, validate=validate.Range(min=0, max=3_650),
                             metadata={"description": "task: due this many days from now"})
    url = ma.String(metadata={"description": "webhook: http:// or https:// URL"})
    user = ma.String(allow_none=True, metadata={"description": "assign_owner: the new owner"})
    group = ma.String(allow_none=True, metadata={"description": "assign_owner: round robin among its members"})
    mapping = ma.Dict(allow_none=True, metadata={"description": "assign_owner with field: {value: username}"})
    default = ma.String(allow_none=True, metadata={"description": "assign_owner with field: for other values"})
    schedule = ma.Dict(allow_none=True, metadata={
        "description": "run later: {days, hours} after the trigger, or {field, days, hours, time} from a date "
                       "field (negative: before); cancelled if the record stops matching first"})


class WorkflowRuleSchema(Schema):
    id = ma.String(dump_only=True)
    name = ma.String(required=True, validate=validate.Length(min=1, max=200),
                     metadata={"description": "saving under an existing name replaces that rule"})
    module = text(MAX_MODULE, required=True)
    event = ma.String(required=True, validate=validate.OneOf(EVENTS))
    field = text(MAX_MODULE, allow_none=True, load_default=None, metadata={"description": "for field_change"})
    criteria = text(10_000, allow_none=True, load_default=None, metadata={"description": "e.g. `amount > 10000`"})
    date = ma.Dict(allow_none=True, load_default=None, metadata={
        "description": "event date: {field, days, hours, time (HH:MM), timezone (IANA), repeat (yearly, monthly)}"})
    actions = ma.List(ma.Nested(RuleActionSchema), required=True)
    process_key = ma.String(dump_only=True, metadata={"description": "the generated process: rule_<name>"})
    version = ma.Integer(dump_only=True, allow_none=True)
    definition_id = ma.String(dump_only=True, allow_none=True)
    active = ma.Boolean(dump_only=True)
    created_by = ma.String(dump_only=True, allow_none=True)
    created_at = ma.DateTime(dump_only=True)


class WorkflowRuleListSchema(Schema):
    items = ma.List(ma.Nested(WorkflowRuleSchema))
    total = ma.Integer()
