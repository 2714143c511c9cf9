"""Process instances: monitor and repair."""

from ..schemas.common import ReasonSchema
from ..schemas.instances import (
    BulkOperationSchema, BulkResultSchema, HistoryPageSchema, HistoryQuerySchema, InstanceDetailSchema, InstancePageSchema, InstanceQuerySchema,
    InstanceStartedSchema, InstanceSummarySchema, InstanceVariablesSchema, VariablesPatchSchema,
)
from ..schemas.migrations import ModificationSchema
from ..services import bulk
from ..services import instances as service, modifications
from ..services.core import TenantFilter
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("instances", __name__, "/process-instances", "Process instances")


def _detail(instance_id):
    d = service.instance_details(instance_id, current_actor())
    inst, info = d["instance"], d["definition"]
    return {"id": inst.id, "definition": {"id": info.id, "key": info.key, "version": info.version},
            "tenant_id": inst.tenant_id,
            "status": inst.status, "business_key": inst.business_key, "variables": inst.variables,
            "active_activities": d["active_activities"], "tasks": d["tasks"], "incidents": d["incidents"],
            "started_at": inst.started_at, "ended_at": inst.ended_at, "end_element_id": inst.end_element_id,
            "duration_ms": inst.duration_ms, "removal_time": inst.removal_time, "started_by": inst.started_by}


@blp.route("", methods=["GET"])
@blp.arguments(InstanceQuerySchema, location="query")
@blp.response(200, InstancePageSchema)
@problems(blp, 400, 401)
def list_instances(query):
    """List the instances you may read, newest first (admins: all)."""
    tenant_id, without = query.pop("tenant_id"), query.pop("without_tenant_id")
    tenants = TenantFilter.of([tenant_id] if tenant_id else None, without)
    return service.list_instances(current_actor(), tenants=tenants, **query)


@blp.route("/batch", methods=["POST"])
@blp.arguments(BulkOperationSchema)
@blp.response(200, BulkResultSchema)
@problems(blp, 400, 401)
def batch(body):
    """Retry, cancel, suspend or resume up to 1,000 instances, each as its own call would: an outcome per
    instance, done or refused with its problem."""
    return bulk.run_bulk(current_actor(), body["operation"], instance_ids=body["instance_ids"],
                             filters=_filters(body["filter"]), reason=body["reason"])


def _filters(given):
    return None if given is None else {name: value for name, value in given.items() if value is not None}


@blp.route("/<instance_id>", methods=["GET"])
@blp.response(200, InstanceDetailSchema)
@problems(blp, 401, 404)
def get_instance(instance_id):
    """Where an instance is: status, variables, active activities, open tasks, incidents."""
    return _detail(instance_id)


@blp.route("/<instance_id>/history", methods=["GET"])
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, HistoryPageSchema)
@problems(blp, 400, 401, 404)
def get_history(query, instance_id):
    """The audit trail, oldest first."""
    return service.instance_history(instance_id, current_actor(), query["page"], query["per_page"])


@blp.route("/<instance_id>/suspend", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, InstanceSummarySchema)
@problems(blp, 401, 403, 404, 409)
def suspend(body, instance_id):
    """Suspend an instance (admins, or `repair` on its process key)."""
    return service.suspend_instance(instance_id, current_actor(), body.get("reason"))


@blp.route("/<instance_id>/resume", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, InstanceSummarySchema)
@problems(blp, 401, 403, 404, 409)
def resume(body, instance_id):
    """Resume a suspended instance (admins, or `repair` on its process key)."""
    return service.resume_instance(instance_id, current_actor(), body.get("reason"))


@blp.route("/<instance_id>/cancel", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, InstanceSummarySchema)
@problems(blp, 401, 403, 404, 409)
def cancel(body, instance_id):
    """Cancel an instance and its open tasks (admins, or `delete` on its process key)."""
    return service.cancel_instance(instance_id, current_actor(), body.get("reason"))


@blp.route("/<instance_id>/retry", methods=["POST"])
@blp.response(200, InstanceStartedSchema)
@problems(blp, 401, 403, 404, 409, 422)
def retry(instance_id):
    """Run the failed step of an instance in error again (admins, or `repair` on its process key)."""
    return service.retry_instance(instance_id, current_actor())


@blp.route("/<instance_id>/variables", methods=["PATCH"])
@blp.arguments(VariablesPatchSchema)
@blp.response(200, InstanceVariablesSchema)
@problems(blp, 400, 401, 403, 404, 409, 422)
def patch_variables(body, instance_id):
    """Merge-patch variables; null removes one (admins, or `update` on its process key)."""
    return service.update_variables(instance_id, body["variables"], current_actor())


@blp.route("/<instance_id>/modification", methods=["POST"])
@blp.arguments(ModificationSchema)
@blp.response(200, InstanceStartedSchema)
@problems(blp, 400, 401, 403, 404, 409, 422)
def modify(body, instance_id):
    """Cancel an activity's tokens, start before or after an element, reset to a task that ran before; the
    `annotation` says why (admins, or `repair` on its process key)."""
    return modifications.modify_instance(instance_id, current_actor(), body["instructions"], body["annotation"])
