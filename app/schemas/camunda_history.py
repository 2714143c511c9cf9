"""Camunda REST query schemas of the history lists (process instances, activity instances, tasks, variables),
on the paging and filter rules of `camunda.PagingArgs`."""
from __future__ import annotations

from marshmallow import ValidationError, fields, pre_load

from .camunda import PagingArgs, TenantArgs
from .common import MAX_ID, MAX_KEY, MAX_NAME, text


class HistoricInstanceQuery(PagingArgs, TenantArgs):
    UNSUPPORTED = (
        "processInstanceIds", "processDefinitionKeyIn", "processDefinitionKeyNotIn", "processInstanceBusinessKeyIn",
        "withJobsRetrying", "withIncidents", "withRootIncidents", "incidentIdIn", "incidentType", "incidentStatus",
        "startedBefore", "startedAfter", "finishedBefore", "finishedAfter", "executedActivityAfter",
        "executedActivityBefore", "executedJobAfter", "executedJobBefore", "superProcessInstanceId",
        "subProcessInstanceId", "superCaseInstanceId", "subCaseInstanceId", "caseInstanceId", "activityIdIn",
        "executedActivityIdIn", "activeActivityIdIn", "active", "suspended", "completed", "externallyTerminated",
        "internallyTerminated", "variables", "variableNamesIgnoreCase", "variableValuesIgnoreCase", "orQueries")

    instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    key = text(MAX_KEY, data_key="processDefinitionKey", load_default=None, allow_none=True)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None, allow_none=True)
    definition_name = text(MAX_KEY, data_key="processDefinitionName", load_default=None, allow_none=True)
    definition_name_like = text(MAX_KEY, data_key="processDefinitionNameLike", load_default=None, allow_none=True)
    # Camunda's name is processInstanceBusinessKey; businessKey (as on /process-instance) is accepted too.
    business_key = text(MAX_KEY, data_key="processInstanceBusinessKey", load_default=None, allow_none=True)
    business_key_alias = text(MAX_KEY, data_key="businessKey", load_default=None, allow_none=True)
    business_key_like = text(MAX_KEY, data_key="processInstanceBusinessKeyLike", load_default=None, allow_none=True)
    incident_message = text(10_000, data_key="incidentMessage", load_default=None, allow_none=True)
    incident_message_like = text(10_000, data_key="incidentMessageLike", load_default=None, allow_none=True)
    started_by = text(MAX_NAME, data_key="startedBy", load_default=None, allow_none=True)
    root_only = fields.Boolean(data_key="rootProcessInstances", load_default=False)  # every instance is a root
    finished = fields.Boolean(load_default=False)
    unfinished = fields.Boolean(load_default=False)


class ActivityInstanceQuery(PagingArgs, TenantArgs):
    UNSUPPORTED = ("activityInstanceId", "executionId", "taskAssignee", "startedBefore", "startedAfter",
                   "finishedBefore", "finishedAfter")

    instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None, allow_none=True)
    element_id = text(MAX_KEY, data_key="activityId", load_default=None, allow_none=True)
    element_name = text(MAX_KEY, data_key="activityName", load_default=None, allow_none=True)
    element_type = text(MAX_KEY, data_key="activityType", load_default=None, allow_none=True)
    finished = fields.Boolean(load_default=False)
    unfinished = fields.Boolean(load_default=False)
    canceled = fields.Boolean(load_default=False)
    complete_scope = fields.Boolean(data_key="completeScope", load_default=False)


class HistoricTaskQuery(PagingArgs, TenantArgs):
    UNSUPPORTED = (
        "taskParentTaskId", "processInstanceBusinessKeyIn", "executionId", "processDefinitionName", "caseInstanceId",
        "caseExecutionId", "caseDefinitionId", "caseDefinitionKey", "caseDefinitionName", "activityInstanceIdIn",
        "taskDefinitionKeyIn", "taskPriority", "assigned", "unassigned", "processFinished", "processUnfinished",
        "taskDueDate", "taskDueDateBefore", "taskDueDateAfter", "withoutTaskDueDate", "taskFollowUpDate",
        "taskFollowUpDateBefore", "taskFollowUpDateAfter", "startedBefore", "startedAfter", "finishedBefore",
        "finishedAfter", "taskVariables", "processVariables", "variableNamesIgnoreCase", "variableValuesIgnoreCase",
        "taskInvolvedUser", "taskInvolvedGroup", "taskHadCandidateUser", "taskHadCandidateGroup",
        "withCandidateGroups", "withoutCandidateGroups")
    # Camunda's parameter → the service's filter name (`..._like`: a SQL LIKE pattern).
    FILTERS = {"taskId": "id", "taskName": "name", "taskNameLike": "name_like", "taskDescription": "description",
               "taskDescriptionLike": "description_like", "taskAssigneeLike": "assignee_like",
               "taskOwner": "owner", "taskOwnerLike": "owner_like", "taskDeleteReason": "delete_reason",
               "taskDeleteReasonLike": "delete_reason_like", "taskDefinitionKey": "element_id",
               "processInstanceBusinessKey": "business_key", "processInstanceBusinessKeyLike": "business_key_like",
               "processDefinitionKey": "key", "processDefinitionId": "definition_id"}

    instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    assignee = text(MAX_NAME, data_key="taskAssignee", load_default=None, allow_none=True)
    finished = fields.Boolean(load_default=False)
    unfinished = fields.Boolean(load_default=False)
    filters = fields.Dict(load_default=dict)  # filled from FILTERS by the pre_load below

    @pre_load
    def _filters(self, data, **kwargs):
        data = dict(data)
        filters = {}
        for camunda, name in self.FILTERS.items():
            value = data.pop(camunda, None)
            if value is not None:
                if not isinstance(value, str) or len(value) > MAX_KEY:
                    raise ValidationError(f"{camunda}: a text of at most {MAX_KEY} characters")
                filters[name] = value
        data["filters"] = filters
        return data


class HistoricVariableQuery(PagingArgs, TenantArgs):
    UNSUPPORTED = ("variableValue", "variableNamesIgnoreCase", "variableValuesIgnoreCase", "variableTypeIn",
                   "includeDeleted", "processInstanceIdIn", "executionIdIn", "caseInstanceId", "caseExecutionIdIn",
                   "caseActivityIdIn", "taskIdIn", "activityInstanceIdIn", "variableNameIn")

    instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    name = text(MAX_KEY, data_key="variableName", load_default=None, allow_none=True)
    name_like = text(MAX_KEY, data_key="variableNameLike", load_default=None, allow_none=True)
    key = text(MAX_KEY, data_key="processDefinitionKey", load_default=None, allow_none=True)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None, allow_none=True)
