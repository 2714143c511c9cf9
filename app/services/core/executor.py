"""The one command executor: every command on an instance runs through `run_on_instance` (or, for a
new instance, `start_new`).

The sequence is Camunda's `commandExecutor.execute(command)` and spiff-arena's
queue service around each engine step: in one write transaction (joining the
caller's, if any), lock the instance row, check that the command may act on
its status, let the command act (load the workflow when it asks for it, run
the engine with the per-step context, collect the outcome into a `Step`),
write the step and run the after-step hooks. A command that raises leaves
the instance at its last good state: the transaction rolls back. One that
passes an engine limit with what it was given or would store (a variable too
large, a state too large to keep) is refused as 422 `limit-exceeded`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Collection

from ...engine import LimitExceededError, Outcome, ScriptError
from ...errors import ConflictError, NotFoundError, ResourceLimitError, ValidationError
from ...models.base import new_id
from ...statuses import InstanceStatus
from .context import Actor, acting_for, engine, utcnow
from .definitions import DefinitionInfo, definition_info, load_workflow, new_workflow
from .projection import Step, jsonable
from .transactions import InstanceRow, lock_instance, write_transaction


class InstanceNotActionableError(ConflictError):
    """The instance is gone or in a status the command does not act on."""


@dataclass
class InstanceResult:
    """An instance after a command, with its open tasks."""

    instance: InstanceRow
    tasks: list

    @property
    def id(self):
        return self.instance.id

    @property
    def status(self):
        return self.instance.status

    @property
    def variables(self):
        return self.instance.variables


@dataclass
class Turn:
    """What a command acts on: the locked instance, its definition, its workflow (loaded on first
    use), and the step collecting what the command changes."""

    instance: InstanceRow
    actor: Actor
    step: Step
    _wf: Any = None
    opened: list = field(default_factory=list)

    @property
    def info(self) -> DefinitionInfo:
        return definition_info(self.instance.definition_id)

    @property
    def wf(self):
        if self._wf is None:
            self._wf = load_workflow(self.info, self.instance.state)
            # what the instance's active rows say, as its stored state has it (whatever the command changes
            # in the workflow before the engine reports): the step writes only the difference
            self.step.loaded(self.info.id, engine().active_elements(self._wf))
        return self._wf

    def engine_step(self, act: Callable[..., Outcome]) -> Outcome:
        """Run `act(runner, workflow, effects)` for this instance, as its actor."""
        inst = self.instance
        with acting_for(inst.id, inst.record_module, inst.record_id, self.actor, inst.process_key,
                        inst.business_key) as effects:
            return act(engine().runner, self.wf, effects)

    def apply(self, outcome: Outcome) -> list[dict]:
        """Take the engine's outcome into the step; returns the rows of the human tasks it opened."""
        self.opened = self.step.apply_outcome(self.info, self.wf, outcome)
        return self.opened

    def run(self, act: Callable[..., Outcome]) -> Outcome:
        """`engine_step`, then `apply`."""
        outcome = self.engine_step(act)
        self.apply(outcome)
        return outcome

    def dump(self) -> str:
        """The workflow's state as it is now."""
        return engine().dump(self.info.dialect, self.wf)


def run_on_instance(instance_id: str, actor: Actor, act: Callable[[Turn], Any], *,
                    statuses: Collection[str] | None = (InstanceStatus.RUNNING,),
                    refusal: str = "cannot act on an instance that is {status}",
                    locked: InstanceRow | None = None) -> Any:
    """Lock the instance, let `act` work on it, write the step, run the after-step hooks.

    Args:
        act: the command; gets the `Turn`. Whatever it returns is returned, except None, which
            gives the instance with the tasks the command opened (or, when a buffered message
            moved it on at once, the result of that delivery).
        statuses: the statuses the command acts on (None: any); otherwise InstanceNotActionableError.
        refusal: the refusal's text, with the instance's {status}.
        locked: the instance, read and locked by the caller in its write transaction (with the row the
            command acts on: one statement instead of two); read and locked here otherwise.

    Raises:
        NotFoundError: no such instance.
        InstanceNotActionableError: its status is not one of `statuses`.
    """
    with limits_refused(), write_transaction():
        instance = locked if locked is not None and locked.id == instance_id else lock_instance(instance_id)
        if instance is None:
            raise NotFoundError(f"no process instance {instance_id}")
        if statuses is not None and instance.status not in statuses:
            raise InstanceNotActionableError(refusal.format(status=instance.status), instance_status=instance.status)
        turn = Turn(instance, actor, Step(instance, actor))
        returned = act(turn)
        if turn.step.changed and not turn.step.written:  # a command may write it itself, to read what follows
            turn.step.write()
        if returned is not None:
            return returned
        return turn.step.followed_by or InstanceResult(instance, turn.opened)


def start_new(info: DefinitionInfo, actor: Actor, variables: dict | None = None, *, business_key: str | None = None,
              record: tuple[str, str, str] | None = None) -> InstanceResult:
    """Create an instance of `info`, run it until it waits, write it and run the after-step hooks.

    Args:
        record: (module, record id, role) when a record event starts it.
    """
    variables = variables or {}
    with limits_refused(), write_transaction():
        started_at = utcnow()
        module, record_id, role = record or (None, None, None)
        instance = InstanceRow(id=new_id(), definition_id=info.id, process_key=info.key, business_key=business_key,
                               status=InstanceStatus.RUNNING, variables={}, started_at=started_at, ended_at=None,
                               started_by=actor.username, lock_version=1, record_module=module,
                               record_id=record_id, record_role=role, tenant_id=info.tenant_id)
        try:
            wf = new_workflow(info, variables)
        except ScriptError as exc:
            raise ValidationError(f"variables cannot be stored: {exc}") from None
        turn = Turn(instance, actor, Step(instance, actor), wf)
        turn.step.record("instance_started", data=jsonable(variables), at=started_at)
        turn.run(lambda runner, workflow, effects: runner.advance(workflow, effects))
        turn.step.write(new=True)
        return turn.step.followed_by or InstanceResult(instance, turn.opened)


@contextmanager
def limits_refused():
    """Answer an engine limit passed by a command as a 422 problem naming the limit's setting (the
    command's transaction rolls back: nothing changed)."""
    try:
        yield
    except LimitExceededError as exc:
        raise ResourceLimitError(str(exc), limit=exc.setting, limit_value=exc.limit,
                                 variable=exc.variable) from None
