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
      "event": "create",                  # create | edit | create_or_edit | field_change | delete
      "field": "stage",                   # the field a field_change rule watches (only then)
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
| `webhook` | `url` (http:// or https:// with a host) | `call_webhook(url)` (the record is the payload) |

Email subjects and bodies are Jinja templates over the record's fields
(`{{ deal_name }}`), rendered in Jinja's sandbox when the email is queued;
they are checked for template syntax when the rule is saved. A
`field_update` is refused on `delete` rules (the record is going away).

The generated diagram
---------------------
Process id `rule_<slug of name>` (lower case, runs of other characters
become `_`), name = the rule's name, `isExecutable="true"`: start event → one
script task per action → end event, with sequence flows and BPMNDI so it
opens in a modeler. Every value an action carries reaches the script as a
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

import ast
import math
import re
import urllib.parse

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree
from sqlalchemy import func, select

from ..crm import FieldError, clean_values
from ..engine import ScriptError
from ..errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Binding, Module, ProcessDefinition, Record, User
from . import definitions, records
from .core import Actor, engine, write_transaction

ACTION_TYPES = ("field_update", "email", "task", "webhook")
EVENTS = ("create", "edit", "create_or_edit", "field_change", "delete")
MAX_ACTIONS = 20
MAX_NAME = 200
MAX_SLUG = 60
MAX_SUBJECT = {"email": 998, "task": 255}
MAX_BODY = 32_000
MAX_URL = 2_000
MAX_DUE_DAYS = 3_650
_SPECIAL_RECIPIENTS = {"owner", "owner_manager"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Characters XML 1.0 cannot hold (C0 controls but tab/newline/return, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_KEYS = {"field_update": {"type", "field", "value"}, "email": {"type", "to", "subject", "body"},
         "task": {"type", "subject", "owner", "due_in_days"}, "webhook": {"type", "url"}}

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS}

_templates = SandboxedEnvironment(autoescape=False)  # only to check template syntax


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
            "actions": list((binding.options or {}).get("actions") or []), "created_at": binding.created_at}


def list_rules() -> list[dict]:
    """Every workflow rule, oldest first, with the latest version of its definition."""
    bindings = list(db.session.scalars(select(Binding).where(Binding.kind == "rule")
                                       .order_by(Binding.created_at, Binding.id)))
    keys = {b.process_key for b in bindings}
    latest: dict[str, tuple[int, str]] = {}
    if keys:
        newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
                  .where(ProcessDefinition.key.in_(keys)).group_by(ProcessDefinition.key).subquery())
        rows = db.session.execute(
            select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.id)
            .join(newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v)))
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
    if not actor.is_admin:
        raise ForbiddenError("only an admin may create workflow rules")
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
        binding = records.create_binding({
            "name": rule["name"], "module": rule["module"], "event": rule["event"], "field": rule["field"],
            "criteria": rule["criteria"], "process_key": key, "kind": "rule",
            "options": {"actions": rule["actions"]}, "active": True}, actor)
    return rule_view(binding, definition.version, definition.id)


def delete_rule(rule_id: str, actor: Actor) -> None:
    """Delete a rule's binding (admins); its definitions and past instances stay."""
    if not actor.is_admin:
        raise ForbiddenError("only an admin may delete workflow rules")
    with write_transaction():
        binding = db.session.get(Binding, rule_id)
        if binding is None or binding.kind != "rule":
            raise NotFoundError(f"no workflow rule {rule_id}")
        db.session.delete(binding)


# -- validation -----------------------------------------------------------------

def _text(value, limit: int) -> tuple[str | None, str | None]:
    """(the text, None) or (None, the problem): blank text counts as missing."""
    if not isinstance(value, str) or not value.strip():
        return None, "required"
    if len(value) > limit:
        return None, f"at most {limit} characters"
    return value, None


def _user_exists(username: str) -> bool:
    return db.session.scalar(select(User.id).where(User.username == username)) is not None


