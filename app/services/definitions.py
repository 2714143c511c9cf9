"""Deploying diagrams and reading process definitions."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..database import like
from ..engine import BpmnRejected
from ..errors import BpmnValidationError, ForbiddenError, NotFoundError
from ..extensions import db
from ..models import ActiveActivity, Binding, Deployment, DeploymentResource, ProcessDefinition, ProcessInstance
from ..models.deployments import external_tasks_of
from ..statuses import InstanceStatus
from .access import granted_ids, require
from .core import (  # noqa: F401  (latest_definition_id: re-exported for the API)
    SYSTEM, Actor, Page, TenantFilter, definition_info, engine, latest_definition_id, narrowed, paginate,
    write_transaction,
)
from .instances import cancel, start_instance


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


def may_deploy(actor: Actor) -> bool:
    """Whether the actor may deploy anything: an admin, or a holder of `deploy` on some process."""
    keys = granted_ids(actor, "deploy", "process")
    return keys is None or bool(keys)


def require_deployer(actor: Actor) -> None:
    """Parsing uploads is for those who may deploy something: an admin or a holder of `deploy`."""
    if not may_deploy(actor):
        raise ForbiddenError(f"{actor.username} may not deploy: it needs the 'deploy' permission on a process")


@dataclass(frozen=True)
class PlannedDefinition:
    """What deploying one process would make: a new version (no id yet), or the latest version it equals."""

    key: str
    name: str
    dialect: str
    resource_name: str
    version: int
    unchanged: bool  # the content equals the latest version's, which deploying keeps
    id: str | None
    elements: dict

    @property
    def external_tasks(self) -> list[dict]:
        return external_tasks_of(self.elements)


def dry_run(files: list[tuple[str, bytes]], actor: Actor, tenant_id: str | None = None) -> list[PlannedDefinition]:
    """What deploying the files (for `tenant_id`) would do, with every check `deploy` makes (the parse,
    every problem of every file, `deploy` on each process key) and nothing stored: per process, the
    version it would get in its line.

    Raises:
        BpmnValidationError: the files cannot be deployed (422, every problem in `bpmn`).
        ForbiddenError: the actor may not deploy one of the process keys.
    """
    planned = []
    for model in _checked(files, actor):
        latest = _latest(model.key, tenant_id)
        unchanged = latest is not None and latest.content_hash == model.content_hash
        planned.append(PlannedDefinition(
            key=model.key, name=model.name, dialect=model.dialect, resource_name=model.file,
            version=latest.version if unchanged else (latest.version + 1 if latest else 1), unchanged=unchanged,
            id=latest.id if unchanged else None, elements=model.elements))
    return planned


def _checked(files: list[tuple[str, bytes]], actor: Actor) -> list:
    """The parsed files, once the actor may deploy and may deploy every process key in them."""
    require_deployer(actor)
    models = validate(files)
    for model in models:
        require(actor, "deploy", "process", model.key, f"deploy process {model.key!r}")
    return models


def _latest(key: str, tenant_id: str | None) -> ProcessDefinition | None:
    """The latest version of `key` in the tenant's line (or the line without a tenant)."""
    return db.session.execute(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                              _same_tenant(ProcessDefinition.tenant_id, tenant_id))
                              .order_by(ProcessDefinition.version.desc()).limit(1)).scalar_one_or_none()


def _same_tenant(column, tenant_id: str | None):
    return column.is_(None) if tenant_id is None else column == tenant_id


