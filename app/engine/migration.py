"""Moving a running workflow onto another version of its process (instance migration).

An element of the source definition is carried to the element of the target
with the same id, or to the one an explicit mapping names (a renamed element).
The workflow keeps its task tree: every task that ran, is running or waits
keeps its id, its data and its internal data (a timer keeps its due time, a
task its form data), and only its spec changes. What was only *predicted* from
the old diagram (the tasks after the waiting ones) is dropped and predicted
again from the target, so the instance continues on the target's path.

SpiffWorkflow's own tools are used where they serve: `SpecDiff` describes what
changed between two versions (`compare`), its serializer registry compares two
elements' attributes. Its `migrate_workflow` is not used to move the tree: it
resets every ready and waiting task (`Task.reset_branch`), which empties their
internal data (a waiting timer would be armed again from now) and their data
(a task would lose what was entered on it), and it leaves the predictions under
started tasks (a running multi-instance, a sub-process) as the old diagram drew
them.

An instance is refused, with a reason per element, when an active element
(ready, waiting, running or failed) has no counterpart in the target, when its
type changed, when its multi-instance changed, or when the event it waits for
changed kind. Boundary events follow Camunda: an active activity's boundary
events the target no longer has are removed, the target's new ones are armed
(a new timer counts from the migration).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .outcome import event_kind, spec_definitions

__all__ = ["ACTIVE", "MigrationRefused", "Refusal", "compare", "element_types", "generate", "migrate",
           "plan_problems", "refusals"]

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
_DONE = TaskState.COMPLETED | TaskState.CANCELLED
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE
# The attributes that make a multi-instance what it is (SpiffWorkflow's serialized names).
_MI_ATTRIBUTES = ("typename", "cardinality", "data_input", "data_output", "input_item", "output_item", "condition",
                  "maximum", "test_before")


@dataclass(frozen=True)
class Refusal:
    """Why one active element cannot be migrated: `reason` is a slug, `message` says it to a person."""

    element_id: str | None
    reason: str
    message: str

    def as_dict(self) -> dict:
        return {"element_id": self.element_id, "reason": self.reason, "message": self.message}


class MigrationRefused(Exception):
    """The workflow cannot move onto the target: `refusals` say why (nothing was changed)."""

    def __init__(self, refusals: list[Refusal]):
        super().__init__("; ".join(r.message for r in refusals))
        self.refusals = refusals


# -- elements: which spec stands for which BPMN element, in which role ----------------------------------------

def _roles(spec) -> dict[str, tuple[str | None, str]]:
    """{task spec name: (element id, role)} of one process spec. The role tells apart the specs
    SpiffWorkflow makes for one element: the element itself (""), a multi-instance's instance
    (" [child]"), the split and join around an activity with boundary events; specs of the process
    itself (its start, its end join) have no element."""
    names = spec.task_specs
    children = {ts.task_spec for ts in names.values() if isinstance(ts, LoopTask)}
    roles = {}
    for name, ts in names.items():
        element = getattr(ts, "bpmn_id", None)
        if element is not None:
            roles[name] = (element, " [child]" if name in children else "")
            continue
        prefix, dot, suffix = name.rpartition(".")
        owner = names.get(prefix) if dot else None
        if owner is not None and getattr(owner, "bpmn_id", None) is not None:
            roles[name] = (owner.bpmn_id, "." + suffix)
        elif dot and prefix == spec.name:
            roles[name] = (None, "." + suffix)
        else:
            roles[name] = (None, name)
    return roles


def _index(spec) -> dict[tuple[str | None, str], object]:
    return {role: spec.task_specs[name] for name, role in _roles(spec).items()}


def element_types(spec, subprocess_specs: dict) -> dict[str, str]:
    """{element id: spec type name} of every flow node of a definition (its sub-processes included)."""
    found = {}
    for process in (spec, *subprocess_specs.values()):
        for name, (element, role) in _roles(process).items():
            if element is not None and role == "":
                found.setdefault(element, type(process.task_specs[name]).__name__)
    return found


def _all_specs(spec, subprocess_specs: dict) -> dict[str, object]:
    """{element id: its own task spec} across a definition's processes."""
    found = {}
    for process in (spec, *subprocess_specs.values()):
        for role, ts in _index(process).items():
            if role[0] is not None and role[1] == "":
                found.setdefault(role[0], ts)
    return found


# -- comparing two elements -------------------------------------------------------------------------------

