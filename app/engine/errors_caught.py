"""Errors and escalations caught as Camunda 7 catches them.

- The most specific catch wins: of the boundary events (or event sub-process starts) of one scope that can
  catch an error, those naming its code catch it, and one without a code only when none names it.
  SpiffWorkflow let every match catch, so a specific boundary event and a catch-all both fired.
- `camunda:errorCodeVariable` and `camunda:errorMessageVariable` on an error event definition (and
  `camunda:escalationCodeVariable` on an escalation one) name the variables the catching event sets to the
  code and message caught. The parser keeps the names in the catching event's spec extensions
  (`mark`); the message is the worker's `errorMessage` of a BPMN error (None for an error end event).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.util.task import TaskState

__all__ = ["CodeAwareEventManager", "mark", "most_specific"]

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
        if not isinstance(event.event_definition, CodeEventDefinition):
            return super().catch(event, internal)
        if event.target is not None:  # the scope it was thrown in, then the ones around it
            tasks = [t for t in self.tasks.values() if t.workflow == event.target
                     and t.task_spec.event_definition.catches(t, event)]
            if not tasks:
                event.target = event.target.parent_workflow
                return self.catch(event, internal)  # up a scope; past the top, the process's event sub-processes
        else:  # past the top scope: the process's event sub-processes that catch it
            self._start_event_subprocesses(event)
            tasks = [t for t in self.tasks.values() if t.task_spec.catches(t, event)]
            if not tasks and internal:
                self.workflow.bpmn_events.append(event)
        tasks = most_specific(tasks, event.event_definition.code)
        for task in tasks:
            task.task_spec.catch(task, event)
            _set_variables(task, event.event_definition.code, getattr(event, "message", None))
            task.task_spec._update(task)
        return len(tasks)

    def _start_event_subprocesses(self, event) -> None:
        """SpiffWorkflow's `update_collaboration` for an error or escalation: the event sub-processes naming
        its code start, or, when none does, those catching every code (it started them all)."""
        workflow = self.workflow
        starts = []
        for name in workflow.spec.start.trigger_specs:
            sub_spec = workflow.subprocess_specs.get(name)
            starts.extend((sub_spec, ts) for ts in (sub_spec.bpmn_start_events if sub_spec else [])
                          if ts.event_definition == event.event_definition)
        chosen = most_specific(starts, event.event_definition.code, lambda pair: pair[1].event_definition)
        for sub_spec, start in chosen:
            waiting = next((sp for sp in workflow.subprocesses.values()
                            if sp.get_next_task(state=TaskState.WAITING, spec_name=start.name) is not None), None)
            if waiting is None:
                child_id = workflow.spec.start.trigger_wf(workflow.task_tree, sub_spec.name)
                waiting = workflow.subprocesses[child_id]
            waiting.correlations.update(event.correlations)


def most_specific(catchers: list, code, definition=lambda task: task.task_spec.event_definition) -> list:
    """Of the catchers (tasks, or what `definition` reads an event definition from) that can catch an event
    with `code`, those naming it, else all (the catch-alls)."""
    specific = [c for c in catchers if code is not None and definition(c).code == code]
    return specific or catchers


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
