from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1000))


class TokenSchema(Schema):
    token = fields.String(required=True)
    token_type = fields.String(dump_default="Bearer")
    expires_in = fields.Integer()