def deploy(files: list[tuple[str, bytes]], actor: Actor, name: str | None = None, *,
           skip_unchanged: bool = False, tenant_id: str | None = None):
    """Deploy files as one unit: every executable process becomes a definition version.

    The deployment and its definitions belong to `tenant_id` (None: to no tenant); versions count per
    key and tenant, so each tenant (and the line without one) has its own version line.
    A process whose content did not change since the latest version of its line keeps that version.
    Every process key in the files needs the actor's `deploy` permission (403 naming the first
    that lacks it, and nothing is stored). With `skip_unchanged` (Camunda's duplicate filtering),
    files identical to the latest resources of that name in earlier deployments of the same name and
    tenant create nothing: the newest such deployment is returned, with no definitions.
    Returns (deployment, definitions).
    """
    models = _checked(files, actor)
    deployment_name = name or files[0][0]
    if skip_unchanged:
        existing = _unchanged_deployment(deployment_name, files, tenant_id)
        if existing is not None:
            return existing, []
    eng = engine()
    with write_transaction():
        deployment = Deployment(name=deployment_name, created_by=actor.username, tenant_id=tenant_id)
        resources = {fname: DeploymentResource(name=fname, content=content) for fname, content in files}
        deployment.resources = list(resources.values())
        db.session.add(deployment)
        db.session.flush()
        definitions, fresh = [], []
        for model in models:
            latest = _latest(model.key, tenant_id)
            if latest is not None and latest.content_hash == model.content_hash:
                definitions.append(latest)
                continue
            definition = ProcessDefinition(
                key=model.key, version=(latest.version + 1) if latest else 1, tenant_id=tenant_id, name=model.name,
                dialect=model.dialect, content_hash=model.content_hash, deployment_id=deployment.id,
                resource_id=resources[model.file].id, resource_name=model.file,
                spec_json=eng.dump_spec(model), elements=model.elements, history_ttl_days=model.history_ttl_days)
            db.session.add(definition)
            definitions.append(definition)
            fresh.append(definition)
        db.session.flush()
        for definition in fresh:
            _schedule(definition, actor)
    return deployment, definitions


def _unchanged_deployment(name: str, files: list[tuple[str, bytes]], tenant_id: str | None) -> Deployment | None:
    """The newest deployment named `name` of the tenant when every file equals the latest resource of its
    name in the tenant's deployments so named (Camunda's duplicate check), else None."""
    newest_first = (select(Deployment.id).where(Deployment.name == name,
                                                _same_tenant(Deployment.tenant_id, tenant_id))
                    .order_by(Deployment.created_at.desc(), Deployment.id.desc()))
    ids = list(db.session.scalars(newest_first))
    if not ids:
        return None
    for fname, content in files:
        latest = db.session.scalar(
            select(DeploymentResource.content).join(Deployment, Deployment.id == DeploymentResource.deployment_id)
            .where(DeploymentResource.deployment_id.in_(ids), DeploymentResource.name == fname)
            .order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(1))
        if latest is None or bytes(latest) != content:
            return None
    return db.session.get(Deployment, ids[0])


def _schedule(definition: ProcessDefinition, actor: Actor) -> None:
    """A process whose start event is a timer runs on its schedule: deploying it starts the
    instance that waits for that timer, and retires the waiting one of the version it replaces."""
    starts = [eid for eid, e in definition.elements.items()
              if e.get("type") == "startEvent" and not e.get("in_subprocess")
              and (e.get("trigger") or {}).get("kind") == "timer"]
    if not starts:
        return

    waiting = db.session.scalars(
        select(ProcessInstance.id).join(ActiveActivity, ActiveActivity.instance_id == ProcessInstance.id)
        .where(ProcessInstance.process_key == definition.key,
               _same_tenant(ProcessInstance.tenant_id, definition.tenant_id),
               ProcessInstance.status == InstanceStatus.RUNNING,
               ProcessInstance.definition_id != definition.id, ActiveActivity.element_id.in_(starts))).all()
    for instance_id in waiting:
        cancel(instance_id, SYSTEM, f"replaced by version {definition.version}")
    start_instance(SYSTEM, definition_id=definition.id, business_key=f"schedule:{definition.key}")


def _newest_per_line():
    """The newest version of each key in each tenant's line (and in the line without a tenant)."""
    return (select(ProcessDefinition.key, ProcessDefinition.tenant_id, func.max(ProcessDefinition.version).label("v"))
            .group_by(ProcessDefinition.key, ProcessDefinition.tenant_id).subquery())


def _is_newest(newest):
    return ((ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v)
            & ((ProcessDefinition.tenant_id == newest.c.tenant_id)
               | (ProcessDefinition.tenant_id.is_(None) & newest.c.tenant_id.is_(None))))


