"""A blueprint's stages: the values its diagram gives a record's stage field, in flow order."""
from marshmallow import Schema, fields, validate

from .common import MAX_INT32
from .definitions import DefinitionRefSchema


class BlueprintStagesQuerySchema(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT32),
                             metadata={"description": "a version of the process (default: the latest)"})


class StageSchema(Schema):
    name = fields.String()
    element_id = fields.String(metadata={"description": "the element where the record first takes this stage"})
    element_type = fields.String(allow_none=True)


class BlueprintBindingRefSchema(Schema):
    module = fields.String()
    field = fields.String(metadata={"description": "the record field that holds the stage"})
    active = fields.Boolean()


class BlueprintStagesSchema(Schema):
    key = fields.String(attribute="definition.key")
    definition = fields.Nested(DefinitionRefSchema)
    bindings = fields.List(fields.Nested(BlueprintBindingRefSchema), metadata={
        "description": "the modules this process is the blueprint of (none: not bound yet)"})
    stages = fields.List(fields.Nested(StageSchema))
