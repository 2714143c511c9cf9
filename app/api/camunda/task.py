"""Camunda REST: human tasks (query, read, claim, assign, complete, form variables)."""
from flask import jsonify

from ...errors import ForbiddenError, NotFoundError
from ...schemas.camunda import CompleteTask, DelegateTask, ResolveTask, TaskQuery, UserId, sort_keys
from ...services import instances
from ...services import tasks as service
from .common import (
    camunda_blueprint, camunda_form_ref, camunda_time, count, current_actor, form_variables, json_body, plain_variables,
    query_args, tenants, typed_variables,
)

blp = camunda_blueprint("task", __name__)

# Camunda's sortBy → the task column (services.task_lists.SORT_COLUMNS) it orders by.
_SORT_COLUMNS = {"id": "id", "name": "name", "nameCaseInsensitive": "name_ci", "priority": "priority",
                 "created": "created_at", "dueDate": "due_at", "followUpDate": "follow_up_at",
                 "assignee": "assignee", "instanceId": "instance_id", "executionId": "instance_id"}

def task_dto(task, suspended: bool = False) -> dict:
    """Camunda's task representation (`suspended`: its instance is)."""
    return {"id": task.id, "name": task.name, "assignee": task.assignee, "owner": task.owner,
            "created": camunda_time(task.created_at), "due": camunda_time(task.due_at),
            "followUp": camunda_time(task.follow_up_at),
            "lastUpdated": None, "delegationState": task.delegation_state, "description": None,
            "executionId": task.instance_id,
            "parentTaskId": None,
            "priority": 50 if task.priority is None else task.priority, "processDefinitionId": task.definition_id,
            "processInstanceId": task.instance_id, "caseExecutionId": None, "caseDefinitionId": None,
            "caseInstanceId": None, "taskDefinitionKey": task.element_id, "suspended": suspended,
            "formKey": service.task_form_key(task),
            "camundaFormRef": camunda_form_ref(service.task_camunda_form(task)),
            "tenantId": task.tenant_id}


def _dtos(tasks) -> list[dict]:
    """The tasks' representations, each flagged `suspended` when its instance is."""
    suspended = instances.suspended_among(t.instance_id for t in tasks)
    return [task_dto(t, t.instance_id in suspended) for t in tasks]


def _page(query, per_page=None):
    assigned = True if query["assigned"] else (False if query["unassigned"] else None)
    if assigned is None and (query["candidate_user"] or query["candidate_group"]) and not query["include_assigned"]:
        assigned = False  # Camunda's candidate queries leave out assigned tasks unless includeAssignedTasks
    return service.list_tasks(
        current_actor(), assignee=query["assignee"], assignee_like=query["assignee_like"], name=query["name"],
        name_like=query["name_like"], element_id_like=query["element_id_like"], candidate_user=query["candidate_user"],
        candidate_user_groups=True,
        candidate_group=query["candidate_group"], process_instance_id=query["process_instance_id"],
        key=query["key"], definition_id=query["definition_id"], element_id=query["element_id"],
        assigned=assigned, owner=query["owner"], delegation_state=query["delegation_state"],
        priority=query["priority"], min_priority=query["min_priority"], max_priority=query["max_priority"],
        due={"on": query["due_date"], "before": query["due_before"], "after": query["due_after"],
             "none": query["without_due_date"]},
        follow_up={"on": query["follow_up_date"], "before": query["follow_up_before"],
                   "after": query["follow_up_after"], "before_or_none": query["follow_up_before_or_none"]},
        order_by=[(_SORT_COLUMNS[key], order) for key, order in sort_keys(query)],
        page=1, per_page=query["max_results"] if per_page is None else per_page, offset=query["first_result"],
        exact=True if per_page == 0 else None,  # a list sends no total: only /count counts, every match
        tenants=tenants(query))


def _open_task(task_id):
    """Like Camunda's runtime API, a completed or cancelled task is not found."""
    task = service.get_task(task_id, current_actor())
    if task.state != "open":
        raise NotFoundError(f"no open task {task_id} (it is {task.state})")
    return task


@blp.get("/task")
def list_tasks():
    """Open tasks by instance, assignee, candidates, owner, delegation, priority, due and follow-up dates;
    ordered by `sortBy` and `sortOrder`.

    As in Camunda, `candidateUser` finds the tasks offered to the user or to one of their groups, and a
    candidate query (`candidateUser`, `candidateGroup`) leaves out assigned tasks unless
    `includeAssignedTasks=true`.
    """
    return jsonify(_dtos(_page(TaskQuery().load(query_args())).items))


@blp.post("/task")
def query_tasks():
    """The same query with its filters and a `sorting` list in the JSON body (paging stays in the query string)."""
    return jsonify(_dtos(_page(TaskQuery().load({**json_body(), **query_args()})).items))


