"""A module's conversion goal: the field value a record converts at, and the values that lose it.

An admin sets one goal per module, e.g. Deals converts when `stage` becomes `Closed Won` and is lost at
`Closed Lost`. It is an equality criterion (`stage == 'Closed Won'`, in the expression format of binding
and scoring criteria) and nothing more general, because the analytics find the moment it first holds
in the timeline, in SQL: a record converts at its first timeline entry that sets the field to the value,
that is a `stage_changed` entry to it (a blueprint moved the record), an `updated` entry whose changes
set it (the API, a process, a rule), or the `created` entry when the record was created with it.
Replaying a whole record from its timeline to evaluate any expression at every entry would read and
rebuild every record of the period in Python.

Reading a goal needs the `analytics` permission on the module (or admin); setting or removing it, admin.
"""
from __future__ import annotations

from sqlalchemy import and_, case, false, or_

from ..errors import NotFoundError, ValidationError
from ..extensions import db
from ..models import ConversionGoal, RecordEvent
from .access import require_admin, require_analytics
from .core import Actor, utcnow, write_transaction
from .modules import get_module

GOAL_FIELD_TYPES = {"picklist", "text"}  # fields whose values are strings, compared as stored
MAX_LOST = 20


def goal_view(goal: ConversionGoal) -> dict:
    return {"module": goal.module, "field": goal.field, "value": goal.value, "lost": list(goal.lost or []),
            "criteria": f"{goal.field} == {goal.value!r}", "updated_by": goal.updated_by,
            "updated_at": goal.updated_at}


def find_goal(module: str) -> ConversionGoal | None:
    """The module's goal, unchecked: for the analytics, which check the caller themselves."""
    return db.session.get(ConversionGoal, module)


def get_goal(module: str, actor: Actor) -> dict:
    """The module's conversion goal (404 when it has none)."""
    mod = get_module(module)
    require_analytics(actor, mod.api_name)
    goal = find_goal(mod.api_name)
    if goal is None:
        raise NotFoundError(f"{mod.api_name} has no conversion goal; an admin sets one with "
                            f"PUT /api/v1/modules/{mod.api_name}/conversion-goal")
    return goal_view(goal)


def set_goal(module: str, data: dict, actor: Actor) -> dict:
    """Set (or replace) the module's conversion goal (admins).

    Raises:
        ValidationError: the field is not a text or picklist field of the module, a value is not one of
            the picklist's, or the goal's value is also listed as lost.
    """
    require_admin(actor, "set a conversion goal")
    mod = get_module(module)
    field, value, lost = data["field"], data["value"], list(dict.fromkeys(data.get("lost") or []))
    errors: dict[str, list[str]] = {}
    spec = next((f for f in mod.fields if f["name"] == field), None)
    if spec is None or spec.get("type") not in GOAL_FIELD_TYPES:
        errors["field"] = [f"{field!r} is not a text or picklist field of {mod.api_name}"]
    elif spec["type"] == "picklist":
        allowed = spec.get("values") or []
        if value not in allowed:
            errors["value"] = [f"not one of {field}'s values: {', '.join(allowed)}"]
        unknown = [v for v in lost if v not in allowed]
        if unknown:
            errors["lost"] = [f"not values of {field}: {', '.join(unknown)}"]
    if value in lost:
        errors.setdefault("lost", []).append(f"{value!r} is the goal; it cannot also lose the record")
    if len(lost) > MAX_LOST:
        errors.setdefault("lost", []).append(f"at most {MAX_LOST} values")
    if errors:
        raise ValidationError("the conversion goal is not valid", errors=errors)
    with write_transaction():
        goal = find_goal(mod.api_name)
        if goal is None:
            goal = ConversionGoal(module=mod.api_name)
            db.session.add(goal)
        goal.field, goal.value, goal.lost = field, value, lost
        goal.updated_by, goal.updated_at = actor.username, utcnow()
    return goal_view(goal)


def delete_goal(module: str, actor: Actor) -> None:
    """Remove the module's conversion goal (admins; 404 when it has none)."""
    require_admin(actor, "remove a conversion goal")
    mod = get_module(module)
    with write_transaction():
        goal = find_goal(mod.api_name)
        if goal is None:
            raise NotFoundError(f"{mod.api_name} has no conversion goal")
        db.session.delete(goal)


# -- the entries that set a field to a value, in SQL -------------------------------------------

# The entries that may set a field's value: a creation, an update, a blueprint's stage change.
SETTING_TYPES = ("created", "updated", "stage_changed")


def sets_field(field: str, values: list[str]):
    """SQL over RecordEvent: the entry sets `field` to one of `values` (a stage change to it, an update
    whose changes set it, a creation with it)."""
    if not values:
        return false()
    data = RecordEvent.data
    return or_(
        and_(RecordEvent.type == "stage_changed", data["field"].as_string() == field,
             data["to"].as_string().in_(values)),
        and_(RecordEvent.type == "updated", data[("changes", field, 1)].as_string().in_(values)),
        and_(RecordEvent.type == "created", data[("fields", field)].as_string().in_(values)),
    )


def stage_value(field: str):
    """SQL over RecordEvent: the value the entry sets `field` to (None when it sets no value of it)."""
    data = RecordEvent.data
    return case(
        (and_(RecordEvent.type == "stage_changed", data["field"].as_string() == field), data["to"].as_string()),
        (RecordEvent.type == "updated", data[("changes", field, 1)].as_string()),
        (RecordEvent.type == "created", data[("fields", field)].as_string()),
        else_=None)