def _kinds(ts) -> list[str]:
    """The kinds of trigger an element waits for (timer, message, signal; "none" for others)."""
    return sorted(event_kind(d) or "none" for d in spec_definitions(ts))


def _mi_changes(registry, source, target) -> list[str]:
    before, after = registry.convert(source), registry.convert(target)
    return [k for k in _MI_ATTRIBUTES if before.get(k) != after.get(k)]


def _differs(registry, element: str, source, target, target_element: str) -> Refusal | None:
    """Why an active element cannot become `target`, or None."""
    named = element if element == target_element else f"{element} (mapped to {target_element})"
    source_mi, target_mi = isinstance(source, LoopTask), isinstance(target, LoopTask)
    if source_mi or target_mi:
        if source_mi != target_mi or type(source) is not type(target):
            return Refusal(element, "multi-instance-changed",
                           f"active multi-instance {named} changed: {_describe(source)} in the source, "
                           f"{_describe(target)} in the target")
        changed = _mi_changes(registry, source, target)
        if changed:
            return Refusal(element, "multi-instance-changed",
                           f"active multi-instance {named} changed its {', '.join(changed)}")
        return None
    if type(source).__name__ != type(target).__name__:
        return Refusal(element, "type-changed", f"active element {named} is a {type(source).__name__} in the "
                                                f"source and a {type(target).__name__} in the target")
    if _kinds(source) != _kinds(target):
        return Refusal(element, "event-changed", f"{named} waits for {', '.join(_kinds(source))} in the source "
                                                 f"and for {', '.join(_kinds(target))} in the target")
    return None


def _describe(ts) -> str:
    if isinstance(ts, LoopTask):
        return f"a {'sequential' if 'Sequential' in type(ts).__name__ else 'parallel'} multi-instance"
    return f"a {type(ts).__name__} without multi-instance"


# -- plans: what a mapping may say, whatever the instance -------------------------------------------------------

def generate(source: tuple, target: tuple) -> dict[str, str]:
    """Camunda's generated plan: every flow node of the source whose id the target has, with the same type."""
    before, after = element_types(*source), element_types(*target)
    return {e: e for e, kind in before.items() if after.get(e) == kind}


def plan_problems(registry, source: tuple, target: tuple, mapping: dict[str, str]) -> dict[str, list[str]]:
    """Per source element of an explicit mapping, what is wrong with it (instance-independent)."""
    before, after = _all_specs(*source), _all_specs(*target)
    problems: dict[str, list[str]] = {}
    for element, to in mapping.items():
        found = []
        if element not in before:
            found.append(f"the source definition has no element {element!r}")
        if to not in after:
            found.append(f"the target definition has no element {to!r}")
        if not found:
            refusal = _differs(registry, element, before[element], after[to], to)
            if refusal is not None:
                found.append(refusal.message)
        if found:
            problems[element] = found
    targets = [to for to in mapping.values()]
    for element, to in mapping.items():
        if targets.count(to) > 1:
            problems.setdefault(element, []).append(f"several source elements map to {to!r}")
    return problems


def compare(registry, source: tuple, target: tuple) -> dict:
    """What changed between two versions: the elements added and removed (by id), and those kept whose
    attributes changed, as SpiffWorkflow's SpecDiff compares them (process by process)."""
    before, after = element_types(*source), element_types(*target)
    changed: dict[str, list[str]] = {}
    pairs = [(source[0], target[0])] + [(sp, target[1][name]) for name, sp in source[1].items() if name in target[1]]
    for old, new in pairs:
        diff = SpecDiff(registry, old, new)
        roles_old, roles_new = _roles(old), _roles(new)
        for ts, candidate in diff.alignment.items():
            element, role = roles_old.get(ts.name, (None, ""))
            if element is None or role != "" or candidate is None or roles_new.get(candidate.name) != (element, ""):
                continue  # SpecDiff also aligns by structure: here only the same id counts
            attributes = set(diff.comparisons.get(ts) or ()) - {"inputs", "outputs"}
            if attributes or diff.comparisons.get(ts):
                changed[element] = sorted(attributes) or ["flows"]
    return {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
            "changed": {e: changed[e] for e in sorted(changed)}}


# -- one workflow -------------------------------------------------------------------------------------------

@dataclass
class _Move:
    """The plan for one (sub)workflow: each task's target spec, what to drop, prune and add."""

    workflow: object
    target: object
    specs: dict = field(default_factory=dict)  # task -> target spec
    drop: list = field(default_factory=list)  # predicted tasks: predicted again from the target
    prune: list = field(default_factory=list)  # finished tasks of elements the target does not have
    armed: list = field(default_factory=list)  # (active task, target boundary split) to put in front of it


