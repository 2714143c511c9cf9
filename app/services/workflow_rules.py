"""Workflow rules: a binding plus actions, for the simple cases that need no diagram of their own.

A rule is kept as an ordinary process definition (generated BPMN 2.0,
deployed like any upload) and a binding of kind "rule", so its runs are
process instances: listed, monitored and repaired like any other.

The rule format
---------------
::

    {
      "name": "high value deal",          # 1-200 characters; names the rule and its process
      "module": "Deals",                  # a CRM module
      "event": "create",                  # create | edit | create_or_edit | field_change | delete | date
      "field": "stage",                   # the field a field_change rule watches (only then)
      "date": {"field": "closing_date", "days": -7, "time": "09:00",   # only for event date:
               "timezone": "UTC", "repeat": "yearly"},                # app/services/rule_schedules.py
      "criteria": "amount > 10000",       # optional: a sandbox expression over the record's fields
      "actions": [                        # 1-20 actions, run in this order
        {"type": "field_update", "field": "approved", "value": false},
        {"type": "email", "to": "owner", "subject": "Big deal {{ deal_name }}", "body": "..."},
        {"type": "task", "subject": "Call the customer", "owner": "maria", "due_in_days": 2},
        {"type": "webhook", "url": "https://hooks.example.com/deals"}
      ]
    }

Actions, and the CRM function (app/services/crm_actions.py) each one calls:

| type | keys | calls |
|---|---|---|
| `field_update` | `field` (a field of the module), `value` (must pass the field's checks; `null` clears it) | `update_record(**{field: value})` |
| `email` | `to` (a list or comma-separated string of `owner`, `owner_manager`, usernames with an email address, addresses), `subject` (≤ 998 chars), `body` | `send_email(to, subject, body)` |
| `task` | `subject` (≤ 255 chars), `owner` (username; default the record owner), `due_in_days` (0-3650) | `create_crm_task(subject, owner, due_in_days)` |
| `webhook` | `url` (http:// or https:// with a host on the outbound allow list) | `call_webhook(url)` (the record is the payload) |
| `assign_owner` | one of `user`, `group` (round robin), `field` with `mapping` (and `default`) | `set_owner`, `assign_round_robin`, `assign_by_field` |

Any action may carry `schedule`: `{days, hours}` after the trigger or `{field, days, hours, time}` from a
date field (app/schemas/workflow_rule_schedules.py); it then waits on a timer in its own branch.

Each action is checked by its type's schema (app/schemas/workflow_rule_actions.py).
Email subjects and bodies, and task subjects, are Jinja templates over the record's fields
(`{{ deal_name }}`), rendered in Jinja's sandbox when the email is queued;
they are checked for template syntax when the rule is saved. A
`field_update` is refused on `delete` rules (the record is going away).

The generated diagram
---------------------
Written by the engine (app/engine/rule_diagrams.py).
Process id `rule_<slug of name>` (lower case, runs of other characters
become `_`), name = the rule's name, `isExecutable="true"`: start event → one
script task per action → end event, with sequence flows and BPMNDI so it
opens in a modeler; a date rule first computes its moment and waits on a
timer (and loops to the next occurrence when it repeats), scheduled actions
wait on timers in parallel branches. Every value an action carries reaches the script as a
Python literal made by `repr()` of the validated value (checked to read back
equal with `ast.literal_eval`), never by pasting user text into code, so a
subject such as `"'); import os; ('"` stays a string. The script is then
compiled by the deployment's sandbox like any uploaded script.

Saving
------
Everything is validated first (400 with per-field errors such as
`actions[1].subject`), so nothing is deployed or bound for a bad rule. Then
one transaction deploys the diagram (`definitions.deploy`: a new version
only when the content changed), removes the binding of the rule's previous
version and creates the new one, so there is no moment with two rules or
none, and a failure leaves nothing behind. Saving a rule under an existing
name replaces that rule. Two names that make the same slug conflict (409).
Deleting a rule deletes its binding; its definitions stay, with the history
of the instances they ran.
"""
from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import func, select

from ..engine import ScriptError, rule_bpmn
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Binding, Group, Module, ProcessDefinition, Record, User
from ..schemas.workflow_rule_actions import ACTION_TYPES, NOT_XML, ActionContext, load_action, text_problem
from ..schemas.workflow_rule_schedules import load_date_trigger, load_schedule
from . import definitions, modules, outbound
from .access import require_admin
from .core import Actor, engine, write_transaction

__all__ = ["ACTION_TYPES", "EVENTS", "apply_manifest_rules", "create_rule", "delete_rule", "list_rules", "process_key_for", "rule_view",
           "slug"]

