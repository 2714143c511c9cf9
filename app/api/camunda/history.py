"""Camunda REST: history (process instances, activity instances, tasks, variables), ended ones included;
history cleanup."""
from flask import jsonify

from ...errors import NotFoundError
from ...schemas.camunda import CleanupQuery
from ...schemas.camunda_history import (ActivityInstanceQuery, HistoricInstanceQuery, HistoricTaskQuery,
                                        HistoricVariableQuery)
from ...services import history as service
from ...services import retention
from ...statuses import InstanceStatus, TaskState
from .common import camunda_blueprint, camunda_time, count, current_actor, query_args, tenants, typed_value

blp = camunda_blueprint("history", __name__)

_STATES = {InstanceStatus.RUNNING: "ACTIVE", InstanceStatus.ERROR: "ACTIVE", InstanceStatus.SUSPENDED: "SUSPENDED",
           InstanceStatus.COMPLETED: "COMPLETED", InstanceStatus.CANCELLED: "EXTERNALLY_TERMINATED"}
# Engine spec class names whose Camunda activity type is not simply the name in camelCase.
_ACTIVITY_TYPES = {"NoneTask": "task", "SubWorkflowTask": "subProcess", "TransactionSubprocess": "transaction",
                   "BusinessRuleTask": "businessRuleTask", "CallActivity": "callActivity"}
_TASK_END_REASONS = {TaskState.COMPLETED: "completed", TaskState.CANCELLED: "deleted"}


def _millis(start, end) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def activity_type(element_type: str | None) -> str | None:
    """`UserTask` → `userTask`, as Camunda names activity types."""
    if not element_type:
        return None
    for prefix in ("Camunda", "Spiff"):
        if element_type.startswith(prefix) and len(element_type) > len(prefix):
            element_type = element_type[len(prefix):]
    if element_type in _ACTIVITY_TYPES:
        return _ACTIVITY_TYPES[element_type]
    return element_type[0].lower() + element_type[1:]


def historic_instance_dto(row) -> dict:
    instance = row.instance
    return {"id": instance.id, "businessKey": instance.business_key, "processDefinitionId": instance.definition_id,
            "processDefinitionKey": instance.process_key, "processDefinitionName": row.definition_name,
            "processDefinitionVersion": row.definition_version, "startTime": camunda_time(instance.started_at),
            "endTime": camunda_time(instance.ended_at),
            "removalTime": camunda_time(instance.removal_time),
            "durationInMillis": _millis(instance.started_at, instance.ended_at),
            "startUserId": instance.started_by, "startActivityId": row.start_activity_id,
            "endActivityId": row.end_activity_id, "deleteReason": None,
            "rootProcessInstanceId": instance.id, "superProcessInstanceId": None, "superCaseInstanceId": None,
            "caseInstanceId": None, "tenantId": instance.tenant_id, "state": _STATES.get(instance.status, "ACTIVE")}


def activity_instance_dto(activity) -> dict:
    kind = activity_type(activity.element_type)
    return {"id": activity.id, "parentActivityInstanceId": activity.instance_id, "activityId": activity.element_id,
            "activityName": activity.element_name, "activityType": kind,
            "processDefinitionKey": None, "processDefinitionId": activity.definition_id,
            "processInstanceId": activity.instance_id, "executionId": activity.instance_id, "taskId": None,
            "calledProcessInstanceId": None, "calledCaseInstanceId": None, "assignee": None,
            "startTime": camunda_time(activity.started_at), "endTime": camunda_time(activity.ended_at),
            "durationInMillis": _millis(activity.started_at, activity.ended_at), "canceled": activity.canceled,
            "completeScope": activity.completes_scope,
            "tenantId": activity.tenant_id, "removalTime": None, "rootProcessInstanceId": activity.instance_id}


def historic_task_dto(task) -> dict:
    return {"id": task.id, "processDefinitionKey": task.process_key, "processDefinitionId": task.definition_id,
            "processInstanceId": task.instance_id, "executionId": task.instance_id, "caseDefinitionKey": None,
            "caseDefinitionId": None, "caseInstanceId": None, "caseExecutionId": None, "activityInstanceId": None,
            "name": task.name, "description": None, "deleteReason": _TASK_END_REASONS.get(task.state),
            "owner": task.owner, "assignee": task.assignee, "startTime": camunda_time(task.created_at),
            "endTime": camunda_time(task.completed_at), "duration": _millis(task.created_at, task.completed_at),
            "taskDefinitionKey": task.element_id, "priority": 50 if task.priority is None else task.priority,
            "due": camunda_time(task.due_at), "parentTaskId": None, "followUp": camunda_time(task.follow_up_at),
            "tenantId": task.tenant_id, "removalTime": None, "rootProcessInstanceId": task.instance_id}


def historic_variable_dto(variable) -> dict:
    instance = variable.instance
    return {"id": f"{instance.id}:{variable.name}", "name": variable.name, **typed_value(variable.value),
            "processDefinitionKey": instance.process_key, "processDefinitionId": instance.definition_id,
            "processInstanceId": instance.id, "executionId": instance.id, "activityInstanceId": instance.id,
            "caseDefinitionKey": None, "caseDefinitionId": None, "caseInstanceId": None, "caseExecutionId": None,
            "taskId": None, "tenantId": instance.tenant_id, "errorMessage": None, "state": "CREATED",
            "createTime": camunda_time(instance.started_at), "removalTime": camunda_time(instance.removal_time),
            "rootProcessInstanceId": instance.id}


