"""Blueprint transitions: what a user may do to a record now, and doing it.

A blueprint is a process bound to a module with kind `blueprint`. Each user
task it waits at is a state (its `stage` property, or its name); the task's
form has a `transition` field whose values are the transitions out of that
state. Per transition, the form's JSON Schema says which fields are
mandatory (`if transition == X then required [...]`) and what values they
accept; the task's extension properties may add:

- `transition.X.owners`: who may perform it (comma-separated `group:NAME`,
  `user:NAME` or bare group names; default: the task's assignee and candidates);
- `transition.X.criteria`: an expression over the record that must hold for
  the transition to be offered and performed;
- `transition.X.label`: what a button says.

Performing one writes the submitted fields to the record (its module's
checks apply), completes the task with `transition` set, and the diagram's
after-actions run as the instance moves on.
"""
from __future__ import annotations

from sqlalchemy import select

from ..errors import ForbiddenError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Attachment, HumanTask
from .access import acts_for, require_read_record
from .core import Actor, InstanceResult, definition_info, engine, write_transaction
from .forms import validate_form
from .modules import get_module
from .notes import MAX_TEXT as MAX_NOTE, write_note
from .record_triggers import governing_blueprint
from .records import check_writable, find_record, update_record
from .tasks import complete_checked, task_form, task_row


def _transition_values(form: dict) -> list[str]:
    prop = (form.get("properties") or {}).get("transition") or {}
    if "enum" in prop:
        return list(prop["enum"])
    return [o.get("const") for o in prop.get("oneOf", []) if "const" in o]


def _mandatory(form: dict, transition: str) -> list[str]:
    """Fields required when performing `transition`: the form's required ones plus its if/then rules."""
    required = [f for f in form.get("required", []) if f != "transition"]
    branches = list(form.get("allOf", []))
    if "if" in form:
        branches.append({"if": form["if"], "then": form.get("then", {})})
    for branch in branches:
        cond = ((branch.get("if") or {}).get("properties") or {}).get("transition") or {}
        if cond.get("const") == transition or transition in cond.get("enum", []):
            required += [f for f in (branch.get("then") or {}).get("required", []) if f not in required]
    return required


def _owners_allow(spec: str | None, task, actor: Actor, record) -> bool:
    """Who may perform a transition: its `owners` list (`user:NAME`, `group:NAME` or a bare group name,
    `owner` for the record's owner, `manager` for anyone the owner reports to), else the task's
    assignee or candidates."""
    if actor.is_admin:
        return True
    if not spec:
        if task.assignee:
            return task.assignee == actor.username
        return actor.username in (task.candidate_users or []) or bool(
            set(task.candidate_groups or []) & set(actor.groups))
    for owner in (part.strip() for part in spec.split(",")):
        if owner == "owner" and record.owner == actor.username:
            return True
        if owner == "manager" and record.owner != actor.username and acts_for(actor, record.owner):
            return True
        kind, _, name = owner.partition(":") if ":" in owner else ("group", "", owner)
        if (kind == "user" and name == actor.username) or (kind == "group" and name in actor.groups):
            return True
    return False


REQUIREMENTS = ("note", "attachment")


def _requires(props: dict, transition: str) -> list[str]:
    """What a transition needs besides its fields (`transition.X.requires`: note, attachment)."""
    spec = props.get(f"transition.{transition}.requires") or ""
    return [r for r in (part.strip() for part in spec.split(",")) if r in REQUIREMENTS]


def _check_requirements(needs: list[str], note: str | None, record, task) -> None:
    errors: dict[str, list[str]] = {}
    if "note" in needs and not (note or "").strip():
        errors["note"] = ["this transition needs a note"]
    if "attachment" in needs and db.session.scalar(select(Attachment.id).where(
            Attachment.record_id == record.id, Attachment.created_at >= task.created_at).limit(1)) is None:
        errors["attachment"] = ["this transition needs a file attached to the record at this stage"]
    if errors:
        raise ValidationError("the transition's requirements are not met", errors=errors)


def _criteria_hold(expression: str | None, record) -> bool:
    if not expression:
        return True
    try:
        return bool(engine().evaluate_expression(expression, dict(record.data, owner=record.owner)))
    except Exception:
        return False


