"""CRM modules and records, and the processes their events start.

A record write runs in one transaction with everything it causes: field
checks and validation rules, the timeline entry, and the start of every
process whose binding matches (which may lock the record, for an approval or
a review, or take over its stage field, for a blueprint).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..crm import BUILTIN_MODULES, FieldError, binding_matches, check_field_definitions, check_rules, clean_values
from ..errors import ConflictError, NotFoundError, StagecoachError, ValidationError
from ..extensions import db
from ..models import Binding, EventSubscription, Module, ProcessDefinition, ProcessInstance, Record, RecordEvent, User
from ..statuses import InstanceStatus
from .access import readable_records, require, require_admin, require_on_record, require_read_record
from .core import Actor, Page, cascade_depth, cascading, current_step, engine, paginate, utcnow, write_transaction
from .events import deliver_to
from .instances import start_instance

LIVE_STATUSES = tuple(InstanceStatus.LIVE)
LOCKING_ROLES = {"approval", "review"}
ONE_AT_A_TIME = {"blueprint", "approval", "review"}  # a record is in at most one live instance of each
BINDING_KINDS = {"process", "blueprint", "approval", "review", "rule"}
BINDING_EVENTS = {"create", "edit", "create_or_edit", "field_change", "delete"}
_MAX_CASCADE = 3  # records created by processes started by records ... at most this deep


class RecordLockedError(StagecoachError):
    status, slug, title = 423, "record-locked", "The record is locked by a process"


@dataclass
class RecordChange:
    """What a write did: the record, the event, the fields it changed."""

    record: Record
    event: str
    changed: dict[str, list]


# -- modules ----------------------------------------------------------------------

def ensure_builtin_modules() -> None:
    """Create the built-in modules that do not exist yet."""
    existing = set(db.session.scalars(select(Module.api_name)))
    missing = [m for m in BUILTIN_MODULES if m["api_name"] not in existing]
    if not missing:
        db.session.rollback()
        return
    with write_transaction():
        for m in missing:
            db.session.add(Module(api_name=m["api_name"], label=m["label"], builtin=True, fields=m["fields"],
                                  rules=[]))


def list_modules() -> list[Module]:
    return list(db.session.scalars(select(Module).order_by(Module.api_name)))


def get_module(api_name: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.api_name == api_name))
    if module is None:
        raise NotFoundError(f"no module {api_name!r}")
    return module


def _check_rules_compile(rules: list[dict]) -> list[dict]:
    errors: dict[str, list[str]] = {}
    out = []
    for i, rule in enumerate(rules or []):
        expression = (rule.get("expression") or "").strip()
        try:
            engine().check_expression(expression)
        except Exception as exc:
            errors.setdefault(f"rules[{i}]", []).append(f"expression cannot run: {exc}")
        out.append({"name": rule.get("name") or f"rule {i + 1}", "expression": expression,
                    "field": rule.get("field"), "message": rule.get("message")})
    if errors:
        raise ValidationError("invalid validation rules", errors=errors)
    return out


def create_module(data: dict, actor: Actor) -> Module:
    """Define a custom module (admins)."""
    _require_admin(actor)
    with write_transaction():
        if db.session.scalar(select(Module.id).where(Module.api_name == data["api_name"])):
            raise ConflictError(f"module {data['api_name']!r} exists")
        names = set(db.session.scalars(select(Module.api_name))) | {data["api_name"]}
        try:
            fields = check_field_definitions(data.get("fields") or [], names)
        except FieldError as exc:
            raise ValidationError("invalid fields", errors=exc.errors) from None
        module = Module(api_name=data["api_name"], label=data.get("label") or data["api_name"], builtin=False,
                        fields=fields, rules=_check_rules_compile(data.get("rules") or []))
        db.session.add(module)
    return module


def update_module(api_name: str, data: dict, actor: Actor) -> Module:
    """Replace a module's fields and/or validation rules (admins)."""
    _require_admin(actor)
    with write_transaction():
        module = get_module(api_name)
        if "fields" in data:
            names = set(db.session.scalars(select(Module.api_name)))
            try:
                module.fields = check_field_definitions(data["fields"], names)
            except FieldError as exc:
                raise ValidationError("invalid fields", errors=exc.errors) from None
        if "rules" in data:
            module.rules = _check_rules_compile(data["rules"])
        if "label" in data:
            module.label = data["label"]
    return module


