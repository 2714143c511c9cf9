"""Cron timer cycles: `<bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle>`, as Camunda 7 accepts them.

SpiffWorkflow's cycle timers read only ISO 8601 repeating intervals (`R3/PT1H`). Camunda 7 also takes a
Quartz cron expression there (seconds first, `?` for "no specific value", an optional year), and Unix cron
has five fields. `CronTimerEventDefinition` computes the next due time of such a cycle with croniter and
keeps it where SpiffWorkflow keeps the ISO one (`event_value["next"]`), so the server schedules it the
same way; an ISO cycle (or an expression evaluating to one) is left to SpiffWorkflow unchanged.

How often a cron timer fires depends on its event, as in Camunda 7: a timer start event and a
non-interrupting boundary event fire at every occurrence, for ever (`CronTimerEventDefinition`; a start
event starts one run of the process each time); an intermediate catch event and an interrupting boundary
event fire once, at the next occurrence (`CronOnceTimerEventDefinition`, chosen at deploy for a literal
cron cycle; an expression there must give an ISO 8601 cycle). After downtime, missed occurrences fire
once, and the next one is computed from the present.

Times are read in the server's local zone, as SpiffWorkflow reads a date-time without a zone.
"""
from __future__ import annotations

import datetime as dt
import re

from croniter import croniter
from croniter.croniter import CroniterError
from SpiffWorkflow.bpmn.specs.event_definitions import timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import PendingBpmnEvent

from ..clock import utcnow

_FIELDS = re.compile(r"^\S+(\s+\S+){4,6}$")
_QUARTZ_DAY = re.compile(r"^(?P<first>\d+|[A-Za-z]{3})(?:-(?P<last>\d+|[A-Za-z]{3}))?"
                         r"(?P<suffix>L|#\d+)?(?:/(?P<step>\d+))?$")


class CronError(ValueError):
    """A cron expression that cannot be scheduled; the message says why."""


def looks_like_cron(text) -> bool:
    """Five to seven fields: a cron expression, not an ISO 8601 cycle or a modeler expression."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    return bool(_FIELDS.match(text)) and not text.startswith(("${", "#{", "=", "R", "P"))


def _quartz_day_of_week(field: str) -> str:
    """Quartz numbers days 1 (Sunday) to 7 (Saturday), croniter 0 to 6; `6L` (last Friday) is croniter's `L5`."""
    parts = []
    for part in field.split(","):
        if part in {"*", "?"} or part.startswith("*/"):
            parts.append(part)
            continue
        if part.upper() == "L":  # alone: the last day of the week, Saturday
            parts.append("6")
            continue
        match = _QUARTZ_DAY.match(part)
        if match is None:
            raise CronError(f"day of week {part!r} is not a Quartz day (1-7 or SUN-SAT, with -, /, # or L)")

        def day(value: str | None) -> str | None:
            if value is None or not value.isdigit():
                return value
            if not 1 <= int(value) <= 7:
                raise CronError(f"day of week {value} is out of range: Quartz numbers days 1 (Sunday) to 7 (Saturday)")
            return str(int(value) - 1)

        first, last, suffix, step = day(match["first"]), day(match["last"]), match["suffix"], match["step"]
        if suffix == "L":
            if last is not None or step is not None:
                raise CronError(f"day of week {part!r}: L takes one day (6L: the last Friday)")
            parts.append(f"L{first}")
            continue
        text = first + (f"-{last}" if last is not None else "") + (suffix or "") + (f"/{step}" if step else "")
        parts.append(text)
    return ",".join(parts)


def _normalized(expression: str) -> str:
    """The expression for croniter with seconds first: Quartz (6 or 7 fields) or Unix (5 fields)."""
    fields = expression.split()
    if len(fields) == 5:
        return " ".join(["0", *fields])
    if len(fields) in (6, 7):
        fields[5] = _quartz_day_of_week(fields[5])
        return " ".join(fields)
    raise CronError("a cron expression has 5 fields (Unix) or 6 to 7 (Quartz: seconds first, year last)")


def next_occurrence(expression: str, after: dt.datetime) -> dt.datetime:
    """The first occurrence of the cron `expression` strictly after `after`, in UTC.

    Raises:
        CronError: the expression cannot be read, or has no occurrence after `after`.
    """
    local = after.astimezone(timer.LOCALTZ)
    try:
        found = croniter(_normalized(expression.strip()), local, second_at_beginning=True).get_next(dt.datetime)
    except CronError:
        raise
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        reason = re.sub(r"^\[[^]]*\]\s*", "", str(exc)).strip() or type(exc).__name__
        if "failed to find next date" in reason:
            reason = "it has no occurrence after now"
        raise CronError(f"croniter: {reason}") from None
    return found.astimezone(dt.timezone.utc)


def problem(expression: str, now: dt.datetime | None = None) -> str | None:
    """Why `expression` cannot be scheduled, or None when it can."""
    try:
        next_occurrence(expression, now or utcnow())
    except CronError as exc:
        return str(exc)
    return None


def repeats(task_spec) -> bool:
    """Start events and non-interrupting boundary events fire at every occurrence; other events once."""
    if isinstance(task_spec, StartEvent):
        return True
    return isinstance(task_spec, BoundaryEvent) and not task_spec.cancel_activity


class CronTimerEventDefinition(CycleTimerEventDefinition):
    """The timeCycle of a start or non-interrupting boundary event: a cron expression fires at every
    occurrence, for ever; an ISO 8601 cycle runs as SpiffWorkflow runs it."""

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = utcnow()
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if not looks_like_cron(expression):
                return super().cycle_complete(my_task)
            # "cycles" as SpiffWorkflow keeps it (-1: for ever), "next" where the server reads the due time
            event_value = {"cron": expression.strip(), "cycles": -1,
                           "next": next_occurrence(expression, now).isoformat()}
            my_task._set_internal_data(event_value=event_value)
        elif "cron" not in event_value:
            return super().cycle_complete(my_task)
        if dt.datetime.fromisoformat(event_value["next"]) >= now:
            return False
        following = next_occurrence(event_value["cron"], now)  # missed occurrences fire once
        my_task._set_internal_data(event_value=dict(event_value, next=following.isoformat()))
        return True


class CronOnceTimerEventDefinition(TimerEventDefinition):
    """A cron timeCycle on an intermediate catch or interrupting boundary event: due once, at the next
    occurrence (as a date timer would be)."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = utcnow()
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            event_value = {"cron": expression.strip(), "next": next_occurrence(expression, now).isoformat()}
            my_task._set_internal_data(event_value=event_value)
        if dt.datetime.fromisoformat(event_value["next"]) < now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)

    def details(self, my_task):
        event_value = my_task._get_internal_data("event_value") or {}
        return PendingBpmnEvent(self.name, self.__class__.__name__, event_value.get("next"))