def _exists(kind: str, value: str, module: str | None) -> bool:
    if kind == "user":
        return _user_exists(value)
    return db.session.scalar(select(Record.id).where(Record.id == value, Record.module == module)) is not None


def _template_problem(text: str) -> str | None:
    try:
        _templates.parse(text)
    except TemplateSyntaxError as exc:
        return f"not a valid template: {exc.message} (line {exc.lineno})"
    return None


def _validated(data: dict) -> dict:
    """The rule, cleaned; raises ValidationError with every problem found."""
    errors: dict[str, list[str]] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    name, problem = _text(data.get("name"), MAX_NAME)
    if problem:
        err("name", problem)
    elif _NOT_XML.search(name) or "\n" in name or "\r" in name:
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

    criteria = data.get("criteria")
    if criteria is not None and not isinstance(criteria, str):
        err("criteria", "must be an expression (a string)")
        criteria = None
    criteria = (criteria or "").strip() or None
    if criteria:
        try:
            engine().script_engine.sandbox.check(criteria, "eval")
        except ScriptError as exc:  # and its security subclass
            err("criteria", f"cannot run: {exc}")

    actions = data.get("actions")
    cleaned_actions: list[dict] = []
    if not isinstance(actions, list) or not actions:
        err("actions", "at least one action")
    elif len(actions) > MAX_ACTIONS:
        err("actions", f"at most {MAX_ACTIONS} actions")
    else:
        for i, action in enumerate(actions):
            cleaned = _validated_action(action, f"actions[{i}]", module, fields, event, err)
            if cleaned is not None:
                cleaned_actions.append(cleaned)
    if errors:
        raise ValidationError("invalid workflow rule", errors=errors)
    return {"name": name, "module": module.api_name, "event": event,
            "field": field if event == "field_change" else None, "criteria": criteria,
            "actions": cleaned_actions}


def _validated_action(action, at: str, module: Module | None, fields: dict, event, err) -> dict | None:
    if not isinstance(action, dict):
        err(at, "must be an object with a `type`")
        return None
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        err(f"{at}.type", f"must be one of {', '.join(ACTION_TYPES)}")
        return None
    for extra in sorted(set(action) - _KEYS[kind]):
        err(f"{at}.{extra}", f"not a key of a {kind} action")
    out: dict = {"type": kind}
    ok = True

    def bad(key: str, message: str) -> None:
        nonlocal ok
        ok = False
        err(f"{at}.{key}", message)

    for key, value in action.items():
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and _NOT_XML.search(t) for t in texts):
            bad(key, "control characters (other than tab and newline) are not allowed")
    if not ok:
        return None

    if kind == "field_update":
        field = action.get("field")
        if not isinstance(field, str) or not field:
            bad("field", "required")
        elif module is not None and field not in fields:
            bad("field", f"not a field of {module.api_name}")
        elif "value" not in action:
            bad("value", "required (null clears the field)")
        elif module is not None:
            try:
                value = clean_values(module.fields, {field: action["value"]}, partial=True, exists=_exists)[field]
            except FieldError as exc:
                for message in exc.errors.get(field, []) or ["invalid"]:
                    bad("value", message)
            else:
                out.update(field=field, value=value)
        if event == "delete":
            bad("type", "a delete rule cannot update the record it deletes")
    elif kind == "email":
        recipients = _recipients(action.get("to"), bad)
        subject, problem = _text(action.get("subject"), MAX_SUBJECT["email"])
        if problem:
            bad("subject", problem)
        elif "\n" in subject or "\r" in subject:
            bad("subject", "one line")
        elif problem := _template_problem(subject):
            bad("subject", problem)
        body = action.get("body")
        if not isinstance(body, str) or not body.strip():
            bad("body", "required")
        elif len(body) > MAX_BODY:
            bad("body", f"at most {MAX_BODY} characters")
        elif problem := _template_problem(body):
            bad("body", problem)
        out.update(to=recipients, subject=subject, body=body)
    elif kind == "task":
        subject, problem = _text(action.get("subject"), MAX_SUBJECT["task"])
        if problem:
            bad("subject", problem)
        owner = action.get("owner") or None
        if owner == "owner":
            owner = None  # the record owner, create_crm_task's default
        if owner is not None and (not isinstance(owner, str) or not _user_exists(owner)):
            bad("owner", f"no user {owner}")
        due = action.get("due_in_days")
        if due is not None and (isinstance(due, bool) or not isinstance(due, int) or not 0 <= due <= MAX_DUE_DAYS):
            bad("due_in_days", f"a whole number of days from 0 to {MAX_DUE_DAYS}")
        out.update(subject=subject, owner=owner, due_in_days=due)
    else:  # webhook
        url = action.get("url")
        if not isinstance(url, str) or not url:
            bad("url", "required")
        elif len(url) > MAX_URL:
            bad("url", f"at most {MAX_URL} characters")
        else:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.hostname or any(c.isspace() for c in url):
                bad("url", "must be an http:// or https:// URL with a host")
        out.update(url=url)
    return out if ok else None


