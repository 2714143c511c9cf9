"""Validation rules and binding criteria: safe expressions over a record's fields."""
from __future__ import annotations

from typing import Any, Callable

Evaluate = Callable[[str, dict], Any]  # the value of a safe expression over data (the engine's sandbox)


def _names(data: dict, fields: list[dict]) -> dict:
    """Every field is defined in an expression (None when unset), plus the record's system fields."""
    scope = {f["name"]: None for f in fields}
    scope.update(data)
    return scope


def check_rules(rules: list[dict], fields: list[dict], data: dict, evaluate: Evaluate) -> dict[str, list[str]]:
    """Return per-field errors of the rules `data` breaks (a rule holds when its expression is true)."""
    errors: dict[str, list[str]] = {}
    scope = _names(data, fields)
    for rule in rules:
        try:
            holds = bool(evaluate(rule["expression"], scope))
        except Exception as exc:  # a rule that cannot be evaluated is broken: report it, refuse the write
            holds = False
            message = f"rule {rule.get('name')!r} could not be evaluated: {exc}"
        else:
            message = rule.get("message") or f"breaks rule {rule.get('name')!r}"
        if not holds:
            errors.setdefault(rule.get("field") or "record", []).append(message)
    return errors


def binding_matches(binding: dict, event: str, changed: set[str], fields: list[dict], data: dict,
                    evaluate: Evaluate) -> bool:
    """Does a record event start this binding's process?

    Events: create, edit, delete. A binding's event is one of create, edit,
    create_or_edit, field_change (with `field`), delete; `criteria` must hold.
    """
    wanted = binding["event"]
    if wanted == "create_or_edit":
        ok = event in {"create", "edit"}
    elif wanted == "field_change":
        ok = event in {"create", "edit"} and binding.get("field") in changed
    else:
        ok = wanted == event
    if not ok:
        return False
    criteria = (binding.get("criteria") or "").strip()
    if not criteria:
        return True
    try:
        return bool(evaluate(criteria, _names(data, fields)))
    except Exception:  # criteria that cannot be evaluated on this record do not match
        return False