def list_definitions(key: str | None, latest: bool, page: int, per_page: int, offset: int | None = None,
                     definition_id: str | None = None, *, key_like: str | None = None, name: str | None = None,
                     name_like: str | None = None, tenants: TenantFilter | None = None,
                     sort: tuple[str, str] | None = None) -> Page:
    """Definitions by key, id, name and tenant; `key_like` and `name_like` are SQL LIKE patterns (`%` any
    text, `_` one character), as in Camunda's queries. `latest` keeps the newest version of each key in
    each tenant's version line. By key, then newest first; `sort` (Camunda's sortBy, sortOrder) first."""
    stmt = narrowed(select(ProcessDefinition), tenants, ProcessDefinition.tenant_id)
    if key:
        stmt = stmt.where(ProcessDefinition.key == key)
    if key_like:
        stmt = stmt.where(like(ProcessDefinition.key, key_like))
    if name:
        stmt = stmt.where(ProcessDefinition.name == name)
    if name_like:
        stmt = stmt.where(like(ProcessDefinition.name, name_like))
    if definition_id:
        stmt = stmt.where(ProcessDefinition.id == definition_id)
    if latest:
        newest = _newest_per_line()
        stmt = stmt.join(newest, _is_newest(newest))
    order = (ProcessDefinition.key, ProcessDefinition.tenant_id.is_not(None), ProcessDefinition.tenant_id,
             ProcessDefinition.version.desc())
    return paginate(stmt.order_by(*_sorted(sort, _DEFINITION_SORTS), *order), page, per_page, offset)


_DEFINITION_SORTS = {"key": ProcessDefinition.key, "id": ProcessDefinition.id, "name": ProcessDefinition.name,
                     "version": ProcessDefinition.version, "deploymentId": ProcessDefinition.deployment_id,
                     "tenantId": ProcessDefinition.tenant_id}
_DEPLOYMENT_SORTS = {"id": Deployment.id, "name": Deployment.name, "deploymentTime": Deployment.created_at,
                     "tenantId": Deployment.tenant_id}


def _sorted(sort: tuple[str, str] | None, columns: dict) -> list:
    """The ORDER BY a Camunda (sortBy, sortOrder) puts first (nothing without one)."""
    if not sort:
        return []
    column = columns[sort[0]]
    return [column.desc() if sort[1] == "desc" else column.asc()]


def list_deployments(page: int = 1, per_page: int = 20, offset: int | None = None, name: str | None = None, *,
                     name_like: str | None = None, tenants: TenantFilter | None = None,
                     sort: tuple[str, str] | None = None) -> Page:
    """Deployments, newest first (`sort`, Camunda's sortBy and sortOrder, first), by name and tenant;
    `name_like` is a SQL LIKE pattern."""
    stmt = narrowed(select(Deployment), tenants, Deployment.tenant_id)
    if name:
        stmt = stmt.where(Deployment.name == name)
    if name_like:
        stmt = stmt.where(like(Deployment.name, name_like))
    return paginate(stmt.order_by(*_sorted(sort, _DEPLOYMENT_SORTS), Deployment.created_at.desc(), Deployment.id),
                    page, per_page, offset)


def get_deployment(deployment_id: str, actor: Actor) -> Deployment:
    """One deployment. Deployments (as their list and the diagrams) are readable by every signed-in user.

    Raises:
        NotFoundError: no such deployment.
    """
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFoundError(f"Deployment with id '{deployment_id}' does not exist")
    return deployment


def deployment_resources(deployment_id: str, actor: Actor) -> list[DeploymentResource]:
    """The files of a deployment, by name (404 for an unknown deployment)."""
    get_deployment(deployment_id, actor)
    return list(db.session.scalars(select(DeploymentResource).where(DeploymentResource.deployment_id == deployment_id)
                                   .order_by(DeploymentResource.name, DeploymentResource.id)))


