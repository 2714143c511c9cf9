"""Where attachments' bytes live: ATTACHMENT_PATH, one file per attachment under a random name.

Below the record use cases, so deleting a record (app/services/records.py) removes its files too.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Attachment

log = logging.getLogger(__name__)

STORAGE_NAME = re.compile(r"^[0-9a-f]{32}$")  # what the server generates; never a client's name


def storage_dir() -> Path:
    path = Path(current_app.config["ATTACHMENT_PATH"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def stored_names(record_id: str) -> list[str]:
    """The storage names of a record's attachments (to remove once the record's deletion commits)."""
    return list(db.session.scalars(select(Attachment.storage_name).where(Attachment.record_id == record_id)))


def remove_stored(names: list[str]) -> None:
    """Remove stored files; a file that cannot be removed is logged (its row is gone: it is only space)."""
    if not names:
        return
    folder = storage_dir()
    for name in names:
        if not STORAGE_NAME.match(name):
            continue
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the attachment file %s: %s", folder / name, exc)
