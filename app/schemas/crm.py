"""Schemas of modules, records, bindings, transitions and the outbox (CRM to-dos: schemas/crm_tasks.py)."""
from marshmallow import INCLUDE, Schema, post_dump, validate
from marshmallow import fields as ma

from .common import MAX_ID, MAX_INT32, MAX_KEY, MAX_MODULE, MAX_NAME, PageArgs, page_of, text


class FieldDefinitionSchema(Schema):
    name = text(MAX_MODULE, required=True)
    label = text(MAX_NAME)
    type = text(40, required=True)
    required = ma.Boolean()
    # A Method field: `values` would otherwise resolve to dict.values when dumping; null when not a picklist.
    values = ma.Method("_dump_values", deserialize="_load_values",
                       metadata={"type": "array", "items": {}, "nullable": True, "description": "picklist values"})
    lookup = text(MAX_MODULE)
    min = ma.Float()
    max = ma.Float()
    pattern = text(1000)
    max_length = ma.Integer(validate=validate.Range(min=0, max=MAX_INT32))

    def _dump_values(self, obj):
        return obj.get("values") if isinstance(obj, dict) else getattr(obj, "values", None)

    def _load_values(self, value):
        if not isinstance(value, list):
            from marshmallow import ValidationError
            raise ValidationError("must be a list")
        return value


class RuleSchema(Schema):
    name = text(MAX_NAME)
    expression = text(10_000, required=True, metadata={"description": "must hold, e.g. `discount <= 20 or approved`"})
    field = text(MAX_MODULE, metadata={"description": "the field the error is reported on"})
    message = text(2_000)


class ModuleSchema(Schema):
    api_name = ma.String(required=True, validate=validate.Regexp(r"^[A-Z][A-Za-z0-9_]{0,99}$"))
    label = text(MAX_NAME)
    builtin = ma.Boolean(dump_only=True)
    fields = ma.List(ma.Nested(FieldDefinitionSchema), load_default=list)
    rules = ma.List(ma.Nested(RuleSchema), load_default=list)


class ModuleUpdateSchema(Schema):
    label = text(MAX_NAME)
    fields = ma.List(ma.Nested(FieldDefinitionSchema))
    rules = ma.List(ma.Nested(RuleSchema))


class ModuleListSchema(Schema):
    items = ma.List(ma.Nested(ModuleSchema))
    total = ma.Integer()


class RecordSchema(Schema):
    """A record: its fields at top level, plus id, owner and audit columns."""

    class Meta:
        unknown = INCLUDE

    id = ma.String(dump_only=True)
    module = ma.String(dump_only=True)
    owner = text(MAX_NAME, allow_none=True)
    created_by = ma.String(dump_only=True)
    created_at = ma.DateTime(dump_only=True)
    modified_by = ma.String(dump_only=True)
    modified_at = ma.DateTime(dump_only=True)
    locked_by = ma.String(dump_only=True, allow_none=True,
                          metadata={"description": "the approval or review instance holding the record"})

    @post_dump(pass_original=True)
    def _with_fields(self, data, original, **kwargs):
        """The module's fields are not declared here: dump them as they are."""
        if isinstance(original, dict):
            return {**{k: v for k, v in original.items() if k not in data}, **data}
        return data


class RecordUpdateSchema(RecordSchema):
    """The fields to change (partial)."""


class RecordPageSchema(Schema):
    items = ma.List(ma.Dict())
    total = ma.Integer()
    page = ma.Integer()
    per_page = ma.Integer()


class RecordQuerySchema(PageArgs):
    class Meta:
        unknown = INCLUDE  # field filters: ?stage=Closing&region=EU

    def load(self, data, *, many=None, partial=None, unknown=None):
        # webargs loads query strings with unknown=EXCLUDE, which would drop every field filter.
        return super().load(data, many=many, partial=partial, unknown=INCLUDE)


class TimelineEventSchema(Schema):
    id = ma.Integer()
    type = ma.String()
    at = ma.DateTime()
    user = ma.String(allow_none=True)
    instance_id = ma.String(allow_none=True)
    data = ma.Raw(allow_none=True)


class BindingSchema(Schema):
    id = ma.String(dump_only=True)
    name = text(MAX_NAME)
    module = text(MAX_MODULE, required=True)
    event = ma.String(required=True, validate=validate.OneOf(
        ["create", "edit", "create_or_edit", "field_change", "delete"]))
    field = text(MAX_MODULE, allow_none=True)
    criteria = text(10_000, allow_none=True, metadata={"description": "e.g. `discount > 12`"})
    process_key = text(MAX_KEY, required=True)
    kind = ma.String(load_default="process", validate=validate.OneOf(
        ["process", "blueprint", "approval", "review", "rule"]))
    options = ma.Dict(load_default=dict)
    active = ma.Boolean(load_default=True)


class BindingListSchema(Schema):
    items = ma.List(ma.Nested(BindingSchema))
    total = ma.Integer()


class TransitionSchema(Schema):
    name = ma.String()
    label = ma.String()
    from_stage = ma.String()
    task_id = ma.String()
    mandatory_fields = ma.List(ma.String())
    missing_fields = ma.List(ma.String(), metadata={
        "description": "the mandatory fields the record does not hold yet: what a dialog must ask for"})
    values = ma.Dict(metadata={"description": "the record's current values of the fields, to prefill a dialog"})
    requires = ma.List(ma.String(), metadata={
        "description": "what the transition needs besides its fields: `note` (sent with it), `attachment` "
                       "(a file attached to the record at this stage)"})
    fields = ma.Dict(metadata={"description": "JSON Schema of each field the transition accepts"})


class TransitionListSchema(Schema):
    items = ma.List(ma.Nested(TransitionSchema))


class PerformTransitionSchema(Schema):
    fields = ma.Dict(keys=ma.String(), load_default=dict)
    note = ma.String(load_default=None, allow_none=True, validate=validate.Length(max=10_000),
                     metadata={"description": "kept as a note on the record; required by transitions that need one"})


class OutboxMessageSchema(Schema):
    id = ma.String()
    kind = ma.String()
    status = ma.String()
    attempts = ma.Integer()
    max_attempts = ma.Integer()
    last_error = ma.String(allow_none=True)
    next_attempt_at = ma.DateTime()
    record_id = ma.String(allow_none=True)
    instance_id = ma.String(allow_none=True)
    payload = ma.Dict()
    created_at = ma.DateTime()
    sent_at = ma.DateTime(allow_none=True)


class OutboxQuerySchema(PageArgs):
    status = text(20, load_default=None)
    record_id = text(MAX_ID, load_default=None)


class DelegateSchema(Schema):
    user = text(MAX_NAME, required=True)


TimelinePageSchema = page_of(TimelineEventSchema, "TimelinePage")
OutboxPageSchema = page_of(OutboxMessageSchema, "OutboxPage")
