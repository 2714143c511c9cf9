"""Scoring rules per module, and touchpoints on records."""
from ..schemas.crm import RecordSchema
from ..schemas.scoring import ScoringSchema, TouchpointSchema
from ..services import records, scoring, touchpoints
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("scoring", __name__, "/modules", "Scoring rules and touchpoints")


@blp.route("/<module>/scoring", methods=["GET"])
@blp.response(200, ScoringSchema)
@problems(blp, 401, 404)
def get_scoring(module):
    """The module's scoring rules: criteria worth points and points per touchpoint."""
    return scoring.get_scoring(module, current_actor())


@blp.route("/<module>/scoring", methods=["PUT"])
@blp.arguments(ScoringSchema)
@blp.response(200, ScoringSchema)
@problems(blp, 400, 401, 403, 404)
def set_scoring(body, module):
    """Replace the module's scoring rules (admin); a criterion that cannot run is refused, named."""
    return scoring.set_scoring(module, body, current_actor())


@blp.route("/<module>/records/<record_id>/touchpoints", methods=["POST"])
@blp.arguments(TouchpointSchema)
@blp.response(201, RecordSchema)
@problems(blp, 400, 401, 403, 404)
def add_touchpoint(body, module, record_id):
    """Record a touchpoint (an email opened, a form submitted) on the timeline; the record is rescored."""
    record = touchpoints.record_touchpoint(module, record_id, body["type"], body["data"], current_actor())
    return records.record_view(record)
