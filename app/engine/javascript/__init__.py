"""JavaScript scripts, listeners, mappings and conditions, run in V8 (mini-racer) as Camunda 7 ran them on
Nashorn or GraalJS: `marker` (how a script keeps its language), `lexer` (what cannot run, said at deploy),
`prelude` (the locked-down context) and `runtime` (the pool of contexts and the rules of a run)."""
from __future__ import annotations

from .marker import FORMATS, Marked, is_javascript, mark, unmark
from .runtime import JavaScript

__all__ = ["FORMATS", "JavaScript", "Marked", "is_javascript", "mark", "unmark"]
