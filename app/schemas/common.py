"""Shared schema pieces: pagination and list envelopes."""
from marshmallow import Schema, fields, validate


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


def page_of(item_schema, name: str):
    """A `{items, total, page, per_page}` envelope schema around `item_schema`."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
    }, name=name)


class ReasonSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))
