"""The served configuration (gunicorn.conf.py): threaded workers, so a worker's long poll of fetchAndLock
holds one thread while the others answer, and the embedded background work still starts in each worker."""
from __future__ import annotations

import runpy
from types import SimpleNamespace

from gunicorn.config import Config

from ..factories import ROOT


def served_config() -> tuple[Config, dict]:
    namespace = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    return config, namespace


def test_gunicorn_runs_threaded_workers():
    config, _ = served_config()
    assert config.worker_class_str == "gthread"
    assert config.threads >= 2


def test_each_worker_still_starts_the_job_runner_and_the_outbox_dispatcher(monkeypatch):
    started = []
    monkeypatch.setattr("app.jobs.timers.start_job_runner", lambda app: started.append(("jobs", app)))
    monkeypatch.setattr("app.jobs.outbox.start_dispatcher", lambda app: started.append(("outbox", app)))
    _, namespace = served_config()
    app = SimpleNamespace(config={"JOBS_EMBEDDED": True, "OUTBOX_DISPATCH": True})
    namespace["post_worker_init"](SimpleNamespace(wsgi=app))
    assert started == [("jobs", app), ("outbox", app)]
    started.clear()
    namespace["post_worker_init"](SimpleNamespace(wsgi=SimpleNamespace(config={})))
    assert started == []
