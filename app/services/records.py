"""CRM records: reading them as their owners and managers may, and the one write path every writer
goes through.

The API, blueprint transitions, processes (`update_record` in scripts), workflow rules and lead
conversions all create, change and delete records here. A write runs in one transaction with
everything it causes: permission checks (for the API; processes write what their diagram says), the
approval and review lock (every writer but the locking instance), field checks and validation rules,
the timeline entry, and the record triggers (`record_triggers`): the processes whose bindings match
and the instances waiting for the record's changes.
"""
from __future__ import annotations

from sqlalchemy import select

from ..crm import FieldError, check_rules, clean_values
from ..errors import ConflictError, NotFoundError, StagecoachError, ValidationError
from ..extensions import db
from ..models import Module, Record, ScoringRules, User
from .access import readable_records, require, require_on_record, require_read_record
from .attachment_store import remove_stored, stored_names
from .core import SYSTEM, Actor, Page, engine, paginate, utcnow, write_transaction
from .modules import get_module
from .record_triggers import fire, governing_blueprint, process_key_of, tell_linked_instances
from .scoring import change_entry, score_of
from .timeline import add_event


class RecordLockedError(StagecoachError):
    status, slug, title = 423, "record-locked", "The record is locked by a process"


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
    score = score_of(mod, merged, owner, None)
    if score is not None:  # the scored field is computed: what a writer sent for it is replaced
        merged[score.field] = score.value
    now = utcnow()
    record = Record(module=mod.api_name, data=merged, owner=owner, created_by=actor.username, created_at=now,
                    modified_by=actor.username, modified_at=now)
    db.session.add(record)
    db.session.flush()
    add_event(record, "created", actor, {"fields": merged, "source": source})
    if score is not None:
        add_event(record, "score_changed", actor, change_entry(None, score))
    fire(mod, record, "create", set(merged), actor)
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
    if source != "scoring":  # a rescore writes only the computed score, even while the record is locked
        check_writable(record, set(values) | ({"owner"} if new_owner else set()), instance_id)
    if source == "api":
        _check_stage(mod, record, values)
    cleaned, merged = _validate(mod, values, record.data)
    score = score_of(mod, merged, new_owner or record.owner, record.id)
    if score is not None:
        merged[score.field] = cleaned[score.field] = score.value
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
    if score is not None and score.field in changed:
        add_event(record, "score_changed", actor, change_entry(changed[score.field][0], score), instance_id)
    # Whatever wrote the fields (the API, a transition, a process, a rule), the record's edit and
    # field-change bindings and the instances waiting for its changes hear of it; never the writer itself.
    writer_key = process_key_of(instance_id)
    fire(mod, record, "edit", set(changed), actor, skip_key=writer_key)
    tell_linked_instances(record, set(changed), actor, skip_instance=instance_id)
    db.session.flush()
    return record


def rescore(record: Record, kind: str, instance_id: str | None = None) -> Record:
    """Rescore the record after a touchpoint of `kind`, when its module's scoring rules give that type
    points (a system write, as after a posted touchpoint; `instance_id`: the instance whose step caused
    it, which does not hear of its own rescore)."""
    rules = db.session.get(ScoringRules, record.module)
    if rules is None or kind not in (rules.touchpoints or {}):
        return record
    db.session.flush()
    return _update(record.module, record.id, {}, SYSTEM, source="scoring", instance_id=instance_id)


def delete_record(module: str, record_id: str, actor: Actor) -> None:
    """Delete a record (refused while locked); delete bindings start with its last fields."""
    with write_transaction():
        mod = get_module(module)
        record = find_record(module, record_id)
        require_on_record(actor, "delete", record, "delete this record")
        _check_lock(record, None)
        add_event(record, "deleted", actor, {"fields": record.data})
        fire(mod, record, "delete", set(), actor)
        files = stored_names(record.id)  # the database deletes the notes and attachment rows with the record
        db.session.delete(record)
    remove_stored(files)


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
