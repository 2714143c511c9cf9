"""Touchpoints an integration posts: a webinar attended, an email bounced, a call made. Each is an entry
on the record's timeline, and the record is rescored at once when its module's scoring rules give that
type points.

The touchpoints the server records from its own evidence (`scoring.SERVER_TOUCHPOINTS`: an email
queued, opened or clicked through its tracking links, a message correlated, a form completed, a webhook
delivered, a stage reached) cannot be posted: a posted `email_opened` would pass for one the tracking
pixel saw. The server records those in the transaction of the step that caused them
(app/services/tracking.py, crm_actions.py, record_sync.py, crm_tasks.py, outbox.py).

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
from .scoring import SERVER_TOUCHPOINTS, postable
from .timeline import add_event


def record_touchpoint(module: str, record_id: str, kind: str, data: dict | None, actor: Actor):
    """Put a touchpoint of type `kind` on the record's timeline and rescore the record.

    Whoever may change the record may record a touchpoint on it (an integration's user, its owner).

    Raises:
        NotFoundError: no such record, or one the caller may not read.
        ForbiddenError: the caller may not change the record.
        ValidationError: a type that is not lower_snake_case or is one of the server's own entries.
    """
    if not postable(kind):
        raise ValidationError("invalid touchpoint", errors={"type": [
            "lower_snake_case, at most 40 characters, and neither one of the server's own timeline entries nor "
            f"a touchpoint the server records from its own evidence ({', '.join(sorted(SERVER_TOUCHPOINTS))})"]})
    with write_transaction():
        record = find_record(module, record_id)
        require_on_record(actor, "update", record, "record a touchpoint on this record")
        add_event(record, kind, actor, {**(data or {}), "touchpoint": True})  # marked, whatever data says
        db.session.flush()
        return update_record(module, record_id, {}, SYSTEM, source="scoring")
