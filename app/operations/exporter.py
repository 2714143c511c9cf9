"""The metrics of processes that are not the app: a gunicorn master, a Celery worker, `flask jobs worker`.

- `prepare_multiprocess_dir`: the folder the processes of one server write
  their values to must exist and be empty when the server starts (values of
  a previous run would be added in); without PROMETHEUS_MULTIPROC_DIR a
  gunicorn master makes a temporary one, which its workers inherit.
- `process_exited`: an exited process's live gauges (its database
  connections) stop counting; its counters stay, as Prometheus expects.
- `serve_configured`: with STAGECOACH_METRICS_ADDRESS (host:port), serve the
  metrics there with prometheus_client's own HTTP server, in a thread of this
  process: every process of the folder, and the database's gauges read with
  a connection of its own (no pool kept, so nothing is shared with forked
  children). That server has no authentication: bind it to an address only
  Prometheus reaches.
"""
from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager

from .metrics import MULTIPROC_ENV, multiprocess_dir

log = logging.getLogger(__name__)


_made: list[str] = []  # temporary folders this process made, removed by `remove_made_dir`


def prepare_multiprocess_dir(create: bool = False) -> str | None:
    """Empty the metrics folder (make a temporary one first when `create` and none is set); returns it."""
    path = multiprocess_dir()
    if path is None and create:
        path = tempfile.mkdtemp(prefix="stagecoach-metrics-")
        os.environ[MULTIPROC_ENV] = path
        _made.append(path)
    if path is None:
        return None
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    return path


def remove_made_dir() -> None:
    """Remove the temporary folders `prepare_multiprocess_dir` made (the server stops)."""
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)


def process_exited(pid: int) -> None:
    """Stop counting the live gauges of process `pid` (gunicorn's child_exit, Celery's process shutdown)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` (or `:port`, on every interface) → (host, port)."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise RuntimeError(f"STAGECOACH_METRICS_ADDRESS must be host:port, got {address!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve_configured(config):
    """Start the metrics server when `config` (a Config class or an app's config) has METRICS_ADDRESS;
    returns it (a WSGIServer: `shutdown()` stops it), or None."""
    setting = config.get if isinstance(config, Mapping) else lambda name, default=None: getattr(config, name, default)
    address = setting("METRICS_ADDRESS")
    if not address:
        return None
    from prometheus_client import start_http_server
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from .collector import DatabaseCollector
    from .metrics import registry

    host, port = parse_address(address)
    engine = create_engine(setting("SQLALCHEMY_DATABASE_URI"), poolclass=NullPool)

    @contextmanager
    def connect():
        with engine.connect() as conn:
            yield conn

    server, _ = start_http_server(port, addr=host, registry=registry(DatabaseCollector(connect)))
    log.warning("metrics served on http://%s:%d/metrics without authentication", host, server.server_port)
    return server