def _recipients(to, bad) -> list[str]:
    if isinstance(to, str):
        names = [part.strip() for part in to.split(",") if part.strip()]
    elif isinstance(to, list) and all(isinstance(n, str) for n in to):
        names = [n.strip() for n in to if n.strip()]
    else:
        bad("to", "required: owner, owner_manager, usernames or addresses (a list or comma-separated)")
        return []
    if not names:
        bad("to", "required: at least one recipient")
    for name in names:
        if name in _SPECIAL_RECIPIENTS:
            continue
        if "@" in name:
            if not _EMAIL.match(name):
                bad("to", f"{name!r} is not an email address")
        elif not db.session.scalar(select(User.email).where(User.username == name)):
            bad("to", f"{name!r} is not a user with an email address")
    return list(dict.fromkeys(names))


# -- the diagram ----------------------------------------------------------------

def _literal(value) -> str:
    """`value` as Python source that reads back equal: JSON-like values only."""
    def plain(v) -> bool:
        if v is None or isinstance(v, (bool, int, str)):
            return True
        if isinstance(v, float):
            return math.isfinite(v)
        if isinstance(v, list):
            return all(plain(i) for i in v)
        return False

    if not plain(value):
        raise ValueError(f"cannot write {type(value).__name__} into a rule script")
    text = repr(value)
    if ast.literal_eval(text) != value:  # pragma: no cover - repr of these types always round-trips
        raise ValueError("value does not survive as a literal")
    return text


