"""Deployments: upload BPMN, DMN and form files."""
from flask import request

from ..errors import UnsupportedMediaTypeError, ValidationError
from ..schemas.definitions import DeploymentQuerySchema, DeploymentSchema
from ..services import definitions as service
from .common import current_actor, problems, protected_blueprint
from .inputs import accepts

blp = protected_blueprint("deployments", __name__, "/deployments", "Deploy BPMN 2.0 diagrams")

_XML_TYPES = {"application/xml", "text/xml", "application/bpmn+xml", "application/octet-stream"}
_UPLOAD_DOC = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
    "application/xml": {"schema": {"type": "string"}}}}}


def _uploaded_files(name: str | None) -> list[tuple[str, bytes]]:
    if request.mimetype == "multipart/form-data":
        files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("files")]
        if not files:
            raise ValidationError("no files: send them in the multipart field `files`",
                                  errors={"files": ["required"]})
        return files
    if request.mimetype in _XML_TYPES:
        return [(name or "upload.bpmn", request.get_data())]
    raise UnsupportedMediaTypeError("send multipart/form-data with `files`, or one XML document as the body")


@blp.route("", methods=["POST"])
@accepts("multipart/form-data", *sorted(_XML_TYPES))
@blp.arguments(DeploymentQuerySchema, location="query")
@blp.response(201, DeploymentSchema)
@blp.alt_response(200, schema=DeploymentSchema, description="dry_run=true: nothing is stored; per process, the "
                  "version deploying would give it (or the unchanged latest one). Every check of a deployment is "
                  "made: a file that cannot be deployed is the same 422 (`bpmn` lists every problem), a process "
                  "key the caller may not deploy the same 403")
@blp.doc(**_UPLOAD_DOC)
@problems(blp, 400, 401, 403, 413, 415, 422)
def deploy(query):
    """Deploy one or more files as a unit (all or nothing); `dry_run=true` checks them and stores nothing;
    `tenant_id` deploys for a tenant (its own version line of each key)."""
    files = _uploaded_files(query["name"])
    if query["dry_run"]:
        return {"id": None, "name": query["name"], "definitions": service.dry_run(files, current_actor(),
                                                                                   query["tenant_id"])}, 200
    deployment, definitions = service.deploy(files, current_actor(), query["name"], tenant_id=query["tenant_id"])
    return {"id": deployment.id, "name": deployment.name, "tenant_id": deployment.tenant_id,
            "created_at": deployment.created_at, "definitions": definitions}
