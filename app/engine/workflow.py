"""The workflow object the engine runs: SpiffWorkflow's `BpmnWorkflow` plus Stagecoach's run-time state.

Some of what running an instance needs is not in SpiffWorkflow's spec or task
tree: which elements are held for a job or a worker (camunda:asyncBefore /
asyncAfter, external tasks), which held tasks one command may run, the
definition's input/output mappings, and whether any conditional event has to be
re-evaluated. It is kept here, in named fields, rather than on ad-hoc attributes.

None of it is serialized: the instance state stays SpiffWorkflow's own (written
under the type name "BpmnWorkflow", so states stored before this class existed
load unchanged). After a load the runner sets it again from the definition
(`Runner.attach`, and `Runner.prepare` with the definition's `RunSettings`). Sub-process workflows stay SpiffWorkflow's
`BpmnSubWorkflow`: whatever runs in them reads this state from `top_workflow`.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from .errors_caught import CodeAwareEventManager
from .limits import Limits

__all__ = ["RunBudget", "RunSettings", "StagecoachWorkflow"]


@dataclass
class RunBudget:
    """What the current command may still create (`bounds`): its limits, and where it started from."""

    limits: Limits
    tasks_at_start: int = 0  # tasks in the tree when the command began
    data_written: int = 0  # JSON bytes of the variables its scripts changed


@dataclass(frozen=True)
class RunSettings:
    """What running a definition's workflows needs of its element metadata (the parser's `elements`)."""

    asynchronous: dict[str, dict]  # camunda:asyncBefore/After elements, with their retry settings
    external: dict[str, dict]  # external tasks, with their topic (and priority)
    io: dict[str, dict]  # input/output mappings and listeners
    hold_before: frozenset[str]  # elements whose tasks wait for a job or a worker
    hold_after: frozenset[str]  # elements followed by a job (an external task's worker already is one)
    conditional: bool  # conditional events wait: changed variables may fire them

    @classmethod
    def from_elements(cls, elements: dict[str, dict]) -> RunSettings:
        asynchronous = {eid: e["async"] for eid, e in elements.items() if e.get("async")}
        external = {eid: e["external"] for eid, e in elements.items() if e.get("external")}
        return cls(
            asynchronous=asynchronous, external=external,
            io={eid: e["io"] for eid, e in elements.items() if e.get("io")},
            hold_before=frozenset({eid for eid, a in asynchronous.items() if a.get("before", True)} | set(external)),
            hold_after=frozenset(eid for eid, a in asynchronous.items() if a.get("after") and eid not in external),
            conditional=any((e.get("trigger") or {}).get("kind") == "condition" for e in elements.values()))


class StagecoachWorkflow(BpmnWorkflow):
    """A top-level BPMN workflow with the run-time state the runner and the mappings read.

    Attributes:
        hold_before: element ids whose tasks, once ready, wait for a job or an external
            worker instead of running (asyncBefore elements and external tasks).
        hold_after: element ids followed by a job (asyncAfter): the task that comes after
            one of them waits, once ready, like a held task.
        released: ids of the held tasks the current command may run (`Runner.release`);
            empty between commands.
        has_conditional_events: whether a spec of the workflow has a conditional event,
            so waiting conditions are evaluated again whenever the instance changes.
        io_mappings: the definition's input/output mappings and listeners,
            {element id: mapping} (see `iomapping`); empty when it has none.
        budget: the limits of the command running now and what it created so far
            (`bounds`); None when no runner drives the workflow.
        instance_id, business_key: the instance the command runs for, as its caller said
            (`TaskEffects`); None when it did not.
    """

    hold_before: set[str]
    hold_after: set[str]
    released: set[UUID]
    has_conditional_events: bool
    io_mappings: dict[str, dict]
    budget: RunBudget | None
    instance_id: str | None = None
    business_key: str | None = None

    def __init__(self, spec, subprocess_specs=None, script_engine=None, **kwargs):
        # Set before SpiffWorkflow's constructor: it readies the start task, whose hooks read them.
        self.hold_before = set()
        self.hold_after = set()
        self.released = set()
        self.has_conditional_events = False
        self.io_mappings = {}
        self.budget = None
        super().__init__(spec, subprocess_specs, script_engine=script_engine, **kwargs)
        self.event_manager.__class__ = CodeAwareEventManager  # the most specific catch of an error wins

    @classmethod
    def adopt(cls, workflow: BpmnWorkflow) -> StagecoachWorkflow:
        """`workflow` itself as a StagecoachWorkflow with empty run-time state (one a plain
        SpiffWorkflow serializer restored, say); a StagecoachWorkflow is returned as it is."""
        if isinstance(workflow, cls):
            return workflow
        if type(workflow) is not BpmnWorkflow:
            raise TypeError(f"cannot run a {type(workflow).__name__} as a top-level workflow")
        workflow.__class__ = cls
        workflow.hold_before, workflow.hold_after, workflow.released = set(), set(), set()
        workflow.has_conditional_events = False
        workflow.io_mappings = {}
        workflow.budget = None
        workflow.event_manager.__class__ = CodeAwareEventManager
        return workflow
