"""Workflow rules: a binding plus actions, deployed as an ordinary process definition."""
from ..schemas.workflow_rules import WorkflowRuleListSchema, WorkflowRuleSchema
from ..services import workflow_rules as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("workflow_rules", __name__, "/workflow-rules",
                          "Workflow rules: field updates, emails, tasks and webhooks on record events")


@blp.route("", methods=["GET"])
@blp.response(200, WorkflowRuleListSchema)
@problems(blp, 401)
def list_rules():
    """Every workflow rule with its process key and latest version."""
    items = service.list_rules()
    return {"items": items, "total": len(items)}


@blp.route("", methods=["POST"])
@blp.arguments(WorkflowRuleSchema)
@blp.response(201, WorkflowRuleSchema)
@problems(blp, 400, 401, 403, 409)
def create_rule(body):
    """Create a rule, or replace the rule of the same name (admin)."""
    return service.create_rule(body, current_actor())


@blp.route("/<rule_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_rule(rule_id):
    """Delete a rule (admin); its definitions and past instances stay."""
    service.delete_rule(rule_id, current_actor())
