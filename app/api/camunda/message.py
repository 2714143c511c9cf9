"""Camunda REST: correlating messages and throwing signals."""
from flask import jsonify

from ...errors import ConflictError, NotFoundError
from ...schemas.camunda import CorrelateMessage, ThrowSignal
from ...services import events
from ...services import instances
from ...services.core import TenantFilter
from .common import CamundaError, camunda_blueprint, current_actor, json_body, plain_variables, typed_variables
from .process_instance import instance_dto

blp = camunda_blueprint("message", __name__)


def _tenants(body: dict) -> TenantFilter | None:
    """Camunda's `tenantId` / `withoutTenantId` of a message or signal."""
    return TenantFilter.of([body["tenant_id"]] if body["tenant_id"] else None, body["without_tenant_id"])


@blp.post("/message")
def correlate_message():
    """Deliver a message to the instance waiting for it, or start one at a message start event.

    204, or 200 with Camunda's correlation results when `resultEnabled` is set.
    No receiver, or several without `all`: 400 MismatchingMessageCorrelationException, as Camunda.
    `tenantId` (or `withoutTenantId`) keeps it to that tenant's instances and definitions (or to those of none).
    """
    body = CorrelateMessage().load(json_body())
    try:
        outcome = events.send_message(body["name"], current_actor(), variables=plain_variables(body["variables"]),
                                      business_key=body["business_key"],
                                      process_instance_id=body["process_instance_id"],
                                      correlation=plain_variables(body["correlation_keys"]) or None,
                                      to_all=body["all"], tenants=_tenants(body))
    except (NotFoundError, ConflictError) as exc:
        raise CamundaError(400, "MismatchingMessageCorrelationException",
                           f"Cannot correlate message '{body['name']}': {exc.detail}") from None
    if not body["result_enabled"]:
        return "", 204
    results = []
    for instance_id in outcome["delivered"]:
        tenant_id = instances.get_instance(instance_id, current_actor()).tenant_id
        result = {"resultType": "Execution", "processInstance": None,
                  "execution": {"id": instance_id, "processInstanceId": instance_id, "ended": False,
                                "tenantId": tenant_id}}
        results.append(_with_variables(result, instance_id, body["variables_in_result"]))
    for instance_id in outcome["started"]:
        result = {"resultType": "ProcessDefinition", "execution": None,
                  "processInstance": instance_dto(instances.get_instance(instance_id, current_actor()))}
        results.append(_with_variables(result, instance_id, body["variables_in_result"]))
    return jsonify(results)


def _with_variables(result: dict, instance_id: str, wanted: bool) -> dict:
    if wanted:
        result["variables"] = typed_variables(instances.get_instance(instance_id, current_actor()).variables)
    return result


@blp.post("/signal")
def throw_signal():
    """Broadcast a signal with typed variables to every waiting catch event and signal start event."""
    body = ThrowSignal().load(json_body())
    events.broadcast_signal(body["name"], current_actor(), plain_variables(body["variables"]), tenants=_tenants(body),
                            instance_id=body["execution_id"])
    return "", 204
