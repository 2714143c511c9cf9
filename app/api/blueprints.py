"""Blueprints: the stages a process leads a record through."""
from ..schemas.blueprints import BlueprintStagesQuerySchema, BlueprintStagesSchema
from ..services import blueprints as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("blueprints", __name__, "/blueprints", "The stages of blueprints")


@blp.route("/<key>/stages", methods=["GET"])
@blp.arguments(BlueprintStagesQuerySchema, location="query")
@blp.response(200, BlueprintStagesSchema)
@problems(blp, 400, 401, 404)
def get_stages(query, key):
    """The stages of process `key` in flow order, and the modules it is the blueprint of."""
    return service.blueprint_stages(key, current_actor(), query["version"])
