"""Scoring rules per module, and the score they give a record.

An admin configures, per module, criteria worth points (positive or negative: `annual_revenue >=
10000000` → 40, `lead_status == 'Lost'` → -50) and points per touchpoint type (`email_opened` → 5);
touchpoints are the record's timeline events of those types, posted by integrations or recorded by
the server itself (`SERVER_TOUCHPOINTS`, README: "Touchpoints"). The score is recomputed from scratch
(the criteria the record matches now, plus every touchpoint on its timeline) by the one write path
(`records`) on every create and edit, and after each touchpoint, so it never drifts from its rules.
Criteria are checked when saved and evaluated in the engine's sandbox, as validation rules are; one
that cannot be evaluated on a record simply does not match it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..errors import NotFoundError, ValidationError
from ..extensions import db
from ..models import Module, RecordEvent, ScoringRules
from .access import require_admin
from .core import Actor, engine, utcnow, write_transaction

TOUCHPOINT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SCORE_TYPES = {"number"}
MAX_CRITERIA = 100
MAX_TOUCHPOINTS = 50
MAX_POINTS = 1_000_000
# Every timeline entry type the server writes itself that is no touchpoint: neither scored nor posted.
SYSTEM_EVENTS = {"created", "updated", "deleted", "process_started", "process_ended", "score_changed",
                 "owner_assigned", "task_created", "task_updated", "task_completed", "task_reopened", "converted",
                 "note", "note_edited", "note_deleted", "attachment_added", "attachment_deleted",
                 "approval_submitted", "approval_recalled", "approval_approved", "approval_rejected",
                 "approval_delegated", "rule_failed", "rule_cancelled", "email_delivered", "email_failed",
                 "webhook_called", "webhook_failed"}
# The touchpoints the server records from its own evidence (the step that queued an email, its tracking
# links, a message it correlated, a form completed, a webhook delivered, a stage reached): scoring rules
# may give them points, but an integration may not post them (they would pass for the server's own).
# `call_logged` and `meeting_logged` are recorded by the server too (a CRM to-do of that kind completed)
# and may also be posted by an integration (a phone system logging a call).
SERVER_TOUCHPOINTS = {"email_sent", "email_opened", "email_clicked", "stage_changed", "form_submitted",
                      "message_received", "webhook_delivered"}


def scorable(kind: str) -> bool:
    """Whether scoring rules may give points to touchpoints of type `kind`."""
    return bool(TOUCHPOINT_NAME.match(kind or "")) and kind not in SYSTEM_EVENTS


def postable(kind: str) -> bool:
    """Whether an integration may post a touchpoint of type `kind`."""
    return scorable(kind) and kind not in SERVER_TOUCHPOINTS


@dataclass
class Score:
    """A record's score as its module's rules give it now."""

    field: str
    value: int | float
    matched: list[dict] = field(default_factory=list)
    touchpoints: list[dict] = field(default_factory=list)


def _module(api_name: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.api_name == api_name))
    if module is None:
        raise NotFoundError(f"no module {api_name!r}")
    return module


def _view(module: str, rules: ScoringRules | None) -> dict:
    if rules is None:
        return {"module": module, "field": "score", "criteria": [], "touchpoints": {}, "updated_by": None,
                "updated_at": None}
    return {"module": module, "field": rules.field, "criteria": rules.criteria, "touchpoints": rules.touchpoints,
            "updated_by": rules.updated_by, "updated_at": rules.updated_at}


def get_scoring(module: str, actor: Actor) -> dict:
    """A module's scoring rules (empty when it is not scored)."""
    mod = _module(module)
    return _view(mod.api_name, db.session.get(ScoringRules, mod.api_name))


def set_scoring(module: str, data: dict, actor: Actor) -> dict:
    """Replace a module's scoring rules (admins); criteria that cannot run are refused naming the rule.

    Records are rescored as they are next written or touched.
    """
    require_admin(actor, "configure scoring rules")
    mod = _module(module)
    score_field = data.get("field") or "score"
    criteria, touchpoints = _checked(mod, score_field, data.get("criteria") or [], data.get("touchpoints") or {})
    with write_transaction():
        rules = db.session.get(ScoringRules, mod.api_name)
        if rules is None:
            rules = ScoringRules(module=mod.api_name)
            db.session.add(rules)
        rules.field, rules.criteria, rules.touchpoints = score_field, criteria, touchpoints
        rules.updated_by, rules.updated_at = actor.username, utcnow()
    return _view(mod.api_name, rules)


