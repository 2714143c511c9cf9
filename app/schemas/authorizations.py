"""Schemas of authorizations (grants of permissions on resources)."""
from marshmallow import Schema, fields, validate

from .common import PageArgs, page_of

_NAME = validate.Length(min=1, max=200)


class AuthorizationSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = fields.String(allow_none=True, validate=_NAME,
                            metadata={"description": "a username, or `*` for every user (or give group_id)"})
    group_id = fields.String(allow_none=True, validate=_NAME, metadata={"description": "a group name"})
    resource_type = fields.String(required=True, validate=validate.OneOf(("process", "topic", "module")))
    resource_id = fields.String(load_default="*", validate=validate.Length(min=1, max=255),
                                metadata={"description": "a process key, topic or module name, or `*`"})
    permissions = fields.List(fields.String(validate=validate.Length(max=40)), required=True,
                              validate=validate.Length(min=1, max=10),
                              metadata={"description": "process: deploy, start, read, update, delete, repair, migrate; "
                                                       "topic: work; module: create, read, update, delete, analytics"})
    created_at = fields.DateTime(dump_only=True)
    created_by = fields.String(dump_only=True)


class AuthorizationUpdateSchema(AuthorizationSchema):
    resource_type = fields.String(validate=validate.OneOf(("process", "topic", "module")))
    resource_id = fields.String(validate=validate.Length(min=1, max=255))
    permissions = fields.List(fields.String(validate=validate.Length(max=40)), validate=validate.Length(min=1, max=10))


class AuthorizationQuerySchema(PageArgs):
    user_id = fields.String(validate=_NAME)
    group_id = fields.String(validate=_NAME)
    resource_type = fields.String(validate=validate.Length(max=40))
    resource_id = fields.String(validate=validate.Length(max=255))


AuthorizationPageSchema = page_of(AuthorizationSchema, "AuthorizationPage")
