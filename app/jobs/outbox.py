"""The embedded outbox dispatcher: a daemon thread per server process.

Every process may run one; claims are conditional updates, so no message is
sent twice. `flask outbox deliver` does one pass by hand.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def start_dispatcher(app: Flask) -> threading.Thread:
    """Deliver due outbox messages every OUTBOX_POLL_SECONDS until the process exits."""
    from ..extensions import db
    from ..operations.metrics import count_outbox
    from ..services.outbox import deliver_due

    stop = threading.Event()

    def loop():
        while not stop.wait(app.config["OUTBOX_POLL_SECONDS"]):
            with app.app_context():
                try:
                    count_outbox(deliver_due())
                except Exception:  # keep the dispatcher alive; the next pass tries again
                    log.exception("outbox dispatch failed")
                finally:
                    db.session.remove()

    thread = threading.Thread(target=loop, name="stagecoach-outbox", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
