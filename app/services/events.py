"""Messages and signals from outside: correlated through the subscription index.

`send_message` finds the receivers among the instances' subscriptions (an
indexed lookup by message name, then business key or instance id), or a
definition whose start event waits for that message; `correlation` narrows
by instance variables. No receiver: 404, or, with `ttl`, the message is
buffered and handed to the first instance that starts waiting for it before
it expires. Several receivers: 409 unless `all`. `broadcast_signal` reaches
every subscribed instance and starts every definition with that signal start.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..engine import ScriptError, TaskNotReadyError
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import BufferedMessage, EventSubscription, ProcessDefinition, ProcessInstance
from ..statuses import InstanceStatus
from .access import require
from .core import (
    SYSTEM, Actor, InstanceResult, Step, TenantFilter, Turn, definition_info, run_on_instance, utcnow, write_transaction,
)
from .forms import check_variable_names
from .instances import start_instance


def _receivers(kind: str, name: str, business_key=None, instance_id=None, correlation=None,
               tenants: TenantFilter | None = None) -> list[str]:
    stmt = select(EventSubscription.instance_id).where(EventSubscription.kind == kind, EventSubscription.name == name)
    if tenants is not None:
        stmt = stmt.where(EventSubscription.instance_id.in_(
            select(ProcessInstance.id).where(tenants.clause(ProcessInstance.tenant_id))))
    if business_key is not None:
        stmt = stmt.where(EventSubscription.business_key == business_key)
    if instance_id is not None:
        stmt = stmt.where(EventSubscription.instance_id == instance_id)
    if correlation:
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == EventSubscription.instance_id)
        for key, value in correlation.items():
            stmt = stmt.where(_matches(ProcessInstance.variables[key], value))
    return list(dict.fromkeys(db.session.scalars(stmt.order_by(EventSubscription.created_at))))


def _matches(column, value):
    """A JSON variable equal to `value`, compared as the type of `value`."""
    if isinstance(value, bool):
        return column.as_boolean() == value
    if isinstance(value, (int, float)):
        return column.as_float() == float(value)
    return column.as_string() == str(value)


def _start_definitions(kind: str, name: str, tenants: TenantFilter | None = None) -> list[str]:
    """Latest definitions (of each key in each tenant's version line) whose start event waits for this
    message or signal."""
    newest: dict[tuple[str, str | None], tuple[int, str]] = {}
    for key, tenant_id, version, definition_id in db.session.execute(
            select(ProcessDefinition.key, ProcessDefinition.tenant_id, ProcessDefinition.version,
                   ProcessDefinition.id)):
        line = (key, tenant_id)
        if tenants is not None and not tenants.matches(tenant_id):
            continue
        if line not in newest or version > newest[line][0]:
            newest[line] = (version, definition_id)
    found = []
    for _, definition_id in newest.values():
        elements = definition_info(definition_id).elements
        if any(e.get("type") == "startEvent" and not e.get("in_subprocess")
               and (e.get("trigger") or {}).get("kind") == kind and e["trigger"].get("name") == name
               for e in elements.values()):
            found.append(definition_id)
    return found


def _require_update(actor: Actor, instance_ids: list[str], what: str) -> None:
    """Delivering to running instances changes them: `update` on each one's process key (as Camunda's
    UPDATE_INSTANCE for correlation); starting one needs `start`, checked by `start_instance`."""
    if actor.is_admin or not instance_ids:
        return
    keys = db.session.scalars(select(ProcessInstance.process_key).where(ProcessInstance.id.in_(instance_ids))
                              .distinct())
    for key in sorted(keys):
        require(actor, "update", "process", key, f"{what} instances of {key!r}")


def deliver_to(instance_id: str, kind: str, name: str, variables: dict, actor: Actor) -> InstanceResult:
    """Hand a message or signal to one waiting instance (joins the caller's transaction)."""
    def act(turn: Turn):
        try:
            turn.run(lambda runner, wf, effects: runner.deliver(wf, kind, name, variables, effects))
        except TaskNotReadyError:
            raise ConflictError(f"instance {instance_id} no longer waits for {kind} {name!r}") from None
        except ScriptError as exc:
            raise ValidationError(f"variables cannot be stored: {exc}") from None
        turn.step.record(f"{kind}_received", data={"name": name, "variables": variables})
    try:
        return run_on_instance(instance_id, actor, act, refusal=f"instance {instance_id} is not running")
    except NotFoundError:
        raise ConflictError(f"instance {instance_id} is not running") from None


def deliver_waiting(name: str, business_key: str, variables: dict, actor: Actor) -> list[str]:
    """Deliver message `name` to every instance waiting for it with `business_key` (none waiting:
    nothing, and no process starts); returns their ids. Joins the caller's transaction."""
    with write_transaction():
        return [deliver_to(i, "message", name, variables, actor).id
                for i in _receivers("message", name, business_key)]


def send_message(name: str, actor: Actor, *, variables: dict | None = None, business_key: str | None = None,
                 process_instance_id: str | None = None, correlation: dict | None = None,
                 ttl_seconds: int | None = None, to_all: bool = False, tenants: TenantFilter | None = None) -> dict:
    """Deliver a message; returns {"delivered": [instance ids], "started": [...], "buffered": id|None}.

    `tenants` keeps the receivers (and the processes it may start) to some tenants, or to none (Camunda's
    `tenantId`, `withoutTenantId`); without it a message reaches every tenant's."""
    variables = check_variable_names(variables or {})
    with write_transaction():
        receivers = _receivers("message", name, business_key, process_instance_id, correlation, tenants)
        if len(receivers) > 1 and not to_all:
            raise ConflictError(f"{len(receivers)} instances wait for message {name!r}; narrow the "
                                "correlation or send all=true", instance_ids=receivers)
        _require_update(actor, receivers, f"send message {name!r} to")
        delivered = [deliver_to(i, "message", name, variables, actor).id for i in receivers]
        started = []
        if not delivered and process_instance_id is None:
            definitions = _start_definitions("message", name, tenants)
            if len(definitions) > 1 and not to_all:
                raise ConflictError(f"{len(definitions)} processes start on message {name!r}")
            for definition_id in definitions:
                result = start_instance(actor, definition_id=definition_id, variables=variables,
                                        business_key=business_key)
                if result.status == InstanceStatus.RUNNING and result.instance.subscribed:
                    result = deliver_to(result.id, "message", name, variables, actor)
                started.append(result.id)
        if delivered or started:
            return {"delivered": delivered, "started": started, "buffered": None}
        if not ttl_seconds:
            raise NotFoundError(f"no instance or process waits for message {name!r}")
        buffered = BufferedMessage(name=name, business_key=business_key, process_instance_id=process_instance_id,
                                   variables=variables, expires_at=utcnow() + dt.timedelta(seconds=ttl_seconds))
        db.session.add(buffered)
        db.session.flush()
        return {"delivered": [], "started": [], "buffered": buffered.id}


def deliver_buffered(step: Step) -> None:
    """After-step hook: an instance that now waits for a message may find it buffered (sent with a
    ttl before anyone waited); it is delivered at once, and the step's result is that delivery's."""
    if not step.waits or not any(w["kind"] == "message" for w in step.waits) or not _buffered_messages_exist():
        return
    instance_id = step.instance.id
    subscriptions = db.session.execute(select(EventSubscription.name, EventSubscription.business_key).where(
        EventSubscription.instance_id == instance_id, EventSubscription.kind == "message")).all()
    now = utcnow()
    for name, business_key in subscriptions:
        message = db.session.scalars(select(BufferedMessage).where(
            BufferedMessage.name == name, BufferedMessage.expires_at > now,
            (BufferedMessage.business_key.is_(None)) | (BufferedMessage.business_key == business_key),
            (BufferedMessage.process_instance_id.is_(None)) | (BufferedMessage.process_instance_id == instance_id))
            .order_by(BufferedMessage.created_at).limit(1)).first()
        if message is not None:
            variables = dict(message.variables)
            db.session.delete(message)
            db.session.flush()
            step.followed_by = deliver_to(instance_id, "message", name, variables, SYSTEM)
            return


def _buffered_messages_exist() -> bool:
    return db.session.scalar(select(BufferedMessage.id).limit(1)) is not None


def broadcast_signal(name: str, actor: Actor, variables: dict | None = None,
                     tenants: TenantFilter | None = None, instance_id: str | None = None) -> dict:
    """Every instance waiting for the signal catches it; every process starting on it starts (of some
    tenants, or of none, with `tenants`). With `instance_id` (Camunda's `executionId`) only that instance
    is notified, and nothing starts; it must wait for the signal."""
    variables = check_variable_names(variables or {})
    with write_transaction():
        receivers = _receivers("signal", name, instance_id=instance_id, tenants=tenants)
        if instance_id is not None and not receivers:
            raise ValidationError(f"instance {instance_id} does not wait for signal {name!r}")
        _require_update(actor, receivers, f"send signal {name!r} to")
        delivered = [deliver_to(i, "signal", name, variables, actor).id for i in receivers]
        started = []
        for definition_id in ([] if instance_id is not None else _start_definitions("signal", name, tenants)):
            result = start_instance(actor, definition_id=definition_id, variables=variables)
            if result.status == InstanceStatus.RUNNING and result.instance.subscribed:
                result = deliver_to(result.id, "signal", name, variables, actor)
            started.append(result.id)
    return {"delivered": delivered, "started": started}