def _require_admin(actor: Actor) -> None:
    require_admin(actor, "change modules and bindings")


# -- bindings ---------------------------------------------------------------------

def create_binding(data: dict, actor: Actor) -> Binding:
    """Tie a process key to a module event and criteria (admins)."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    if data.get("kind", "process") not in BINDING_KINDS:
        errors["kind"] = [f"must be one of {', '.join(sorted(BINDING_KINDS))}"]
    if data.get("event") not in BINDING_EVENTS:
        errors["event"] = [f"must be one of {', '.join(sorted(BINDING_EVENTS))}"]
    if data.get("event") == "field_change" and not data.get("field"):
        errors["field"] = ["a field_change binding names its field"]
    criteria = (data.get("criteria") or "").strip() or None
    if criteria:
        try:
            engine().check_expression(criteria)
        except Exception as exc:
            errors["criteria"] = [f"cannot run: {exc}"]
    if errors:
        raise ValidationError("invalid binding", errors=errors)
    with write_transaction():
        module = get_module(data["module"])
        if db.session.scalar(select(ProcessDefinition.id).where(
                ProcessDefinition.key == data["process_key"]).limit(1)) is None:
            raise ValidationError("invalid binding", errors={"process_key": [
                f"no deployed process {data['process_key']!r}; deploy it first"]})
        options = dict(data.get("options") or {})
        if data.get("kind") == "blueprint":
            stage_field = options.get("stage_field", "stage")
            if stage_field not in {f["name"] for f in module.fields}:
                raise ValidationError("invalid binding", errors={"options.stage_field": [
                    f"{stage_field!r} is not a field of {module.api_name}"]})
            options["stage_field"] = stage_field
        binding = Binding(name=data.get("name") or f"{data['process_key']} on {data['module']} {data['event']}",
                          module=module.api_name, event=data["event"], field=data.get("field"),
                          criteria=criteria, process_key=data["process_key"], kind=data.get("kind", "process"),
                          options=options, active=data.get("active", True))
        db.session.add(binding)
    return binding


def list_bindings(module: str | None = None) -> list[Binding]:
    stmt = select(Binding).order_by(Binding.created_at)
    if module:
        stmt = stmt.where(Binding.module == module)
    return list(db.session.scalars(stmt))


def delete_binding(binding_id: str, actor: Actor) -> None:
    _require_admin(actor)
    with write_transaction():
        binding = db.session.get(Binding, binding_id)
        if binding is None:
            raise NotFoundError(f"no binding {binding_id}")
        db.session.delete(binding)


# -- records ----------------------------------------------------------------------

def _exists(kind: str, value: str, module: str | None) -> bool:
    if kind == "user":
        return db.session.scalar(select(User.id).where(User.username == value)) is not None
    return db.session.scalar(select(Record.id).where(Record.id == value, Record.module == module)) is not None


def _validate(module: Module, values: dict, current: dict | None) -> tuple[dict, dict]:
    """Clean `values` and check the module's rules on the merged record; returns (cleaned, merged)."""
    try:
        cleaned = clean_values(module.fields, values, partial=current is not None, exists=_exists)
    except FieldError as exc:
        raise ValidationError("the record does not pass its module's checks", errors=exc.errors) from None
    merged = dict(current or {})
    merged.update(cleaned)
    errors = check_rules(module.rules or [], module.fields, merged, engine().evaluate_expression)
    if errors:
        raise ValidationError("the record breaks a validation rule", errors=errors)
    return cleaned, merged


def record_view(record: Record) -> dict:
    return {"id": record.id, "module": record.module, "owner": record.owner, **record.data,
            "created_by": record.created_by, "created_at": record.created_at,
            "modified_by": record.modified_by, "modified_at": record.modified_at,
            "locked_by": record.locked_by}


def find_record(module: str, record_id: str) -> Record:
    """The record, unchecked: for use cases that decide access themselves (404 if there is none)."""
    record = db.session.get(Record, record_id)
    if record is None or record.module != module:
        raise NotFoundError(f"no {module} record {record_id}")
    return record


def get_record(module: str, record_id: str, actor: Actor) -> Record:
    """A record the actor may read (404 otherwise, as for one that does not exist)."""
    record = find_record(module, record_id)
    require_read_record(actor, record)
    return record


