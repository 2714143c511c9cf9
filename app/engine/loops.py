"""Multi-instance activities of the Camunda dialect, as Camunda 7 runs them.

SpiffWorkflow's Camunda multi-instance tasks write each instance's element variable back into the input
collection (which grows by one item per instance), rewrite their own spec when they start (so it could not
be shared between instances), keep the element variable in the process's data after the loop, and know
none of Camunda's loop variables. Camunda 7 (user guide, "Multiple Instance"):

- `camunda:collection` is read, never written; `camunda:elementVariable` holds one item in each
  instance and is local to it, as is `loopCounter` (the instance's index);
- `nrOfInstances`, `nrOfActiveInstances` and `nrOfCompletedInstances` are the loop's own variables, seen by
  its instances and by `completionCondition`, which is evaluated as each instance completes;
- whatever else an instance sets is the process's.

`CamundaSequentialLoop` and `CamundaParallelLoop` do that on SpiffWorkflow's standard multi-instance tasks.
They are restored under the typenames SpiffWorkflow's Camunda specs are stored with, so a definition
deployed before reads as them too (`CamundaLoopConverter` turns the stored form into theirs).

Every multi-instance and standard loop task learns that one of its instances completed through an event
connected on the inner task's spec when an instance is created; a spec restored from storage has lost the
connection, and a loop whose next instance was to be created on that event stopped there: `connect_loops`
connects them again when a spec is loaded.
"""
from __future__ import annotations

import hashlib
import json
from copy import copy, deepcopy

from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

__all__ = ["CamundaLoopConverter", "CamundaParallelLoop", "CamundaSequentialLoop", "LOOP_VARIABLES",
           "connect_loops", "embedded", "local_names"]

# The loop's own variables, seen by each instance and by the completion condition, never the process's
LOOP_VARIABLES = ("loopCounter", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances")


class _CamundaLoop:
    """What both Camunda multi-instance tasks add to SpiffWorkflow's standard ones (no output collection:
    each instance's data other than its local variables is merged into the loop's as it completes)."""

    def local_names(self) -> set[str]:
        names = set(LOOP_VARIABLES)
        if self.input_item is not None:
            names.add(self.input_item.bpmn_id)
        return names

    def _counters(self, my_task) -> dict:
        instances = list(self._instances(my_task))
        completed = len(self._merged_children(my_task))
        if self.data_input is not None:
            total = len(self.data_input.get(my_task) or [])
        else:
            total = my_task.internal_data.get("cardinality", len(instances))
        active = sum(1 for t in instances if not t.has_state(TaskState.FINISHED_MASK))
        return {"nrOfInstances": total, "nrOfActiveInstances": active, "nrOfCompletedInstances": completed}

    def create_child(self, my_task, item, key_or_index=None):
        task_spec = my_task.workflow.spec.task_specs[self.task_spec]
        if not task_spec.completed_event.is_connected(self.merge_child):
            task_spec.completed_event.connect(self.merge_child)
        counter = len(list(self._instances(my_task)))
        child = my_task._add_child(task_spec, TaskState.WAITING)
        child.triggered = True
        own = {"loopCounter": counter}
        if self.input_item is not None:  # a process variable of the same name is shadowed, not an error
            own[self.input_item.bpmn_id] = deepcopy(item)
        if key_or_index is not None:
            child.internal_data["key_or_index"] = key_or_index
        else:
            child.internal_data["item"] = item
        child.internal_data["local"] = own
        child.data.update(own)
        # the instance inherits the loop's data without what its own variables shadow (a process variable
        # named as the element variable, an enclosing loop's counter), before anything starts with it (a
        # sub-process copies its data as it starts)
        shadowed = {name: my_task.data.pop(name) for name in own if name in my_task.data}
        try:
            child.task_spec._update(child)
        finally:
            my_task.data.update(shadowed)
        child.data.update(own)
        child.internal_data["inherited"] = {name: _fingerprint(value) for name, value in child.data.items()
                                            if name not in own}

    def check_completion_condition(self, my_task):
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return False
        [last] = [c for c in my_task.children if str(c.id) == merged[-1]]
        return bool(my_task.workflow.script_engine.evaluate(
            last, self.condition, {**self._counters(my_task), **last.internal_data.get("local", {})}))


class _ChangesMerged(MultiInstanceTask):
    """An instance's changes merged into the loop as it completes: each variable it set (or changed in
    place) replaces the loop's, other than its local ones; a variable it only inherited is left alone, so
    a parallel instance completing later does not put back what another one changed."""

    def merge_child(self, workflow, child):
        my_task = child.parent
        local = self.local_names()
        inherited = child.internal_data.get("inherited", {})
        for name, value in child.data.items():
            if name in local or inherited.get(name) == _fingerprint(value):
                continue
            my_task.data[name] = copy(value) if isinstance(value, (dict, list, set)) else value
        my_task.internal_data["merged"].append(str(child.id))


def _fingerprint(value) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class CamundaSequentialLoop(_CamundaLoop, SequentialMultiInstanceTask, _ChangesMerged):
    """One instance after the other, over a collection or `loopCardinality` times."""


class CamundaParallelLoop(_CamundaLoop, ParallelMultiInstanceTask, _ChangesMerged):
    """Every instance at once."""


class CamundaLoopConverter(MultiInstanceTaskConverter):
    """Stores a Camunda loop as SpiffWorkflow's multi-instance task; restores SpiffWorkflow's Camunda form
    (the collection stored as the output, the element variable as the output item, both set again at run
    time) or this one as a Camunda loop: the collection is the input, the element variable its item, and
    nothing is written back. A collection given with `loopCardinality` is the collection, as in Camunda."""

    def from_dict(self, dct):
        if dct.get("data_input") is None and dct.get("data_output") is not None:  # SpiffWorkflow's Camunda form
            dct["data_input"], dct["data_output"] = dct["data_output"], None
            dct["input_item"], dct["output_item"] = dct.get("output_item"), None
            dct["cardinality"] = None
        elif dct.get("data_input") is None:  # loopCardinality alone: no element variable in Camunda
            dct["input_item"], dct["output_item"] = None, None
        return super().from_dict(dct)


def local_names(task) -> set[str]:
    """The variables local to `task` as an instance of a Camunda loop, or as a task inside an embedded
    sub-process that is one (none for any other task)."""
    names: set[str] = set()
    while task is not None:
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, _CamundaLoop) and "local" in task.internal_data:
            names |= parent.task_spec.local_names()
        workflow = task.workflow
        top = workflow.top_workflow
        if workflow is top:
            break
        holder = top.get_task_from_id(workflow.parent_task_id)
        if holder is None or not embedded(holder.task_spec):
            break  # a called process has variables of its own
        task = holder
    return names


def embedded(task_spec) -> bool:
    """An embedded sub-process (or event sub-process, or transaction), not a call activity: SpiffWorkflow
    names an embedded one's spec after the element itself, a called one after the process it calls."""
    return getattr(task_spec, "spec", None) == getattr(task_spec, "bpmn_id", object())


def connect_loops(*specs) -> None:
    """Connect each loop task of the workflow specs to the completion of its inner task (see the module)."""
    for spec in specs:
        for task_spec in list(spec.task_specs.values()):
            if isinstance(task_spec, LoopTask):
                inner = spec.task_specs.get(task_spec.task_spec)
                if inner is not None and not inner.completed_event.is_connected(task_spec.merge_child):
                    inner.completed_event.connect(task_spec.merge_child)


