"""The actions of a workflow rule, checked one schema per action type.

`load_action(action, context)` picks the schema for the action's `type` and
returns (the cleaned action, None) or (None, {key: [messages]}). The keys are
the action's own (`subject`, `to`, ...); app/services/workflow_rules.py puts
them under `actions[i].`. What needs the database (users, the module's
fields, record references) comes in through an `ActionContext`, so these
schemas only say what a valid action is.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from marshmallow import Schema, ValidationError, pre_load, validates, validates_schema
from marshmallow import fields as ma

from ..crm import FieldError, clean_values
from ..crm.templates import template_problem

ACTION_TYPES = ("field_update", "email", "task", "webhook", "assign_owner")
MAX_SUBJECT = {"email": 998, "task": 255}
MAX_BODY = 32_000
MAX_URL = 2_000
MAX_DUE_DAYS = 3_650
SPECIAL_RECIPIENTS = {"owner", "owner_manager"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Characters XML 1.0 cannot hold (C0 controls but tab/newline/return, lone surrogates, U+FFFE/FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_RECIPIENTS = "required: owner, owner_manager, usernames or addresses (a list or comma-separated)"


@dataclass(frozen=True)
class ActionContext:
    """What checking an action needs to know about the rule and the database."""

    module: Any | None  # the rule's Module (api_name, fields), or None when the rule names no known module
    event: str | None
    user_exists: Callable[[str], bool]
    user_has_email: Callable[[str], bool]
    record_exists: Callable[[str, str, str | None], bool]  # clean_values' `exists`
    url_problem: Callable[[str], str | None] = lambda url: None  # why the server may not call a URL (allow list)
    group_has_members: Callable[[str], bool] = lambda group: True  # round robin needs someone to assign




def text_problem(value, limit: int) -> str | None:
    """Why `value` is not a text of at most `limit` characters (blank text counts as missing)."""
    if not isinstance(value, str) or not value.strip():
        return "required"
    if len(value) > limit:
        return f"at most {limit} characters"
    return None


def _raise(problem: str | None) -> None:
    if problem:
        raise ValidationError(problem)


def _text(limit: int, *checks: Callable[[str], str | None], **kwargs) -> ma.String:
    """A required text field: "required" when missing, null, not a string or blank; then each check in turn."""
    def validate(value: str) -> None:
        _raise(text_problem(value, limit) or next((p for check in checks if (p := check(value))), None))

    messages = {"required": "required", "null": "required", "invalid": "required"}
    return ma.String(required=True, validate=validate, error_messages=messages, **kwargs)


class _Recipients(ma.Field):
    """`to`: a list or a comma-separated string of names, loaded as a list without blanks or repeats."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        if isinstance(value, str):
            names = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list) and all(isinstance(n, str) for n in value):
            names = [n.strip() for n in value if n.strip()]
        else:
            raise ValidationError(_RECIPIENTS)
        return list(dict.fromkeys(names))