def list_records(module: str, filters: dict, page: int, per_page: int, actor: Actor) -> Page:
    """The module's records the actor may read, newest first (see `access.readable_records`)."""
    mod = get_module(module)
    by_name = {f["name"]: f for f in mod.fields}
    stmt = select(Record).where(Record.module == module)
    readable = readable_records(actor, module)
    if readable is not None:
        stmt = stmt.where(readable)
    for name, value in filters.items():
        if name == "owner":
            stmt = stmt.where(Record.owner == value)
        elif name in by_name:
            stmt = stmt.where(_filter_clause(by_name[name], str(value)))
        else:
            raise ValidationError("unknown filter", errors={name: ["not a field of this module"]})
    return paginate(stmt.order_by(Record.created_at.desc(), Record.id.desc()), page, per_page)


def _filter_clause(field: dict, value: str):
    """Equality on a JSON field, compared as its type (SQLite extracts JSON true as 1, not 'true')."""
    column = Record.data[field["name"]]
    if field["type"] == "boolean":
        if value.lower() not in {"true", "false"}:
            raise ValidationError("invalid filter", errors={field["name"]: ["must be true or false"]})
        return column.as_boolean() == (value.lower() == "true")
    if field["type"] in {"number", "currency", "percent"}:
        try:
            number = float(value)
        except ValueError:
            raise ValidationError("invalid filter", errors={field["name"]: ["must be a number"]}) from None
        return column.as_float() == number
    return column.as_string() == value


def timeline(module: str, record_id: str, actor: Actor, page: int, per_page: int) -> Page:
    """A record's events, oldest first, for those who may read the record.

    A deleted record's timeline stays readable (it ends with `deleted`) by admins, holders of
    `read` on the module and whoever wrote one of its events.
    """
    record = db.session.get(Record, record_id)
    if record is not None and record.module == module:
        require_read_record(actor, record)
    else:
        kept = db.session.scalar(select(RecordEvent.id).where(RecordEvent.record_id == record_id,
                                                              RecordEvent.module == module).limit(1))
        if record is not None or kept is None or not (
                readable_records(actor, module) is None or db.session.scalar(select(RecordEvent.id).where(
                    RecordEvent.record_id == record_id, RecordEvent.user == actor.username).limit(1))):
            raise NotFoundError(f"no {module} record {record_id}")
    stmt = select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
    return paginate(stmt, page, per_page)


def add_event(record: Record, type_: str, actor: Actor | None, data: dict | None = None,
              instance_id: str | None = None) -> None:
    db.session.add(RecordEvent(record_id=record.id, module=record.module, type=type_, at=utcnow(),
                               user=actor.username if actor else None, data=data, instance_id=instance_id))


def create_record(module: str, values: dict, actor: Actor, *, owner: str | None = None,
                  source: str = "api") -> Record:
    """Create a record and start the processes its creation matches (joins the caller's transaction)."""
    with write_transaction():
        return _create(module, values, actor, owner, source)


def _create(module: str, values: dict, actor: Actor, owner: str | None, source: str) -> Record:
    mod = get_module(module)
    if source == "api":  # processes create what their (authorized) diagram says
        require(actor, "create", "module", mod.api_name, f"create {mod.api_name} records")
    values = dict(values)
    owner = values.pop("owner", None) or owner or actor.username
    if not _exists("user", owner, None):
        raise ValidationError("the record does not pass its module's checks", errors={"owner": [f"no user {owner}"]})
    cleaned, merged = _validate(mod, values, None)
    now = utcnow()
    record = Record(module=mod.api_name, data=merged, owner=owner, created_by=actor.username, created_at=now,
                    modified_by=actor.username, modified_at=now)
    db.session.add(record)
    db.session.flush()
    add_event(record, "created", actor, {"fields": merged, "source": source})
    _fire(mod, record, "create", set(merged), actor)
    return record


def update_record(module: str, record_id: str, values: dict, actor: Actor, *, source: str = "api",
                  instance_id: str | None = None) -> Record:
    """Change fields of a record; refused while locked (423) or, for the stage, while a blueprint governs it (409).

    Joins the caller's transaction, if any.
    """
    with write_transaction():
        return _update(module, record_id, values, actor, source=source, instance_id=instance_id)


