"""Human tasks: the inbox."""
from ..schemas.crm import DelegateSchema
from ..schemas.tasks import CompleteTaskSchema, TaskCompletedSchema, TaskDetailSchema, TaskPageSchema, TaskQuerySchema
from ..services import tasks as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("tasks", __name__, "/tasks", "Human tasks")


def _detail(task):
    task.form = service.task_form(task)  # transient: dumped, never stored
    task.form_key = service.task_form_key(task)
    task.camunda_form = service.task_camunda_form(task)
    return task


@blp.route("", methods=["GET"])
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskPageSchema)
@problems(blp, 400, 401)
def list_tasks(query):
    """Find tasks; `mine=true` lists those assigned to or claimable by the caller."""
    return service.list_tasks(current_actor(), **query)


@blp.route("/<task_id>", methods=["GET"])
@blp.response(200, TaskDetailSchema)
@problems(blp, 401, 404)
def get_task(task_id):
    """One task, with its form as a JSON Schema."""
    return _detail(service.get_task(task_id, current_actor()))


@blp.route("/<task_id>/claim", methods=["POST"])
@blp.response(200, TaskDetailSchema)
@problems(blp, 401, 403, 404, 409)
def claim(task_id):
    """Claim a task (candidates and admins)."""
    return _detail(service.claim_task(task_id, current_actor()))


@blp.route("/<task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskDetailSchema)
@problems(blp, 401, 403, 404, 409)
def unclaim(task_id):
    """Give a claimed task back to its candidates."""
    return _detail(service.unclaim_task(task_id, current_actor()))


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.arguments(CompleteTaskSchema)
@blp.response(200, TaskCompletedSchema)
@problems(blp, 400, 401, 403, 404, 409, 422)
def complete(body, task_id):
    """Complete a task with its form data; returns the instance's new status and open tasks.

    With `on_behalf_of` and `reason` (admins only, 403 for others), an admin completes the task for its
    assignee or a candidate: audited in the instance's history (who, for whom, why).
    """
    if body["on_behalf_of"] is not None:
        return service.complete_on_behalf(task_id, body["variables"], body["on_behalf_of"], body["reason"],
                                          current_actor())
    return service.complete_task(task_id, body["variables"], current_actor())


@blp.route("/<task_id>/delegate", methods=["POST"])
@blp.arguments(DelegateSchema)
@blp.response(200, TaskDetailSchema)
@problems(blp, 400, 401, 403, 404, 409)
def delegate(body, task_id):
    """Hand a task to another user, who becomes its assignee."""
    return _detail(service.delegate_task(task_id, body["user"], current_actor()))