class _TaskOwner(ma.Field):
    """`owner`: a username; empty or `owner` means the record owner (None)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return None if not value or value == "owner" else value


class _ActionSchema(Schema):
    """What every action has: its `type`, no other keys than its own, and text that XML can hold."""

    kind = ""
    type = ma.String(required=True)
    # When the action runs, if not at once: checked by the service (app/schemas/workflow_rule_schedules.py).
    schedule = ma.Raw(load_default=None, allow_none=True)

    def __init__(self, context: ActionContext, **kwargs):
        super().__init__(**kwargs)
        self.action_context = context

    @pre_load
    def _xml_text_only(self, data: dict, **_kwargs) -> dict:
        """Control characters are refused before anything else is checked (with the action's unknown keys)."""
        bad = [key for key, value in data.items()
               if any(isinstance(t, str) and NOT_XML.search(t) for t in (value if isinstance(value, list) else [value]))]
        if bad:
            errors = {key: [self.error_messages["unknown"]] for key in data if key not in self.load_fields}
            for key in bad:
                errors.setdefault(key, []).append("control characters (other than tab and newline) are not allowed")
            raise ValidationError(errors)
        return data


class FieldUpdateActionSchema(_ActionSchema):
    """`update_record(**{field: value})`: the value must pass the field's checks; null clears it."""

    kind = "field_update"
    error_messages = {"unknown": "not a key of a field_update action"}
    field = ma.String(required=True, validate=lambda v: _raise(None if v else "required"),
                      error_messages={"required": "required", "null": "required", "invalid": "required"})
    value = ma.Raw(allow_none=True)

    @validates("field")
    def _a_field_of_the_module(self, value: str, **_kwargs) -> None:
        module = self.action_context.module
        if module is not None and value not in {f["name"] for f in module.fields}:
            raise ValidationError(f"not a field of {module.api_name}")

    @validates_schema(skip_on_field_errors=False)
    def _a_valid_value_and_not_on_delete(self, data: dict, **_kwargs) -> None:
        """The value is checked once the field is known good; a delete rule updates nothing."""
        errors: dict[str, list[str]] = {}
        module = self.action_context.module
        if "field" not in data:
            pass
        elif "value" not in data:
            errors["value"] = ["required (null clears the field)"]
        elif module is not None:
            field = data["field"]
            try:
                cleaned = clean_values(module.fields, {field: data["value"]}, partial=True,
                                       exists=self.action_context.record_exists)[field]
            except FieldError as exc:
                errors["value"] = exc.errors.get(field, []) or ["invalid"]
            else:
                data["value"] = cleaned  # what the field's checks made of it is what the rule writes
        if self.action_context.event == "delete":
            errors["type"] = ["a delete rule cannot update the record it deletes"]
        if errors:
            raise ValidationError(errors)


class EmailActionSchema(_ActionSchema):
    """`send_email(to, subject, body)`: subject and body are Jinja templates over the record's fields."""

    kind = "email"
    error_messages = {"unknown": "not a key of a email action"}
    to = _Recipients(required=True, error_messages={"required": _RECIPIENTS, "null": _RECIPIENTS})
    subject = _text(MAX_SUBJECT["email"], lambda s: "one line" if "\n" in s or "\r" in s else None,
                    template_problem)
    body = _text(MAX_BODY, template_problem)

    @validates("to")
    def _known_recipients(self, names: list[str], **_kwargs) -> None:
        problems = [] if names else ["required: at least one recipient"]
        for name in names:
            if name in SPECIAL_RECIPIENTS:
                continue
            if "@" in name:
                if not _EMAIL.match(name):
                    problems.append(f"{name!r} is not an email address")
            elif not self.action_context.user_has_email(name):
                problems.append(f"{name!r} is not a user with an email address")
        if problems:
            raise ValidationError(problems)


class TaskActionSchema(_ActionSchema):
    """`create_crm_task(subject, owner, due_in_days)`: owner defaults to the record owner; the subject is a
    template like an email's."""

    kind = "task"
    error_messages = {"unknown": "not a key of a task action"}
    subject = _text(MAX_SUBJECT["task"], template_problem)
    owner = _TaskOwner(allow_none=True, load_default=None)
    due_in_days = ma.Integer(strict=True, allow_none=True, load_default=None, error_messages={"invalid": f"a whole number of days from 0 to {MAX_DUE_DAYS}"})

    @validates("owner")
    def _a_known_user(self, owner, **_kwargs) -> None:
        if owner is not None and (not isinstance(owner, str) or not self.action_context.user_exists(owner)):
            raise ValidationError(f"no user {owner}")

    @validates("due_in_days")
    def _in_range(self, due, **_kwargs) -> None:
        if due is not None and not 0 <= due <= MAX_DUE_DAYS:
            raise ValidationError(f"a whole number of days from 0 to {MAX_DUE_DAYS}")


def _url_problem(url: str) -> str | None:
    if not url:
        return "required"
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or any(c.isspace() for c in url):
        return "must be an http:// or https:// URL with a host"
    return None


class WebhookActionSchema(_ActionSchema):
    """`call_webhook(url)`: the record is the payload."""

    kind = "webhook"
    error_messages = {"unknown": "not a key of a webhook action"}
    url = ma.String(required=True, validate=lambda u: _raise(_url_problem(u)),
                    error_messages={"required": "required", "null": "required", "invalid": "required"})

    @validates("url")
    def _an_allowed_host(self, url: str, **_kwargs) -> None:
        """Checked again when the rule runs and when the call is delivered: the list may change."""
        _raise(self.action_context.url_problem(url))


class AssignOwnerActionSchema(_ActionSchema):
    """A new owner: `user`, round robin among a `group`'s members, or by a `field`'s value (`mapping`,
    with an optional `default` user)."""

    kind = "assign_owner"
    error_messages = {"unknown": "not a key of an assign_owner action"}
    user = ma.String(load_default=None, allow_none=True)
    group = ma.String(load_default=None, allow_none=True)
    field = ma.String(load_default=None, allow_none=True)
    mapping = ma.Dict(keys=ma.String(), values=ma.String(), load_default=None, allow_none=True)
    default = ma.String(load_default=None, allow_none=True)

    @validates("user")
    def _a_user(self, user, **_kwargs) -> None:
        if user is not None and not self.action_context.user_exists(user):
            raise ValidationError(f"no user {user}")

    @validates("group")
    def _a_group_with_members(self, group, **_kwargs) -> None:
        if group is not None and not self.action_context.group_has_members(group):
            raise ValidationError(f"no group {group} with members")

    @validates("default")
    def _a_default_user(self, user, **_kwargs) -> None:
        if user is not None and not self.action_context.user_exists(user):
            raise ValidationError(f"no user {user}")

    @validates("field")
    def _a_field_of_the_module(self, value, **_kwargs) -> None:
        module = self.action_context.module
        if value is not None and module is not None and value not in {f["name"] for f in module.fields}:
            raise ValidationError(f"not a field of {module.api_name}")

    @validates("mapping")
    def _known_users(self, mapping, **_kwargs) -> None:
        if mapping is None:
            return
        if not mapping or len(mapping) > 200:
            raise ValidationError("from 1 to 200 values, each to a username")
        if any(NOT_XML.search(text) or len(text) > 255 for pair in mapping.items() for text in pair):
            raise ValidationError("values and usernames of at most 255 printable characters")
        unknown = sorted({u for u in mapping.values() if not self.action_context.user_exists(u)})
        if unknown:
            raise ValidationError(f"no user {', '.join(unknown)}")

    @validates_schema(skip_on_field_errors=True)
    def _one_way(self, data: dict, **_kwargs) -> None:
        ways = [key for key in ("user", "group", "field") if data.get(key) is not None]
        if len(ways) != 1:
            raise ValidationError({"type": ["assign_owner names exactly one of user, group (round robin) or "
                                            "field (with mapping)"]})
        if ways == ["field"] and data.get("mapping") is None:
            raise ValidationError({"mapping": ["required with field: {value: username}"]})
        if ways != ["field"] and (data.get("mapping") is not None or data.get("default") is not None):
            raise ValidationError({"mapping": ["only with field"]})
        if self.action_context.event == "delete":
            raise ValidationError({"type": ["a delete rule cannot assign the record it deletes"]})


ACTION_SCHEMAS: dict[str, type[_ActionSchema]] = {
    schema.kind: schema for schema in (FieldUpdateActionSchema, EmailActionSchema, TaskActionSchema,
                                       WebhookActionSchema, AssignOwnerActionSchema)}


def load_action(action, context: ActionContext) -> tuple[dict | None, dict[str, list[str]]]:
    """(the cleaned action, {}) or (None, {key: [messages]}); the key "" is the action itself."""
    if not isinstance(action, dict):
        return None, {"": ["must be an object with a `type`"]}
    schema = ACTION_SCHEMAS.get(action.get("type"))
    if schema is None:
        return None, {"type": [f"must be one of {', '.join(ACTION_TYPES)}"]}
    try:
        return schema(context).load(action), {}
    except ValidationError as exc:
        return None, exc.normalized_messages()
