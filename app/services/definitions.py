"""Deploying diagrams and reading process definitions."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import func, select

from ..engine import BpmnRejected, RunSettings
from ..errors import BpmnValidationError, NotFoundError
from ..extensions import db
from ..models import Deployment, DeploymentResource, ProcessDefinition
from ..models.deployments import start_form_of
from .context import Actor, engine
from .pagination import Page, paginate
from .transactions import write_transaction


@dataclass(frozen=True)
class DefinitionInfo:
    """What running an instance needs of its (immutable) definition; derived views are computed once."""

    id: str
    key: str
    version: int
    name: str
    dialect: str
    elements: dict
    spec_json: str

    @cached_property
    def settings(self) -> RunSettings:
        """Asynchronous and external tasks, mappings: what the runner needs to run its workflows."""
        return RunSettings.from_elements(self.elements)

    @property
    def asynchronous(self) -> dict[str, dict]:
        """Elements with a job boundary (camunda:asyncBefore / asyncAfter), with their retry settings."""
        return self.settings.asynchronous

    @property
    def external(self) -> dict[str, dict]:
        """External service tasks (camunda:type="external"), with their topic: workers complete them."""
        return self.settings.external

    @cached_property
    def start_form(self) -> dict:
        """The start event's form: {"form": JSON Schema, "form_key", "camunda_form"}, values None when absent."""
        return start_form_of(self.elements)

    @cached_property
    def initiator(self) -> str | None:
        """The variable that holds the starting user's name (camunda:initiator of the start event)."""
        return next((e["initiator"] for e in self.elements.values()
                     if e.get("type") == "startEvent" and e.get("initiator")), None)


def load_workflow(info: DefinitionInfo, state: str):
    """An instance's workflow, ready to run: engine attached, asynchronous tasks held for jobs,
    external tasks held for their workers, input/output mappings in place."""
    return _prepared(engine().load(info.id, info.dialect, info.spec_json, state), info)


def new_workflow(info: DefinitionInfo, variables: dict):
    return _prepared(engine().new_workflow(info.id, info.dialect, info.spec_json, variables), info)


def _prepared(wf, info: DefinitionInfo):
    return engine().runner.prepare(wf, info.settings)


_cache: dict[str, DefinitionInfo] = {}
_cache_lock = threading.Lock()


