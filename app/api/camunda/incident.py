"""Camunda REST: open incidents (a failed step that stopped an instance until retried or cancelled)."""
from flask import jsonify

from ...errors import NotFoundError
from ...schemas.camunda import IncidentQuery
from ...services import history as service
from ...services.core import incident_type
from .common import camunda_blueprint, camunda_time, count, current_actor, query_args, tenants

blp = camunda_blueprint("incident", __name__)


def incident_dto(row) -> dict:
    incident = row.incident
    return {"id": incident.id, "processDefinitionId": row.definition_id, "processInstanceId": incident.instance_id,
            "executionId": incident.instance_id, "incidentTimestamp": camunda_time(incident.created_at),
            "incidentType": incident_type(row.definition_id, incident.element_id), "activityId": incident.element_id, "failedActivityId": incident.element_id,
            "causeIncidentId": incident.id, "rootCauseIncidentId": incident.id, "configuration": None,
            "tenantId": row.tenant_id, "incidentMessage": incident.message, "jobDefinitionId": None, "annotation": None}


def _page(per_page=None):
    query = IncidentQuery().load(query_args())
    return service.list_open_incidents(current_actor(), instance_id=query["instance_id"],
                                       incident_id=query["incident_id"], offset=query["first_result"],
                                       limit=query["max_results"] if per_page is None else per_page,
                                       message=query["message"], message_like=query["message_like"],
                                       tenants=tenants(query))


@blp.get("/incident")
def list_incidents():
    """Open incidents, oldest first, by instance (`processInstanceId`), id (`incidentId`), message (or
    `incidentMessageLike`) and tenant (`tenantIdIn`)."""
    return jsonify([incident_dto(row) for row in _page().items])


@blp.get("/incident/count")
def count_incidents():
    """How many open incidents match the same filters as the list."""
    return jsonify(count(_page(per_page=0)))


@blp.get("/incident/<incident_id>")
def get_incident(incident_id):
    """One open incident (404 once it is resolved, or on an instance the caller may not read)."""
    rows = service.list_open_incidents(current_actor(), incident_id=incident_id, limit=1).items
    if not rows:
        raise NotFoundError(f"no open incident {incident_id}")
    return jsonify(incident_dto(rows[0]))