def refusals(registry, wf, source: tuple, target: tuple, mapping: dict[str, str], same_ids: bool = True
             ) -> list[Refusal]:
    """Why `wf` cannot move onto `target` with `mapping` (empty: it can)."""
    found, _ = _plan(registry, wf, source, target, mapping, same_ids)
    return found


def migrate(registry, wf, source: tuple, target: tuple, mapping: dict[str, str], same_ids: bool = True) -> list[str]:
    """Move `wf` onto `target` ((spec, subprocess specs)); returns the removed boundary events' ids.

    Args:
        mapping: {source element: target element} for the elements that do not keep their id.
        same_ids: whether an active element the mapping leaves out goes to the element of the same id
            (as /api/v1 has it), or is refused (a Camunda plan maps every active activity explicitly).
            What ran already always keeps its id when the target has it.

    Raises:
        MigrationRefused: an active element cannot be migrated (the workflow is unchanged).
    """
    found, moves = _plan(registry, wf, source, target, mapping, same_ids)
    if found:
        raise MigrationRefused(found)
    removed = []
    wf.spec, wf.subprocess_specs = target
    kept = {id(move.workflow) for move in moves}
    for task_id, sub in list(wf.subprocesses.items()):
        if id(sub) not in kept:  # a finished sub-process of an element (or a process) the target lacks
            del wf.subprocesses[task_id]
    for move in moves:
        removed += _apply(move)
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = None
    return removed


def _plan(registry, wf, source: tuple, target: tuple, mapping: dict[str, str], same_ids: bool
          ) -> tuple[list[Refusal], list[_Move]]:
    source_specs = {None: source[0], **source[1]}
    found: list[Refusal] = []
    moves: list[_Move] = []
    targets = {id(wf): target[0]}
    for workflow in [wf, *sorted(wf.subprocesses.values(), key=lambda sp: sp.depth)]:
        target_spec = targets.get(id(workflow))
        if target_spec is None:
            continue  # its parent task is refused or finished
        fresh = source_specs.get(None if workflow is wf else workflow.spec.name, workflow.spec)
        move = _Move(workflow, target_spec)
        found += _plan_one(registry, move, fresh, mapping, same_ids)
        moves.append(move)
        for task, spec in move.specs.items():
            sub = wf.subprocesses.get(task.id)
            if sub is not None and isinstance(spec, SubWorkflowTask):
                sp_spec = target[1].get(spec.spec)
                if sp_spec is None and not task.has_state(_DONE):
                    element = task.task_spec.bpmn_id
                    found.append(Refusal(element, "no-counterpart",
                                         f"the target has no process {spec.spec!r} for active {element}"))
                if sp_spec is not None:
                    targets[id(sub)] = sp_spec
    return found, moves


def _plan_one(registry, move: _Move, fresh_source, mapping: dict[str, str], same_ids: bool) -> list[Refusal]:
    workflow, found = move.workflow, []
    roles = _roles(workflow.spec)
    index = _index(move.target)
    fresh = {name: fresh_source.task_specs.get(name, ts) for name, ts in workflow.spec.task_specs.items()}
    for task in list(workflow.tasks.values()):
        element, role = roles.get(task.task_spec.name, (None, task.task_spec.name))
        parent = task.parent
        active = task.has_state(ACTIVE) or (task.has_state(TaskState.FUTURE) and parent is not None
                                            and parent.has_state(_DONE))
        to = mapping.get(element, element if same_ids or not active else None) if element is not None else None
        spec = index.get((to, role)) if element is not None else index.get((None, role))
        if task.has_state(_PREDICTED) and not active:
            move.drop.append(task)
            continue
        if not active:  # it ran (or was cancelled): history, carried over when the target has its element
            if spec is None:
                move.prune.append(task)
            else:
                move.specs[task] = spec
            continue
        if spec is None:
            if isinstance(task.task_spec, BoundaryEvent) and task.has_state(TaskState.WAITING):
                move.drop.append(task)  # a boundary event the target no longer has: removed, as Camunda does
                continue
            if role == " [child]":
                continue  # an instance of a multi-instance: its multi-instance says why
            if to is None:
                found.append(Refusal(element, "not-mapped", f"no instruction maps active element {element}"))
            else:
                found.append(Refusal(element, "no-counterpart",
                                     f"active element {element} has no counterpart in the target"
                                     + (f" (mapped to {to!r})" if to != element else "")))
            continue
        if element is not None and role == "":
            refusal = _differs(registry, element, fresh.get(task.task_spec.name, task.task_spec), spec, to)
            if refusal is not None:
                found.append(refusal)
                continue
        move.specs[task] = spec
        split = _new_split(task, spec)
        if split is not None:
            move.armed.append((task, split))
    return found


