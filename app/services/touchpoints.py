"""Touchpoints: an email opened, a form submitted, a call made. Each is an entry on the record's
timeline, and the record is rescored at once when its module's scoring rules give that type points.

The rescore goes through the one write path as a system write (`records.update_record` with
source `scoring`): it writes only the computed score, and its edit fires the record's bindings as
any edit does (a `field_change` binding on the score starts when the score moves).
"""
from __future__ import annotations

from ..errors import ValidationError
from ..extensions import db
from .access import require_on_record
from .core import SYSTEM, Actor, write_transaction
from .records import find_record, update_record
from .scoring import SYSTEM_EVENTS, TOUCHPOINT_NAME
from .timeline import add_event


def record_touchpoint(module: str, record_id: str, kind: str, data: dict | None, actor: Actor):
    """Put a touchpoint of type `kind` on the record's timeline and rescore the record.

    Whoever may change the record may record a touchpoint on it (an integration's user, its owner).

    Raises:
        NotFoundError: no such record, or one the caller may not read.
        ForbiddenError: the caller may not change the record.
        ValidationError: a type that is not lower_snake_case or is one of the server's own entries.
    """
    if not TOUCHPOINT_NAME.match(kind or "") or kind in SYSTEM_EVENTS:
        raise ValidationError("invalid touchpoint", errors={"type": [
            "lower_snake_case, at most 40 characters, and not one of the server's own timeline entries"]})
    with write_transaction():
        record = find_record(module, record_id)
        require_on_record(actor, "update", record, "record a touchpoint on this record")
        add_event(record, kind, actor, {**(data or {}), "touchpoint": True})  # marked, whatever data says
        db.session.flush()
        return update_record(module, record_id, {}, SYSTEM, source="scoring")
