"""Modifying one instance: cancel an activity's tokens, start before or after an element, reset to a
task that ran before, each with variables to set (see `app.engine.modification`).

A modification is an operator's repair: admins, or `repair` on the process key (with read access to
the instance), and it must say why: the `annotation` is stored with the instructions in the instance's
history, beside who made it. It runs through the command executor like any other command: the instance
is locked, the engine applies the instructions in order and runs the tokens it started until they wait,
the step is projected and the after-step hooks run. An instance that the modification leaves with no
active token ends, cancelled, as Camunda ends it; one that reaches its end completes.
"""
from __future__ import annotations

from sqlalchemy import update

from ..engine import Instruction, ModificationError, ScriptError, StateError
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Incident, ProcessInstance
from ..statuses import InstanceStatus
from .access import require_on_instance
from .core import Actor, Turn, engine, jsonable, run_on_instance, utcnow
from .forms import check_variable_names

MAX_INSTRUCTIONS = 100


def _instance(instance_id: str) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(f"no process instance {instance_id}")
    return instance


def modify_instance(instance_id: str, actor: Actor, instructions: list[dict], annotation: str | None):
    """Apply `instructions` ({"type", "element_id", "variables"}) to a running instance (or one in error).

    Raises:
        ValidationError: no annotation, no instruction, or one that names no element or cannot apply
            (nothing changed).
        ForbiddenError / NotFoundError: the caller may not repair (or read) the instance.
        InstanceNotActionableError: the instance is suspended or has ended.
    """
    if not annotation or not annotation.strip():
        raise ValidationError("say why: a modification needs an annotation", errors={"annotation": ["required"]})
    if not instructions:
        raise ValidationError("send at least one instruction", errors={"instructions": ["required"]})
    if len(instructions) > MAX_INSTRUCTIONS:
        raise ValidationError(f"at most {MAX_INSTRUCTIONS} instructions", errors={"instructions": ["too many"]})
    require_on_instance(actor, "repair", _instance(instance_id), "modify this instance")
    steps = [Instruction(i["type"], i["element_id"], check_variable_names(dict(i.get("variables") or {})))
             for i in instructions]

    def act(turn: Turn):
        try:
            wf = turn.wf
        except StateError as exc:
            raise ConflictError(f"instance state cannot be loaded: {exc}") from None
        given: dict = {}
        for step in steps:
            given.update(step.variables)
        try:
            engine().runner.check_input(given, engine().runner.variables(wf))
            outcome, done = turn.engine_step(lambda runner, workflow, effects: runner.modify(workflow, steps, effects))
        except ModificationError as exc:
            raise ValidationError(f"instruction {exc.index}: {exc}",
                                  errors={f"instructions.{exc.index}": [str(exc)]}) from None
        except ScriptError as exc:
            raise ValidationError(f"variables cannot be stored: {exc}") from None
        turn.step.record("modified", message=annotation.strip(),
                         data=jsonable({"instructions": [dict(d, variables=s.variables or None)
                                                         for d, s in zip(done, steps)]}))
        if outcome.status == InstanceStatus.CANCELLED:
            turn.apply(outcome)
            turn.step.set_status(InstanceStatus.CANCELLED, f"no active token left after the modification: "
                                                           f"{annotation.strip()}")
            _resolve_incidents(instance_id, "cancelled")
            return None
        failed = outcome.incident is not None or any(a["state"] == "error" for a in outcome.active)
        if turn.instance.status == InstanceStatus.ERROR and not failed:
            _resolve_incidents(instance_id, "modified")  # the failed element's token was moved away
            turn.step.set_status(InstanceStatus.RUNNING, "modified")
        turn.apply(outcome)
        return None

    return run_on_instance(instance_id, actor, act, statuses=(InstanceStatus.RUNNING, InstanceStatus.ERROR),
                           refusal="cannot modify an instance that is {status}")


def _resolve_incidents(instance_id: str, resolution: str) -> None:
    db.session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
                       .values(resolved_at=utcnow(), resolution=resolution)
                       .execution_options(synchronize_session=False))