def _offered(module: str, record_id: str):
    """(record, [(task row, form, properties)]) for the blueprint governing the record."""
    record = find_record(module, record_id)
    blueprint = governing_blueprint(record)
    if blueprint is None:
        raise NotFoundError(f"no blueprint governs {module} record {record_id}")
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == blueprint[0],
                                                       HumanTask.state == "open")).all()
    offered = []
    for task in tasks:
        element = definition_info(task.definition_id).elements.get(task.element_id, {})
        offered.append((task, task_form(task), element.get("properties") or {}, element))
    return record, offered


def _held(form: dict, record) -> dict:
    """The record's current values of the (writable) fields the form declares."""
    declared = {k for k, v in (form.get("properties") or {}).items()
                if k != "transition" and not (isinstance(v, dict) and v.get("readOnly"))}
    values = dict(record.data, owner=record.owner)
    return {k: values[k] for k in declared if values.get(k) is not None}


def list_transitions(module: str, record_id: str, actor: Actor) -> list[dict]:
    """The transitions the caller may perform now, with their mandatory fields and the record's values
    of them. A transition's owner may act on a record they could not otherwise read; anyone else who
    may not read it gets 404, as for a record that does not exist."""
    record, offered = _offered(module, record_id)
    result = []
    for task, form, props, element in offered:
        for name in _transition_values(form):
            if not _owners_allow(props.get(f"transition.{name}.owners"), task, actor, record):
                continue
            if not _criteria_hold(props.get(f"transition.{name}.criteria"), record):
                continue
            fields = {k: v for k, v in (form.get("properties") or {}).items() if k != "transition"}
            mandatory, held = _mandatory(form, name), _held(form, record)
            result.append({"name": name, "label": props.get(f"transition.{name}.label") or name,
                           "from_stage": props.get("stage") or element.get("name"), "task_id": task.id,
                           "mandatory_fields": mandatory, "missing_fields": [f for f in mandatory if f not in held],
                           "requires": _requires(props, name), "values": held, "fields": fields})
    if not result:
        require_read_record(actor, record)
    return result


def perform_transition(module: str, record_id: str, transition: str, values: dict, actor: Actor,
                       note: str | None = None) -> InstanceResult:
    """Perform a transition: check owners, criteria, fields and requirements (a note, an attachment),
    update the record, keep the note on it, move the blueprint on."""
    values = dict(values or {})
    if note is not None and len(note) > MAX_NOTE:  # as the API's schema refuses it, named where it was typed
        raise ValidationError("the note is too long", errors={"note": [f"at most {MAX_NOTE} characters"]})
    with write_transaction():
        record, offered = _offered(module, record_id)
        match = next(((t, f, p) for t, f, p, _ in offered if transition in _transition_values(f)), None)
        if match is None:
            raise NotFoundError(f"no transition {transition!r} from the record's current stage")
        task, form, props = match
        if not _owners_allow(props.get(f"transition.{transition}.owners"), task, actor, record):
            raise ForbiddenError(f"you are not an owner of transition {transition!r}")
        _check_requirements(_requires(props, transition), note, record, task)
        mod = get_module(module)
        record_fields = {k: v for k, v in values.items() if k in {f["name"] for f in mod.fields}}
        # a transition moves the stage: refused (423, naming the instance) while an approval or review holds it
        check_writable(record, set(record_fields) | {governing_blueprint(record)[1]})
        # A mandatory field the record already holds counts as given: the form sees the record's values
        # for the fields it declares (read-only ones aside), overridden by what the caller sends.
        data = validate_form(form, dict(_held(form, record), **values, transition=transition))
        if record_fields:
            update_record(module, record.id, record_fields, actor, source="blueprint")
        if not _criteria_hold(props.get(f"transition.{transition}.criteria"), record):
            raise ValidationError("the record does not meet this transition's criteria",
                                  errors={"transition": [f"criteria not met: {props[f'transition.{transition}.criteria']}"]})
        if note and note.strip():
            write_note(record, note, actor, author=actor.username)
        return complete_checked(task_row(task.id), data, actor, as_owner=True)

