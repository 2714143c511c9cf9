"""CRM to-dos: listed, read, edited, completed and reopened by their owners, their managers and admins."""
from ..schemas.crm_tasks import CrmTaskPageSchema, CrmTaskQuerySchema, CrmTaskSchema, CrmTaskUpdateSchema
from ..services import crm_tasks as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("crm_tasks", __name__, "/crm-tasks", "CRM to-dos")


@blp.route("", methods=["GET"])
@blp.arguments(CrmTaskQuerySchema, location="query")
@blp.response(200, CrmTaskPageSchema)
@problems(blp, 400, 401)
def list_crm_tasks(query):
    """Your to-dos and those of the people who report to you, soonest due first; `record_id` for a record's."""
    return service.list_tasks(current_actor(), **query)


@blp.route("/<task_id>", methods=["GET"])
@blp.response(200, CrmTaskSchema)
@problems(blp, 401, 404)
def get_crm_task(task_id):
    """One to-do (yours, your reports', or one on a record you may read)."""
    return service.get_task(task_id, current_actor())


@blp.route("/<task_id>", methods=["PATCH"])
@blp.arguments(CrmTaskUpdateSchema)
@blp.response(200, CrmTaskSchema)
@problems(blp, 400, 401, 403, 404)
def update_crm_task(body, task_id):
    """Change a to-do's subject, due date, owner or description (its owner, their managers, admins)."""
    return service.update_task(task_id, body, current_actor())


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.response(200, CrmTaskSchema)
@problems(blp, 401, 403, 404, 409)
def complete_crm_task(task_id):
    """Mark a to-do done; a process waiting for `crm_task_completed` hears of it."""
    return service.complete_task(task_id, current_actor())


@blp.route("/<task_id>/reopen", methods=["POST"])
@blp.response(200, CrmTaskSchema)
@problems(blp, 401, 403, 404, 409)
def reopen_crm_task(task_id):
    """Open a completed to-do again."""
    return service.reopen_task(task_id, current_actor())
