"""How a JavaScript script keeps its language through deploy, storage and load: a leading marker comment.

SpiffWorkflow's script tasks and conditions hold their code as a plain string, the input/output mappings
and listeners of `iomapping` are stored as strings too, and every one of them is handed to the one
script engine. The parser writes a JavaScript script as

    /*javascript*/total = amount * 2                      a script task, a listener (its script)
    /*javascript result=total*/amount * 2                 a script task with camunda:resultVariable
    /*javascript kind=condition*/amount > 1000            a condition (its value counts as true or false)
    /*javascript kind=parameter*/execution.getVariable("a")   a camunda:script input/output parameter
    /*javascript listener=task event=create*/...          a task listener, with the event it runs for

and the engine runs whatever starts with `/*javascript` in V8. The marker is a JavaScript comment, so the
text stays the script it was (lines and all, since no line break is added), and no Python script or
expression can start with it (`/*` is not Python), so nothing stored before, or written in Python, is
ever taken for JavaScript. The stored state needs no new field and no migration.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

__all__ = ["FORMATS", "Marked", "is_javascript", "mark", "unmark"]

# scriptFormat / language values that mean JavaScript (Camunda 7 accepts these for Nashorn and GraalJS).
FORMATS = frozenset({"javascript", "js", "ecmascript", "application/javascript", "text/javascript",
                     "application/ecmascript", "text/ecmascript", "graal.js", "nashorn", "rhino"})

_PREFIX = "/*javascript"
_HEADER = re.compile(r"/\*javascript((?: [a-z]+=[A-Za-z_$][\w$-]*)*)\*/")


def is_javascript(language: str | None) -> bool:
    """Whether a scriptFormat or expression language names JavaScript."""
    return (language or "").strip().lower() in FORMATS


@dataclass(frozen=True)
class Marked:
    """A JavaScript script as the engine runs it: its source and what the marker said."""

    source: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> str | None:
        """The variable the script's value is stored in (camunda:resultVariable)."""
        return self.options.get("result")

    @property
    def condition(self) -> bool:
        return self.options.get("kind") == "condition"

    @property
    def parameter(self) -> bool:
        """A camunda:script input or output parameter: a script whose value is the parameter's."""
        return self.options.get("kind") == "parameter"

    @property
    def task_listener(self) -> bool:
        return self.options.get("listener") == "task"

    @property
    def event(self) -> str | None:
        return self.options.get("event")


def mark(source: str, **options: str | None) -> str:
    """`source` marked as JavaScript, with options (each value a name: a variable, an event)."""
    parts = "".join(f" {key}={value}" for key, value in options.items() if value)
    header = f"{_PREFIX}{parts}*/"
    if not _HEADER.fullmatch(header):
        raise ValueError(f"not a marker option: {options!r}")
    return header + source


@functools.lru_cache(maxsize=4096)
def unmark(text: str | None) -> Marked | None:
    """The JavaScript script `text` holds, or None when it is not marked as JavaScript."""
    if not isinstance(text, str) or not text.startswith(_PREFIX):
        return None
    match = _HEADER.match(text)
    if match is None:
        return None
    options = dict(part.split("=", 1) for part in match.group(1).split())
    return Marked(text[match.end():], options)
