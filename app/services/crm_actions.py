"""What a process can do to CRM records, and how records follow their processes.

The functions below are registered in the script sandbox (`register`), so a
script task, a condition or a service task can call them by name. They act
for the instance being run: the services set that context (`acting_for`)
around every engine call, inside the instance's transaction, so whatever a
function writes commits or rolls back with the step that called it.

| function | does |
|---|---|
| `record(field=None)` | the linked record's fields (a copy), or one field |
| `update_record(**fields)` | change fields of the linked record (checked like any write; no bindings fire) |
| `create_record(module, **fields)` | create a record in any module (its bindings fire); returns its id |
| `convert_lead()` | turn the linked lead into an account, a contact and (with `deal_name`) a deal; returns their ids |
| `assign_round_robin(group)` | next member of `group` in turn becomes the record's owner; returns the username |
| `assign_by_field(field, mapping, default=None)` | owner chosen by a field's value, e.g. region → user |
| `set_owner(username)` | make a user the record's owner |
| `create_crm_task(subject, owner=None, due_in_days=None, kind=None)` | a to-do for a user (default: the record owner); the subject is a template like an email's; `kind` `call` or `meeting`: completing it logs a call or meeting (`call_logged`, `meeting_logged`) |
| `send_email(to, subject, body)` | queue an email; `to`: addresses, usernames, `group:NAME`, `owner` or `owner_manager`; subject and body are templates over the record's fields; regarding a record: an `email_sent` touchpoint, and tracked (opens, clicks) |
| `call_webhook(url, payload=None)` | queue a signed POST (HMAC-SHA256, retried) to a host on the outbound allow list |
| `add_note(text)` | a note on the record's timeline |
| `manager_of(username)` | a user's manager |
| `rule_next_due(value, days, hours, time, timezone, repeat, after=None)` | when a date-based rule or scheduled action is due next (ISO text, or None): app/crm/schedules.py |

Templates (email subjects and bodies, to-do subjects) see the record's fields (`{{ deal_name }}`), the
record itself as `record`, `{{ owner }}` (the username) with `{{ owner.email }}` and `{{ owner.manager }}`, and each lookup field as the related record: `{{ account }}` is its id,
`{{ account.account_name }}` one of its fields (one level deep).

Webhooks and emails are outbound calls: a step that queues a webhook to a
host off the allow list, or more calls than STAGECOACH_OUTBOUND_MAX_PER_STEP
(or its instance more than STAGECOACH_OUTBOUND_MAX_PER_INSTANCE), fails
with the reason (app/services/outbound.py).
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..crm.schedules import next_due as rule_next_due
from ..crm.templates import TemplateLimitError, TemplateLimits, TemplateRefusedError
from ..crm.templates import render as render_template
from ..crm import tracking
from ..engine import FunctionRegistry
from ..extensions import db
from ..models import Counter, CrmTask, Group, Module, OutboxMessage, Record, User
from ..models.base import new_id
from ..errors import ValidationError
from . import notes as _notes
from . import outbound
from .crm_tasks import KINDS as TASK_KINDS
from . import records as _records
from .core import StepContext, current_step, utcnow
from .timeline import add_event, add_touchpoint

class ActionError(Exception):
    """A CRM function was called wrongly (the script's error, shown on the incident)."""


def _ctx(writes: bool = False) -> StepContext:
    ctx = current_step()
    if ctx is None:
        raise ActionError("CRM functions run only inside a process instance")
    if writes:
        ctx.writing()
    return ctx


def _linked() -> Record:
    ctx = _ctx()
    if not ctx.record_id:
        raise ActionError("this instance is not linked to a record")
    record = db.session.get(Record, ctx.record_id)
    if record is None:
        raise ActionError(f"the linked record {ctx.record_id} no longer exists")
    return record


def _plain(error: Exception) -> ActionError:
    errors = getattr(error, "errors", None)
    detail = getattr(error, "detail", str(error))
    return ActionError(f"{detail}: {errors}" if errors else detail)


# -- the functions ----------------------------------------------------------------

def record(field: str | None = None):
    """The linked record's fields (a copy), or one field."""
    rec = _linked()
    data = dict(rec.data, id=rec.id, owner=rec.owner, module=rec.module)
    return data.get(field) if field else data


def update_record(**fields) -> None:
    """Change fields of the linked record (checked like any write; no bindings fire)."""

    ctx = _ctx(writes=True)
    rec = _linked()
    try:
        _records.update_record(rec.module, rec.id, fields, ctx.actor, source="process",
                                     instance_id=ctx.instance_id)
    except Exception as exc:  # validation problems become the script's error
        raise _plain(exc) from None


def create_record(module: str, **fields) -> str:
    """Create a record in `module` (its bindings fire); returns its id."""

    ctx = _ctx(writes=True)
    try:
        rec = _records.create_record(module, fields, ctx.actor, source="process")
    except Exception as exc:
        raise _plain(exc) from None
    return rec.id


def convert_lead(deal_name: str | None = None, amount=None) -> dict:
    """Turn the linked lead into an account, a contact and optionally a deal; mark it converted."""

    ctx = _ctx(writes=True)
    lead = _linked()
    if lead.module != "Leads":
        raise ActionError("convert_lead works on Leads records")
    if lead.data.get("converted"):
        raise ActionError("the lead is already converted")
    data = lead.data
    try:
        account = _records.create_record(
            "Accounts", {"account_name": data.get("company") or f"{data.get('last_name')} (account)",
                         "phone": data.get("phone")}, ctx.actor, owner=lead.owner, source="process")
        contact = _records.create_record(
            "Contacts", {"first_name": data.get("first_name"), "last_name": data.get("last_name"),
                         "email": data.get("email"), "phone": data.get("phone"), "account": account.id},
            ctx.actor, owner=lead.owner, source="process")
        ids = {"account_id": account.id, "contact_id": contact.id, "deal_id": None}
        if deal_name:
            deal = _records.create_record(
                "Deals", {"deal_name": deal_name, "amount": amount, "stage": "Qualification",
                          "account": account.id, "contact": contact.id}, ctx.actor, owner=lead.owner,
                source="process")
            ids["deal_id"] = deal.id
        _records.update_record("Leads", lead.id, {"converted": True, "lead_status": "Converted"},
                                     ctx.actor, source="process", instance_id=ctx.instance_id)
    except ActionError:
        raise
    except Exception as exc:
        raise _plain(exc) from None
    add_event(lead, "converted", ctx.actor, ids, ctx.instance_id)
    return ids


def set_owner(username: str) -> str:
    """Make `username` the linked record's owner."""
    ctx = _ctx(writes=True)
    rec = _linked()
    if db.session.scalar(select(User.id).where(User.username == username)) is None:
        raise ActionError(f"no user {username}")
    if rec.owner != username:
        from .timeline import add_event
        add_event(rec, "owner_assigned", ctx.actor, {"from": rec.owner, "to": username}, ctx.instance_id)
        rec.owner = username
    return username


def assign_round_robin(group: str) -> str:
    """The next member of `group`, in turn, becomes the record's owner."""
    _ctx(writes=True)
    members = sorted(db.session.scalars(select(User.username).join(User.groups).where(Group.name == group)))
    if not members:
        raise ActionError(f"group {group!r} has no members")
    name = f"round_robin:{group}"
    counter = db.session.get(Counter, name)
    if counter is None:
        counter = Counter(name=name, value=0)
        db.session.add(counter)
    chosen = members[counter.value % len(members)]
    counter.value += 1
    return set_owner(chosen)


def assign_by_field(field: str, mapping: dict, default: str | None = None) -> str:
    """The owner chosen by the value of `field`, e.g. {"EU": "anna", "NA": "bob"}."""
    value = _linked().data.get(field)
    chosen = mapping.get(value, default) if isinstance(mapping, dict) else default
    if not chosen:
        raise ActionError(f"no owner for {field}={value!r} and no default")
    return set_owner(chosen)


def manager_of(username: str | None = None) -> str | None:
    """A user's manager (default: the linked record owner's)."""
    username = username or _linked().owner
    return db.session.scalar(select(User.manager).where(User.username == username))


def create_crm_task(subject: str, owner: str | None = None, due_in_days: int | None = None,
                    kind: str | None = None) -> str:
    """A to-do for a user (default: the record owner) linked to the record; `kind` `call` or `meeting`
    makes completing it log a call or a meeting on the record's timeline."""
    import datetime as dt

    if kind is not None and kind not in TASK_KINDS:
        raise ActionError(f"a CRM to-do's kind is one of {', '.join(TASK_KINDS)} (or none), not {kind!r}")
    ctx = _ctx(writes=True)
    rec = _linked() if ctx.record_id else None
    owner = owner or (rec.owner if rec else ctx.actor.username)
    if "{" in str(subject):  # a template over the record, as an email's subject
        subject = _render(str(subject), _template_scope() if rec else {})[:255]
    due = (utcnow() + dt.timedelta(days=int(due_in_days))).date() if due_in_days is not None else None
    task = CrmTask(subject=str(subject), owner=owner, record_id=rec.id if rec else None,
                   module=rec.module if rec else None, instance_id=ctx.instance_id, due_date=due, kind=kind)
    db.session.add(task)
    db.session.flush()
    if rec is not None:
        add_event(rec, "task_created", ctx.actor, {"task_id": task.id, "subject": task.subject, "owner": owner,
                                                   "due_date": due.isoformat() if due else None}, ctx.instance_id)
    return task.id


def _render(template: str, scope: dict, *, html: bool = False) -> str:
    """`template` over `scope` in the bounded sandbox (app/crm/templates.py); a template past its time or
    output limit, or one the sandbox refuses, fails the step with an incident that says which.

    `html`: the template is an HTML body, whose values are escaped as they go in: a record's field can add
    text to an email, never markup or a link (which tracking would sign)."""
    limits = TemplateLimits(max_seconds=current_app.config["TEMPLATE_MAX_SECONDS"],
                            max_output=current_app.config["TEMPLATE_MAX_OUTPUT"])
    if html:
        template = "{% autoescape true %}" + template + "{% endautoescape %}"
    try:
        return render_template(template, scope, limits)
    except (TemplateLimitError, TemplateRefusedError) as exc:
        raise ActionError(f"template cannot be rendered: {exc}") from None


class _Shown(dict):
    """A user or related record in a template: `{{ owner }}` shows `shown`, `{{ owner.email }}` a key."""

    def __init__(self, shown, values: dict):
        super().__init__(values)
        self.shown = "" if shown is None else str(shown)

    def __str__(self) -> str:
        return self.shown


def _person(username: str | None) -> _Shown:
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    values = {"username": username, "email": None, "name": username, "manager": None}
    if user is not None:
        values.update(email=user.email, manager=user.manager)
    return _Shown(username, values)


def _template_scope() -> dict:
    """What a template over the linked record sees: its fields, `record`, `owner` and related records."""
    scope = record()
    scope["record"] = dict(scope)
    scope["owner"] = _person(scope.get("owner"))
    module = db.session.scalar(select(Module).where(Module.api_name == scope.get("module")))
    for field in (module.fields if module is not None else []):
        value = scope.get(field["name"])
        if field.get("type") == "lookup" and isinstance(value, str):
            related = db.session.get(Record, value)
            if related is not None:
                scope[field["name"]] = _Shown(value, dict(related.data, id=related.id, owner=related.owner))
        elif field.get("type") == "user" and isinstance(value, str):
            scope[field["name"]] = _person(value)
    return scope


def _recipients(to) -> list[str]:
    names = to if isinstance(to, (list, tuple)) else [part.strip() for part in str(to).split(",")]
    out = []
    for name in names:
        if not name:
            continue
        if name.startswith("group:"):
            members = db.session.scalars(select(User.email).join(User.groups).where(
                Group.name == name[len("group:"):], User.email.is_not(None))).all()
            if not members:
                raise ActionError(f"{name} has no member with an email address")
            out.extend(sorted(members))
            continue
        if name in {"owner", "owner_manager"}:
            username = _linked().owner
            if name == "owner_manager":
                username = manager_of(username)
            if not username:
                raise ActionError(f"{name} has no user")
            name = username
        if "@" in name:
            out.append(name)
            continue
        email = db.session.scalar(select(User.email).where(User.username == name))
        if not email:
            raise ActionError(f"user {name} has no email address")
        out.append(email)
    if not out:
        raise ActionError("an email needs at least one recipient")
    return out


def _count_call(ctx: StepContext) -> None:
    try:
        outbound.count_call(ctx)
    except outbound.OutboundRefusedError as exc:
        raise ActionError(str(exc)) from None


def send_email(to, subject: str, body: str) -> str:
    """Queue an email rendered from templates over the record; delivered after commit.

    Regarding a record, the email is an `email_sent` touchpoint on its timeline and, when the server
    knows its public address, tracked: its links become click links and an HTML body gets an open
    pixel (app/crm/tracking.py).
    """
    ctx = _ctx(writes=True)
    _count_call(ctx)
    rec = _linked() if ctx.record_id else None
    scope = _template_scope() if rec is not None else {}
    recipients, subject = _recipients(to), _render(subject, scope)
    body = _render(str(body), scope, html=tracking.is_html(str(body)))
    message_id = new_id()
    base_url = current_app.config.get("TRACKING_BASE_URL")
    if rec is not None and base_url:
        secret = current_app.config["SECRET_KEY"]
        body = tracking.instrument(body, base_url, lambda kind, url=None: tracking.sign(secret, kind, message_id, url))
    payload = {"to": recipients, "subject": subject, "body": body}
    if tracking.is_html(body):
        payload["html"] = True  # sent as text/html
    message = OutboxMessage(id=message_id, kind="email", payload=payload,
        instance_id=ctx.instance_id, record_id=ctx.record_id, module=ctx.module, next_attempt_at=utcnow(),
        max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"])
    db.session.add(message)
    db.session.flush()
    if rec is not None:
        add_touchpoint(rec, "email_sent", ctx.actor, subject, {"to": recipients, "message_id": message_id},
                       ctx.instance_id)
        try:
            _records.rescore(rec, "email_sent", ctx.instance_id)
        except Exception as exc:
            raise _plain(exc) from None
    return message.id


def call_webhook(url: str, payload=None) -> str:
    """Queue a signed POST of `payload` (default: the record) to `url`; retried on failure."""
    ctx = _ctx(writes=True)
    try:
        outbound.check_url(url)
    except outbound.OutboundRefusedError as exc:
        raise ActionError(str(exc)) from None
    _count_call(ctx)
    body = payload if payload is not None else (record() if ctx.record_id else {})
    message = OutboxMessage(kind="webhook", payload={"url": str(url), "body": body},
                            instance_id=ctx.instance_id, record_id=ctx.record_id, module=ctx.module,
                            next_attempt_at=utcnow(), max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"])
    db.session.add(message)
    db.session.flush()
    return message.id


def add_note(text: str) -> None:
    """A note on the linked record, as users write them (without author), and on its timeline."""

    ctx = _ctx(writes=True)
    try:
        _notes.write_note(_linked(), str(text), ctx.actor, author=None, instance_id=ctx.instance_id)
    except ValidationError as exc:
        raise _plain(exc) from None


FUNCTIONS = {f.__name__: f for f in (
    record, update_record, create_record, convert_lead, set_owner, assign_round_robin, assign_by_field,
    manager_of, create_crm_task, send_email, call_webhook, add_note)}


def register(registry: FunctionRegistry) -> None:
    """Offer the CRM functions to scripts, conditions and service tasks."""
    for name, function in FUNCTIONS.items():
        registry.register(name, function, safe=True)
    registry.register("rule_next_due", rule_next_due, safe=True)
