"""A record's approval: submit, recall, approve, reject, delegate."""
from ..schemas.approvals import ApprovalDelegateSchema, ApprovalSchema, ApproveSchema, RecallSchema, RejectSchema
from ..services import approvals as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("approvals", __name__, "/modules", "Record approvals")

BASE = "/<module>/records/<record_id>/approval"


@blp.route(BASE, methods=["GET"])
@blp.response(200, ApprovalSchema)
@problems(blp, 401, 404)
def get_approval(module, record_id):
    """The record's pending approval (`pending: false` when there is none)."""
    return service.approval_state(module, record_id, current_actor())


@blp.route(f"{BASE}/submit", methods=["POST"])
@blp.response(201, ApprovalSchema)
@problems(blp, 401, 403, 404, 409)
def submit(module, record_id):
    """Submit the record for approval: the first approval binding whose criteria it matches starts (409 if none,
    or if an approval already runs)."""
    return service.submit(module, record_id, current_actor())


@blp.route(f"{BASE}/recall", methods=["POST"])
@blp.arguments(RecallSchema)
@blp.response(200, ApprovalSchema)
@problems(blp, 400, 401, 403, 404, 409)
def recall(body, module, record_id):
    """Recall the pending approval (its submitter, the record's owner or an admin): cancelled, the record unlocked."""
    return service.recall(module, record_id, body["reason"], current_actor())


@blp.route(f"{BASE}/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(200, ApprovalSchema)
@problems(blp, 400, 401, 403, 404, 409)
def approve(body, module, record_id):
    """Approve your task in the pending approval."""
    return service.decide(module, record_id, True, body["comment"], body["task_id"], current_actor())


@blp.route(f"{BASE}/reject", methods=["POST"])
@blp.arguments(RejectSchema)
@blp.response(200, ApprovalSchema)
@problems(blp, 400, 401, 403, 404, 409)
def reject(body, module, record_id):
    """Reject your task in the pending approval, with a reason (400 without one)."""
    return service.decide(module, record_id, False, body["reason"], body["task_id"], current_actor())


@blp.route(f"{BASE}/delegate", methods=["POST"])
@blp.arguments(ApprovalDelegateSchema)
@blp.response(200, ApprovalSchema)
@problems(blp, 400, 401, 403, 404, 409)
def delegate(body, module, record_id):
    """Hand your approval task to another user."""
    return service.delegate(module, record_id, body["user"], body["task_id"], current_actor())
