"""Camunda REST: external tasks (fetch and lock by topic, complete, fail, BPMN error, extend, unlock).

The caller needs the `work` permission on a task's topic; a lock is the worker id's and the caller's.
"""
from flask import Response, jsonify

from ...schemas.camunda import (
    ExtendLock, ExternalTaskBpmnError, ExternalTaskFailure, ExternalTaskQuery, FetchAndLock, WorkerCommand,
)
from ...services import external_tasks as service
from ...services import instances
from .common import (
    camunda_blueprint, camunda_time, count, current_actor, json_body, plain_variables, query_args, tenants,
    typed_variables,
)

blp = camunda_blueprint("external_task", __name__)


def external_task_dto(task, process_key: str | None = None, suspended: bool = False) -> dict:
    """Camunda's external task representation (`suspended`: its instance is)."""
    return {"id": task.id, "topicName": task.topic, "workerId": task.worker_id,
            "lockExpirationTime": camunda_time(task.lock_expires_at), "activityId": task.element_id,
            "activityInstanceId": task.id, "executionId": task.instance_id, "processInstanceId": task.instance_id,
            "processDefinitionId": task.definition_id,
            "processDefinitionKey": process_key or service.definition_key(task.definition_id),
            "processDefinitionVersionTag": None, "businessKey": task.business_key, "retries": task.retries,
            "errorMessage": task.error_message, "priority": task.priority, "suspended": suspended,
            "tenantId": task.tenant_id,
            "createTime": camunda_time(task.created_at), "extensionProperties": {}}


def _dtos(tasks) -> list[dict]:
    """The tasks' representations, each flagged `suspended` when its instance is."""
    suspended = instances.suspended_among(t.instance_id for t in tasks)
    return [external_task_dto(t, suspended=t.instance_id in suspended) for t in tasks]


def locked_dto(locked) -> dict:
    dto = external_task_dto(locked.task, locked.process_key)
    dto["errorDetails"] = locked.task.error_details
    dto["variables"] = typed_variables(locked.variables)
    return dto


@blp.post("/external-task/fetchAndLock")
def fetch_and_lock():
    """Lock tasks of the given topics for a worker; waits up to `asyncResponseTimeout` ms (long polling).

    Highest priority first unless `usePriority` is false, then by creation
    time (`sorting: [{sortBy: "createTime", sortOrder}]`, oldest first by
    default); per topic, Camunda's filters narrow what is fetched. A topic the
    caller may not work answers 403 and nothing is locked.
    """
    body = FetchAndLock().load(json_body())
    topics = [{"topicName": t["topic_name"], "lockDuration": t["lock_duration"], "variables": t["variables"],
               "localVariables": bool(t["local_variables"]), "businessKey": t["business_key"],
               "processDefinitionId": t["definition_id"], "processDefinitionIdIn": t["definition_id_in"],
               "processDefinitionKey": t["definition_key"], "processDefinitionKeyIn": t["definition_key_in"],
               "processVariables": t["process_variables"], "tenantIdIn": t["tenant_id_in"],
               "withoutTenantId": bool(t["without_tenant_id"])}
              for t in body["topics"]]
    sorting = body["sorting"] or [{"sort_order": "asc"}]
    locked = service.fetch_and_lock(current_actor(), body["worker_id"], body["max_tasks"], topics,
                                    body["async_response_timeout"] or 0,
                                    use_priority=body["use_priority"] is not False,
                                    created_order=sorting[0]["sort_order"])
    return jsonify([locked_dto(t) for t in locked])


@blp.post("/external-task/<task_id>/complete")
def complete(task_id):
    """Complete a locked task with typed variables (only the worker and user holding the lock)."""
    body = WorkerCommand().load(json_body())
    variables = {**plain_variables(body["variables"]), **plain_variables(body["local_variables"])}
    service.complete(task_id, body["worker_id"], variables, current_actor())
    return "", 204


@blp.post("/external-task/<task_id>/failure")
def failure(task_id):
    """Report a failure: with `retries` left the task comes back after `retryTimeout` ms; at 0, an incident."""
    body = ExternalTaskFailure().load(json_body())
    service.handle_failure(task_id, body["worker_id"], body["error_message"], body["error_details"],
                           body["retries"], body["retry_timeout"], current_actor())
    return "", 204


@blp.post("/external-task/<task_id>/bpmnError")
def bpmn_error(task_id):
    """Throw a BPMN error with `errorCode` to the task's error boundary event."""
    body = ExternalTaskBpmnError().load(json_body())
    service.handle_bpmn_error(task_id, body["worker_id"], body["error_code"], body["error_message"],
                              plain_variables(body["variables"]), current_actor())
    return "", 204


@blp.post("/external-task/<task_id>/extendLock")
def extend_lock(task_id):
    """Keep a locked task `newDuration` ms longer (only the worker and user holding the lock)."""
    body = ExtendLock().load(json_body())
    service.extend_lock(task_id, body["worker_id"], body["new_duration"], current_actor())
    return "", 204


@blp.post("/external-task/<task_id>/unlock")
def unlock(task_id):
    """Release a task's lock (the user who locked it, or an admin)."""
    service.unlock(task_id, current_actor())
    return "", 204


def _page(per_page=None):
    query = ExternalTaskQuery().load(query_args())
    locked = True if query["locked"] else (False if query["not_locked"] else None)
    return service.list_external_tasks(current_actor(), topic=query["topic_name"],
                                       instance_id=query["process_instance_id"],
                                       worker_id=query["worker_id"], locked=locked, page=1,
                                       per_page=query["max_results"] if per_page is None else per_page,
                                       offset=query["first_result"], tenants=tenants(query))


@blp.get("/external-task")
def list_external_tasks():
    """External tasks by topic, instance, worker, lock state or tenant (of the topics the caller may work)."""
    return jsonify(_dtos(_page().items))


@blp.get("/external-task/count")
def count_external_tasks():
    """How many external tasks match the same filters as the list."""
    return jsonify(count(_page(per_page=0)))


@blp.get("/external-task/<task_id>")
def get_external_task(task_id):
    """One external task (404 for a task of a topic the caller may not work)."""
    return jsonify(_dtos([service.get_external_task(task_id, current_actor())])[0])


@blp.get("/external-task/<task_id>/errorDetails")
def error_details(task_id):
    """The `errorDetails` its worker sent with its last failure, as text/plain; 204 when it sent none."""
    details = service.get_external_task(task_id, current_actor()).error_details
    if details is None:
        return "", 204
    return Response(details, mimetype="text/plain")
