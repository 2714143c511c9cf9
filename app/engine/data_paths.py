"""Multi-instance collections named by a path (`customer.orders`), as Camunda reads `${customer.orders}`.

SpiffWorkflow's `TaskDataReference` names one task data variable. A name with dots that is not itself a
variable is read as a path through nested objects (dicts): `customer.orders` is `data["customer"]["orders"]`.
Setting it (SpiffWorkflow writes a multi-instance activity's results back into its collection) writes into
the object the path ends in; a missing object on the way is created.
"""
from __future__ import annotations

from collections.abc import Mapping

from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference

_MISSING = object()


def _walk(data, path: str):
    value = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _is_path(data, name) -> bool:
    return isinstance(name, str) and "." in name and name not in data


def _get(self, my_task):
    if _is_path(my_task.data, self.bpmn_id):
        value = _walk(my_task.data, self.bpmn_id)
        return None if value is _MISSING else value
    return my_task.data.get(self.bpmn_id)


def _set(self, my_task, value):
    if not _is_path(my_task.data, self.bpmn_id):
        my_task.data[self.bpmn_id] = value
        return
    *parents, last = self.bpmn_id.split(".")
    target = my_task.data
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[last] = value


def _exists(self, my_task):
    if _is_path(my_task.data, self.bpmn_id):
        return _walk(my_task.data, self.bpmn_id) is not _MISSING
    return self.bpmn_id in my_task.data


TaskDataReference.get = _get
TaskDataReference.set = _set
TaskDataReference.exists = _exists
