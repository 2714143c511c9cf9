"""What a gunicorn worker does once its app is loaded (gunicorn.conf.py's post_worker_init)."""
from __future__ import annotations

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import gunicorn.util

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_a_worker_sets_its_start_up_objects_aside_from_full_collections(app, monkeypatch):
    """After the hook, a full collection walks only what was made since: the app's own objects (schemas,
    mappers, parsed diagrams) are frozen, so a request that triggers one pays for its own garbage only."""
    hooks = runpy.run_path(str(CONF))
    monkeypatch.setattr(gunicorn.util, "write_error", gunicorn.util.write_error)  # the hook replaces it
    app.config.update(JOBS_EMBEDDED=False, OUTBOX_DISPATCH=False)
    gc.unfreeze()
    tracked_before = len(gc.get_objects())
    try:
        hooks["post_worker_init"](SimpleNamespace(wsgi=app))
        frozen = gc.get_freeze_count()
        walked = len(gc.get_objects())  # what a full collection now walks
    finally:
        gc.unfreeze()
    assert frozen > 0.9 * tracked_before > 10_000
    assert walked < 0.1 * tracked_before
