"""A blueprint's stages: which elements of its diagram set the record's stage field, and to what."""
from __future__ import annotations

STAGE_TASKS = frozenset({"userTask", "manualTask"})


def stage_of(element: dict | None) -> str | None:
    """The stage a record takes when its blueprint's instance enters this element (its metadata): the
    element's `stage` property, else the name of a user or manual task (each such task is a state the
    record waits in); None for any other element."""
    element = element or {}
    props = element.get("properties") or {}
    if "stage" in props:
        return props["stage"]
    if element.get("type") in STAGE_TASKS:
        return element.get("name")
    return None
