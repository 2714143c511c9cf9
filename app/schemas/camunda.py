"""Request shapes of the Camunda 7 REST subset under /engine-rest (camelCase, as Camunda's clients send them).

Unknown fields are ignored: Camunda clients send options Stagecoach has no use
for (`skipCustomListeners`, `deserializeValues`, ...), and refusing them would break
those clients. A filter Camunda documents for a list and Stagecoach does not apply is refused
instead (see `PagingArgs`).
"""
import datetime as dt
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..clock import as_utc
from ..engine import MAX_HISTORY_TTL_DAYS
from .common import MAX_ID, MAX_INSTANCE_ID, MAX_INT32, MAX_KEY, MAX_NAME, text
from .variable_filters import VariableFilters

MAX_RESULTS = 10000
# Camunda's priorities are Java ints; durations and time-outs are milliseconds.
PRIORITY = validate.Range(min=-2**31, max=MAX_INT32)
MAX_DURATION_MS = 366 * 86_400_000  # a lock, a retry time-out: at most a year
MAX_ASYNC_RESPONSE_TIMEOUT_MS = 1_800_000  # Camunda's own limit for fetchAndLock long polling
DURATION = validate.Range(min=1, max=MAX_DURATION_MS)

# sortBy values GET/POST /task understand (app/api/camunda/task.py maps each to a task column).
TASK_SORT_KEYS = ("id", "name", "nameCaseInsensitive", "priority", "created", "dueDate", "followUpDate", "assignee",
                  "instanceId", "executionId")
SORT_ORDERS = ("asc", "desc")


class CamundaSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class CamundaDateTime(fields.Field):
    """A date in Camunda's format (`2013-01-23T13:42:42.000+0200`) or any ISO 8601 form; no zone is UTC."""

    default_error_messages = {"invalid": "not a date: send yyyy-MM-dd'T'HH:mm:ss.SSSZ, e.g. "
                                         "2013-01-23T13:42:42.000+0200"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            # a `+0200` sent unescaped in a query string arrives as ` 0200`
            moment = dt.datetime.fromisoformat(re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip()))
            return as_utc(moment)  # one UTC cannot hold (year 1 east of Greenwich, 9999 west) is invalid too
        except (OverflowError, ValueError):
            raise self.make_error("invalid") from None


class Sorting(CamundaSchema):
    """One `{sortBy, sortOrder}` of a `sorting` list; both are required, as in Camunda."""

    sort_by = text(MAX_KEY, data_key="sortBy", required=True)
    sort_order = fields.String(data_key="sortOrder", required=True, validate=validate.OneOf(SORT_ORDERS))


# Camunda's tenant ids: a deployment's `tenant-id` (refused unless it fits), and list filters.
TENANT_ID_LENGTH = 64
TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
MAX_TENANT_IDS = 100
tenant_id_field = validate.And(
    validate.Length(min=1, max=TENANT_ID_LENGTH),
    validate.Regexp(TENANT_ID_PATTERN, error="a tenant id is letters, digits, '.', '_' and '-', starting with a "
                                             "letter or digit"))


class CommaList(fields.Field):
    """Camunda's `...In` filter: a comma-separated string (query) or a JSON array of strings (body)."""

    default_error_messages = {"invalid": "send a comma-separated list (or a JSON array) of strings",
                              "too_many": f"at most {MAX_TENANT_IDS} values"}

    def __init__(self, item_length: int, **kwargs):
        super().__init__(**kwargs)
        self.item_length = item_length

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",")]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = [v.strip() for v in value]
        else:
            raise self.make_error("invalid")
        items = [v for v in items if v]
        if len(items) > MAX_TENANT_IDS:
            raise self.make_error("too_many")
        if any(len(v) > self.item_length for v in items):
            raise ValidationError(f"each value is at most {self.item_length} characters")
        return items


class TenantArgs(CamundaSchema):
    """`tenantIdIn` and `withoutTenantId`, as every Camunda list that has tenants takes them."""

    tenant_id_in = CommaList(TENANT_ID_LENGTH, data_key="tenantIdIn", load_default=None, allow_none=True)
    without_tenant_id = fields.Boolean(data_key="withoutTenantId", load_default=False, allow_none=True)


