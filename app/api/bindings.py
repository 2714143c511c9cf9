"""Bindings: which record events start which processes."""
from ..schemas.crm import BindingListSchema, BindingSchema
from ..services import modules as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("bindings", __name__, "/bindings", "Processes bound to record events")


@blp.route("", methods=["GET"])
@blp.response(200, BindingListSchema)
@problems(blp, 401)
def list_bindings():
    """Every binding."""
    items = service.list_bindings()
    return {"items": items, "total": len(items)}


@blp.route("", methods=["POST"])
@blp.arguments(BindingSchema)
@blp.response(201, BindingSchema)
@problems(blp, 400, 401, 403, 404)
def create_binding(body):
    """Bind a process key to a module event and criteria (admin)."""
    return service.create_binding(body, current_actor())


@blp.route("/<binding_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_binding(binding_id):
    """Remove a binding (admin); running instances carry on."""
    service.delete_binding(binding_id, current_actor())
