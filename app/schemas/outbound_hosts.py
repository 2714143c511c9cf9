"""Schemas of the outbound allow list (the hosts webhooks may reach)."""
from marshmallow import Schema, fields, validate

from .common import PageArgs, page_of


class OutboundHostSchema(Schema):
    id = fields.String(dump_only=True)
    pattern = fields.String(required=True, validate=validate.Length(min=1, max=255),
                            metadata={"description": "a host name (`hooks.example.com`), `*.example.com` for its "
                                                     "subdomains, an IP address, or a CIDR network"})
    allow_private = fields.Boolean(load_default=False, metadata={
        "description": "the host may resolve to private, loopback or link-local addresses (an internal service)"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                         metadata={"description": "why the host is allowed"})
    created_at = fields.DateTime(dump_only=True)
    created_by = fields.String(dump_only=True)


class OutboundHostQuerySchema(PageArgs):
    pass


OutboundHostPageSchema = page_of(OutboundHostSchema, "OutboundHostPage")
