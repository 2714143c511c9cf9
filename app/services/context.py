"""What every service needs: who is acting, the engine, the clock."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from ..clock import utcnow  # noqa: F401 - services read the one clock through here
from ..engine import Engine


@dataclass(frozen=True)
class Actor:
    """The authenticated caller."""

    username: str
    groups: tuple[str, ...] = field(default_factory=tuple)
    is_admin: bool = False


SYSTEM = Actor("system", (), True)


def engine() -> Engine:
    return current_app.extensions["stagecoach.engine"]