class PagingArgs(CamundaSchema):
    """Paging, and the rule for filters: an unknown parameter is ignored, as Camunda ignores it, but one that
    Camunda documents for this list and Stagecoach does not apply (`UNSUPPORTED`, or any `...Like` the
    schema does not declare) is refused with 400, so a client never gets every row where Camunda would
    have filtered. A flag sent as `false` filters nothing in Camunda either, and passes."""

    UNSUPPORTED: tuple[str, ...] = ()
    FILTERS: dict[str, str] = {}  # filters a schema reads by hand, by their Camunda names
    ORDER = "its own order"  # how a list that takes no sortBy is ordered (said when one is sent)

    @pre_load
    def _refuse_unsupported_filters(self, data, **kwargs):
        declared = {field.data_key or name for name, field in self.fields.items()} | set(self.FILTERS)
        if not {"sortBy", "sorting"} & declared:  # a list in its own order only: no other is claimed
            _refuse_sorting(data, self.ORDER)
        refused = sorted(name for name, value in data.items()
                         if name not in declared and (name in self.UNSUPPORTED or name.endswith("Like"))
                         and value not in (None, "", False, "false"))
        if refused:
            raise ValidationError(f"Stagecoach does not filter this list by {', '.join(refused)}; "
                                  "drop the parameter, or filter the results yourself")
        return data

    first_result = fields.Integer(data_key="firstResult", load_default=0, validate=validate.Range(min=0, max=MAX_INT32))
    max_results = fields.Integer(data_key="maxResults", load_default=MAX_RESULTS,
                                 validate=validate.Range(min=0, max=MAX_RESULTS))


def _refuse_sorting(data, order: str) -> None:
    """`sortBy`/`sortOrder` on a list Stagecoach does not sort by them: 400, as Camunda answers a sortBy
    without its sortOrder or one it does not know (a page of rows in another order than asked is wrong)."""
    sort_by, sort_order = data.get("sortBy"), data.get("sortOrder")
    if sort_by in (None, "") and sort_order in (None, ""):
        return
    if sort_by in (None, "") or sort_order in (None, ""):
        raise ValidationError("only a single sorting parameter specified: sortBy and sortOrder are required together")
    raise ValidationError(f"Stagecoach lists these in {order} only and cannot sort them by {str(sort_by)[:80]!r}; "
                          "drop sortBy and sortOrder, or sort the results yourself")


class SortArgs(CamundaSchema):
    """`sortBy` and `sortOrder` of a list that sorts by `SORT_KEYS` (both or neither, as in Camunda)."""

    SORT_KEYS: tuple[str, ...] = ()
    sort_by = text(MAX_KEY, data_key="sortBy", load_default=None, allow_none=True)
    sort_order = fields.String(data_key="sortOrder", load_default=None, allow_none=True,
                               validate=validate.OneOf(SORT_ORDERS))

    @validates_schema
    def _sort_pair(self, data, **kwargs):
        if (data.get("sort_by") is None) != (data.get("sort_order") is None):
            raise ValidationError("only a single sorting parameter specified: sortBy and sortOrder are required "
                                  "together")
        if data.get("sort_by") is not None and data["sort_by"] not in self.SORT_KEYS:
            raise ValidationError(f"cannot set sortBy to {data['sort_by']!r}: this list sorts by "
                                  f"{', '.join(self.SORT_KEYS)}")


def sorting_of(query: dict) -> tuple[str, str] | None:
    """A loaded SortArgs query's (sortBy, sortOrder), or None."""
    return (query["sort_by"], query["sort_order"]) if query.get("sort_by") else None


class DeploymentQuery(SortArgs, PagingArgs, TenantArgs):
    SORT_KEYS = ("id", "name", "deploymentTime", "tenantId")
    UNSUPPORTED = ("id", "source", "withoutSource", "after", "before")
    name = text(MAX_KEY, load_default=None)
    name_like = text(MAX_KEY, data_key="nameLike", load_default=None)
    include_without_tenant = fields.Boolean(data_key="includeDeploymentsWithoutTenantId", load_default=False)