def _update(module: str, record_id: str, values: dict, actor: Actor, *,
                                 source: str = "api", instance_id: str | None = None) -> Record:
    mod = get_module(module)
    record = find_record(module, record_id)
    values = dict(values)
    new_owner = values.pop("owner", None)
    if source == "api":
        require_on_record(actor, "update", record, "change this record")
    check_writable(record, set(values) | ({"owner"} if new_owner else set()), instance_id)
    if source == "api":
        _check_stage(mod, record, values)
    cleaned, merged = _validate(mod, values, record.data)
    changed = {k: [record.data.get(k), v] for k, v in cleaned.items() if record.data.get(k) != v}
    if new_owner and new_owner != record.owner:
        if not _exists("user", new_owner, None):
            raise ValidationError("the record does not pass its module's checks",
                                  errors={"owner": [f"no user {new_owner}"]})
        changed["owner"] = [record.owner, new_owner]
        record.owner = new_owner
    if not changed:
        return record
    record.data = merged
    record.modified_by = actor.username
    record.modified_at = utcnow()
    add_event(record, "updated", actor, {"changes": changed, "source": source}, instance_id)
    # Whatever wrote the fields (the API, a transition, a process, a rule), the record's edit and
    # field-change bindings and the instances waiting for its changes hear of it; never the writer itself.
    writer_key = _process_key(instance_id)
    _fire(mod, record, "edit", set(changed), actor, skip_key=writer_key)
    _tell_linked_instances(record, set(changed), actor, skip_instance=instance_id)
    db.session.flush()
    return record


def _process_key(instance_id: str | None) -> str | None:
    """The process key of the instance writing now (it may not be stored yet: it is the step's)."""
    if instance_id is None:
        return None
    step = current_step()
    if step is not None and step.instance_id == instance_id and step.process_key:
        return step.process_key
    return db.session.scalar(select(ProcessInstance.process_key).where(ProcessInstance.id == instance_id))


def _tell_linked_instances(record: Record, changed: set[str], actor: Actor, skip_instance: str | None = None) -> None:
    """Deliver `record_edited` (and `record_<field>_changed`) to instances on this record that wait for it."""
    names = {"record_edited", *(f"record_{field}_changed" for field in changed)}
    stmt = (select(EventSubscription.instance_id, EventSubscription.name)
            .join(ProcessInstance, ProcessInstance.id == EventSubscription.instance_id)
            .where(ProcessInstance.record_id == record.id, EventSubscription.kind == "message",
                   EventSubscription.name.in_(names)))
    if skip_instance is not None:
        stmt = stmt.where(ProcessInstance.id != skip_instance)
    waiting = db.session.execute(stmt).all()
    for instance_id, name in dict(waiting).items():
        deliver_to(instance_id, "message", name, {"changed_fields": sorted(changed)}, actor)


def delete_record(module: str, record_id: str, actor: Actor) -> None:
    """Delete a record (refused while locked); delete bindings start with its last fields."""
    with write_transaction():
        mod = get_module(module)
        record = find_record(module, record_id)
        require_on_record(actor, "delete", record, "delete this record")
        _check_lock(record, None)
        add_event(record, "deleted", actor, {"fields": record.data})
        _fire(mod, record, "delete", set(), actor)
        db.session.delete(record)


def check_writable(record: Record, fields: set[str] | None, instance_id: str | None = None) -> None:
    """423 naming the locking instance unless `fields` may change now (None: the whole record).

    The instance holding the lock (an approval or review) writes freely; every other path, a
    transition, another process, a rule, a conversion or the API, is refused alike.
    """
    if instance_id is None or record.locked_by != instance_id:
        _check_lock(record, fields)


def _check_lock(record: Record, fields: set[str] | None) -> None:
    if not record.locked_by:
        return
    editable = set(record.lock_editable or [])
    if fields is not None and fields and fields <= editable:
        return
    raise RecordLockedError(
        f"the record is locked by process instance {record.locked_by} until it leaves its approval or review"
        + (f"; only {', '.join(sorted(editable))} may change" if editable else ""),
        instance_id=record.locked_by, editable_fields=sorted(editable))


def _check_stage(mod: Module, record: Record, values: dict) -> None:
    blueprint = governing_blueprint(record)
    if blueprint is None:
        return
    stage_field = blueprint[1]
    if stage_field in values and values[stage_field] != record.data.get(stage_field):
        raise ConflictError(f"{stage_field!r} follows blueprint instance {blueprint[0]}; perform a transition "
                            f"instead (GET .../transitions)", instance_id=blueprint[0])


