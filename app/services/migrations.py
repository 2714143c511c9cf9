"""Migrating running instances to another version of their process (or to another process).

A migration names a source and a target definition, the instances (ids, or the
instance list's filters over the source's live instances), a mapping of the
elements that do not keep their id, and variables to set. A dry run checks each
instance and changes nothing. A real one is a batch (`batches`): one item per
instance, worked through in chunks, each chunk one transaction, so a crash
leaves some instances migrated and the rest pending, and running the batch again
(or letting its job run) finishes the rest without migrating any twice.

Each instance moves inside the one command executor (`run_on_instance`): locked,
its workflow moved by the engine (`Engine.migrate`: tasks keep their ids, data
and due times), projected (its open tasks keep assignee, claim and candidates
and take the target's element; subscriptions, active activities and the timer
job follow the waits of the target), recorded in its history (from, to, who)
and followed by the after-step hooks.

Who may: admins, or whoever holds `migrate` on both process keys (the grants
model's own permission, as Camunda's MIGRATE_INSTANCE); the instances selected
are those the caller may read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..engine import MigrationRefused, ScriptError, StateError
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import ExternalTask, HumanTask, Incident, ProcessInstance
from ..statuses import InstanceStatus, TaskState
from .access import require
from .core import (Actor, DefinitionInfo, InstanceNotActionableError, Turn, definition_info, engine, jsonable,
                   run_on_instance, write_transaction)
from .forms import check_variable_names
from .instances import instances_query

LIVE = tuple(sorted(InstanceStatus.LIVE))


class MigrationPlanError(ValidationError):
    """The plan itself is wrong, whatever the instance: `problems` per source element (400)."""

    def __init__(self, detail: str, problems: dict[str, list[str]]):
        super().__init__(detail, errors={"mapping": problems})
        self.problems = problems


@dataclass
class Plan:
    """What every instance of a migration runs with."""

    source: DefinitionInfo
    target: DefinitionInfo
    mapping: dict[str, str] = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    same_ids: bool = True  # an active element not in `mapping` goes to the element of the same id

    def as_dict(self) -> dict:
        return {"source_definition_id": self.source.id, "target_definition_id": self.target.id,
                "mapping": self.mapping, "variables": self.variables, "same_ids": self.same_ids}

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        return cls(definition_info(data["source_definition_id"]), definition_info(data["target_definition_id"]),
                   dict(data.get("mapping") or {}), dict(data.get("variables") or {}), data.get("same_ids", True))


def ref(info: DefinitionInfo) -> tuple:
    """How the engine refers to a definition."""
    return info.id, info.dialect, info.spec_json


def _definition(definition_id: str | None, field_name: str) -> DefinitionInfo:
    if not definition_id:
        raise ValidationError(f"name the {field_name}", errors={field_name: ["required"]})
    try:
        return definition_info(definition_id)
    except NotFoundError:  # a bad input here, named by its field
        raise ValidationError(f"no process definition {definition_id}",
                              errors={field_name: [f"no process definition {definition_id}"]}) from None


def make_plan(actor: Actor, source_definition_id: str | None, target_definition_id: str | None,
              mapping: dict[str, str] | None = None, variables: dict | None = None, *, same_ids: bool = True,
              check_mapping: bool = True) -> Plan:
    """A checked plan: both definitions exist, the caller may migrate them, the mapping names elements.

    Raises:
        ValidationError: a definition does not exist, or both are the same, or their dialects differ.
        ForbiddenError: the caller holds no `migrate` on a process key.
        MigrationPlanError: the mapping names an element a definition does not have, or maps an element
            onto one of another type or multi-instance.
    """
    source = _definition(source_definition_id, "source_definition_id")
    target = _definition(target_definition_id, "target_definition_id")
    for info in (source, target):
        require(actor, "migrate", "process", info.key, f"migrate instances of process {info.key!r}")
    if source.id == target.id:
        raise ValidationError("the source and target are the same definition",
                              errors={"target_definition_id": ["the same definition as the source"]})
    plan = Plan(source, target, dict(mapping or {}), check_variable_names(dict(variables or {})), same_ids)
    try:
        problems = engine().migration_plan_problems(ref(source), ref(target), plan.mapping)
    except ValueError as exc:  # the dialects differ
        raise ValidationError(str(exc), errors={"target_definition_id": [str(exc)]}) from None
    if problems and check_mapping:
        raise MigrationPlanError("the mapping cannot apply: " + "; ".join(m for ms in problems.values() for m in ms),
                                 problems)
    if plan.variables:
        try:
            engine().runner.check_input(plan.variables)
        except ScriptError as exc:
            raise ValidationError(f"variables cannot be stored: {exc}", errors={"variables": [str(exc)]}) from None
    return plan


def plan_report(actor: Actor, source_definition_id: str, target_definition_id: str,
                mapping: dict[str, str] | None = None) -> dict:
    """What a mapping says before any instance: per source element its problems (empty: none), the
    elements added, removed and changed between the versions."""
    plan = make_plan(actor, source_definition_id, target_definition_id, mapping, check_mapping=False)
    return {"problems": engine().migration_plan_problems(ref(plan.source), ref(plan.target), plan.mapping),
            "changes": engine().migration_compare(ref(plan.source), ref(plan.target))}


def generated_mapping(actor: Actor, source_definition_id: str, target_definition_id: str) -> dict[str, str]:
    """Camunda's generated plan: every element of the same id and type in both definitions."""
    plan = make_plan(actor, source_definition_id, target_definition_id)
    return engine().migration_generate(ref(plan.source), ref(plan.target))


# -- choosing the instances -----------------------------------------------------------------------------------