class DefinitionQuery(SortArgs, PagingArgs, TenantArgs):
    SORT_KEYS = ("key", "id", "name", "version", "deploymentId", "tenantId")
    UNSUPPORTED = (
        "processDefinitionIdIn", "deploymentId", "deployedAfter", "deployedAt", "keysIn", "category", "version",
        "resourceName", "startableBy", "active", "suspended", "incidentId", "incidentType", "incidentMessage",
        "versionTag", "withoutVersionTag", "startableInTasklist", "notStartableInTasklist",
        "startablePermissionCheck", "withoutTenantId",
    )
    key = text(MAX_KEY, load_default=None)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None)
    latest = fields.Boolean(data_key="latestVersion", load_default=False)
    # `...Like`: SQL LIKE patterns, `%` for any text, as Camunda's queries take them
    key_like = text(MAX_KEY, data_key="keyLike", load_default=None)
    name = text(MAX_KEY, load_default=None)
    name_like = text(MAX_KEY, data_key="nameLike", load_default=None)
    include_without_tenant = fields.Boolean(data_key="includeProcessDefinitionsWithoutTenantId", load_default=False)


class InstanceQuery(PagingArgs, TenantArgs):
    # Camunda 7's filters of GET /process-instance; those the schema declares are applied, the others refused
    UNSUPPORTED = (
        "processInstanceIds", "caseInstanceId", "processDefinitionKeyIn", "processDefinitionKeyNotIn", "deploymentId",
        "superProcessInstance", "subProcessInstance", "superCaseInstance", "subCaseInstance", "withIncident",
        "incidentId", "incidentType", "incidentMessage", "processDefinitionWithoutTenantId", "activityIdIn",
        "rootProcessInstances", "leafProcessInstances", "variableNamesIgnoreCase", "variableValuesIgnoreCase",
        "orQueries")
    variables = VariableFilters(load_default=None)
    business_key = text(MAX_KEY, data_key="businessKey", load_default=None)
    business_key_like = text(MAX_KEY, data_key="businessKeyLike", load_default=None)
    key = text(MAX_KEY, data_key="processDefinitionKey", load_default=None)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None)
    suspended = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=False)


