from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .common import MAX_ID, MAX_KEY, MAX_NAME, CursorArgs, PageArgs, page_of, text


class TaskSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    element_id = fields.String(dump_only=True)
    process_instance_id = fields.String(attribute="instance_id", dump_only=True)
    process_key = fields.String(dump_only=True)
    tenant_id = fields.String(dump_only=True, allow_none=True)
    assignee = fields.String(dump_only=True, allow_none=True)
    candidate_users = fields.List(fields.String(), dump_only=True)
    candidate_groups = fields.List(fields.String(), dump_only=True)
    state = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    due_at = fields.DateTime(dump_only=True, allow_none=True)
    follow_up_at = fields.DateTime(dump_only=True, allow_none=True)
    priority = fields.Integer(dump_only=True, allow_none=True)
    owner = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "who gets the task back when a Camunda delegation (/engine-rest) is resolved"})
    delegation_state = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "PENDING while a Camunda delegation waits to be resolved, then RESOLVED"})
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    completed_by = fields.String(dump_only=True, allow_none=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(dump_only=True, metadata={"description": "the task's form, a JSON Schema"})
    form_key = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "camunda:formKey (or zeebe:formDefinition formKey): a form the client renders itself"})
    camunda_form = fields.Dict(dump_only=True, allow_none=True, metadata={
        "description": "the Camunda form (form-js JSON) the task names, to render with form-js; `form` is "
                       "what completion data is checked against"})


class TaskQuerySchema(CursorArgs, PageArgs):
    assignee = text(MAX_NAME, load_default=None)
    candidate_user = text(MAX_NAME, load_default=None)
    candidate_group = text(MAX_NAME, load_default=None)
    mine = fields.Boolean(load_default=False)
    process_instance_id = text(MAX_ID, load_default=None)
    key = text(MAX_KEY, load_default=None)
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "completed", "cancelled"]))


class CompleteTaskSchema(Schema):
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    on_behalf_of = text(MAX_NAME, load_default=None, metadata={
        "description": "admins only: complete the task for this user, its assignee or (an unassigned task) one of "
                       "its candidates; `reason` is then required. The task's `completed_by` is the admin, its "
                       "assignee this user; the history records both and the reason"})
    reason = fields.String(load_default=None, validate=validate.Length(max=2000), metadata={
        "description": "why an admin completes the task on behalf of `on_behalf_of`"})

    @validates_schema
    def _reason_goes_with_on_behalf_of(self, data: dict, **_) -> None:
        if data.get("reason") is not None and data.get("on_behalf_of") is None:
            raise ValidationError("a reason is given only with on_behalf_of", "reason")


class TaskCompletedSchema(Schema):
    process_instance_id = fields.String(attribute="id")
    status = fields.String()
    tasks = fields.List(fields.Nested(TaskSchema))


TaskPageSchema = page_of(TaskSchema, "TaskPage")