def _variables(per_page=None):
    query = HistoricVariableQuery().load(query_args())
    return service.list_historic_variables(current_actor(), instance_id=query["instance_id"], name=query["name"],
                                           name_like=query["name_like"], key=query["key"],
                                           definition_id=query["definition_id"], offset=query["first_result"],
                                           limit=query["max_results"] if per_page is None else per_page,
                                           tenants=tenants(query))


def _instances(per_page=None):
    query = HistoricInstanceQuery().load(query_args())
    return service.list_historic_instances(
        current_actor(), instance_id=query["instance_id"], key=query["key"],
        business_key=query["business_key"] or query["business_key_alias"], finished=query["finished"],
        unfinished=query["unfinished"], offset=query["first_result"],
        limit=query["max_results"] if per_page is None else per_page, business_key_like=query["business_key_like"],
        definition_id=query["definition_id"], definition_name=query["definition_name"],
        definition_name_like=query["definition_name_like"], incident_message=query["incident_message"],
        incident_message_like=query["incident_message_like"], started_by=query["started_by"],
        tenants=tenants(query))


def _activities(per_page=None):
    query = ActivityInstanceQuery().load(query_args())
    states = {name: True for name in ("finished", "unfinished", "canceled", "complete_scope") if query[name]}
    kinds = None
    if query["element_type"]:  # Camunda's activity type: the engine types that answer to it
        kinds = lambda element_type: activity_type(element_type) == query["element_type"]  # noqa: E731
    return service.list_activity_instances(current_actor(), instance_id=query["instance_id"], element_id=query["element_id"],
                                           offset=query["first_result"],
                                           limit=query["max_results"] if per_page is None else per_page,
                                           definition_id=query["definition_id"], element_name=query["element_name"],
                                           element_type=kinds, states=states, tenants=tenants(query))


def _tasks(per_page=None):
    query = HistoricTaskQuery().load(query_args())
    return service.list_historic_tasks(current_actor(), instance_id=query["instance_id"], assignee=query["assignee"],
                                       finished=query["finished"], unfinished=query["unfinished"],
                                       offset=query["first_result"],
                                       limit=query["max_results"] if per_page is None else per_page,
                                       filters=query["filters"], tenants=tenants(query))


@blp.get("/history/process-instance")
def list_historic_instances():
    """Instances, ended ones included, by id, key, business key, finished or unfinished; oldest first."""
    return jsonify([historic_instance_dto(row) for row in _instances().items])


@blp.get("/history/process-instance/count")
def count_historic_instances():
    """How many historic instances match the same filters as the list."""
    return jsonify(count(_instances(per_page=0)))


@blp.get("/history/activity-instance")
def list_activity_instances():
    """Each time an instance entered an element, with when it left, by instance and activity id."""
    return jsonify([activity_instance_dto(a) for a in _activities().items])


@blp.get("/history/activity-instance/count")
def count_activity_instances():
    """How many activity instances match the same filters as the list."""
    return jsonify(count(_activities(per_page=0)))


@blp.get("/history/task")
def list_historic_tasks():
    """Human tasks, completed and cancelled ones included, by instance, assignee, finished or unfinished."""
    return jsonify([historic_task_dto(t) for t in _tasks().items])


@blp.get("/history/task/count")
def count_historic_tasks():
    """How many historic tasks match the same filters as the list."""
    return jsonify(count(_tasks(per_page=0)))


@blp.get("/history/variable-instance")
def list_historic_variables():
    """Variables of instances the caller may read, ended ones included, by instance, name (or `variableNameLike`)
    and definition."""
    return jsonify([historic_variable_dto(v) for v in _variables().items])


@blp.get("/history/variable-instance/count")
def count_historic_variables():
    """How many historic variables match the same filters as the list."""
    return jsonify(count(_variables(per_page=0)))


def job_dto(job) -> dict:
    return {"id": job.id, "jobDefinitionId": None, "processInstanceId": job.instance_id, "processDefinitionId": None,
            "processDefinitionKey": None, "executionId": None, "exceptionMessage": job.last_error,
            "retries": max(job.max_attempts - job.attempts, 0), "dueDate": camunda_time(job.due_at),
            "suspended": False, "priority": 0, "tenantId": None, "createTime": camunda_time(job.created_at)}


@blp.post("/history/cleanup")
def clean_up_history():
    """Schedule history cleanup (admin): due now and running until nothing is due, or with `immediatelyDue=false`
    at the next cleanup window; returns the job."""
    query = CleanupQuery().load(query_args())
    return jsonify(job_dto(retention.schedule_cleanup(current_actor(), immediately=query["immediately_due"])))


@blp.get("/history/cleanup/jobs")
def cleanup_jobs():
    """The history cleanup jobs (admin); 404 when there is none."""
    jobs = retention.cleanup_jobs(current_actor())
    if not jobs:
        raise NotFoundError("History cleanup jobs are empty")
    return jsonify([job_dto(job) for job in jobs])


@blp.get("/history/cleanup/configuration")
def cleanup_configuration():
    """The current or next cleanup window (null times without one) (admin)."""
    config = retention.cleanup_configuration(current_actor())
    return jsonify({"batchWindowStartTime": camunda_time(config["window_start"]),
                    "batchWindowEndTime": camunda_time(config["window_end"]), "enabled": True})
