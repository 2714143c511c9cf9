"""Schemas of users and groups. Passwords are load-only: no response ever carries one or its hash."""
from marshmallow import Schema, fields, post_load, validate

from .common import PageArgs, page_of

# Letters, digits and . _ @ + -: a name that reads the same in a URL, a grant and a task's assignee.
USERNAME = validate.Regexp(r"^[A-Za-z0-9._@+-]{1,200}$",
                           error="1 to 200 letters, digits or . _ @ + -")
_GROUP = validate.Length(min=1, max=200)
# Passwords set over HTTP; argon2 hashes any length, the upper bound only limits the request.
PASSWORD = validate.Length(min=8, max=1000, error="between 8 and 1000 characters")


class UserSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=PASSWORD)
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=255))
    manager = fields.String(allow_none=True, load_default=None, validate=USERNAME,
                            metadata={"description": "the username of the user's manager"})
    groups = fields.List(fields.String(validate=_GROUP), load_default=list, validate=validate.Length(max=100),
                         attribute="group_names")
    is_admin = fields.Boolean(load_default=False)
    disabled = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    @post_load
    def _groups_by_their_name(self, data: dict, **_) -> dict:
        data["groups"] = data.pop("group_names", [])  # the model's list of names is `group_names`
        return data


class UserUpdateSchema(Schema):
    """PATCH: only the fields sent change. New groups, role, disabling or a password end the user's tokens."""

    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    manager = fields.String(allow_none=True, validate=USERNAME)
    groups = fields.List(fields.String(validate=_GROUP), validate=validate.Length(max=100))
    is_admin = fields.Boolean()
    disabled = fields.Boolean()
    password = fields.String(load_only=True, validate=PASSWORD)


class PasswordChangeSchema(Schema):
    """A user's own new password, with the current one."""

    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1000))
    password = fields.String(required=True, load_only=True, validate=PASSWORD)


class UserQuerySchema(PageArgs):
    group = fields.String(validate=_GROUP)
    disabled = fields.Boolean()
    is_admin = fields.Boolean()


class GroupSchema(Schema):
    name = fields.String()
    members = fields.Integer()


UserPageSchema = page_of(UserSchema, "UserPage")
GroupListSchema = Schema.from_dict({"items": fields.List(fields.Nested(GroupSchema)), "total": fields.Integer()},
                                   name="GroupList")