def deployment_resource(deployment_id: str, resource_id: str, actor: Actor) -> DeploymentResource:
    """One file of a deployment, its bytes as uploaded.

    Raises:
        NotFoundError: no such deployment, or no such resource in it.
    """
    get_deployment(deployment_id, actor)
    resource = db.session.get(DeploymentResource, resource_id)
    if resource is None or resource.deployment_id != deployment_id:
        raise NotFoundError(f"Deployment resource with resource id '{resource_id}' for deployment id "
                            f"'{deployment_id}' does not exist")
    return resource


@dataclass
class DefinitionVersion:
    """One version of a process and the deployment that created it (its name, when and by whom)."""

    definition: ProcessDefinition
    deployment: Deployment


def definition_versions(key: str, actor: Actor) -> list[DefinitionVersion]:
    """Every version of process `key`, newest first, each with its deployment. Definitions and
    deployments are readable by every signed-in user.

    Raises:
        NotFoundError: no version of `key` was deployed.
    """
    rows = db.session.execute(
        select(ProcessDefinition, Deployment).join(Deployment, Deployment.id == ProcessDefinition.deployment_id)
        .where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        raise NotFoundError(f"no process definition with key {key!r}")
    return [DefinitionVersion(definition, deployment) for definition, deployment in rows]


def get_definition(definition_id: str) -> ProcessDefinition:
    definition = db.session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFoundError(f"no process definition {definition_id}")
    return definition


def definition_xml(definition_id: str) -> bytes:
    """The file the definition was deployed from, byte for byte."""
    content = db.session.scalar(
        select(DeploymentResource.content).join(ProcessDefinition, ProcessDefinition.resource_id == DeploymentResource.id)
        .where(ProcessDefinition.id == definition_id))
    if content is None:
        raise NotFoundError(f"no process definition {definition_id}")
    return content


# Processes a record starts (their instance needs the record) are not started by hand.
_RECORD_ROLES = ("blueprint", "approval", "review")


def _startable_by_hand(definition: ProcessDefinition) -> bool:
    """A plain start event: not one that waits for a timer, message, signal or condition."""
    return any(e.get("type") == "startEvent" and not e.get("trigger") and not e.get("in_subprocess")
               for e in (definition.elements or {}).values())


def list_startable(actor: Actor) -> list[ProcessDefinition]:
    """The latest version of every process the actor may start by hand, by name.

    That is: the actor holds `start` on its key (admins every key), it has a plain start event,
    and no blueprint, approval or review binding starts it from a record. As a key alone names the
    line without a tenant (see `latest_definition_id`), definitions deployed for a tenant are not listed.
    """
    keys = granted_ids(actor, "start", "process")
    if keys is not None and not keys:
        return []
    newest = _newest_per_line()
    stmt = select(ProcessDefinition).join(newest, _is_newest(newest)).where(
        ProcessDefinition.tenant_id.is_(None),
        ProcessDefinition.key.not_in(select(Binding.process_key).where(Binding.kind.in_(_RECORD_ROLES))))
    if keys is not None:
        stmt = stmt.where(ProcessDefinition.key.in_(keys))
    found = [d for d in db.session.scalars(stmt) if _startable_by_hand(d)]
    return sorted(found, key=lambda d: ((d.name or d.key).lower(), d.key))


def get_startable(key: str, actor: Actor) -> ProcessDefinition:
    """The latest version of process `key`, which the actor may start by hand (see `list_startable`).

    Raises:
        NotFoundError: no such process, or none started by hand (a timer, message or record starts it).
        ForbiddenError: the actor may not start it.
    """
    definition = db.session.get(ProcessDefinition, latest_definition_id(key))
    if definition is None or not _startable_by_hand(definition) or db.session.scalar(
            select(Binding.id).where(Binding.process_key == key, Binding.kind.in_(_RECORD_ROLES)).limit(1)):
        raise NotFoundError(f"no process {key!r} to start by hand")
    require(actor, "start", "process", key, f"start process {key!r}")
    return definition


def definition_elements(definition_id: str) -> dict[str, dict]:
    """What the server read of each element of a definition at deploy ({element id: {type, name, ...}}).

    Raises:
        NotFoundError: no such definition.
    """
    return definition_info(definition_id).elements
