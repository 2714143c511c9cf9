"""Modules and their records."""
from ..schemas.common import PageArgs
from ..schemas.crm import (
    ModuleListSchema, ModuleSchema, ModuleUpdateSchema, PerformTransitionSchema, RecordPageSchema,
    RecordQuerySchema, RecordSchema, RecordUpdateSchema, TimelinePageSchema, TransitionListSchema,
)
from ..schemas.tasks import TaskCompletedSchema
from ..services import modules, records, timeline
from ..services import transitions
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("modules", __name__, "/modules", "CRM modules and records")


@blp.route("", methods=["GET"])
@blp.response(200, ModuleListSchema)
@problems(blp, 401)
def list_modules():
    """List modules (built in and custom) with their fields and validation rules."""
    items = modules.list_modules()
    return {"items": items, "total": len(items)}


@blp.route("", methods=["POST"])
@blp.arguments(ModuleSchema)
@blp.response(201, ModuleSchema)
@problems(blp, 400, 401, 403, 409)
def create_module(body):
    """Define a custom module (admin)."""
    return modules.create_module(body, current_actor())


@blp.route("/<module>", methods=["GET"])
@blp.response(200, ModuleSchema)
@problems(blp, 401, 404)
def get_module(module):
    """One module."""
    return modules.get_module(module)


@blp.route("/<module>", methods=["PATCH"])
@blp.arguments(ModuleUpdateSchema)
@blp.response(200, ModuleSchema)
@problems(blp, 400, 401, 403, 404)
def update_module(body, module):
    """Replace a module's fields or validation rules (admin)."""
    return modules.update_module(module, body, current_actor())


@blp.route("/<module>/records", methods=["GET"])
@blp.arguments(RecordQuerySchema, location="query")
@blp.response(200, RecordPageSchema)
@problems(blp, 400, 401, 404)
def list_records(query, module):
    """List the records you may read, newest first; any field (or `owner`) filters by equality."""
    page, per_page = query.pop("page"), query.pop("per_page")
    result = records.list_records(module, query, page, per_page, current_actor())
    result.items = [records.record_view(r) for r in result.items]
    return result


@blp.route("/<module>/records", methods=["POST"])
@blp.arguments(RecordSchema)
@blp.response(201, RecordSchema)
@problems(blp, 400, 401, 403, 404)
def create_record(body, module):
    """Create a record; the processes bound to its creation start with it."""
    return records.record_view(records.create_record(module, body, current_actor()))


@blp.route("/<module>/records/<record_id>", methods=["GET"])
@blp.response(200, RecordSchema)
@problems(blp, 401, 404)
def get_record(module, record_id):
    """One record."""
    return records.record_view(records.get_record(module, record_id, current_actor()))


@blp.route("/<module>/records/<record_id>", methods=["PATCH"])
@blp.arguments(RecordUpdateSchema(partial=True))
@blp.response(200, RecordSchema)
@problems(blp, 400, 401, 403, 404, 409, 423)
def update_record(body, module, record_id):
    """Change fields; 423 while an approval or review holds the record, 409 for a blueprint's stage."""
    return records.record_view(records.update_record(module, record_id, body, current_actor()))


@blp.route("/<module>/records/<record_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404, 423)
def delete_record(module, record_id):
    """Delete a record (423 while locked)."""
    records.delete_record(module, record_id, current_actor())


@blp.route("/<module>/records/<record_id>/timeline", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, TimelinePageSchema)
@problems(blp, 401, 404)
def get_timeline(query, module, record_id):
    """Field changes, processes, tasks, emails and reviews of a record, oldest first."""
    return timeline.timeline(module, record_id, current_actor(), query["page"], query["per_page"])


@blp.route("/<module>/records/<record_id>/transitions", methods=["GET"])
@blp.response(200, TransitionListSchema)
@problems(blp, 401, 404)
def list_transitions(module, record_id):
    """The blueprint transitions the caller may perform now, with their mandatory fields."""
    return {"items": transitions.list_transitions(module, record_id, current_actor())}


@blp.route("/<module>/records/<record_id>/transitions/<transition>", methods=["POST"])
@blp.arguments(PerformTransitionSchema)
@blp.response(200, TaskCompletedSchema)
@problems(blp, 400, 401, 403, 404, 409)
def perform_transition(body, module, record_id, transition):
    """Perform a transition with its fields; the blueprint moves on and its after-actions run."""
    return transitions.perform_transition(module, record_id, transition, body["fields"], current_actor(),
                                          note=body.get("note"))
