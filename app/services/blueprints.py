"""A blueprint's stages, in the order its diagram leads a record through them.

A blueprint is a process bound to a module with kind `blueprint`; the record takes a stage when the
instance enters an element with a `stage` property or a user or manual task (`crm.stage_of`, as the
record-sync hook sets it). The stages are listed in flow order (`Engine.flow_order`): each after the
stages that lead to it, a loop's way back ignored, a gateway's branches in the order their flows were
drawn; each stage once, where it is first reached. Elements no path from the start reaches come last.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..crm import stage_of
from ..errors import NotFoundError
from ..extensions import db
from ..models import ProcessDefinition
from .core import Actor, DefinitionInfo, definition_info, engine, latest_definition_id
from .modules import list_bindings


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
    elements = info.elements or {}
    reached = engine().flow_order(info.id, info.dialect, info.spec_json)
    ordered = [eid for eid in reached if eid in elements] + [eid for eid in elements if eid not in set(reached)]
    stages, named = [], set()
    for element_id in ordered:
        name = stage_of(elements[element_id])
        if name is not None and name not in named:
            named.add(name)
            stages.append(Stage(name, element_id, elements[element_id].get("type")))
    bindings = [{"module": b.module, "field": (b.options or {}).get("stage_field", "stage"), "active": b.active}
                for b in list_bindings() if b.kind == "blueprint" and b.process_key == key]
    return BlueprintStages(info, bindings, stages)
