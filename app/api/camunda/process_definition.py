"""Camunda REST: process definitions (list, count, by key or id, XML, start, start forms, history time to live).

As in Camunda, `/key/{key}/...` names the latest version deployed without a tenant (404
RestException when the key has none, even if tenants have it); `/key/{key}/tenant-id/{tenant-id}/...`
names the latest version of that tenant's line.
"""
from flask import jsonify

from ...errors import NotFoundError
from ...schemas.camunda import DefinitionQuery, HistoryTimeToLive, StartInstance, sorting_of
from ...services import definitions as service
from ...services import instances, retention
from .common import (
    camunda_blueprint, camunda_form_ref, count, current_actor, form_variables, json_body, plain_variables, query_args,
    tenants,
)
from .process_instance import instance_dto

blp = camunda_blueprint("process_definition", __name__)


def definition_dto(definition) -> dict:
    return {"id": definition.id, "key": definition.key, "category": None, "description": None,
            "name": definition.name, "version": definition.version, "resource": definition.resource_name,
            "deploymentId": definition.deployment_id, "diagram": None, "suspended": False,
            "tenantId": definition.tenant_id,
            "versionTag": None, "historyTimeToLive": definition.history_ttl_days, "startableInTasklist": True}


def _page(query, per_page=None):
    return service.list_definitions(query["key"], query["latest"], 1,
                                    query["max_results"] if per_page is None else per_page,
                                    offset=query["first_result"], definition_id=query["definition_id"],
                                    key_like=query["key_like"], name=query["name"], name_like=query["name_like"],
                                    tenants=tenants(query), sort=sorting_of(query))


@blp.get("/process-definition")
def list_definitions():
    """Definitions, by key (or `keyLike`), name (or `nameLike`), version and tenant (`tenantIdIn`,
    `withoutTenantId`, `includeProcessDefinitionsWithoutTenantId`); `latestVersion=true` keeps the newest
    of each key in each tenant's version line."""
    query = DefinitionQuery().load(query_args())
    return jsonify([definition_dto(d) for d in _page(query).items])


@blp.get("/process-definition/count")
def count_definitions():
    """How many definitions match the same filters as the list."""
    return jsonify(count(_page(DefinitionQuery().load(query_args()), per_page=0)))


@blp.get("/process-definition/key/<key>")
def get_latest(key):
    """The newest version of a process deployed without a tenant."""
    return jsonify(definition_dto(service.get_definition(service.latest_definition_id(key))))


@blp.get("/process-definition/key/<key>/tenant-id/<tenant_id>")
def get_latest_of_tenant(key, tenant_id):
    """The newest version of a process in a tenant's version line."""
    return jsonify(definition_dto(service.get_definition(service.latest_definition_id(key, tenant_id))))


@blp.get("/process-definition/<definition_id>")
def get_definition(definition_id):
    """One definition version."""
    return jsonify(definition_dto(service.get_definition(definition_id)))


@blp.put("/process-definition/key/<key>/history-time-to-live")
def set_latest_history_ttl(key):
    """Set the history time to live of the newest version (admin); its ended instances' removal times follow."""
    retention.set_history_ttl(current_actor(), HistoryTimeToLive().load(json_body())["days"], key=key)
    return "", 204


@blp.put("/process-definition/<definition_id>/history-time-to-live")
def set_history_ttl(definition_id):
    """Set one version's history time to live in days, null for the server's default (admin)."""
    retention.set_history_ttl(current_actor(), HistoryTimeToLive().load(json_body())["days"],
                              definition_id=definition_id)
    return "", 204


@blp.get("/process-definition/<definition_id>/statistics")
def statistics(definition_id):
    """Per activity where this definition's instances (not ended) wait: how many, and their open incidents.

    `failedJobs` is always 0: a failed step in Stagecoach is an incident
    (listed under `incidents`), not a job left with no retries. A boundary event waiting on its activity is
    no activity instance until it fires, as in Camunda (and in the activity instance tree).
    """
    stats = instances.definition_statistics(definition_id, current_actor())
    elements = service.definition_elements(definition_id)
    return jsonify([{"@class": "org.camunda.bpm.engine.rest.dto.repository.ActivityStatisticsResultDto",
                     "id": stat.element_id, "instances": stat.instances, "failedJobs": 0,
                     "incidents": [{"incidentType": kind, "incidentCount": n} for kind, n in stat.incidents.items()]}
                    for stat in stats if elements.get(stat.element_id, {}).get("type") != "boundaryEvent"])


@blp.get("/process-definition/key/<key>/xml")
def get_latest_xml(key):
    """The BPMN file of the newest version (without a tenant), as deployed."""
    return _xml(service.latest_definition_id(key))


@blp.get("/process-definition/key/<key>/tenant-id/<tenant_id>/xml")
def get_latest_xml_of_tenant(key, tenant_id):
    """The BPMN file of the newest version in a tenant's line, as deployed."""
    return _xml(service.latest_definition_id(key, tenant_id))