def _checked(mod: Module, score_field: str, criteria: list, touchpoints: dict) -> tuple[list, dict]:
    errors: dict[str, list[str]] = {}
    fields = {f["name"]: f for f in mod.fields}
    if fields.get(score_field, {}).get("type") not in SCORE_TYPES:
        errors["field"] = [f"{score_field!r} is not a number field of {mod.api_name}"]
    if len(criteria) > MAX_CRITERIA:
        errors["criteria"] = [f"at most {MAX_CRITERIA} criteria"]
    out, names = [], set()
    for i, rule in enumerate(criteria[:MAX_CRITERIA]):
        key = f"criteria[{i}]"
        name = str(rule.get("name") or "").strip()
        label = repr(name) if name else f"#{i + 1}"
        problems = []
        if not name:
            problems.append("a rule needs a name")
        elif name in names:
            problems.append(f"rule {label}: a second rule of that name")
        names.add(name)
        expression = str(rule.get("expression") or "").strip()
        try:
            engine().check_expression(expression)
            if not expression:
                raise ValueError("empty expression")
        except Exception as exc:
            problems.append(f"rule {label}: expression cannot run: {exc}")
        points = rule.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or abs(points) > MAX_POINTS:
            problems.append(f"rule {label}: points must be a whole number between -{MAX_POINTS} and {MAX_POINTS}")
        if problems:
            errors[key] = problems
        out.append({"name": name, "expression": expression, "points": points})
    if len(touchpoints) > MAX_TOUCHPOINTS:
        errors["touchpoints"] = [f"at most {MAX_TOUCHPOINTS} touchpoint types"]
    for kind, points in touchpoints.items():
        if not scorable(kind):
            errors.setdefault(f"touchpoints.{kind}", []).append(
                "a touchpoint type is lower_snake_case and not one of the server's own timeline entries "
                "that are no touchpoints")
        if isinstance(points, bool) or not isinstance(points, int) or abs(points) > MAX_POINTS:
            errors.setdefault(f"touchpoints.{kind}", []).append(
                f"points must be a whole number between -{MAX_POINTS} and {MAX_POINTS}")
    if errors:
        broken = [c["name"] for i, c in enumerate(out) if f"criteria[{i}]" in errors and c["name"]]
        raise ValidationError("invalid scoring rules" + (f": {', '.join(map(repr, broken))}" if broken else ""),
                              errors=errors)
    return out, dict(touchpoints)


def score_of(module: Module, data: dict, owner: str | None, record_id: str | None) -> Score | None:
    """The score `module`'s rules give a record with `data` (None when the module is not scored).

    `record_id` is None for a record not created yet: it has no touchpoints.
    """
    rules = db.session.get(ScoringRules, module.api_name)
    if rules is None:
        return None
    scope = {f["name"]: None for f in module.fields}
    scope.update(data)
    scope["owner"] = owner
    evaluate = engine().evaluate_expression
    total, matched = 0, []
    for rule in rules.criteria:
        try:
            holds = bool(evaluate(rule["expression"], scope))
        except Exception:  # a criterion that cannot be evaluated on this record does not match it
            holds = False
        if holds:
            total += rule["points"]
            matched.append({"rule": rule["name"], "points": rule["points"]})
    touched = []
    if record_id is not None and rules.touchpoints:
        counts = dict(db.session.execute(
            select(RecordEvent.type, func.count(RecordEvent.id))
            .where(RecordEvent.record_id == record_id, RecordEvent.type.in_(list(rules.touchpoints)))
            .group_by(RecordEvent.type)).all())
        for kind, points in sorted(rules.touchpoints.items()):
            if counts.get(kind):
                total += points * counts[kind]
                touched.append({"touchpoint": kind, "count": counts[kind], "points": points * counts[kind]})
    return Score(rules.field, total, matched, touched)


def change_entry(old, score: Score) -> dict:
    """The `score_changed` timeline entry's data: old and new score, and what gave the new one."""
    return {"field": score.field, "old": old, "new": score.value, "matched": score.matched,
            "touchpoints": score.touchpoints}
