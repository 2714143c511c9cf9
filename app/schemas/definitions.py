from marshmallow import Schema, fields

from .common import PageArgs, page_of


class DefinitionSchema(Schema):
    id = fields.String(dump_only=True)
    key = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    deployment_id = fields.String(dump_only=True)
    resource_name = fields.String(dump_only=True)
    dialect = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class DefinitionRefSchema(Schema):
    id = fields.String()
    key = fields.String()
    version = fields.Integer()


class DefinitionQuerySchema(PageArgs):
    key = fields.String(load_default=None)
    latest = fields.Boolean(load_default=False)


class DeployedDefinitionSchema(Schema):
    id = fields.String(allow_none=True)
    key = fields.String()
    version = fields.Integer(allow_none=True)
    name = fields.String()


class DeploymentSchema(Schema):
    id = fields.String(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    definitions = fields.List(fields.Nested(DeployedDefinitionSchema))


class DeploymentQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=False)
    name = fields.String(load_default=None)


DefinitionPageSchema = page_of(DefinitionSchema, "DefinitionPage")
