"""The definition cache: what running an instance needs of its (immutable) definition, read once."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import bindparam, select

from ...engine import RunSettings
from ...errors import NotFoundError
from ...extensions import db
from ...models import ProcessDefinition
from ...models.deployments import start_form_of
from .context import engine


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
    tenant_id: str | None = None

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
               ProcessDefinition.dialect, ProcessDefinition.elements, ProcessDefinition.spec_json,
               ProcessDefinition.tenant_id)
        .where(ProcessDefinition.id == definition_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no process definition {definition_id}")
    info = DefinitionInfo(*row)
    with _cache_lock:
        if len(_cache) > 2048:
            _cache.clear()
        _cache[definition_id] = info
    return info


_DEFINITIONS = ProcessDefinition.__table__


def _latest(tenant):
    return (select(_DEFINITIONS.c.id).where(_DEFINITIONS.c.key == bindparam("key"), tenant)
            .order_by(_DEFINITIONS.c.version.desc()).limit(1))


# Built once: every start by key runs one of them.
_LATEST = _latest(_DEFINITIONS.c.tenant_id.is_(None))
_LATEST_OF_TENANT = _latest(_DEFINITIONS.c.tenant_id == bindparam("tenant"))


def latest_definition_id(key: str | None, tenant_id: str | None = None) -> str:
    """The id of the newest version of `key` in the version line of `tenant_id` (one indexed lookup).

    Versions count per key and tenant. As Camunda resolves a key alone, no tenant (None) means the
    line of definitions deployed without a tenant: a key deployed only for tenants is not found
    by its key alone.
    """
    if tenant_id is None:
        definition_id = db.session.connection().execute(_LATEST, {"key": key}).scalar()
    else:
        definition_id = db.session.connection().execute(_LATEST_OF_TENANT, {"key": key, "tenant": tenant_id}).scalar()
    if definition_id is None:
        raise DefinitionNotFoundError(key, tenant_id)
    return definition_id


class DefinitionNotFoundError(NotFoundError):
    """No definition of a key in a tenant's version line (or in the line without a tenant)."""

    def __init__(self, key: str | None, tenant_id: str | None):
        where = "without a tenant" if tenant_id is None else f"of tenant {tenant_id!r}"
        super().__init__(f"no process definition with key {key!r} {where}")
        self.key, self.tenant_id = key, tenant_id


def incident_type(definition_id: str, element_id: str | None) -> str:
    """Camunda's incident type: a failed external task, or a failed job (anything else)."""
    return "failedExternalTask" if element_id in definition_info(definition_id).external else "failedJob"
