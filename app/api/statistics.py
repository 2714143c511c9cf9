"""Statistics: instances per process key (per element of a definition: app/api/definitions.py)."""
import datetime as dt

from ..schemas.statistics import ProcessStatisticsListSchema, ProcessStatisticsQuerySchema
from ..services import instances
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("statistics", __name__, "/statistics", "Statistics of instances")


@blp.route("/processes", methods=["GET"])
@blp.arguments(ProcessStatisticsQuerySchema, location="query")
@blp.response(200, ProcessStatisticsListSchema)
@problems(blp, 400, 401)
def process_statistics(query):
    """Per process key: running, in error, suspended, open incidents and tasks, completed lately (of the
    instances you may read; admins: all)."""
    items = instances.process_overview(current_actor(), since=dt.timedelta(hours=query["completed_within_hours"]))
    return {"items": items, "total": len(items)}
