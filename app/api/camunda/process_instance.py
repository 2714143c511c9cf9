"""Camunda REST: process instances (query, read, cancel, suspend, variables, activity instance tree).

Like Camunda's runtime API, only instances that have not ended are found here:
a completed or cancelled instance answers 404 (/api/v1 keeps its history).
"""
import json

from flask import Response, jsonify

from ...errors import NotFoundError
from ...errors import ValidationError
from ...schemas.camunda import InstanceQuery, Suspension, VariableModifications
from ...schemas.camunda_migration import Modification
from ...statuses import InstanceStatus
from ...services import instances as service, modifications
from .common import (
    camunda_blueprint, count, current_actor, json_body, plain_variables, query_args, tenants, typed_value,
    typed_variables,
)
from .history import activity_type

blp = camunda_blueprint("process_instance", __name__)

ENDED = tuple(InstanceStatus.ENDED)
_RUNTIME = sorted(InstanceStatus.LIVE)


def instance_dto(instance, with_variables: bool = False) -> dict:
    dto = {"id": instance.id, "definitionId": instance.definition_id, "businessKey": instance.business_key,
           "caseInstanceId": None, "ended": instance.status in ENDED, "suspended": instance.status == InstanceStatus.SUSPENDED,
           "tenantId": instance.tenant_id, "links": []}
    if with_variables:
        dto["variables"] = typed_variables(instance.variables)
    return dto


def _page(query, per_page=None):
    status = (InstanceStatus.SUSPENDED if query["suspended"] else [InstanceStatus.RUNNING, InstanceStatus.ERROR]
              if query["active"] else _RUNTIME)
    return service.list_instances(current_actor(), status=status, key=query["key"], business_key=query["business_key"],
                                  business_key_like=query["business_key_like"],
                                  definition_id=query["definition_id"], variables=query["variables"], page=1,
                                  per_page=query["max_results"] if per_page is None else per_page,
                                  offset=query["first_result"], tenants=tenants(query),
                                  exact=True if per_page == 0 else None)  # a list sends no total: /count counts


def _running(instance_id):
    instance = service.get_instance(instance_id, current_actor())
    if instance.status in ENDED:
        raise NotFoundError(f"process instance {instance_id} has ended ({instance.status})")
    return instance


@blp.get("/process-instance")
def list_instances():
    """Instances that have not ended, newest first."""
    return jsonify([instance_dto(i) for i in _page(InstanceQuery().load(query_args())).items])


@blp.post("/process-instance")
def query_instances():
    """The same query with its filters in the JSON body."""
    return jsonify([instance_dto(i) for i in _page(InstanceQuery().load({**json_body(), **query_args()})).items])


@blp.get("/process-instance/count")
def count_instances():
    """How many instances match the same filters as the list."""
    return jsonify(count(_page(InstanceQuery().load(query_args()), per_page=0)))


@blp.post("/process-instance/count")
def count_instances_by_body():
    """How many instances match the filters in the JSON body."""
    return jsonify(count(_page(InstanceQuery().load(json_body()), per_page=0)))


@blp.get("/process-instance/<instance_id>")
def get_instance(instance_id):
    """One instance that has not ended."""
    return jsonify(instance_dto(_running(instance_id)))


@blp.delete("/process-instance/<instance_id>")
def cancel_instance(instance_id):
    """Cancel an instance and its open tasks (admins, or a grant on the process key). An instance that has
    ended (a second delete) is not found, as in Camunda's runtime API."""
    _running(instance_id)
    service.cancel_instance(instance_id, current_actor(), "deleted through /engine-rest")
    return "", 204


@blp.put("/process-instance/<instance_id>/suspended")
def set_suspended(instance_id):
    """Suspend (`{"suspended": true}`) or resume an instance (admins, or `repair` on its key); already so is not an error."""
    actor = current_actor()
    wanted = Suspension().load(json_body())["suspended"]
    if (_running(instance_id).status == InstanceStatus.SUSPENDED) != wanted:
        (service.suspend_instance if wanted else service.resume_instance)(instance_id, actor)
    return "", 204


@blp.get("/process-instance/<instance_id>/variables")
def get_variables(instance_id):
    """The instance's variables, typed."""
    return jsonify(typed_variables(_running(instance_id).variables))


@blp.get("/process-instance/<instance_id>/variables/<name>")
def get_variable(instance_id, name):
    """One variable, typed."""
    variables = _running(instance_id).variables or {}
    if name not in variables:
        raise NotFoundError(f"process instance {instance_id} has no variable {name!r}")
    return jsonify(typed_value(variables[name]))


@blp.get("/process-instance/<instance_id>/variables/<name>/data")
def get_variable_data(instance_id, name):
    """One variable's serialized value as bytes (application/octet-stream).

    Stagecoach stores no Bytes or File variables, so the bytes are the value as Camunda serializes it:
    a String's text in UTF-8, any other value as JSON.
    """
    variables = _running(instance_id).variables or {}
    if name not in variables:
        raise NotFoundError(f"process instance {instance_id} has no variable {name!r}")
    value = variables[name]
    data = value if isinstance(value, str) else json.dumps(value)
    return Response(data.encode("utf-8"), mimetype="application/octet-stream")