def select_instances(actor: Actor, plan: Plan, instance_ids: list[str] | None = None,
                     filters: dict | None = None) -> list[str]:
    """The instances a migration takes, in order: the ids given (each must exist and be readable), or the
    source's live instances matching the instance list's filters, oldest first.

    Raises:
        ValidationError: neither or both were given, or an id names no instance the caller may read.
    """
    if (instance_ids is None) == (filters is None):
        raise ValidationError("give either instance_ids or filter", errors={"instance_ids": ["or filter"]})
    if instance_ids is not None:
        ids = list(dict.fromkeys(instance_ids))
        found = set(db.session.scalars(instances_query(actor).with_only_columns(ProcessInstance.id)
                                       .where(ProcessInstance.id.in_(ids))))
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise ValidationError(f"no process instance {', '.join(unknown[:10])}",
                                  errors={"instance_ids": [f"no process instance {i}" for i in unknown[:10]]})
        return ids
    filters = dict(filters)
    status = filters.pop("status", None)
    statuses = [status] if status else list(LIVE)
    stmt = instances_query(actor, definition_id=plan.source.id, status=statuses, **filters)
    return list(db.session.scalars(stmt.with_only_columns(ProcessInstance.id)
                                   .order_by(ProcessInstance.started_at, ProcessInstance.id)))


# -- one instance -----------------------------------------------------------------------------------------------

@dataclass
class Result:
    """What migrating one instance came to: done (or, in a dry run, possible), or refused with reasons."""

    instance_id: str
    status: str  # done | migratable | refused
    reasons: list[dict] | None = None


def migrate_instance(plan: Plan, instance_id: str, actor: Actor, *, dry_run: bool = False,
                     batch_id: str | None = None) -> Result:
    """Move one instance onto the plan's target through the command executor (dry run: check only).

    Raises:
        NotFoundError: no such instance.
    """
    def act(turn: Turn) -> Result:
        inst = turn.instance
        if inst.definition_id != plan.source.id:
            return _refused(instance_id, "other-definition", f"the instance runs definition {inst.definition_id}, "
                                                             f"not the source {plan.source.id}")
        try:
            wf = turn.wf
        except StateError as exc:
            raise ConflictError(f"instance state cannot be loaded: {exc}") from None
        if plan.variables:
            engine().runner.update_variables(wf, plan.variables)
        try:
            outcome = engine().migrate(wf, ref(plan.source), ref(plan.target), plan.mapping, plan.target.settings,
                                       plan.same_ids)
        except MigrationRefused as exc:
            return Result(instance_id, "refused", [r.as_dict() for r in exc.refusals])
        if dry_run:
            engine().dump(plan.target.dialect, wf)  # what would be stored can be stored
            return Result(instance_id, "migratable")
        turn.step.set(definition_id=plan.target.id, process_key=plan.target.key)
        turn.apply(outcome)
        _reproject(turn, outcome, plan.mapping)
        turn.step.record("migrated", message=f"migrated from {plan.source.key} version {plan.source.version} to "
                                             f"{plan.target.key} version {plan.target.version}",
                         data=jsonable({"from": _version(plan.source), "to": _version(plan.target),
                                        "mapping": plan.mapping, "variables": plan.variables or None,
                                        "batch_id": batch_id}))
        return Result(instance_id, "done")
    try:
        return run_on_instance(instance_id, actor, act, statuses=LIVE,
                               refusal="cannot migrate an instance that is {status}")
    except InstanceNotActionableError as exc:
        return _refused(instance_id, "not-live", exc.detail)


def _refused(instance_id: str, reason: str, message: str) -> Result:
    return Result(instance_id, "refused", [{"element_id": None, "reason": reason, "message": message}])


def _version(info: DefinitionInfo) -> dict:
    return {"definition_id": info.id, "key": info.key, "version": info.version}


def _reproject(turn: Turn, outcome, mapping: dict[str, str]) -> None:
    """The instance's rows that name the source take the target's definition and elements: its open tasks
    (assignee, claim, candidates and due dates kept), its external tasks and its open incidents."""
    conn, inst, target = db.session.connection(), turn.instance, turn.info
    tasks, external, incidents = HumanTask.__table__, ExternalTask.__table__, Incident.__table__
    for task in outcome.open_tasks:
        conn.execute(tasks.update().where(tasks.c.id == task.id, tasks.c.state == TaskState.OPEN)
                     .values(definition_id=target.id, process_key=target.key, element_id=task.element_id,
                             name=task.name))
    for task_id, element_id in outcome.held.items():
        conn.execute(external.update().where(external.c.id == task_id)
                     .values(definition_id=target.id, element_id=element_id))
    if inst.status == InstanceStatus.ERROR:  # only an instance in error has open incidents
        for source, to in mapping.items():
            conn.execute(incidents.update().where(incidents.c.instance_id == inst.id, incidents.c.element_id == source,
                                                  incidents.c.resolved_at.is_(None)).values(element_id=to))


class InstanceRefusedError(ValidationError):
    """An instance a migration that moves all or nothing cannot move (400): nothing was migrated."""

    def __init__(self, result: Result):
        super().__init__(f"process instance {result.instance_id} cannot be migrated: "
                         + "; ".join(r["message"] for r in result.reasons or []))
        self.result = result


def migrate_together(actor: Actor, plan: Plan, instance_ids: list[str]) -> list[Result]:
    """Migrate every instance in one transaction, or none (Camunda's synchronous execute).

    Raises:
        InstanceRefusedError: one of them cannot move (the transaction is rolled back).
    """
    with write_transaction():
        results = []
        for instance_id in instance_ids:
            result = migrate_instance(plan, instance_id, actor)
            if result.status != "done":
                raise InstanceRefusedError(result)
            results.append(result)
    return results
