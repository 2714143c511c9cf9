"""History cleanup: its configuration, and a run now (admin)."""
from ..schemas.events import JobSchema
from ..schemas.retention import CleanupConfigurationSchema
from ..services import retention
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("retention", __name__, "/history/cleanup", "History retention and cleanup")


@blp.route("", methods=["GET"])
@blp.response(200, CleanupConfigurationSchema)
@problems(blp, 401, 403)
def configuration():
    """The cleanup window, batch size, default time to live, and how many ended instances are due (admin)."""
    return retention.cleanup_configuration(current_actor())


@blp.route("", methods=["POST"])
@blp.response(202, JobSchema)
@problems(blp, 401, 403)
def clean_up_now():
    """Remove the ended instances past their removal time now, batch after batch, in the background (admin):
    the job runner runs the returned job."""
    return retention.schedule_cleanup(current_actor(), immediately=True)
