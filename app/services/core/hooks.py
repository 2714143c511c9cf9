"""After-step hooks: what must happen once a command's step is written.

Saving a step writes its projections and nothing else; whatever follows from
it (the timer job moves, a record takes the stage its blueprint entered, a
buffered message is handed over, ...) is a hook the app factory registers,
as spiff-arena's engine step delegate or Camunda's history event producers
are plugged in. A hook runs inside the step's transaction, in the order of
registration, and may itself run a command (a nested step runs its own hooks).
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask, current_app

AfterStep = Callable[[Any], None]  # gets the written `projection.Step` (not imported: projection imports this)
_KEY = "stagecoach.after_step"


def register_after_step(app: Flask, *hooks: AfterStep) -> None:
    """Run `hooks` after every step written in `app` (each once, whatever the number of calls)."""
    registered = app.extensions.setdefault(_KEY, [])
    registered.extend(h for h in hooks if h not in registered)


def after_step_hooks() -> list[AfterStep]:
    return current_app.extensions.get(_KEY, [])


def run_after_step(step: Any) -> None:
    for hook in after_step_hooks():
        hook(step)
