"""A blueprint's stages, in the order its diagram leads a record through them.

A blueprint is a process bound to a module with kind `blueprint`; the record takes a stage when the
instance enters an element with a `stage` property or a user or manual task (`crm.stage_of`, as the
record-sync hook sets it). The stages are listed in flow order (`Engine.flow_order`): each after the
stages that lead to it, a loop's way back ignored, a gateway's branches in the order their flows were
drawn; each stage once, where it is first reached. Elements no path from the start reaches come last.

A record's stage bar (`record_stages`) lists the stages of the version its blueprint instance runs
(or ran), so a record keeps the stages it was led through when a new version renames one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..crm import stage_of
from ..errors import NotFoundError
from ..extensions import db
from ..models import ProcessDefinition, ProcessInstance
from ..statuses import InstanceStatus
from .core import Actor, DefinitionInfo, definition_info, engine, latest_definition_id
from .modules import list_bindings
from .records import get_record


@dataclass
class Stage:
    name: str
    element_id: str
    element_type: str | None


@dataclass
class BlueprintStages:
    """The stages of one version of a process, and the modules (with their stage field) it is the blueprint of."""

    definition: DefinitionInfo
    bindings: list[dict] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)


def blueprint_stages(key: str, actor: Actor, version: int | None = None) -> BlueprintStages:
    """The stages of process `key` (its latest version, or `version`) in flow order, with the blueprint
    bindings that use it. Definitions are readable by every signed-in user, as their diagrams are.

    Raises:
        NotFoundError: no such process, or no such version of it.
    """
    if version is None:
        definition_id = latest_definition_id(key)
    else:
        definition_id = db.session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key,
                                                                             ProcessDefinition.version == version))
        if definition_id is None:
            raise NotFoundError(f"no version {version} of process {key!r}")
    info = definition_info(definition_id)
    bindings = [{"module": b.module, "field": (b.options or {}).get("stage_field", "stage"), "active": b.active}
                for b in list_bindings() if b.kind == "blueprint" and b.process_key == key]
    return BlueprintStages(info, bindings, _stages_of(info))


def _stages_of(info: DefinitionInfo) -> list[Stage]:
    elements = info.elements or {}
    reached = engine().flow_order(info.id, info.dialect, info.spec_json)
    ordered = [eid for eid in reached if eid in elements] + [eid for eid in elements if eid not in set(reached)]
    stages, named = [], set()
    for element_id in ordered:
        name = stage_of(elements[element_id])
        if name is not None and name not in named:
            named.add(name)
            stages.append(Stage(name, element_id, elements[element_id].get("type")))
    return stages


def record_stages(module: str, record_id: str, actor: Actor) -> dict | None:
    """A record's stage bar: {"field", "stages", "current", "process_key"}, or None when no blueprint leads it.

    The stages are those of the version of the blueprint the record's instance runs (its live one, else the
    latest that ran on it), in flow order as `blueprint_stages` gives them; a record no blueprint ran on yet
    takes the latest version of its module's active blueprint. The field is the binding's `stage_field`. A
    current stage the diagram does not name (set by hand, or by an older version) is added at the end.

    Raises:
        NotFoundError: the record does not exist, or the actor may not read it.
    """
    record = get_record(module, record_id, actor)
    bindings = {b.process_key: b for b in list_bindings(module) if b.kind == "blueprint"}
    if not bindings:
        return None
    ran = db.session.execute(
        select(ProcessInstance.process_key, ProcessInstance.definition_id)
        .where(ProcessInstance.record_id == record.id, ProcessInstance.record_role == "blueprint",
               ProcessInstance.process_key.in_(list(bindings)))
        .order_by(ProcessInstance.status.in_(tuple(InstanceStatus.LIVE)).desc(), ProcessInstance.started_at.desc())
        .limit(1)).one_or_none()
    if ran is not None:
        key, definition_id = ran
    else:
        active = next((b for b in bindings.values() if b.active), None)
        if active is None:
            return None
        key = active.process_key
        try:
            definition_id = latest_definition_id(key)
        except NotFoundError:  # bound, not deployed (yet)
            return None
    field_name = (bindings[key].options or {}).get("stage_field", "stage")
    stages = [stage.name for stage in _stages_of(definition_info(definition_id))]
    current = record.data.get(field_name)
    if current is not None and current not in stages:
        stages.append(current)
    return {"field": field_name, "stages": stages, "current": current, "process_key": key}