class TaskQuery(PagingArgs, TenantArgs):
    # Camunda 7's filters of GET /task; those the schema declares (or reads by hand) are applied, the others refused
    UNSUPPORTED = (
        "taskId", "taskIdIn", "processInstanceIdIn", "processInstanceBusinessKey", "processInstanceBusinessKeyIn",
        "processInstanceBusinessKeyExpression", "processDefinitionKeyIn", "processDefinitionName", "executionId",
        "caseInstanceId", "caseInstanceBusinessKey", "caseDefinitionId", "caseDefinitionKey", "caseDefinitionName",
        "caseExecutionId", "activityInstanceIdIn", "assigneeExpression", "assigneeIn", "assigneeNotIn",
        "ownerExpression", "candidateGroupExpression", "candidateUserExpression", "candidateGroups",
        "candidateGroupsExpression", "involvedUser", "involvedUserExpression", "taskDefinitionKeyIn", "nameNotEqual",
        "description", "priority", "dueDateExpression", "dueAfterExpression", "dueBeforeExpression",
        "withoutDueDate", "followUpDateExpression", "followUpAfterExpression", "followUpBeforeExpression",
        "followUpBeforeOrNotExistent", "followUpBeforeOrNotExistentExpression", "createdOn", "createdOnExpression",
        "createdAfter", "createdAfterExpression", "createdBefore", "createdBeforeExpression", "updatedAfter",
        "updatedAfterExpression", "withCandidateGroups", "withoutCandidateGroups", "withCandidateUsers",
        "withoutCandidateUsers", "active", "suspended", "taskVariables", "processVariables",
        "caseInstanceVariables", "variableNamesIgnoreCase", "variableValuesIgnoreCase", "parentTaskId", "orQueries")
    process_instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    assignee = text(MAX_NAME, load_default=None, allow_none=True)
    assignee_like = text(MAX_NAME, data_key="assigneeLike", load_default=None, allow_none=True)
    name = text(MAX_KEY, load_default=None, allow_none=True)
    name_like = text(MAX_KEY, data_key="nameLike", load_default=None, allow_none=True)
    candidate_group = text(MAX_NAME, data_key="candidateGroup", load_default=None, allow_none=True)
    candidate_user = text(MAX_NAME, data_key="candidateUser", load_default=None, allow_none=True)
    include_assigned = fields.Boolean(data_key="includeAssignedTasks", load_default=False, allow_none=True)
    key = text(MAX_KEY, data_key="processDefinitionKey", load_default=None, allow_none=True)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None, allow_none=True)
    element_id = text(MAX_KEY, data_key="taskDefinitionKey", load_default=None, allow_none=True)
    element_id_like = text(MAX_KEY, data_key="taskDefinitionKeyLike", load_default=None, allow_none=True)
    assigned = fields.Boolean(load_default=False, allow_none=True)
    unassigned = fields.Boolean(load_default=False, allow_none=True)
    owner = text(MAX_NAME, load_default=None, allow_none=True)
    delegation_state = fields.String(data_key="delegationState", load_default=None, allow_none=True,
                                     validate=validate.OneOf(("PENDING", "RESOLVED"), error=(
                                         "valid values for delegationState are PENDING and RESOLVED")))
    priority = fields.Integer(load_default=None, allow_none=True, validate=PRIORITY)
    min_priority = fields.Integer(data_key="minPriority", load_default=None, allow_none=True, validate=PRIORITY)
    max_priority = fields.Integer(data_key="maxPriority", load_default=None, allow_none=True, validate=PRIORITY)
    due_date = CamundaDateTime(data_key="dueDate", load_default=None, allow_none=True)
    due_before = CamundaDateTime(data_key="dueBefore", load_default=None, allow_none=True)
    due_after = CamundaDateTime(data_key="dueAfter", load_default=None, allow_none=True)
    without_due_date = fields.Boolean(data_key="withoutDueDate", load_default=False, allow_none=True)
    follow_up_date = CamundaDateTime(data_key="followUpDate", load_default=None, allow_none=True)
    follow_up_before = CamundaDateTime(data_key="followUpBefore", load_default=None, allow_none=True)
    follow_up_after = CamundaDateTime(data_key="followUpAfter", load_default=None, allow_none=True)
    follow_up_before_or_none = CamundaDateTime(data_key="followUpBeforeOrNotExistent", load_default=None,
                                               allow_none=True)
    # GET: sortBy and sortOrder; POST: a `sorting` list of them (sortBy/sortOrder accepted too).
    sort_by = text(MAX_KEY, data_key="sortBy", load_default=None, allow_none=True)
    sort_order = text(MAX_KEY, data_key="sortOrder", load_default=None, allow_none=True)
    sorting = fields.List(fields.Nested(Sorting), load_default=None, allow_none=True)

    @pre_load
    def _upper_delegation_state(self, data, **kwargs):
        """Camunda reads delegationState in any case (`pending` is PENDING)."""
        if isinstance(data.get("delegationState"), str):
            data = {**data, "delegationState": data["delegationState"].upper()}
        return data

    @validates_schema
    def _sort_keys(self, data, **kwargs):
        if (data.get("sort_by") is None) != (data.get("sort_order") is None):
            raise ValidationError("only a single sorting parameter specified: sortBy and sortOrder are required "
                                  "together")
        if data.get("sort_order") is not None and data["sort_order"] not in SORT_ORDERS:
            raise ValidationError(f"cannot set sortOrder to {data['sort_order']!r}: use asc or desc")
        for sort_by in [data.get("sort_by")] + [s["sort_by"] for s in data.get("sorting") or []]:
            if sort_by is not None and sort_by not in TASK_SORT_KEYS:
                raise ValidationError(f"cannot set sortBy to {sort_by!r}: tasks sort by {', '.join(TASK_SORT_KEYS)}")


def sort_keys(query: dict) -> list[tuple[str, str]]:
    """A loaded query's ordering as `[(sortBy, sortOrder)]`, first key first."""
    keys = [(s["sort_by"], s["sort_order"]) for s in query.get("sorting") or []]
    if query.get("sort_by") is not None:
        keys.insert(0, (query["sort_by"], query["sort_order"]))
    return keys


class StartInstance(CamundaSchema):
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, allow_none=True)
    business_key = text(MAX_KEY, data_key="businessKey", load_default=None, allow_none=True)
    with_variables = fields.Boolean(data_key="withVariablesInReturn", load_default=False)


class Suspension(CamundaSchema):
    suspended = fields.Boolean(required=True)