@blp.get("/task/count")
def count_tasks():
    """How many open tasks match the same filters as the list."""
    return jsonify(count(_page(TaskQuery().load(query_args()), per_page=0)))


@blp.post("/task/count")
def count_tasks_by_body():
    """How many open tasks match the filters in the JSON body."""
    return jsonify(count(_page(TaskQuery().load(json_body()), per_page=0)))


@blp.get("/task/<task_id>")
def get_task(task_id):
    """One open task, with `owner` and `delegationState` (PENDING, RESOLVED) once it has been delegated."""
    return jsonify(_dtos([_open_task(task_id)])[0])


@blp.post("/task/<task_id>/claim")
def claim(task_id):
    """Claim a task for the caller (`userId` must be the caller)."""
    user_id = UserId().load(json_body())["user_id"]
    actor = current_actor()
    if user_id not in (None, actor.username):
        raise ForbiddenError("a task can be claimed only for yourself; POST /task/{id}/assignee hands it to "
                             "another user")
    service.claim_task(task_id, actor)
    return "", 204


@blp.post("/task/<task_id>/unclaim")
def unclaim(task_id):
    """Give a claimed task back to its candidates."""
    service.unclaim_task(task_id, current_actor())
    return "", 204


@blp.post("/task/<task_id>/assignee")
def set_assignee(task_id):
    """Make `userId` the assignee (a delegation); `null` gives the task back to its candidates."""
    user_id = UserId().load(json_body())["user_id"]
    if user_id is None:
        service.unclaim_task(task_id, current_actor())
    else:
        service.delegate_task(task_id, user_id, current_actor())
    return "", 204


@blp.post("/task/<task_id>/delegate")
def delegate(task_id):
    """Delegate a task to `userId` until it is resolved (Camunda's delegateTask).

    The task's `owner` becomes its current assignee (unless it has an owner
    already), its `delegationState` PENDING and `userId` its assignee; it
    cannot be completed until resolved. Whoever may hand the task over (its
    assignee, a candidate, an admin) may delegate it, to an enabled user.
    """
    user_id = DelegateTask().load(json_body())["user_id"]
    service.delegate_task(task_id, user_id, current_actor(), pending=True)
    return "", 204


@blp.post("/task/<task_id>/resolve")
def resolve(task_id):
    """Resolve a delegation: set typed `variables` on the instance and give the task back to its owner.

    `delegationState` becomes RESOLVED and the owner the assignee again (a
    task without a pending delegation answers 409 ProcessEngineException).
    Only the delegate (the assignee) may resolve. The variables are checked
    against the task's form as submit-form checks them (400 with the fields it
    refuses, and nothing changes) and written in the same transaction.
    """
    body = ResolveTask().load(json_body())
    service.resolve_task(task_id, plain_variables(body["variables"]), current_actor())
    return "", 204


@blp.post("/task/<task_id>/complete")
def complete(task_id):
    """Complete a task with typed variables; 200 with the instance's variables if `withVariablesInReturn`.

    As in Camunda, the variables need not be fields of the task's form (Camunda checks a form only in
    submit-form): any names but reserved ones (`_...`), within the variable limits.
    """
    return _complete(task_id, check_form=False)


@blp.post("/task/<task_id>/submit-form")
def submit_form(task_id):
    """Complete a task with its form's typed values, checked against the form: only its fields."""
    return _complete(task_id, check_form=True)


def _complete(task_id, *, check_form: bool):
    body = CompleteTask().load(json_body())
    result = service.complete_task(task_id, plain_variables(body["variables"]), current_actor(),
                                   check_form=check_form)
    if body["with_variables"]:
        return jsonify(typed_variables(result.variables))
    return "", 204


@blp.get("/task/<task_id>/deployed-form")
def deployed_form(task_id):
    """The Camunda form (form-js JSON) deployed for the task, as Camunda Tasklist renders it."""
    form = service.task_camunda_form(_open_task(task_id))
    if form is None:
        raise NotFoundError(f"task {task_id} has no deployed Camunda form")
    return jsonify(form)


@blp.get("/task/<task_id>/form-variables")
def form_variables_of_task(task_id):
    """The task's form fields, typed, with the instance's current value or the field's default."""
    task = _open_task(task_id)
    return jsonify(form_variables(service.task_form(task), instances.get_instance(task.instance_id, current_actor()).variables))


@blp.get("/task/<task_id>/variables")
def task_variables(task_id):
    """The variables the task sees: its instance's, typed."""
    task = _open_task(task_id)
    return jsonify(typed_variables(instances.get_instance(task.instance_id, current_actor()).variables))