@blp.get("/process-definition/<definition_id>/xml")
def get_xml(definition_id):
    """The BPMN file of one definition version, as deployed."""
    return _xml(definition_id)


def _xml(definition_id):
    return jsonify({"id": definition_id,
                    "bpmn20Xml": service.definition_xml(definition_id).decode("utf-8", errors="replace")})


@blp.post("/process-definition/key/<key>/start")
def start_latest(key):
    """Start the newest version of a process (without a tenant) with typed variables."""
    return _start(key=key)


@blp.post("/process-definition/key/<key>/tenant-id/<tenant_id>/start")
def start_latest_of_tenant(key, tenant_id):
    """Start the newest version of a process in a tenant's line with typed variables."""
    return _start(key=key, tenant_id=tenant_id)


@blp.post("/process-definition/<definition_id>/start")
def start_version(definition_id):
    """Start one definition version with typed variables."""
    return _start(definition_id=definition_id)


def _start(**which):
    body = StartInstance().load(json_body())
    result = instances.start_instance(current_actor(), variables=plain_variables(body["variables"]),
                                      business_key=body["business_key"], **which)
    return jsonify(instance_dto(result.instance, with_variables=body["with_variables"]))


@blp.post("/process-definition/key/<key>/submit-form")
def submit_form_latest(key):
    """Start the newest version (without a tenant) with its start form's data, checked against the form."""
    return _submit(key=key)


@blp.post("/process-definition/key/<key>/tenant-id/<tenant_id>/submit-form")
def submit_form_latest_of_tenant(key, tenant_id):
    """Start the newest version in a tenant's line with its start form's data, checked against the form."""
    return _submit(key=key, tenant_id=tenant_id)


@blp.post("/process-definition/<definition_id>/submit-form")
def submit_form_version(definition_id):
    """Start one definition version with its start form's data, checked against the form."""
    return _submit(definition_id=definition_id)


def _submit(**which):
    body = StartInstance().load(json_body())
    result = instances.submit_start_form(current_actor(), variables=plain_variables(body["variables"]),
                                         business_key=body["business_key"], **which)
    return jsonify(instance_dto(result.instance))


@blp.get("/process-definition/key/<key>/form-variables")
def start_form_variables_latest(key):
    """The start form's fields of the newest version (without a tenant), typed, with their defaults."""
    return jsonify(form_variables(instances.start_form(key=key)["form"], {}))


@blp.get("/process-definition/key/<key>/tenant-id/<tenant_id>/form-variables")
def start_form_variables_latest_of_tenant(key, tenant_id):
    """The start form's fields of the newest version in a tenant's line, typed, with their defaults."""
    return jsonify(form_variables(instances.start_form(key=key, tenant_id=tenant_id)["form"], {}))


@blp.get("/process-definition/<definition_id>/form-variables")
def start_form_variables_version(definition_id):
    """The start form's fields of one version, typed, with their defaults."""
    return jsonify(form_variables(instances.start_form(definition_id=definition_id)["form"], {}))


@blp.get("/process-definition/key/<key>/startForm")
def start_form_key_latest(key):
    """The start form's key (camunda:formKey) of the newest version (without a tenant)."""
    return jsonify(_start_form_dto(instances.start_form(key=key)))


@blp.get("/process-definition/key/<key>/tenant-id/<tenant_id>/startForm")
def start_form_key_latest_of_tenant(key, tenant_id):
    """The start form's key (camunda:formKey) of the newest version in a tenant's line."""
    return jsonify(_start_form_dto(instances.start_form(key=key, tenant_id=tenant_id)))


@blp.get("/process-definition/<definition_id>/startForm")
def start_form_key_version(definition_id):
    """The start form's key (camunda:formKey) of one version."""
    return jsonify(_start_form_dto(instances.start_form(definition_id=definition_id)))


def _start_form_dto(form: dict) -> dict:
    return {"key": form["form_key"], "contextPath": None, "camundaFormRef": camunda_form_ref(form["camunda_form"])}


@blp.get("/process-definition/key/<key>/deployed-start-form")
def deployed_start_form_latest(key):
    """The Camunda form (form-js JSON) of the newest version's (without a tenant) start event."""
    return _deployed(instances.start_form(key=key), key)


@blp.get("/process-definition/key/<key>/tenant-id/<tenant_id>/deployed-start-form")
def deployed_start_form_latest_of_tenant(key, tenant_id):
    """The Camunda form (form-js JSON) of the start event of the newest version in a tenant's line."""
    return _deployed(instances.start_form(key=key, tenant_id=tenant_id), key)


@blp.get("/process-definition/<definition_id>/deployed-start-form")
def deployed_start_form_version(definition_id):
    """The Camunda form (form-js JSON) of one version's start event."""
    return _deployed(instances.start_form(definition_id=definition_id), definition_id)


def _deployed(form: dict, which: str):
    if form["camunda_form"] is None:
        raise NotFoundError(f"process definition {which} has no deployed start form")
    return jsonify(form["camunda_form"])