class VariableModifications(CamundaSchema):
    modifications = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, allow_none=True)
    deletions = fields.List(fields.String(), load_default=list, allow_none=True)


class UserId(CamundaSchema):
    user_id = text(MAX_NAME, data_key="userId", load_default=None, allow_none=True)


class CompleteTask(CamundaSchema):
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, allow_none=True)
    with_variables = fields.Boolean(data_key="withVariablesInReturn", load_default=False)


class ResolveTask(CamundaSchema):
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, allow_none=True)


class DelegateTask(CamundaSchema):
    user_id = fields.String(data_key="userId", required=True, validate=validate.Length(min=1, max=MAX_NAME))


class CorrelateMessage(CamundaSchema):
    name = fields.String(data_key="messageName", required=True, validate=validate.Length(min=1, max=255))
    business_key = text(MAX_KEY, data_key="businessKey", load_default=None, allow_none=True)
    process_instance_id = text(MAX_INSTANCE_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    correlation_keys = fields.Dict(data_key="correlationKeys", keys=fields.String(), values=fields.Raw(),
                                   load_default=dict, allow_none=True)
    variables = fields.Dict(data_key="processVariables", keys=fields.String(), values=fields.Raw(),
                            load_default=dict, allow_none=True)
    all = fields.Boolean(load_default=False)
    tenant_id = text(TENANT_ID_LENGTH, data_key="tenantId", load_default=None, allow_none=True)
    without_tenant_id = fields.Boolean(data_key="withoutTenantId", load_default=False, allow_none=True)
    result_enabled = fields.Boolean(data_key="resultEnabled", load_default=False)
    variables_in_result = fields.Boolean(data_key="variablesInResultEnabled", load_default=False)


class HistoryTimeToLive(CamundaSchema):
    """PUT .../history-time-to-live: days, or null for none (the server's default); never negative."""

    days = fields.Integer(data_key="historyTimeToLive", load_default=None, allow_none=True, strict=True,
                          validate=validate.Range(min=0, max=MAX_HISTORY_TTL_DAYS))


class CleanupQuery(CamundaSchema):
    immediately_due = fields.Boolean(data_key="immediatelyDue", load_default=True)


class ThrowSignal(CamundaSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    execution_id = text(MAX_INSTANCE_ID, data_key="executionId", load_default=None, allow_none=True)
    tenant_id = text(TENANT_ID_LENGTH, data_key="tenantId", load_default=None, allow_none=True)
    without_tenant_id = fields.Boolean(data_key="withoutTenantId", load_default=False, allow_none=True)
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, allow_none=True)


class IncidentQuery(PagingArgs):
    UNSUPPORTED = ("incidentId", "incidentType", "processDefinitionId", "processDefinitionKeyIn", "executionId",
                   "incidentTimestampBefore", "incidentTimestampAfter", "activityId", "failedActivityId",
                   "causeIncidentId", "rootCauseIncidentId", "configuration", "jobDefinitionIdIn")

    instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None, allow_none=True)
    incident_id = text(MAX_ID, data_key="incidentId", load_default=None, allow_none=True)
    message = text(10_000, data_key="incidentMessage", load_default=None, allow_none=True)
    message_like = text(10_000, data_key="incidentMessageLike", load_default=None, allow_none=True)
    tenant_id_in = CommaList(TENANT_ID_LENGTH, data_key="tenantIdIn", load_default=None, allow_none=True)


class FetchTopic(CamundaSchema):
    topic_name = fields.String(data_key="topicName", required=True, validate=validate.Length(max=MAX_KEY))
    lock_duration = fields.Integer(data_key="lockDuration", required=True, validate=DURATION)
    variables = fields.List(text(MAX_KEY), load_default=None, allow_none=True)
    local_variables = fields.Boolean(data_key="localVariables", load_default=False, allow_none=True)
    business_key = text(MAX_KEY, data_key="businessKey", load_default=None, allow_none=True)
    definition_id = text(MAX_ID, data_key="processDefinitionId", load_default=None, allow_none=True)
    definition_id_in = fields.List(text(MAX_ID), data_key="processDefinitionIdIn", load_default=None,
                                   allow_none=True)
    definition_key = text(MAX_KEY, data_key="processDefinitionKey", load_default=None, allow_none=True)
    definition_key_in = fields.List(text(MAX_KEY), data_key="processDefinitionKeyIn", load_default=None,
                                    allow_none=True)
    process_variables = fields.Dict(data_key="processVariables", keys=fields.String(), values=fields.Raw(),
                                    load_default=None, allow_none=True)
    tenant_id_in = fields.List(text(TENANT_ID_LENGTH), data_key="tenantIdIn", load_default=None, allow_none=True,
                               validate=validate.Length(max=MAX_TENANT_IDS))
    without_tenant_id = fields.Boolean(data_key="withoutTenantId", load_default=False, allow_none=True)


