"""Run-time bounds on a workflow: the tasks a step, a command and an instance may create, the data a
command's scripts may write.

SpiffWorkflow builds whatever a diagram asks for: a parallel multi-instance over
a collection of 33,000 items creates 33,000 tasks in one step (minutes of CPU,
gigabytes of memory, and every later command on the instance as slow). So:

* a multi-instance counts its instances (the cardinality, or the size of its
  collection) BEFORE creating any: too many, and it creates none and fails
  when it runs, as a task error naming the limit; the instance keeps it as an
  incident, and a retry after an admin has changed the variables it reads
  counts again and starts the instances (`instrument`);
* every engine step checks how many tasks the command created so far and how
  many the instance holds (`check_tasks`): loops, sub-processes and anything
  else that grows the tree stop there;
* the variables each script changes add up per command (`charge_data`), so
  five hundred parallel instances each writing a megabyte stop early instead
  of all being kept in memory and then refused as too large to store.

The limits and counters live on the workflow (`StagecoachWorkflow.budget`), set
by the runner at the start of each command (`start`).
"""
from __future__ import annotations

from collections.abc import Sized

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, SequentialMultiInstanceTask

from .limits import Limits, TaskLimitError, setting
from .sizes import measure
from .workflow import RunBudget, StagecoachWorkflow

__all__ = ["changed_size", "charge_data", "check_tasks", "instrument", "start", "task_count"]

_REFUSED = "stagecoach_refused_instances"  # internal data of a multi-instance task that created none


def task_count(wf) -> int:
    """Tasks in the workflow's tree, its sub-processes' included."""
    return len(wf.tasks) + sum(len(sp.tasks) for sp in wf.subprocesses.values())


def start(wf: StagecoachWorkflow, limits: Limits) -> None:
    """Begin a command on `wf`: what it may create is counted from here."""
    wf.budget = RunBudget(limits, task_count(wf))


def check_tasks(wf: StagecoachWorkflow) -> None:
    """Raise TaskLimitError if the command created too many tasks, or the instance holds too many."""
    budget = wf.budget
    if budget is None:
        return
    count = task_count(wf)
    limits = budget.limits
    if count - budget.tasks_at_start > limits.tasks_per_run:
        raise TaskLimitError(f"this command created more than {limits.tasks_per_run} tasks; does a loop or a "
                             "multi-instance run away?", field="tasks_per_run", limit=limits.tasks_per_run)
    if count > limits.instance_max_tasks:
        raise TaskLimitError(f"the instance holds more than {limits.instance_max_tasks} tasks",
                             field="instance_max_tasks", limit=limits.instance_max_tasks)


def changed_size(before: dict, after: dict) -> int:
    """The JSON size of the variables in `after` that are new or differ from `before` (what the
    serializer stores for the task that changed them)."""
    size = 0
    for name, value in after.items():
        old = before.get(name, _MISSING)
        if old is value or (type(old) is type(value) and old == value):
            continue
        size += measure(value, max_depth=_DEPTH, strict=False)[0] + len(str(name)) + 4
    return size


_MISSING = object()
_DEPTH = 256


def charge_data(task, size: int) -> None:
    """Count `size` JSON bytes of variables a script of the current command changed.

    Raises:
        WorkflowTaskException: the command's scripts changed more than an instance's state may hold.
    """
    budget = getattr(task.workflow.top_workflow, "budget", None)
    if budget is None:
        return
    budget.data_written += size
    limit = budget.limits.state_max_bytes
    if budget.data_written > limit:
        raise WorkflowTaskException(
            f"the scripts of this command changed more than {limit} bytes of variables, more than an instance's "
            f"state may hold ({setting('state_max_bytes')})", task=task)


# -- multi-instances: counted before they create their instances --------------------------------

class _TooManyInstances(Exception):
    pass


def instrument(wf) -> None:
    """Make the multi-instance tasks of `wf`'s specs count their instances before creating them.

    Specs are shared between the workflows of a definition: each is instrumented once.
    """
    for spec in (wf.spec, *wf.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, MultiInstanceTask) and not task_spec.update_event.is_connected(_count):
                _bound(task_spec)


def _bound(task_spec) -> None:
    update_hook, run_hook = task_spec._update_hook, task_spec._run_hook

    def bounded_update_hook(task):
        try:
            return update_hook(task)
        except _TooManyInstances as exc:
            task.internal_data[_REFUSED] = str(exc)
            return True  # ready with no instance: running it fails with the limit (`bounded_run_hook`)

    def bounded_run_hook(task):
        if _REFUSED not in task.internal_data:
            return run_hook(task)
        message = _excess(task)
        if message is not None:
            raise WorkflowTaskException(message, task=task)
        # A retry after the variables were repaired: create the instances from the task's own
        # data, without inheriting its predecessor's again (that would undo the repair).
        del task.internal_data[_REFUSED]
        task._inherit_data = _keep_data
        try:
            done = update_hook(task)
        finally:
            del task._inherit_data
        return True if done else None

    task_spec._update_hook = bounded_update_hook
    task_spec._run_hook = bounded_run_hook
    task_spec.update_event.connect(_count)


def _keep_data() -> None:
    pass


def _count(workflow, task) -> None:
    # Emitted by the multi-instance's update once its data is in, before it creates an instance.
    message = _excess(task)
    if message is not None:
        raise _TooManyInstances(message)


def _instances(task) -> int | None:
    spec = task.task_spec
    if spec.cardinality is not None:
        value = task.workflow.script_engine.evaluate(task, spec.cardinality)
        return value if isinstance(value, int) else len(value) if isinstance(value, Sized) else None
    if spec.data_input is not None and spec.data_input.exists(task):
        value = spec.data_input.get(task)
        return len(value) if isinstance(value, Sized) else None
    return None


def _excess(task) -> str | None:
    """Why the multi-instance `task` may not create its instances, or None."""
    budget = getattr(task.workflow.top_workflow, "budget", None)
    wanted = _instances(task) if budget is not None else None
    if wanted is None:
        return None
    limits = budget.limits
    count = task_count(task.workflow.top_workflow)
    element = task.task_spec.bpmn_name or task.task_spec.bpmn_id
    what = f"multi-instance {element!r} would create {wanted} instances"
    if isinstance(task.task_spec, SequentialMultiInstanceTask):
        checks = []  # one at a time: only the instance's total is certain to be passed
    else:
        checks = [(limits.tasks_per_step, "tasks_per_step", "one engine step may create"),
                  (limits.tasks_per_run - (count - budget.tasks_at_start), "tasks_per_run",
                   "this command may create")]
    checks.append((limits.instance_max_tasks - count, "instance_max_tasks", "the instance may hold"))
    for room, field, who in checks:
        if wanted > room:
            limit = getattr(limits, field)
            room_left = "" if field == "tasks_per_step" else f", {max(room, 0)} more now"
            return (f"{what}; {who} at most {limit} tasks{room_left} ({setting(field)}); "
                    "change the variables it reads and retry")
    return None
