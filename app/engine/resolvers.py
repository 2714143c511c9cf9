"""Run-time resolvers: a user task's assignee, candidates, priority and due dates from what its diagram says.

At deploy the parser records an element's values as written (a name, `${owner}`, `= approvers`, `P2D`);
when a task is created these read them against the task's data (the services use `resolve_assignment`
for an external task's topic and priority too). A property path is read directly, any other expression
runs in a function-free sandbox; what cannot be resolved gives None (or the default priority), never an
error.
"""
from __future__ import annotations

import datetime as dt

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .expressions import TranslationError, is_modeler_expression, property_path, translate
from .sandbox import Sandbox, ScriptError


def split_candidates(value: str | None) -> list[str]:
    """A candidate list as written: `a, b, ${c}` (commas inside `${...}` kept), or one FEEL `= ...`
    expression, which may give a list (`= ["sales", "managers"]`)."""
    text = (value or "").strip()
    if text.startswith("="):
        return [text]
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}" and depth > 0
        current += ch
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


_ASSIGNMENT_SANDBOX = Sandbox()  # no functions: assignment expressions only read task data


def resolve_assignment(value: str | None, data: dict) -> str | None:
    """A literal name, or the value of a `${...}` (or FEEL `= ...`) expression over the task's data.

    A property path (`${owner}`, `${approval.approver}`, `${approvers[0]}`) is read directly;
    any other translatable expression (`${region == 'EU' ? 'eu_team' : 'team'}`) runs in a
    function-free sandbox. A missing variable or a failing expression gives None.
    """
    if not value:
        return None
    if not is_modeler_expression(value):
        return value
    current = _expression_value(value, data)
    return None if current is None else str(current)


def _expression_value(value: str, data: dict):
    """The value of a modeler expression over `data`: a property path read directly, anything else
    evaluated in the function-free sandbox; None when it cannot be evaluated."""
    try:
        path = property_path(value)
        return _ASSIGNMENT_SANDBOX.evaluate(translate(value), data) if path is None else _read_path(data, path)
    except (TranslationError, ScriptError):
        return None


def resolve_candidates(values, data: dict) -> list[str]:
    """Candidate users or groups: literal names, and expressions giving a name, a list of names or
    a comma-separated text of names (as Camunda accepts)."""
    names: list[str] = []
    for value in values or ():
        if not is_modeler_expression(value):
            names.append(value)
            continue
        current = _expression_value(value, data)
        if isinstance(current, (list, tuple)):
            names.extend(str(item) for item in current if item not in (None, ""))
        elif current not in (None, ""):
            names.extend(split_candidates(str(current)))
    return list(dict.fromkeys(names))


def _read_path(data: dict, path: list[str | int]):
    current = data
    for part in path:
        if isinstance(part, str) and isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(part, int) and isinstance(current, list) and -len(current) <= part < len(current):
            current = current[part]
        else:
            return None
    return current


def resolve_priority(value: str | None, data: dict) -> int:
    """A task's priority from camunda:priority: an integer or `${variable}`; default (or unreadable) 50."""
    raw = resolve_assignment(value, data) if value else None
    try:
        return int(str(raw).strip()) if raw is not None else 50
    except ValueError:
        try:
            return int(float(raw))
        except (TypeError, ValueError):
            return 50


def resolve_due_date(value: str | None, data: dict, now: dt.datetime) -> dt.datetime | None:
    """A task's due time from camunda:dueDate: an ISO date-time, an ISO duration
    from now (P2D, PT4H), or `${variable}` holding either. Unreadable → None."""
    raw = resolve_assignment(value, data) if value else None
    if not raw:
        return None
    try:
        if raw.startswith("P"):
            return now + TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(raw), now)
        when = dt.datetime.fromisoformat(raw)
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    except (ValueError, TypeError, AttributeError):
        return None


def resolve_external_task(external: dict, variables: dict) -> dict:
    """An external task's topic and priority: literal, or expressions over the instance's variables
    (camunda:topic="${region}-billing", camunda:taskPriority="${urgency}"); priority 0 by default."""
    topic = external["topic"]
    resolved = resolve_assignment(topic, variables) if is_modeler_expression(topic) else topic
    return {"topic": resolved or topic, "priority": priority_of({"external": external}, variables)}


_INT32 = (-2**31, 2**31 - 1)  # the priority column's range


def priority_of(element: dict, variables: dict) -> int:
    """An external task's priority from its element's camunda:taskPriority (`element["external"]["priority"]`).

    The value is an integer or a `${variable}` expression read from the
    instance's variables when the task is created; like Camunda, a task
    without one has priority 0. An expression that does not give a number
    gives 0 too (Camunda would fail the instance), and the result is kept
    within the column's 32-bit range.
    """
    raw = ((element or {}).get("external") or {}).get("priority")
    value = resolve_assignment(str(raw), variables or {}) if raw not in (None, "") else None
    if value is None:
        return 0
    try:
        number = int(value.strip())
    except ValueError:
        try:
            number = int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0
    return min(max(number, _INT32[0]), _INT32[1])