class FetchSorting(CamundaSchema):
    """fetchAndLock orders only by creation time (after priority, with `usePriority`)."""

    sort_by = fields.String(data_key="sortBy", required=True, validate=validate.OneOf(
        ("createTime",), error="fetchAndLock sorts only by createTime"))
    sort_order = fields.String(data_key="sortOrder", required=True, validate=validate.OneOf(SORT_ORDERS))


class FetchAndLock(CamundaSchema):
    worker_id = fields.String(data_key="workerId", required=True, validate=validate.Length(max=MAX_KEY))
    max_tasks = fields.Integer(data_key="maxTasks", load_default=10, validate=validate.Range(min=0, max=1000))
    topics = fields.List(fields.Nested(FetchTopic), required=True, validate=validate.Length(min=1))
    async_response_timeout = fields.Integer(data_key="asyncResponseTimeout", load_default=0, allow_none=True,
                                            validate=validate.Range(min=0, max=MAX_ASYNC_RESPONSE_TIMEOUT_MS))
    # Absent: priority first, as before Camunda 7.20 made ordering configurable (any order was allowed then).
    use_priority = fields.Boolean(data_key="usePriority", load_default=True, allow_none=True)
    sorting = fields.List(fields.Nested(FetchSorting), load_default=None, allow_none=True,
                          validate=validate.Length(max=1, error="fetchAndLock takes one sorting (createTime)"))


class WorkerCommand(CamundaSchema):
    worker_id = fields.String(data_key="workerId", required=True, validate=validate.Length(max=MAX_KEY))
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict, allow_none=True)
    local_variables = fields.Dict(data_key="localVariables", keys=fields.String(), values=fields.Raw(),
                                  load_default=dict, allow_none=True)


class ExternalTaskFailure(CamundaSchema):
    worker_id = fields.String(data_key="workerId", required=True, validate=validate.Length(max=MAX_KEY))
    error_message = text(10_000, data_key="errorMessage", load_default=None, allow_none=True)
    error_details = text(1_000_000, data_key="errorDetails", load_default=None, allow_none=True)
    retries = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_INT32))
    retry_timeout = fields.Integer(data_key="retryTimeout", load_default=0, allow_none=True,
                                   validate=validate.Range(min=0, max=MAX_DURATION_MS))


class ExternalTaskBpmnError(WorkerCommand):
    error_code = fields.String(data_key="errorCode", required=True, validate=validate.Length(max=MAX_KEY))
    error_message = text(10_000, data_key="errorMessage", load_default=None, allow_none=True)


class ExtendLock(CamundaSchema):
    worker_id = fields.String(data_key="workerId", required=True, validate=validate.Length(max=MAX_KEY))
    new_duration = fields.Integer(data_key="newDuration", required=True, validate=DURATION)


class ExternalTaskQuery(PagingArgs):
    UNSUPPORTED = (
        "externalTaskId", "externalTaskIdIn", "activityId", "activityIdIn", "lockExpirationBefore",
        "lockExpirationAfter", "withRetriesLeft", "noRetriesLeft", "processInstanceIdIn", "processDefinitionId",
        "active", "suspended", "priorityHigherThanOrEquals", "priorityLowerThanOrEquals", "executionId",
    )
    topic_name = text(MAX_KEY, data_key="topicName", load_default=None)
    process_instance_id = text(MAX_ID, data_key="processInstanceId", load_default=None)
    worker_id = text(MAX_KEY, data_key="workerId", load_default=None)
    locked = fields.Boolean(load_default=None)
    not_locked = fields.Boolean(data_key="notLocked", load_default=None)
    tenant_id_in = CommaList(TENANT_ID_LENGTH, data_key="tenantIdIn", load_default=None, allow_none=True)