def _new_split(task, spec):
    """The target's boundary split in front of an active activity that had no boundary events."""
    if getattr(task.task_spec, "bpmn_id", None) is None or isinstance(task.task_spec, BoundaryEvent) \
            or isinstance(getattr(task.parent, "task_spec", None), BoundaryEventSplit):
        return None
    return next((ts for ts in spec.inputs if isinstance(ts, BoundaryEventSplit)), None)


def _apply(move: _Move) -> list[str]:
    workflow = move.workflow
    workflow.spec = move.target
    removed = []
    for task in move.drop:
        if task.id in workflow.tasks:
            if task.has_state(TaskState.WAITING):
                removed.append(task.task_spec.bpmn_id)
                task.cancel()
            if task.id in workflow.tasks and task.parent is not None:
                workflow._remove_task(task.id)
    for task, spec in move.specs.items():
        _retarget(task, spec)
    for task in move.prune:
        _splice(workflow, task)
    for task, split in move.armed:
        _insert_split(task, split)
    for task in list(workflow.tasks.values()):
        if isinstance(task.task_spec, BoundaryEventSplit) and task.has_state(TaskState.COMPLETED):
            _arm(task)
    for task in list(workflow.tasks.values()):
        if task.has_state(ACTIVE) or (task.has_state(TaskState.FUTURE) and task.parent is not None
                                      and task.parent.has_state(_DONE)):
            _predict(task)
    return removed


def _retarget(task, spec) -> None:
    old = task.task_spec
    task.task_spec = spec
    sub = task.workflow.top_workflow.subprocesses.get(task.id)
    if sub is not None and isinstance(old, SubWorkflowTask) and sub.completed_event.is_connected(
            old._on_subworkflow_completed):
        sub.completed_event.disconnect(old._on_subworkflow_completed)
        sub.completed_event.connect(spec._on_subworkflow_completed, task)
    if isinstance(spec, LoopTask):
        child = task.workflow.spec.task_specs.get(spec.task_spec)
        if child is not None and not child.completed_event.is_connected(spec.merge_child):
            child.completed_event.connect(spec.merge_child)


def _splice(workflow, task) -> None:
    """Take a finished task of an element the target does not have out of the tree; its children
    hang from its parent instead (history lives in the server's own audit trail)."""
    parent = task.parent
    if parent is None or task.id not in workflow.tasks:
        return
    at = parent._children.index(task.id)
    parent._children[at:at + 1] = list(task._children)
    for child in task.children:
        child._parent = parent.id
    task._children = []
    workflow.tasks.pop(task.id)


def _insert_split(task, split_spec) -> None:
    """Put the target's boundary split in front of an active `task` that had no boundary events."""
    workflow, parent = task.workflow, task.parent
    split = Task(workflow, split_spec, parent, state=TaskState.COMPLETED)
    parent._children.remove(split.id)
    parent._children[parent._children.index(task.id)] = split.id
    task._parent = split.id
    split._children.append(task.id)
    split.data = copy.deepcopy(task.data)


def _arm(split) -> None:
    """Arm the boundary events of an active activity that the target adds (a timer counts from now)."""
    main = [c for c in split.children if not isinstance(c.task_spec, BoundaryEvent)]
    if not any(c.has_state(ACTIVE) for c in main):
        return
    present = {c.task_spec for c in split.children}
    for spec in split.task_spec.outputs:
        if isinstance(spec, BoundaryEvent) and spec not in present:
            event = split._add_child(spec, TaskState.MAYBE)
            event._set_state(TaskState.WAITING)
            event.task_spec._update(event)


def _predict(task) -> None:
    """Predict the tasks that follow an active task from its (new) spec, as SpiffWorkflow's own branch reset does."""
    if any(c.has_state(ACTIVE) and not c.triggered for c in task.children):
        return  # its children are running: they carry their own predictions
    task.task_spec._predict_hook(task)
    for child in task.children:
        if child.has_state(_PREDICTED):
            child.task_spec._predict(child, mask=_PREDICTED)
