"""Incidents: failed steps that stopped instances, open until retried or cancelled."""
from ..schemas.incidents import IncidentPageSchema, IncidentQuerySchema
from ..services import history
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("incidents", __name__, "/incidents", "Incidents of process instances")


@blp.route("", methods=["GET"])
@blp.arguments(IncidentQuerySchema, location="query")
@blp.response(200, IncidentPageSchema)
@problems(blp, 400, 401)
def list_incidents(query):
    """Incidents of the instances you may read, newest first: open (default), resolved or all."""
    return history.list_incidents(current_actor(), **query)
