"""Camunda REST: migrating process instances (generate, validate, execute, executeAsync) and batches.

A Camunda plan maps each active activity explicitly (`instructions`, one source and one target id
each; `POST /migration/generate` writes the instructions for the activities of the same id and type),
so an active activity no instruction names is refused, as Camunda refuses it. `execute` migrates all
the instances or none (one transaction); `executeAsync` returns the batch the job runner works
through. `skipCustomListeners` and `skipIoMappings` are accepted and change nothing: a migration
runs no listener and no mapping. `updateEventTrigger` is accepted: a migrated event always waits
for what the target's event names.
"""
from flask import current_app, jsonify

from ...errors import ValidationError
from ...schemas.camunda_migration import MigrationExecution, MigrationGeneration, MigrationPlan
from ...services import batches, migrations
from .common import CamundaError, camunda_blueprint, camunda_time, current_actor, json_body, plain_variables

blp = camunda_blueprint("migration", __name__)


def _instruction(source: str, target: str) -> dict:
    return {"sourceActivityIds": [source], "targetActivityIds": [target], "updateEventTrigger": False}


def _mapping(plan: dict) -> tuple[dict[str, str], list[tuple[dict, list[str]]]]:
    """The plan's instructions as a mapping, and the failures of instructions that are not one to one."""
    mapping, shape = {}, []
    for instruction in plan["instructions"] or []:
        sources, targets = instruction["source_activity_ids"], instruction["target_activity_ids"]
        dto = {"sourceActivityIds": sources, "targetActivityIds": targets,
               "updateEventTrigger": bool(instruction["update_event_trigger"])}
        if len(sources) != 1 or len(targets) != 1:
            shape.append((dto, ["an instruction maps exactly one source activity to one target activity"]))
        elif sources[0] in mapping:
            shape.append((dto, [f"there are several instructions for source activity {sources[0]!r}"]))
        else:
            mapping[sources[0]] = targets[0]
    return mapping, shape


def _report(plan: dict) -> dict:
    """Camunda's MigrationPlanReportDto for a plan."""
    mapping, shape = _mapping(plan)
    problems = migrations.plan_report(current_actor(), plan["source"], plan["target"], mapping)["problems"]
    reports = [{"instruction": dto, "failures": failures} for dto, failures in shape]
    reports += [{"instruction": _instruction(source, mapping[source]), "failures": failures}
                for source, failures in problems.items()]
    return {"instructionReports": reports, "variableReports": {}}


@blp.post("/migration/generate")
def generate():
    """The plan that maps every activity of the same id and type in both definitions."""
    body = MigrationGeneration().load(json_body())
    mapping = migrations.generated_mapping(current_actor(), body["source"], body["target"])
    return jsonify({"sourceProcessDefinitionId": body["source"], "targetProcessDefinitionId": body["target"],
                    "instructions": [_instruction(s, t) for s, t in mapping.items()],
                    "variables": body["variables"]})


@blp.post("/migration/validate")
def validate():
    """The plan's failures per instruction, whatever the instance (an empty list: it is valid)."""
    return jsonify(_report(MigrationPlan().load(json_body())))


def _checked_plan(body: dict) -> migrations.Plan:
    plan = body["plan"]
    report = _report(plan)
    if report["instructionReports"]:
        raise CamundaError(400, "MigrationPlanValidationException",
                           f"Migration plan for process definition '{plan['source']}' to '{plan['target']}' is not "
                           f"valid", validationReport=report)
    mapping, _ = _mapping(plan)
    return migrations.make_plan(current_actor(), plan["source"], plan["target"], mapping,
                                plain_variables(plan["variables"]), same_ids=False)


def _instances(body: dict, plan: migrations.Plan) -> list[str]:
    query = body["process_instance_query"]
    filters = None if query is None else {k: query[k] for k in ("business_key", "business_key_like") if query[k]}
    if body["process_instance_ids"] is None and filters is None:
        raise ValidationError("give processInstanceIds or processInstanceQuery")
    ids = migrations.select_instances(current_actor(), plan, body["process_instance_ids"], None) \
        if body["process_instance_ids"] is not None else []
    if filters is not None:
        ids += [i for i in migrations.select_instances(current_actor(), plan, None, filters) if i not in ids]
    if not ids:
        raise ValidationError("the process instance ids are empty: nothing to migrate")
    return ids


@blp.post("/migration/execute")
def execute():
    """Migrate every selected instance in one transaction, or none (204)."""
    body = MigrationExecution().load(json_body())
    plan = _checked_plan(body)
    try:
        migrations.migrate_together(current_actor(), plan, _instances(body, plan))
    except migrations.InstanceRefusedError as exc:
        raise CamundaError(400, "MigratingProcessInstanceValidationException", exc.detail,
                           validationReport=_instance_report(exc.result, plan)) from None
    return "", 204


def _instance_report(result, plan: migrations.Plan) -> dict:
    general = [r["message"] for r in result.reasons or [] if r["element_id"] is None]
    activities = [{"migrationInstruction": _instruction(r["element_id"], plan.mapping[r["element_id"]])
                   if r["element_id"] in plan.mapping else None,
                   "activityInstanceId": f"{r['element_id']}:{result.instance_id}", "sourceScopeId": r["element_id"],
                   "failures": [r["message"]]} for r in result.reasons or [] if r["element_id"] is not None]
    return {"processInstanceId": result.instance_id, "failures": general,
            "activityInstanceValidationReports": activities, "transitionInstanceValidationReports": []}


@blp.post("/migration/executeAsync")
def execute_async():
    """Queue the migration as a batch the job runner works through; answers the batch."""
    body = MigrationExecution().load(json_body())
    plan = _checked_plan(body)
    batch = batches.start_migration(current_actor(), plan, _instances(body, plan), run_now=False)
    return jsonify(batch_dto(batch))


@blp.get("/batch/<batch_id>")
def get_batch(batch_id):
    """A batch (its creator or an admin)."""
    return jsonify(batch_dto(batches.get_batch(batch_id, current_actor())))


def batch_dto(batch) -> dict:
    """Camunda's BatchDto: one job per instance, counted as the chunks work them."""
    return {"id": batch.id, "type": batch.kind, "totalJobs": batch.total, "jobsCreated": batch.total - batch.pending,
            "batchJobsPerSeed": current_app.config["MIGRATION_CHUNK_SIZE"], "invocationsPerBatchJob": 1,
            "seedJobDefinitionId": None, "monitorJobDefinitionId": None, "batchJobDefinitionId": None,
            "suspended": False, "tenantId": None, "createUserId": batch.created_by,
            "startTime": camunda_time(batch.created_at), "executionStartTime": camunda_time(batch.created_at)}