def definition_info(definition_id: str) -> DefinitionInfo:
    """The definition's run-time data, read once per process (versions never change)."""
    info = _cache.get(definition_id)
    if info is not None:
        return info
    row = db.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
               ProcessDefinition.dialect, ProcessDefinition.elements, ProcessDefinition.spec_json)
        .where(ProcessDefinition.id == definition_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no process definition {definition_id}")
    info = DefinitionInfo(*row)
    with _cache_lock:
        if len(_cache) > 2048:
            _cache.clear()
        _cache[definition_id] = info
    return info


def validate(files: list[tuple[str, bytes]]) -> list:
    """Parse and check files without deploying; raises BpmnValidationError."""
    try:
        return engine().parse(files)
    except BpmnRejected as exc:
        problems = [p.as_dict() for p in exc.problems]
        first = problems[0]
        where = ", ".join(f"{k} {first[k]}" for k in ("file", "line", "element_id") if k in first)
        raise BpmnValidationError(
            f"{len(problems)} problem(s); first: {first['message']} ({where})", bpmn=problems) from None


def dry_run(files: list[tuple[str, bytes]]) -> list[ProcessDefinition]:
    """What deploying the files would define, without storing anything: unsaved definitions (no id, no
    version); raises BpmnValidationError."""
    return [ProcessDefinition(key=m.key, name=m.name, dialect=m.dialect, resource_name=m.file, elements=m.elements)
            for m in validate(files)]


def deploy(files: list[tuple[str, bytes]], actor: Actor, name: str | None = None):
    """Deploy files as one unit: every executable process becomes a definition version.

    A process whose content did not change since its latest version keeps that version.
    Returns (deployment, definitions).
    """
    models = validate(files)
    eng = engine()
    with write_transaction():
        deployment = Deployment(name=name or files[0][0], created_by=actor.username)
        resources = {fname: DeploymentResource(name=fname, content=content) for fname, content in files}
        deployment.resources = list(resources.values())
        db.session.add(deployment)
        db.session.flush()
        definitions, fresh = [], []
        for model in models:
            latest = db.session.execute(
                select(ProcessDefinition).where(ProcessDefinition.key == model.key)
                .order_by(ProcessDefinition.version.desc()).limit(1)).scalar_one_or_none()
            if latest is not None and latest.content_hash == model.content_hash:
                definitions.append(latest)
                continue
            definition = ProcessDefinition(
                key=model.key, version=(latest.version + 1) if latest else 1, name=model.name,
                dialect=model.dialect, content_hash=model.content_hash, deployment_id=deployment.id,
                resource_id=resources[model.file].id, resource_name=model.file,
                spec_json=eng.dump_spec(model), elements=model.elements)
            db.session.add(definition)
            definitions.append(definition)
            fresh.append(definition)
        db.session.flush()
        for definition in fresh:
            _schedule(definition, actor)
    return deployment, definitions


def _schedule(definition: ProcessDefinition, actor: Actor) -> None:
    """A process whose start event is a timer runs on its schedule: deploying it starts the
    instance that waits for that timer, and retires the waiting one of the version it replaces."""
    starts = [eid for eid, e in definition.elements.items()
              if e.get("type") == "startEvent" and (e.get("trigger") or {}).get("kind") == "timer"]
    if not starts:
        return
    from ..models import ActiveActivity, ProcessInstance
    from .context import SYSTEM
    from .instances import cancel_instance, start_in_transaction

    waiting = db.session.scalars(
        select(ProcessInstance.id).join(ActiveActivity, ActiveActivity.instance_id == ProcessInstance.id)
        .where(ProcessInstance.process_key == definition.key, ProcessInstance.status == "running",
               ProcessInstance.definition_id != definition.id, ActiveActivity.element_id.in_(starts))).all()
    for instance_id in waiting:
        cancel_instance(instance_id, SYSTEM, f"replaced by version {definition.version}")
    start_in_transaction(SYSTEM, definition_id=definition.id, business_key=f"schedule:{definition.key}")


def list_definitions(key: str | None, latest: bool, page: int, per_page: int, offset: int | None = None,
                     definition_id: str | None = None) -> Page:
    stmt = select(ProcessDefinition)
    if key:
        stmt = stmt.where(ProcessDefinition.key == key)
    if definition_id:
        stmt = stmt.where(ProcessDefinition.id == definition_id)
    if latest:
        newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
                  .group_by(ProcessDefinition.key).subquery())
        stmt = stmt.join(newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v))
    return paginate(stmt.order_by(ProcessDefinition.key, ProcessDefinition.version.desc()), page, per_page, offset)


def list_deployments(page: int = 1, per_page: int = 20, offset: int | None = None, name: str | None = None) -> Page:
    """Deployments, newest first."""
    stmt = select(Deployment)
    if name:
        stmt = stmt.where(Deployment.name == name)
    return paginate(stmt.order_by(Deployment.created_at.desc(), Deployment.id), page, per_page, offset)


def get_definition(definition_id: str) -> ProcessDefinition:
    definition = db.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFoundError(f"no process definition {definition_id}")
    return definition


def latest_definition_id(key: str | None) -> str:
    """The id of the newest version of `key` (one indexed lookup)."""
    definition_id = db.session.scalar(
        select(ProcessDefinition.id).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    if definition_id is None:
        raise NotFoundError(f"no process definition with key {key!r}")
    return definition_id


def definition_xml(definition_id: str) -> bytes:
    """The file the definition was deployed from, byte for byte."""
    content = db.session.scalar(
        select(DeploymentResource.content).join(ProcessDefinition, ProcessDefinition.resource_id == DeploymentResource.id)
        .where(ProcessDefinition.id == definition_id))
    if content is None:
        raise NotFoundError(f"no process definition {definition_id}")
    return content