def governing_blueprint(record: Record) -> tuple[str, str] | None:
    """(instance id, stage field) of the live blueprint instance on this record, if any."""
    row = db.session.execute(
        select(ProcessInstance.id, Binding.options)
        .join(Binding, (Binding.process_key == ProcessInstance.process_key) & (Binding.module == record.module)
              & (Binding.kind == "blueprint"))
        .where(ProcessInstance.record_id == record.id, ProcessInstance.record_role == "blueprint",
               ProcessInstance.status.in_(LIVE_STATUSES)).limit(1)).one_or_none()
    if row is None:
        return None
    return row[0], (row[1] or {}).get("stage_field", "stage")


def _fire(mod: Module, record: Record, event: str, changed: set[str], actor: Actor,
          skip_key: str | None = None) -> None:
    """Start every process whose binding matches this record event, in this transaction.

    `skip_key`: the process whose instance made the change; its own bindings do not fire again.
    """
    stmt = select(Binding).where(Binding.module == mod.api_name, Binding.active.is_(True))
    if skip_key is not None:
        stmt = stmt.where(Binding.process_key != skip_key)
    bindings = db.session.scalars(stmt.order_by(Binding.created_at)).all()
    if not bindings:
        return
    if cascade_depth() >= _MAX_CASCADE:
        return
    evaluate = engine().evaluate_expression
    data = dict(record.data, owner=record.owner)
    live: set[str] | None = None
    with cascading():
        for b in bindings:
            spec = {"event": b.event, "field": b.field, "criteria": b.criteria}
            if not binding_matches(spec, event, changed, mod.fields, data, evaluate):
                continue
            if b.kind in ONE_AT_A_TIME:
                if live is None:
                    live = set(db.session.scalars(select(ProcessInstance.process_key).where(
                        ProcessInstance.record_id == record.id, ProcessInstance.status.in_(LIVE_STATUSES))))
                if b.process_key in live:
                    continue  # already in this blueprint, approval or review
                live.add(b.process_key)
            variables = dict(data, record_id=record.id, module=record.module)
            result = start_instance(actor, key=b.process_key, variables=variables, business_key=record.id,
                                    record=(record.module, record.id, b.kind))
            add_event(record, "process_started", actor, {"process_key": b.process_key, "binding": b.name,
                                                         "kind": b.kind, "status": result.status},
                      result.id)
            if b.kind in LOCKING_ROLES and result.status in LIVE_STATUSES and event != "delete":
                record.locked_by = result.id
                record.lock_editable = list(b.options.get("editable") or [])


# -- manifests ----------------------------------------------------------------------

def apply_manifest(manifest: dict, actor: Actor) -> dict[str, list[str]]:
    """Create or update the modules and bindings a shipped folder declares (stagecoach.json)."""
    done: dict[str, list[str]] = {"modules": [], "bindings": []}
    for spec in manifest.get("modules", []):
        exists = db.session.scalar(select(Module.id).where(Module.api_name == spec["api_name"]))
        if exists:
            update_module(spec["api_name"], spec, actor)
        else:
            create_module(spec, actor)
        done["modules"].append(spec["api_name"])
    for spec in manifest.get("bindings", []):
        old = db.session.scalar(select(Binding).where(Binding.name == spec["name"]))
        if old is not None:
            with write_transaction():
                db.session.delete(db.session.merge(old))
        create_binding(spec, actor)
        done["bindings"].append(spec["name"])
    return done


def list_crm_tasks(actor: Actor, *, owner=None, mine=False, record_id=None, status="open", page=1,
                   per_page=20) -> Page:
    """To-dos created by processes, newest first."""
    from ..models import CrmTask

    stmt = select(CrmTask)
    if mine:
        stmt = stmt.where(CrmTask.owner == actor.username)
    if owner:
        stmt = stmt.where(CrmTask.owner == owner)
    if record_id:
        stmt = stmt.where(CrmTask.record_id == record_id)
    if status:
        stmt = stmt.where(CrmTask.status == status)
    return paginate(stmt.order_by(CrmTask.created_at.desc(), CrmTask.id), page, per_page)
