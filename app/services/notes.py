"""Notes on records, by people (the API) and by processes (`add_note` in a script).

Whoever may read a record reads its notes and may add one. A note is edited by its author or an
admin; it is deleted by its author, an admin, or whoever may update the record (its owner, the
owner's managers, an `update` grant on the module). A note a process wrote has no author. Every
note added, edited or deleted is on the record's timeline (`note`, `note_edited`, `note_deleted`).
"""
from __future__ import annotations

from sqlalchemy import select

from ..errors import ForbiddenError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Note, Record
from .access import require_on_record
from .core import Actor, Page, paginate, utcnow, write_transaction
from .records import get_record
from .timeline import add_event

MAX_TEXT = 10_000


def list_notes(module: str, record_id: str, actor: Actor, page: int, per_page: int) -> Page:
    """A record's notes, newest first, for those who may read the record."""
    get_record(module, record_id, actor)
    stmt = select(Note).where(Note.record_id == record_id).order_by(Note.created_at.desc(), Note.id)
    return paginate(stmt, page, per_page)


def add_note(module: str, record_id: str, text: str, actor: Actor) -> Note:
    """A user's note on a record they may read."""
    with write_transaction():
        record = get_record(module, record_id, actor)
        return write_note(record, text, actor, author=actor.username)


def write_note(record: Record, text: str, actor: Actor, *, author: str | None,
               instance_id: str | None = None) -> Note:
    """Store a note and put it on the record's timeline (no checks: the caller made them)."""
    text = _checked(text)
    now = utcnow()
    note = Note(record_id=record.id, module=record.module, text=text, author=author, instance_id=instance_id,
                created_at=now, modified_at=now)
    db.session.add(note)
    db.session.flush()
    add_event(record, "note", actor, {"text": text, "note_id": note.id}, instance_id)
    return note


def get_note(module: str, record_id: str, note_id: str, actor: Actor) -> tuple[Record, Note]:
    record = get_record(module, record_id, actor)
    note = db.session.get(Note, note_id)
    if note is None or note.record_id != record.id:
        raise NotFoundError(f"no note {note_id} on {module} record {record_id}")
    return record, note


def update_note(module: str, record_id: str, note_id: str, text: str, actor: Actor) -> Note:
    """Change a note's text: its author or an admin."""
    with write_transaction():
        record, note = get_note(module, record_id, note_id, actor)
        if not (actor.is_admin or (note.author is not None and note.author == actor.username)):
            raise ForbiddenError("only the note's author or an admin may edit it")
        text = _checked(text)
        if text != note.text:
            add_event(record, "note_edited", actor, {"note_id": note.id, "from": note.text, "to": text})
            note.text, note.modified_at = text, utcnow()
        return note


def delete_note(module: str, record_id: str, note_id: str, actor: Actor) -> None:
    """Delete a note: its author, an admin, or whoever may update the record."""
    with write_transaction():
        record, note = get_note(module, record_id, note_id, actor)
        if note.author is None or note.author != actor.username:
            require_on_record(actor, "update", record, "delete this note")
        add_event(record, "note_deleted", actor, {"note_id": note.id, "text": note.text})
        db.session.delete(note)


def _checked(text) -> str:
    text = str(text or "")
    if not text.strip():
        raise ValidationError("a note needs text", errors={"text": ["must not be blank"]})
    if len(text) > MAX_TEXT:
        raise ValidationError("the note is too long", errors={"text": [f"at most {MAX_TEXT} characters"]})
    return text
