from marshmallow import Schema, fields, validate

from .common import MAX_KEY, PageArgs, page_of, text

TENANT_ID_LENGTH = 64
_TENANT_DOC = {"description": "the tenant the deployment was made for (Camunda's tenant-id), null for none; "
                              "versions count per key and tenant"}

_EXTERNAL_TASKS_DOC = {
    "description": "the external tasks workers must fetch and complete through /engine-rest/external-task: "
                   "{element_id, name, topic, implementation}; implementation names the Java code or connector "
                   "(camunda:class, delegateExpression, expression, connector) a task stands in for, else null"}


class DefinitionSchema(Schema):
    id = fields.String(dump_only=True)
    key = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    tenant_id = fields.String(dump_only=True, allow_none=True, metadata=_TENANT_DOC)
    name = fields.String(dump_only=True)
    deployment_id = fields.String(dump_only=True)
    resource_name = fields.String(dump_only=True)
    dialect = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    history_ttl_days = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "days its ended instances are kept (camunda:historyTimeToLive, or set by an admin); "
                       "null: the server's default"})
    external_tasks = fields.List(fields.Dict(), dump_only=True, metadata=_EXTERNAL_TASKS_DOC)
    start_form = fields.Dict(dump_only=True, allow_none=True, metadata={
        "description": "the start event's form as a JSON Schema (camunda:formField or a Camunda form), or null; "
                       "/engine-rest/process-definition/{id}/submit-form checks starting data against it"})


class DefinitionRefSchema(Schema):
    id = fields.String()
    key = fields.String()
    version = fields.Integer()


class TenantQuery(Schema):
    """Filter a list by tenant: `tenant_id` keeps that tenant's rows, `without_tenant_id` those of none."""

    tenant_id = text(TENANT_ID_LENGTH, load_default=None)
    without_tenant_id = fields.Boolean(load_default=False)


class DefinitionQuerySchema(PageArgs, TenantQuery):
    key = text(MAX_KEY, load_default=None)
    latest = fields.Boolean(load_default=False, metadata={
        "description": "only the newest version of each key in each tenant's version line"})


class DeployedDefinitionSchema(Schema):
    id = fields.String(allow_none=True, metadata={
        "description": "null in a dry run, for a version that deploying would create"})
    key = fields.String()
    version = fields.Integer(allow_none=True, metadata={
        "description": "the version deployed; in a dry run, the version deploying would give it"})
    tenant_id = fields.String(allow_none=True, metadata=_TENANT_DOC)
    unchanged = fields.Boolean(metadata={
        "description": "dry run only: the content equals the latest version's, which deploying keeps "
                       "(its id and version are given)"})
    name = fields.String()
    external_tasks = fields.List(fields.Dict(), metadata=_EXTERNAL_TASKS_DOC)


class DeploymentSchema(Schema):
    id = fields.String(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True, allow_none=True)
    tenant_id = fields.String(dump_only=True, allow_none=True, metadata=_TENANT_DOC)
    created_at = fields.DateTime(dump_only=True)
    definitions = fields.List(fields.Nested(DeployedDefinitionSchema))


class DeploymentQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=False)
    name = text(MAX_KEY, load_default=None)
    tenant_id = fields.String(load_default=None, metadata=_TENANT_DOC, validate=validate.And(
        validate.Length(min=1, max=TENANT_ID_LENGTH),
        validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                        error="a tenant id is letters, digits, '.', '_' and '-', starting with a letter or digit")))


DefinitionPageSchema = page_of(DefinitionSchema, "DefinitionPage")
