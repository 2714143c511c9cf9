"""CRM to-dos created by processes, and the outbox of emails and webhook calls."""
from ..schemas.crm import CrmTaskPageSchema, CrmTaskQuerySchema, OutboxMessageSchema, OutboxPageSchema, OutboxQuerySchema
from ..services import outbox, records
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("activities", __name__, "", "CRM tasks and the outbox")


@blp.route("/crm-tasks", methods=["GET"])
@blp.arguments(CrmTaskQuerySchema, location="query")
@blp.response(200, CrmTaskPageSchema)
@problems(blp, 400, 401)
def list_crm_tasks(query):
    """To-dos created by processes; `mine=true` for the caller's."""
    return records.list_crm_tasks(current_actor(), **query)


@blp.route("/outbox", methods=["GET"])
@blp.arguments(OutboxQuerySchema, location="query")
@blp.response(200, OutboxPageSchema)
@problems(blp, 400, 401, 403)
def list_outbox(query):
    """Queued, sent and failed emails and webhook calls (admin)."""
    return outbox.list_messages(current_actor(), query["status"], query["record_id"], query["page"], query["per_page"])


@blp.route("/outbox/<message_id>/retry", methods=["POST"])
@blp.response(200, OutboxMessageSchema)
@problems(blp, 401, 403, 404)
def retry_outbox(message_id):
    """Send a failed message again (admin)."""
    return outbox.retry_message(message_id, current_actor())
