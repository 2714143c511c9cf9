"""Files attached to records: checked, stored on disk under a random name, offered for download.

Whoever may read a record reads its attachments and may add one; an attachment is deleted by the
one who uploaded it, an admin, or whoever may update the record. Uploads, downloads are not
written to the timeline; uploads and deletions are (`attachment_added`, `attachment_deleted`).

What an upload must pass, in this order, before anything is stored:
- at most ATTACHMENT_MAX_BYTES (413), counted while the bytes are copied, whatever the request said;
- its content type is read from its bytes (puremagic's signatures, then a check that text is UTF-8
  without markup), never taken from the client's header or file name, and must be on the
  ATTACHMENT_TYPES allow list (415): an executable or an HTML page named `.pdf` is refused;
- the client's file name is kept only to show it and to name the download: its last path segment,
  printable characters only. The bytes go to ATTACHMENT_PATH under 32 random hex characters.

A file is written before its row and removed if the row is not committed; a deleted attachment's
file is removed after its row's deletion commits.
"""
from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO

import puremagic
from flask import current_app
from sqlalchemy import select

from ..errors import NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError
from ..extensions import db
from ..models import Attachment, Record
from .access import require_on_record
from .attachment_store import STORAGE_NAME, remove_stored, storage_dir
from .core import Actor, Page, paginate, write_transaction
from .records import get_record
from .timeline import add_event

log = logging.getLogger(__name__)

OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 64 * 1024
_CHUNK = 64 * 1024
# Text that a browser could run as a page or an image with scripts, were it ever shown inline.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|frame|svg|object|embed|meta|link|style|"
                     rb"form|img|a\s|\?xml|!\[cdata)", re.IGNORECASE)


# -- what the bytes are ------------------------------------------------------------------------------

def sniff(head: bytes, declared: str | None = None) -> str:
    """The content type of a file from its first bytes; `declared` only picks between equally likely types.

    Binary formats are recognised by their signatures; what has none is `text/plain` (or `text/csv`
    when declared so) if it is UTF-8 without NUL and without markup, `text/html` if it has markup,
    `text/x-shellscript` if it starts with `#!`, and application/octet-stream otherwise.
    """
    try:
        matches = puremagic.magic_string(head) if head else []
    except (puremagic.PureError, ValueError):
        matches = []
    if matches:
        best = max(m.confidence for m in matches)
        top = [m.mime_type for m in matches if m.confidence == best and m.mime_type]
        if not top:
            return OCTET_STREAM  # a signature without a type: executables, among others
        found = declared if declared in top else top[0]
        return _text_type(head, declared) if found.startswith("text/plain") else found
    return _text_type(head, declared)


def _text_type(head: bytes, declared: str | None) -> str:
    if b"\x00" in head:
        return OCTET_STREAM
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return OCTET_STREAM
    if _MARKUP.search(head):
        return "text/html"
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"#!"):
        return "text/x-shellscript"
    return "text/csv" if declared == "text/csv" else "text/plain"


def display_name(name: str | None) -> str:
    """The client's file name as shown: its last path segment, printable, at most 255 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name.strip(".") == "":
        return "attachment"
    return name[-255:]


# -- storage ---------------------------------------------------------------------------------------

def stored_path(attachment: Attachment) -> Path:
    if not STORAGE_NAME.match(attachment.storage_name):  # never a name a client chose
        raise NotFoundError(f"no attachment {attachment.id}")
    return storage_dir() / attachment.storage_name


def _copy_bounded(stream: BinaryIO, folder: Path, limit: int) -> tuple[Path, int, str, bytes]:
    """Copy `stream` to a new private file in `folder`; 413 past `limit` bytes (the file is removed)."""
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    path, size, digest, head = Path(name), 0, hashlib.sha256(), b""
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"the file is larger than {limit} bytes (STAGECOACH_ATTACHMENT_MAX_BYTES)",
                        limit="STAGECOACH_ATTACHMENT_MAX_BYTES", limit_value=limit)
                if len(head) < SNIFF_BYTES:
                    head += chunk[:SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest(), head


# -- use cases -------------------------------------------------------------------------------------

def list_attachments(module: str, record_id: str, actor: Actor, page: int, per_page: int) -> Page:
    """A record's attachments, newest first, for those who may read the record."""
    get_record(module, record_id, actor)
    stmt = (select(Attachment).where(Attachment.record_id == record_id)
            .order_by(Attachment.created_at.desc(), Attachment.id))
    return paginate(stmt, page, per_page)


def add_attachment(module: str, record_id: str, stream: BinaryIO, file_name: str | None,
                   declared_type: str | None, actor: Actor) -> Attachment:
    """Check and store an uploaded file on a record the actor may read (413, 415 and 400 refuse it)."""
    get_record(module, record_id, actor)
    config = current_app.config
    folder = storage_dir()
    temp, size, sha256, head = _copy_bounded(stream, folder, config["ATTACHMENT_MAX_BYTES"])
    final = None
    try:
        if size == 0:
            raise ValidationError("the file is empty", errors={"file": ["empty"]})
        content_type = sniff(head, declared_type)
        allowed = tuple(config["ATTACHMENT_TYPES"])
        if content_type not in allowed:
            raise UnsupportedMediaTypeError(
                f"the file's content is {content_type}"
                + (f" (sent as {declared_type})" if declared_type and declared_type != content_type else "")
                + f"; accepted: {', '.join(allowed)} (STAGECOACH_ATTACHMENT_TYPES)")
        final = folder / secrets.token_hex(16)
        os.replace(temp, final)
        with write_transaction():
            record = get_record(module, record_id, actor)
            attachment = Attachment(record_id=record.id, module=record.module, file_name=display_name(file_name),
                                    content_type=content_type, size=size, sha256=sha256,
                                    storage_name=final.name, uploaded_by=actor.username)
            db.session.add(attachment)
            db.session.flush()
            add_event(record, "attachment_added", actor, {
                "attachment_id": attachment.id, "file_name": attachment.file_name,
                "content_type": content_type, "size": size})
        return attachment
    except BaseException:
        temp.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
        raise


def get_attachment(module: str, record_id: str, attachment_id: str, actor: Actor) -> tuple[Record, Attachment]:
    """An attachment of a record the actor may read (404 otherwise)."""
    record = get_record(module, record_id, actor)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.record_id != record.id:
        raise NotFoundError(f"no attachment {attachment_id} on {module} record {record_id}")
    return record, attachment


def open_attachment(module: str, record_id: str, attachment_id: str, actor: Actor) -> tuple[Attachment, Path]:
    """The attachment and the path of its bytes, for a download."""
    _, attachment = get_attachment(module, record_id, attachment_id, actor)
    path = stored_path(attachment)
    if not path.is_file():
        log.error("attachment %s: its file %s is missing", attachment.id, path)
        raise NotFoundError(f"the file of attachment {attachment_id} is missing")
    return attachment, path


def delete_attachment(module: str, record_id: str, attachment_id: str, actor: Actor) -> None:
    """Delete an attachment: its uploader, an admin, or whoever may update the record."""
    with write_transaction():
        record, attachment = get_attachment(module, record_id, attachment_id, actor)
        if attachment.uploaded_by != actor.username:
            require_on_record(actor, "update", record, "delete this attachment")
        path = stored_path(attachment)
        add_event(record, "attachment_deleted", actor, {"attachment_id": attachment.id,
                                                        "file_name": attachment.file_name})
        db.session.delete(attachment)
    remove_stored([path.name])
