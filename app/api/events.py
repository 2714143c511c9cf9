"""Messages and signals from outside, and the jobs that run timers."""
from ..schemas.events import DeliverySchema, JobPageSchema, JobQuerySchema, JobSchema, MessageSchema, SignalSchema
from ..services import events, jobs
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("events", __name__, "", "Messages, signals and jobs")


@blp.route("/messages", methods=["POST"])
@blp.arguments(MessageSchema)
@blp.response(200, DeliverySchema)
@problems(blp, 400, 401, 404, 409, 422)
def send_message(body):
    """Deliver a message to the instance waiting for it, or start one at a message start event."""
    return events.send_message(body.pop("name"), current_actor(), ttl_seconds=body.pop("ttl"),
                               to_all=body.pop("all"), **body)


@blp.route("/signals", methods=["POST"])
@blp.arguments(SignalSchema)
@blp.response(200, DeliverySchema)
@problems(blp, 400, 401, 422)
def broadcast_signal(body):
    """Broadcast a signal to every waiting catch event and signal start event."""
    return events.broadcast_signal(body["name"], current_actor(), body["variables"])


@blp.route("/jobs", methods=["GET"])
@blp.arguments(JobQuerySchema, location="query")
@blp.response(200, JobPageSchema)
@problems(blp, 400, 401, 403)
def list_jobs(query):
    """Jobs (timers, asynchronous continuations, migration batches with their progress): pending (optionally only
    those due) and failed, with their errors (admin)."""
    return jobs.list_jobs(current_actor(), query["status"], query["page"], query["per_page"], due=query["due"])


@blp.route("/jobs/<job_id>/retry", methods=["POST"])
@blp.response(200, JobSchema)
@problems(blp, 401, 403, 404, 409)
def retry_job(job_id):
    """Put a failed job back in line (admin)."""
    return jobs.retry_job(job_id, current_actor())
