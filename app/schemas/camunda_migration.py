"""Request shapes of Camunda 7's instance migration and modification under /engine-rest (camelCase)."""
from marshmallow import fields, validate

from .camunda import CamundaSchema, InstanceQuery
from .common import MAX_ID, MAX_INSTANCE_ID, MAX_KEY, text



class MigrationInstruction(CamundaSchema):
    source_activity_ids = fields.List(text(MAX_KEY), data_key="sourceActivityIds", required=True)
    target_activity_ids = fields.List(text(MAX_KEY), data_key="targetActivityIds", required=True)
    update_event_trigger = fields.Boolean(data_key="updateEventTrigger", load_default=False, allow_none=True)


class MigrationPlan(CamundaSchema):
    source = text(MAX_ID, data_key="sourceProcessDefinitionId", required=True)
    target = text(MAX_ID, data_key="targetProcessDefinitionId", required=True)
    instructions = fields.List(fields.Nested(MigrationInstruction), load_default=list, allow_none=True,
                               validate=validate.Length(max=1000))
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=None, allow_none=True)


class MigrationGeneration(CamundaSchema):
    source = text(MAX_ID, data_key="sourceProcessDefinitionId", required=True)
    target = text(MAX_ID, data_key="targetProcessDefinitionId", required=True)
    update_event_triggers = fields.Boolean(data_key="updateEventTriggers", load_default=False, allow_none=True)
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=None, allow_none=True)


class MigrationExecution(CamundaSchema):
    plan = fields.Nested(MigrationPlan, data_key="migrationPlan", required=True)
    process_instance_ids = fields.List(text(MAX_INSTANCE_ID), data_key="processInstanceIds", load_default=None,
                                       allow_none=True, validate=validate.Length(max=10_000))
    process_instance_query = fields.Nested(InstanceQuery, data_key="processInstanceQuery", load_default=None,
                                           allow_none=True)
    skip_custom_listeners = fields.Boolean(data_key="skipCustomListeners", load_default=False, allow_none=True)
    skip_io_mappings = fields.Boolean(data_key="skipIoMappings", load_default=False, allow_none=True)


class ModificationInstruction(CamundaSchema):
    type = fields.String(required=True, validate=validate.OneOf(
        ("cancel", "startBeforeActivity", "startAfterActivity", "startTransition")))
    activity_id = text(MAX_KEY, data_key="activityId", load_default=None, allow_none=True)
    transition_id = text(MAX_KEY, data_key="transitionId", load_default=None, allow_none=True)
    activity_instance_id = text(MAX_KEY, data_key="activityInstanceId", load_default=None, allow_none=True)
    transition_instance_id = text(MAX_KEY, data_key="transitionInstanceId", load_default=None, allow_none=True)
    ancestor_activity_instance_id = text(MAX_KEY, data_key="ancestorActivityInstanceId", load_default=None,
                                         allow_none=True)
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=None, allow_none=True)


class Modification(CamundaSchema):
    skip_custom_listeners = fields.Boolean(data_key="skipCustomListeners", load_default=False, allow_none=True)
    skip_io_mappings = fields.Boolean(data_key="skipIoMappings", load_default=False, allow_none=True)
    instructions = fields.List(fields.Nested(ModificationInstruction), required=True,
                               validate=validate.Length(min=1, max=100))
    annotation = text(2000, load_default=None, allow_none=True)