def action_script(action: dict) -> str:
    """The one line a script task runs for `action`: a CRM call with literal arguments."""
    kind = action["type"]
    if kind == "field_update":
        return f"update_record(**{{{_literal(action['field'])}: {_literal(action['value'])}}})"
    if kind == "email":
        return (f"send_email({_literal(action['to'])}, {_literal(action['subject'])}, "
                f"{_literal(action['body'])})")
    if kind == "task":
        return (f"create_crm_task({_literal(action['subject'])}, owner={_literal(action['owner'])}, "
                f"due_in_days={_literal(action['due_in_days'])})")
    return f"call_webhook({_literal(action['url'])})"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(_NOT_XML.sub("", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def action_label(action: dict) -> str:
    kind = action["type"]
    if kind == "field_update":
        return _short(f"Set {action['field']}")
    if kind == "email":
        return _short(f"Email {', '.join(action['to'])}")
    if kind == "task":
        return _short(f"Task: {action['subject']}")
    return _short(f"Call {urllib.parse.urlsplit(action['url']).hostname}")


def rule_bpmn(rule: dict, key: str) -> bytes:
    """The rule as a BPMN 2.0 document: start → one script task per action → end, with its diagram."""
    def q(ns: str, tag: str) -> str:
        return f"{{{ns}}}{tag}"

    root = etree.Element(q(BPMN_NS, "definitions"), nsmap=_NSMAP)
    root.set("id", f"Definitions_{key}")
    root.set("targetNamespace", "http://stagecoach/workflow-rules")
    root.set("exporter", "Stagecoach workflow rules")
    root.set("exporterVersion", "1")
    process = etree.SubElement(root, q(BPMN_NS, "process"), id=key, name=rule["name"], isExecutable="true")
    doc = etree.SubElement(process, q(BPMN_NS, "documentation"))
    doc.text = _NOT_XML.sub("", f"Workflow rule on {rule['module']} {rule['event']}"
                + (f" of {rule['field']}" if rule["field"] else "")
                + (f" when {rule['criteria']}" if rule["criteria"] else "")
                + ". Generated by Stagecoach: edit the rule (POST /api/v1/workflow-rules), not this diagram.")

    nodes = ["start"] + [f"action_{i + 1}" for i in range(len(rule["actions"]))] + ["end"]
    flows = [(f"flow_{i + 1}", nodes[i], nodes[i + 1]) for i in range(len(nodes) - 1)]
    incoming = {target: fid for fid, _, target in flows}
    outgoing = {source: fid for fid, source, _ in flows}

    def link(el, node_id: str) -> None:
        if node_id in incoming:
            etree.SubElement(el, q(BPMN_NS, "incoming")).text = incoming[node_id]
        if node_id in outgoing:
            etree.SubElement(el, q(BPMN_NS, "outgoing")).text = outgoing[node_id]

    link(etree.SubElement(process, q(BPMN_NS, "startEvent"), id="start", name="Record event"), "start")
    for node_id, action in zip(nodes[1:-1], rule["actions"]):
        task = etree.SubElement(process, q(BPMN_NS, "scriptTask"), id=node_id, name=action_label(action),
                                scriptFormat="python")
        link(task, node_id)
        etree.SubElement(task, q(BPMN_NS, "script")).text = action_script(action)
    link(etree.SubElement(process, q(BPMN_NS, "endEvent"), id="end", name="Done"), "end")
    for fid, source, target in flows:
        etree.SubElement(process, q(BPMN_NS, "sequenceFlow"), id=fid, sourceRef=source, targetRef=target)

    # Diagram interchange: a left-to-right row, so a modeler shows it as drawn.
    diagram = etree.SubElement(root, q(BPMNDI_NS, "BPMNDiagram"), id=f"BPMNDiagram_{key}")
    plane = etree.SubElement(diagram, q(BPMNDI_NS, "BPMNPlane"), id=f"BPMNPlane_{key}", bpmnElement=key)
    mid_y, x = 120, 152
    bounds: dict[str, tuple[int, int, int, int]] = {}
    for node_id in nodes:
        if node_id in {"start", "end"}:
            bounds[node_id] = (x, mid_y - 18, 36, 36)
            x += 36 + 50
        else:
            bounds[node_id] = (x, mid_y - 40, 100, 80)
            x += 100 + 50
    for node_id in nodes:
        bx, by, w, h = bounds[node_id]
        shape = etree.SubElement(plane, q(BPMNDI_NS, "BPMNShape"), id=f"{node_id}_di", bpmnElement=node_id)
        etree.SubElement(shape, q(DC_NS, "Bounds"), x=str(bx), y=str(by), width=str(w), height=str(h))
    for fid, source, target in flows:
        sx, sy, sw, sh = bounds[source]
        tx, ty, _, th = bounds[target]
        edge = etree.SubElement(plane, q(BPMNDI_NS, "BPMNEdge"), id=f"{fid}_di", bpmnElement=fid)
        etree.SubElement(edge, q(DI_NS, "waypoint"), x=str(sx + sw), y=str(sy + sh // 2))
        etree.SubElement(edge, q(DI_NS, "waypoint"), x=str(tx), y=str(ty + th // 2))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