@blp.put("/process-instance/<instance_id>/variables/<name>")
def put_variable(instance_id, name):
    """Set one variable from a typed value `{value, type}` (admins, or a grant on the process key).

    As with `modifications`, a `Null` value removes the variable: Stagecoach
    does not keep variables whose value is null.
    """
    actor = current_actor()
    value = plain_variables({name: json_body()})[name]
    _running(instance_id)
    service.update_variables(instance_id, {name: value}, actor)
    return "", 204


@blp.delete("/process-instance/<instance_id>/variables/<name>")
def delete_variable(instance_id, name):
    """Remove one variable (admins, or a grant on the process key); removing one the instance does not have is not an error, as in Camunda."""
    actor = current_actor()
    if name in (_running(instance_id).variables or {}):
        service.update_variables(instance_id, {name: None}, actor)
    return "", 204


@blp.get("/process-instance/<instance_id>/activity-instances")
def activity_instances(instance_id):
    """The activity instance tree: the instance as root, the activities it waits at as its children.

    Stagecoach keeps a flat projection of active activities, so the tree has
    one level: activities inside an embedded subprocess appear beside it, and
    there are no transition instances. A boundary event waiting on its activity
    is no activity instance until it fires, as in Camunda.
    """
    _running(instance_id)
    details = service.instance_details(instance_id, current_actor())
    instance, definition = details["instance"], details["definition"]
    common = {"processInstanceId": instance.id, "processDefinitionId": instance.definition_id}
    children = [{"id": f"{activity.element_id}:{activity.id}", "parentActivityInstanceId": instance.id,
                 "activityId": activity.element_id, "activityName": activity.element_name,
                 "name": activity.element_name,
                 "activityType": activity_type(activity.element_type), **common,
                 "childActivityInstances": [], "childTransitionInstances": [],
                 "executionIds": [instance.id], "incidentIds": [], "incidents": []}
                for activity in details["active_activities"] if activity_type(activity.element_type) != "boundaryEvent"]
    return jsonify({"id": instance.id, "parentActivityInstanceId": None, "activityId": instance.definition_id,
                    "activityName": definition.name, "name": definition.name, "activityType": "processDefinition",
                    **common, "childActivityInstances": children, "childTransitionInstances": [],
                    "executionIds": [instance.id], "incidentIds": [], "incidents": []})


@blp.post("/process-instance/<instance_id>/variables")
def modify_variables(instance_id):
    """Set (`modifications`, typed) and remove (`deletions`) variables in one step (admins, or a grant on the process key)."""
    actor = current_actor()
    body = VariableModifications().load(json_body())
    changes = {**plain_variables(body["modifications"]), **{name: None for name in body["deletions"] or []}}
    if changes:
        service.update_variables(instance_id, changes, actor)
    else:
        _running(instance_id)
    return "", 204


_KINDS = {"cancel": "cancel", "startBeforeActivity": "start_before", "startAfterActivity": "start_after"}


@blp.post("/process-instance/<instance_id>/modification")
def modify(instance_id):
    """Cancel all tokens of an activity (`cancel` with `activityId`), start before or after an activity, with
    typed variables; an `annotation` saying why is required (admins, or `repair` on the process key).

    Not supported, each a 400: `startTransition`, cancelling one activity or transition instance, an
    `ancestorActivityInstanceId` other than the instance's own, `skipCustomListeners` or `skipIoMappings`
    (listeners and mappings of the elements a modification starts always run).
    """
    body = Modification().load(json_body())
    for flag in ("skip_custom_listeners", "skip_io_mappings"):
        if body[flag]:
            raise ValidationError(f"{'skipCustomListeners' if flag == 'skip_custom_listeners' else 'skipIoMappings'}"
                                  f" is not supported: the listeners and mappings of started elements always run")
    instructions = []
    for n, given in enumerate(body["instructions"]):
        if given["type"] not in _KINDS:
            raise ValidationError(f"instruction {n}: {given['type']} is not supported; use startBeforeActivity on "
                                  f"the flow's target")
        if given["activity_instance_id"] or given["transition_instance_id"] or not given["activity_id"]:
            raise ValidationError(f"instruction {n}: name the activity with activityId (every token of it is "
                                  f"cancelled); single activity or transition instances cannot be named")
        if given["ancestor_activity_instance_id"] not in (None, instance_id):
            raise ValidationError(f"instruction {n}: ancestorActivityInstanceId may only be the process instance")
        instructions.append({"type": _KINDS[given["type"]], "element_id": given["activity_id"],
                             "variables": plain_variables(given["variables"])})
    modifications.modify_instance(instance_id, current_actor(), instructions, body["annotation"])
    return "", 204
