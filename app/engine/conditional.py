"""Conditional events that wait for their condition, as Camunda's do.

SpiffWorkflow evaluates a conditional event's condition when the event is
reached, and an evaluation error (a variable not set yet) fails the instance.
Here a condition that cannot be evaluated yet simply does not hold: the event
waits, and `runner._fire_conditions` evaluates it again each time the instance
changes.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition

__all__ = ["WaitingConditionalEventDefinition", "adopt"]


class WaitingConditionalEventDefinition(ConditionalEventDefinition):
    """A conditional event whose condition, not evaluable yet, means "not yet"."""

    def has_fired(self, my_task):
        try:
            return super().has_fired(my_task)
        except Exception:  # noqa: BLE001 - an unset variable is a condition not met
            my_task._set_internal_data(has_fired=False)
            return False


def adopt(specs) -> None:
    """Make every conditional event of these process specs a `WaitingConditionalEventDefinition`."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if type(definition) is ConditionalEventDefinition:
                replacement = WaitingConditionalEventDefinition.__new__(WaitingConditionalEventDefinition)
                replacement.__dict__.update(definition.__dict__)
                task_spec.event_definition = replacement
