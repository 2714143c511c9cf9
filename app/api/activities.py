"""The outbox of emails and webhook calls (CRM to-dos: app/api/crm_tasks.py)."""
from ..schemas.crm import OutboxMessageSchema, OutboxPageSchema, OutboxQuerySchema
from ..services import outbox
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("activities", __name__, "", "The outbox of emails and webhook calls")


@blp.route("/outbox", methods=["GET"])
@blp.arguments(OutboxQuerySchema, location="query")
@blp.response(200, OutboxPageSchema)
@problems(blp, 400, 401, 403)
def list_outbox(query):
    """Queued, sent and failed emails and webhook calls (admin)."""
    return outbox.list_messages(current_actor(), query["status"], query["record_id"], query["page"], query["per_page"])


@blp.route("/outbox/<message_id>/retry", methods=["POST"])
@blp.response(200, OutboxMessageSchema)
@problems(blp, 401, 403, 404, 409)
def retry_outbox(message_id):
    """Send a failed message again (admin); any other message is a 409."""
    return outbox.retry_message(message_id, current_actor())
