"""Camunda REST: deployments, as the Camunda Modeler's deploy button sends them."""
import mimetypes
from urllib.parse import quote

from flask import Response, jsonify, request
from marshmallow import ValidationError as SchemaError

from ...errors import BpmnValidationError, UnsupportedMediaTypeError, ValidationError
from ...schemas.camunda import DeploymentQuery, sorting_of, tenant_id_field
from ...services import definitions as service
from ..inputs import accepts
from .common import CamundaError, camunda_blueprint, camunda_time, count, current_actor, query_args, tenants
from .process_definition import definition_dto

blp = camunda_blueprint("deployment", __name__)

RESOURCE_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn", ".form", ".json")
MAX_NAME = 255  # deployment.name
# Camunda's media types for a resource's data, by extension; anything else is application/octet-stream.
_MEDIA_TYPES = {".bpmn": "application/xml", ".dmn": "application/xml", ".cmmn": "application/xml",
                ".xml": "application/xml", ".form": "application/json", ".json": "application/json",
                ".png": "image/png", ".svg": "image/svg+xml", ".html": "text/html", ".txt": "text/plain"}


def deployment_dto(deployment, source: str | None = None) -> dict:
    return {"id": deployment.id, "name": deployment.name, "source": source,
            "deploymentTime": camunda_time(deployment.created_at), "tenantId": deployment.tenant_id, "links": []}


def resource_dto(resource) -> dict:
    return {"id": resource.id, "name": resource.name, "deploymentId": resource.deployment_id}


def media_type(name: str) -> str:
    """A resource's media type by its extension, as Camunda answers its data."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _MEDIA_TYPES.get(suffix) or mimetypes.types_map.get(suffix) or "application/octet-stream"


def _flag(name: str) -> bool:
    return (request.form.get(name) or "").strip().lower() == "true"


def _tenant_id() -> str | None:
    """The `tenant-id` part: the tenant the deployment and its definitions belong to (absent or empty: none)."""
    tenant_id = (request.form.get("tenant-id") or "").strip()
    if not tenant_id:
        return None
    try:
        tenant_id_field(tenant_id)
    except SchemaError as exc:
        raise ValidationError(f"tenant-id {tenant_id[:80]!r} is refused", errors={"tenant-id": exc.messages}) from None
    return tenant_id


def _uploaded_files() -> list[tuple[str, bytes]]:
    """Every multipart part whose file name is a BPMN, DMN or JSON (form) file; other fields are options."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaTypeError("send multipart/form-data with the files as parts")
    files = []
    for field, upload in request.files.items(multi=True):
        name = upload.filename or field
        if name.lower().endswith(RESOURCE_SUFFIXES):
            files.append((name, upload.read()))
    if not files:
        raise ValidationError("no resources: send at least one part whose file name ends .bpmn, .dmn, .form or .json")
    return files


def _parse_exception(error: BpmnValidationError) -> CamundaError:
    """Camunda's ParseException: a message listing every problem, and the same problems per resource."""
    problems = error.bpmn or []
    lines, details = [], {}
    for p in problems:
        where = ", ".join(f"{k} {p[k]}" for k in ("line", "element_id") if p.get(k) is not None)
        lines.append(f"* {p.get('file', '?')}: {p['message']}" + (f" ({where})" if where else ""))
        details.setdefault(p.get("file", "?"), {"errors": [], "warnings": []})["errors"].append({
            "message": p["message"], "line": p.get("line"), "column": None, "mainElementId": p.get("element_id"),
            "elementIds": [p["element_id"]] if p.get("element_id") else []})
    return CamundaError(400, "ParseException", "ENGINE-09005 Could not parse BPMN process. Errors:\n"
                        + "\n".join(lines), details=details)


@blp.post("/deployment/create")
@accepts("multipart/form-data")
def create_deployment():
    """Deploy the uploaded files as one unit; a process whose content did not change keeps its version.

    With `deploy-changed-only` or `enable-duplicate-filtering`, files that equal the latest ones of
    the same names in deployments of the same name (and tenant) answer that deployment, and nothing is
    created. `tenant-id` makes the deployment and its definitions the tenant's, in its own version line.
    """
    files = _uploaded_files()
    tenant_id = _tenant_id()
    name = request.form.get("deployment-name")
    if name is not None and len(name) > MAX_NAME:
        raise ValidationError(f"deployment-name is longer than {MAX_NAME} characters",
                              errors={"deployment-name": [f"at most {MAX_NAME} characters"]})
    try:
        # deploy-changed-only implies enable-duplicate-filtering, as in Camunda
        deployment, definitions = service.deploy(
            files, current_actor(), name,
            skip_unchanged=_flag("deploy-changed-only") or _flag("enable-duplicate-filtering"), tenant_id=tenant_id)
    except BpmnValidationError as exc:
        raise _parse_exception(exc) from None
    new = {d.id: definition_dto(d) for d in definitions if d.deployment_id == deployment.id}
    return jsonify({**deployment_dto(deployment, request.form.get("deployment-source")),
                    "deployedProcessDefinitions": new or None, "deployedCaseDefinitions": None,
                    "deployedDecisionDefinitions": None, "deployedDecisionRequirementsDefinitions": None})


@blp.get("/deployment")
def list_deployments():
    """Deployments, newest first, by name (or `nameLike`) and tenant (`tenantIdIn`, `withoutTenantId`,
    `includeDeploymentsWithoutTenantId`)."""
    query = DeploymentQuery().load(query_args())
    page = service.list_deployments(1, query["max_results"], query["first_result"], query["name"],
                                    name_like=query["name_like"], tenants=tenants(query), sort=sorting_of(query))
    return jsonify([deployment_dto(d) for d in page.items])


@blp.get("/deployment/count")
def count_deployments():
    """How many deployments match."""
    query = DeploymentQuery().load(query_args())
    return jsonify(count(service.list_deployments(1, 0, 0, query["name"], name_like=query["name_like"],
                                                  tenants=tenants(query))))


@blp.get("/deployment/<deployment_id>")
def get_deployment(deployment_id):
    """One deployment."""
    return jsonify(deployment_dto(service.get_deployment(deployment_id, current_actor())))


@blp.get("/deployment/<deployment_id>/resources")
def list_resources(deployment_id):
    """The files of a deployment: `[{id, name, deploymentId}]`."""
    return jsonify([resource_dto(r) for r in service.deployment_resources(deployment_id, current_actor())])


@blp.get("/deployment/<deployment_id>/resources/<resource_id>")
def get_resource(deployment_id, resource_id):
    """One file of a deployment."""
    return jsonify(resource_dto(service.deployment_resource(deployment_id, resource_id, current_actor())))


@blp.get("/deployment/<deployment_id>/resources/<resource_id>/data")
def get_resource_data(deployment_id, resource_id):
    """A file's bytes as deployed, with a media type by its extension (`.bpmn`: application/xml)."""
    resource = service.deployment_resource(deployment_id, resource_id, current_actor())
    return Response(bytes(resource.content), mimetype=media_type(resource.name),
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(resource.name)}"})
