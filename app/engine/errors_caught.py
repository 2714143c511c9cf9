"""Errors and escalations caught as Camunda 7 catches them.

- The most specific catch wins: of the boundary events (or event sub-process starts) of one scope that can
  catch an error, those naming its code catch it, and one without a code only when none names it.
  SpiffWorkflow let every match catch, so a specific boundary event and a catch-all both fired.
- `camunda:errorCodeVariable` and `camunda:errorMessageVariable` on an error event definition (and
  `camunda:escalationCodeVariable` on an escalation one) name the variables the catching event sets to the
  code and message caught. The parser keeps the names in the catching event's spec extensions
  (`mark`); the message is the worker's `errorMessage` of a BPMN error, else the error's
  `camunda:errorMessage`, as Camunda gives it.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.util.event import EventManager

__all__ = ["CodeAwareEventManager", "mark"]

_CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_VARIABLES = {"errorEventDefinition": (("errorCodeVariable", "stagecoach:code_variable"),
                                       ("errorMessageVariable", "stagecoach:message_variable")),
              "escalationEventDefinition": (("escalationCodeVariable", "stagecoach:code_variable"),)}


def mark(extensions, node) -> dict:
    """The extensions of a catching event's spec, with the variables its error or escalation definition
    names for what it catches."""
    for tag, names in _VARIABLES.items():
        definition = node.find(f"{{{_BPMN}}}{tag}")
        if definition is None:
            continue
        for attribute, key in names:
            name = (definition.get(f"{{{_CAMUNDA}}}{attribute}") or "").strip()
            if name:
                extensions = {**(extensions or {}), key: name}
    return extensions


class CodeAwareEventManager(EventManager):
    """SpiffWorkflow's event manager, with the most specific catch of an error or escalation."""

    def catch(self, event, internal=True):
        if not isinstance(event.event_definition, CodeEventDefinition) or event.target is None:
            return super().catch(event, internal)
        tasks = [t for t in self.tasks.values() if t.workflow == event.target
                 and t.task_spec.event_definition.catches(t, event)]
        if not tasks:
            event.target = event.target.parent_workflow
            return self.catch(event, internal)  # up a scope; past the top, the process's event sub-processes
        code = event.event_definition.code
        specific = [t for t in tasks if t.task_spec.event_definition.code is not None
                    and t.task_spec.event_definition.code == code]
        for task in specific or tasks:
            task.task_spec.catch(task, event)
            _set_variables(task, code, getattr(event, "message", None))
            task.task_spec._update(task)
        return len(specific or tasks)


def _set_variables(task, code, message) -> None:
    """Add the code and message variables to what the catching event sets when it runs (the payload it
    caught, which SpiffWorkflow sets then: set now, they would be overwritten by the data it inherits)."""
    extensions = getattr(task.task_spec, "extensions", None) or {}
    named = {extensions[key]: value for key, value in (("stagecoach:code_variable", code),
                                                        ("stagecoach:message_variable", message))
             if extensions.get(key)}
    if named:
        key = task.task_spec.event_definition.name
        task.internal_data[key] = {**(task.internal_data.get(key) or {}), **named}
