"""Schemas of a module's scoring rules and of touchpoints."""
from marshmallow import Schema, validate
from marshmallow import fields as ma

from .common import MAX_MODULE, MAX_NAME, text

MAX_POINTS = 1_000_000


class ScoringCriterionSchema(Schema):
    name = text(MAX_NAME, required=True)
    expression = text(10_000, required=True, metadata={"description": "e.g. `annual_revenue >= 10000000`"})
    points = ma.Integer(required=True, strict=True, validate=validate.Range(-MAX_POINTS, MAX_POINTS),
                        metadata={"description": "added while the expression holds; negative to subtract"})


class ScoringSchema(Schema):
    module = ma.String(dump_only=True)
    field = text(MAX_MODULE, load_default="score", metadata={"description": "the number field the score goes to"})
    criteria = ma.List(ma.Nested(ScoringCriterionSchema), load_default=list, validate=validate.Length(max=100))
    touchpoints = ma.Dict(keys=text(40), values=ma.Integer(strict=True, validate=validate.Range(-MAX_POINTS,
                                                                                                MAX_POINTS)),
                          load_default=dict, metadata={"description": "points per touchpoint type, e.g. "
                                                                      "{\"email_opened\": 5}"})
    updated_by = ma.String(dump_only=True, allow_none=True)
    updated_at = ma.DateTime(dump_only=True, allow_none=True)


class TouchpointSchema(Schema):
    type = text(40, required=True, metadata={"description": "email_opened, form_submitted, ..."})
    data = ma.Dict(load_default=dict, validate=lambda d: len(str(d)) <= 10_000)
