"""Long diagrams and deep task trees: where SpiffWorkflow recurses or stops looking, and what we do.

SpiffWorkflow keeps an instance as a tree of tasks: in a chain of N activities each task is the child
of the one before, and starting the instance predicts the whole chain as FUTURE tasks. Measured on
SpiffWorkflow 3.2.0 and Python 3.11 with the default recursion limit of 1,000:

- parsing a chain of about 490 activities failed with RecursionError: `TaskParser.parse_node` parses
  each target before it connects to it, one frame per flow element;
- starting one of about 980 failed the same way: `TaskSpec._predict` recurses once per predicted task,
  and so does `Workflow._remove_task` when it drops a branch (cancelling the instance, a boundary
  event interrupting the first task of a long chain);
- its task iterators stop descending at depth 1,000: past it a task is invisible and the instance
  believes it has completed (seen with gateway loops).

What this module does, on import:

- `TaskSpec._predict` and `Workflow._remove_task` are replaced by iterative equivalents that visit
  and remove tasks in the same order (SpiffWorkflow is pinned to 3.2.0, where no task spec overrides
  `_predict`);
- the task iterators' default depth limit is lifted. What bounds the tree instead is the runner's
  guard against gateway loops (`too_deep`): a task may sit as deep as its diagram has task specs,
  plus `MAX_TREE_DEPTH` levels of repetition, so a long chain runs and a loop still stops early;
- parsing, which only SpiffWorkflow's own recursion can do, runs through `run_deep`: in place when
  the recursion limit leaves room for the diagram (every diagram of a few hundred elements), otherwise
  in a worker thread with a large stack while the limit is raised for just that long. The size of the
  largest process (`BPMN_MAX_ELEMENTS`) is checked before, so the room needed is bounded.

Rejected: raising the interpreter's recursion limit for good. Python 3.11 has one limit for Python and
C recursion, and a C recursion (decoding nested JSON, walking nested data through generators) deeper
than an 8 MB thread stack allows crashes the process instead of raising RecursionError; request
threads keep the default limit except while a large deployment is parsed. Refusing every diagram
past 490 elements was rejected too: real sales processes with generated steps exceed it.
"""
from __future__ import annotations

import contextvars
import sys
import threading
from typing import Callable, TypeVar

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

__all__ = ["MAX_TREE_DEPTH", "run_deep", "too_deep"]

T = TypeVar("T")

# Levels a task tree may grow beyond its diagram's size: a loop drawn with a gateway deepens the tree
# on every pass, so an instance looping that often is stopped with an incident.
MAX_TREE_DEPTH = 900

# The frames parsing needs per flow element of the largest process (measured: one), with room to spare.
_FRAMES_PER_ELEMENT = 2
_FRAMES_MARGIN = 500
_DEEP_STACK_BYTES = 128 * 1024 * 1024  # address space reserved for the parsing thread, not memory used
_deep = threading.Lock()


def too_deep(task) -> str | None:
    """Why `task` sits deeper in its tree than its diagram explains, or None."""
    allowed = MAX_TREE_DEPTH + len(task.workflow.spec.task_specs)
    if task.depth <= allowed:
        return None
    return (f"the instance passed through a gateway loop too often (task tree deeper than {allowed}: the "
            f"diagram's {allowed - MAX_TREE_DEPTH} task specs plus {MAX_TREE_DEPTH} repetitions); model "
            f"repetition with a loop or multi-instance marker")


def frames_for(elements: int) -> int:
    """The Python frames parsing a process of `elements` flow elements may take."""
    return _FRAMES_PER_ELEMENT * elements + _FRAMES_MARGIN


def _depth() -> int:
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def run_deep(frames: int, fn: Callable[..., T], /, *args, **kwargs) -> T:
    """`fn(*args, **kwargs)` with room for `frames` more Python frames than the caller has.

    In place when the recursion limit leaves that room; otherwise in a worker thread with a large
    stack, while the recursion limit is raised (one such run at a time). Exceptions propagate.
    """
    if _depth() + frames < sys.getrecursionlimit():
        return fn(*args, **kwargs)
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    context = contextvars.copy_context()
    with _deep:
        previous_stack = threading.stack_size(_DEEP_STACK_BYTES)
        previous_limit = sys.getrecursionlimit()
        try:
            thread = threading.Thread(target=context.run, args=(work,), name="stagecoach-deep-parse")
            sys.setrecursionlimit(max(previous_limit, frames + 100))
            thread.start()
        except RuntimeError:  # no thread of that size can be had: run in place, where a RecursionError is
            sys.setrecursionlimit(previous_limit)  # reported as a diagram too large to read
            return fn(*args, **kwargs)
        finally:
            threading.stack_size(previous_stack)
        try:
            thread.join()
        finally:
            sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- SpiffWorkflow, without recursion ----------------------------------------------------------------------

def _predict(self, my_task, seen=None, looked_ahead=0, mask=TaskState.PREDICTED_MASK):
    """TaskSpec._predict (SpiffWorkflow 3.2.0, specs/base.py) as a loop: the same tasks, in the same
    depth-first order, each child tested just before it is visited and given a copy of its parent's
    `seen` list."""
    pending = [(self, my_task, [] if seen is None else seen, looked_ahead, True)]
    while pending:
        spec, task, seen_by_parent, ahead, first = pending.pop()
        if first:
            seen_here = seen_by_parent
        elif task.has_state(mask) and task not in seen_by_parent:
            seen_here = seen_by_parent[:]
        else:
            continue
        if task.has_state(mask):
            spec._predict_hook(task)
        if task.has_state(TaskState.PREDICTED_MASK):
            seen_here.append(spec)
        if task.has_state(TaskState.DEFINITE_MASK) or ahead + 1 < spec.lookahead:
            pending.extend((child.task_spec, child, seen_here, ahead + 1, False)
                           for child in reversed(task.children))


def _remove_task(self, task_id) -> None:
    """Workflow._remove_task (SpiffWorkflow 3.2.0, workflow.py) as a loop: a task's children are removed,
    in order and each with its own descendants, before the task itself."""
    pending = [(self.tasks[task_id], False)]
    while pending:
        task, children_done = pending.pop()
        if not children_done:
            pending.append((task, True))
            pending.extend((child, False) for child in reversed(task.children))
            continue
        task.parent._children.remove(task.id)
        self.tasks.pop(task.id)
        self._task_removed_notify(task)


def _unlimited_depth(iterator_class) -> None:
    names = iterator_class.__init__.__code__.co_varnames
    defaults = list(iterator_class.__init__.__defaults__)
    first_default = iterator_class.__init__.__code__.co_argcount - len(defaults)
    defaults[names.index("max_depth") - first_default] = sys.maxsize
    iterator_class.__init__.__defaults__ = tuple(defaults)


TaskSpec._predict = _predict
Workflow._remove_task = _remove_task
_unlimited_depth(TaskIterator)
_unlimited_depth(BpmnTaskIterator)