EVENTS = ("create", "edit", "create_or_edit", "field_change", "delete", "date")
MAX_ACTIONS = 20
MAX_NAME = 200
MAX_SLUG = 60


# -- reading --------------------------------------------------------------------

def slug(name: str) -> str:
    """`High value deal!` → `high_value_deal` (at most 60 characters)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:MAX_SLUG].strip("_")


def process_key_for(name: str) -> str:
    return f"rule_{slug(name)}"


def rule_view(binding: Binding, version: int | None, definition_id: str | None = None) -> dict:
    """A rule as the API shows it."""
    return {"id": binding.id, "name": binding.name, "module": binding.module, "event": binding.event,
            "field": binding.field, "criteria": binding.criteria, "process_key": binding.process_key,
            "version": version, "definition_id": definition_id, "active": binding.active,
            "actions": list((binding.options or {}).get("actions") or []), "date": (binding.options or {}).get("date"),
            "created_by": (binding.options or {}).get("created_by"), "created_at": binding.created_at}


def list_rules() -> list[dict]:
    """Every workflow rule, oldest first, with the latest version of its definition."""
    bindings = list(db.session.scalars(select(Binding).where(Binding.kind == "rule")
                                       .order_by(Binding.created_at, Binding.id)))
    keys = {b.process_key for b in bindings}
    latest: dict[str, tuple[int, str]] = {}
    if keys:
        newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
                  .where(ProcessDefinition.key.in_(keys), ProcessDefinition.tenant_id.is_(None))
                  .group_by(ProcessDefinition.key).subquery())
        rows = db.session.execute(  # rules are deployed without a tenant
            select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.id)
            .join(newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v))
            .where(ProcessDefinition.tenant_id.is_(None)))
        latest = {key: (version, definition_id) for key, version, definition_id in rows}
    return [rule_view(b, *latest.get(b.process_key, (None, None))) for b in bindings]


# -- writing --------------------------------------------------------------------

def create_rule(data: dict, actor: Actor) -> dict:
    """Validate a rule, deploy its generated diagram and bind it to the module event (admins).

    Saving under the name of an existing rule replaces it (a new definition
    version if the diagram changed, and a new binding).

    Raises:
        ForbiddenError: the actor is not an admin.
        ValidationError: per-field errors; nothing was deployed or bound.
        ConflictError: another rule's name makes the same process key.
    """
    require_admin(actor, "create workflow rules")
    rule = _validated(data)
    key = process_key_for(rule["name"])
    other = db.session.scalar(select(Binding.name).where(Binding.kind == "rule", Binding.process_key == key,
                                                         Binding.name != rule["name"]).limit(1))
    if other is not None:
        raise ConflictError(f"the rule {other!r} already uses process key {key!r}; choose another name",
                            errors={"name": [f"makes the same process key as rule {other!r}"]})
    xml = rule_bpmn(rule, key)
    with write_transaction():  # deploy, bind and replace the previous binding as one
        _, deployed = definitions.deploy([(f"{key}.bpmn", xml)], actor, name=f"workflow rule: {rule['name']}")
        definition = next(d for d in deployed if d.key == key)
        for old in db.session.scalars(select(Binding).where(Binding.kind == "rule", Binding.process_key == key)):
            db.session.delete(old)
        db.session.flush()
        binding = modules.create_binding({
            "name": rule["name"], "module": rule["module"], "event": rule["event"], "field": rule["field"],
            "criteria": rule["criteria"], "process_key": key, "kind": "rule",
            "options": {"actions": rule["actions"], "date": rule["date"], "timezone": rule["timezone"],
                        "scheduled": any(a.get("schedule") for a in rule["actions"]),
                        "created_by": actor.username}, "active": True}, actor)
    return rule_view(binding, definition.version, definition.id)


def apply_manifest_rules(manifest: dict, actor: Actor) -> list[str]:
    """Save the workflow rules a shipped folder's stagecoach.json declares (`"rules": [...]`), each as
    `POST /workflow-rules` would (admins); returns their names."""
    return [create_rule(spec, actor)["name"] for spec in manifest.get("rules", [])]


def delete_rule(rule_id: str, actor: Actor) -> None:
    """Delete a rule's binding (admins); its definitions and past instances stay."""
    require_admin(actor, "delete workflow rules")
    with write_transaction():
        binding = db.session.get(Binding, rule_id)
        if binding is None or binding.kind != "rule":
            raise NotFoundError(f"no workflow rule {rule_id}")
        db.session.delete(binding)


