"""Process definitions: list, read, fetch XML, start."""
from flask import Response

from ..schemas.definitions import DefinitionPageSchema, DefinitionQuerySchema, DefinitionSchema
from ..schemas.instances import InstanceStartedSchema, StartInstanceSchema
from ..schemas.retention import HistoryTtlSchema
from ..schemas.statistics import DefinitionStatisticsSchema
from ..services import definitions as service
from ..services import instances, retention, statistics
from ..services.core import TenantFilter
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("definitions", __name__, "/process-definitions", "Deployed process definitions")


@blp.route("", methods=["GET"])
@blp.arguments(DefinitionQuerySchema, location="query")
@blp.response(200, DefinitionPageSchema)
@problems(blp, 400, 401)
def list_definitions(query):
    """List definitions, optionally one key, one tenant (or none) and only the latest version of each line."""
    tenants = TenantFilter.of([query["tenant_id"]] if query["tenant_id"] else None, query["without_tenant_id"])
    return service.list_definitions(query["key"], query["latest"], query["page"], query["per_page"], tenants=tenants)


@blp.route("/<definition_id>", methods=["GET"])
@blp.response(200, DefinitionSchema)
@problems(blp, 401, 404)
def get_definition(definition_id):
    """One definition version."""
    return service.get_definition(definition_id)


@blp.route("/<definition_id>/xml", methods=["GET"])
@blp.response(200, content_type="application/xml")
@problems(blp, 401, 404)
def get_definition_xml(definition_id):
    """The file the definition was deployed from, as uploaded."""
    return Response(service.definition_xml(definition_id), mimetype="application/xml")


@blp.route("/<definition_id>/history-ttl", methods=["PUT"])
@blp.arguments(HistoryTtlSchema)
@blp.response(200, DefinitionSchema)
@problems(blp, 400, 401, 403, 404, 422)
def set_history_ttl(body, definition_id):
    """Set how many days this version's ended instances are kept (admin); their removal times follow."""
    return retention.set_history_ttl(current_actor(), body["days"], definition_id=definition_id)[0]


@blp.route("/<definition_id>/statistics", methods=["GET"])
@blp.response(200, DefinitionStatisticsSchema)
@problems(blp, 401, 404)
def get_statistics(definition_id):
    """Per element: instances there now, open incidents, and from the latest instances' history how often it
    was completed or cancelled and how long it took (of the instances you may read)."""
    return statistics.element_statistics(definition_id, current_actor())


@blp.route("/key/<key>/start", methods=["POST"])
@blp.arguments(StartInstanceSchema)
@blp.response(201, InstanceStartedSchema)
@problems(blp, 400, 401, 404, 422)
def start_latest(body, key):
    """Start the latest version of a process deployed without a tenant and run it until it waits or ends
    (a tenant's version: start it by its definition id)."""
    return instances.start_instance(current_actor(), key=key, **body)


@blp.route("/<definition_id>/start", methods=["POST"])
@blp.arguments(StartInstanceSchema)
@blp.response(201, InstanceStartedSchema)
@problems(blp, 400, 401, 404, 422)
def start_version(body, definition_id):
    """Start one definition version and run it until it waits or ends."""
    return instances.start_instance(current_actor(), definition_id=definition_id, **body)