# -- validation -----------------------------------------------------------------

def _user_exists(username: str) -> bool:
    return db.session.scalar(select(User.id).where(User.username == username)) is not None


def _user_has_email(username: str) -> bool:
    return bool(db.session.scalar(select(User.email).where(User.username == username)))


def _exists(kind: str, value: str, module: str | None) -> bool:
    if kind == "user":
        return _user_exists(value)
    return db.session.scalar(select(Record.id).where(Record.id == value, Record.module == module)) is not None


def _group_has_members(name: str) -> bool:
    return db.session.scalar(select(User.id).join(User.groups).where(Group.name == name).limit(1)) is not None


def _validated(data: dict) -> dict:
    """The rule, cleaned; raises ValidationError with every problem found."""
    errors: dict[str, list[str]] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    name = data.get("name")
    if problem := text_problem(name, MAX_NAME):
        err("name", problem)
    elif NOT_XML.search(name) or "\n" in name or "\r" in name:
        err("name", "one line of printable characters")
    elif not slug(name):
        err("name", "needs at least one letter or digit (it names the process: rule_<name>)")
    else:
        name = name.strip()

    module = None
    if not isinstance(data.get("module"), str) or not data["module"]:
        err("module", "required")
    else:
        module = db.session.scalar(select(Module).where(Module.api_name == data["module"]))
        if module is None:
            err("module", f"no module {data['module']!r}")
    fields = {f["name"]: f for f in module.fields} if module is not None else {}

    event = data.get("event")
    if event not in EVENTS:
        err("event", f"must be one of {', '.join(EVENTS)}")
    field = data.get("field") or None
    if event == "field_change":
        if not field:
            err("field", "a field_change rule names its field")
        elif module is not None and field not in fields and field != "owner":
            err("field", f"not a field of {module.api_name}")
    elif field:
        err("field", "only a field_change rule names a field")
    timezone = current_app.config.get("TIMEZONE") or "UTC"
    date = None
    if event == "date":
        date, problems = load_date_trigger(data.get("date"), module, timezone)
        for key, messages in problems.items():
            for message in messages:
                err(f"date.{key}" if key else "date", message)
        timezone = date["timezone"] if date else timezone
    elif data.get("date") is not None:
        err("date", "only a date rule (event: date) has a date trigger")

    criteria = data.get("criteria")
    if criteria is not None and not isinstance(criteria, str):
        err("criteria", "must be an expression (a string)")
        criteria = None
    criteria = (criteria or "").strip() or None
    if criteria:
        try:
            engine().check_expression(criteria)
        except ScriptError as exc:  # and its security subclass
            err("criteria", f"cannot run: {exc}")

    actions = data.get("actions")
    cleaned_actions: list[dict] = []
    if not isinstance(actions, list) or not actions:
        err("actions", "at least one action")
    elif len(actions) > MAX_ACTIONS:
        err("actions", f"at most {MAX_ACTIONS} actions")
    else:
        context = ActionContext(module=module, event=event, user_exists=_user_exists,
                                user_has_email=_user_has_email, record_exists=_exists,
                                url_problem=outbound.url_problem, group_has_members=_group_has_members)
        for i, action in enumerate(actions):
            cleaned, problems = load_action(action, context)
            if cleaned is not None and cleaned.get("schedule") is not None:
                schedule, schedule_problems = load_schedule(cleaned["schedule"], module)
                if event == "delete":
                    schedule_problems.setdefault("", []).append("a delete rule's record is gone: nothing to schedule")
                for key, messages in schedule_problems.items():
                    problems.setdefault(f"schedule.{key}" if key else "schedule", []).extend(messages)
                cleaned["schedule"] = schedule
            for key, messages in problems.items():
                for message in messages:
                    err(f"actions[{i}].{key}" if key else f"actions[{i}]", message)
            if cleaned is not None:
                cleaned_actions.append(cleaned)
    if errors:
        raise ValidationError("invalid workflow rule", errors=errors)
    if event == "date" and date and date.get("repeat") and any(a.get("schedule") for a in cleaned_actions):
        raise ValidationError("invalid workflow rule", errors={"date.repeat": [
            "a repeating date rule runs its actions at each date: it cannot also schedule actions"]})
    for action in cleaned_actions:
        if action.get("schedule") is None:
            action.pop("schedule", None)
    return {"name": name, "module": module.api_name, "event": event,
            "field": field if event == "field_change" else None, "criteria": criteria,
            "actions": cleaned_actions, "date": date, "timezone": timezone}
