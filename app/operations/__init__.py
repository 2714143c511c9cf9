"""Operating Stagecoach: metrics, health, logs and backups (docs/operations.md).

| module | job |
|---|---|
| `metrics.py` | the counters and histograms each process keeps; one exposition adding every process up |
| `collector.py` | the gauges read from the database at scrape time (open tasks, incidents, backlogs) |
| `requests.py` | per request: the X-Request-ID, one log line, one latency observation |
| `steps.py` | the after-step hook counting instances started, completed, failed, cancelled (on commit) |
| `work.py` | per job: one log line, its outcome, lateness and duration |
| `logs.py` | JSON (or text) lines on standard output; the request's or job's context; redaction |
| `health.py` | the readiness checks (database, schema, job runners) |
| `views.py` | GET /metrics, /health/live, /health/ready |
| `exporter.py` | metrics of processes that are not the app (gunicorn master, Celery), on a separate address |
| `backup.py` | `flask db-backup`: SQLite's online backup, pg_dump |
"""
from __future__ import annotations

from flask import Flask

from ..extensions import db
from .logs import configure_logging
from .metrics import watch_pool
from .requests import install_request_hooks
from .steps import count_step, listen_for_commits
from .views import bp

__all__ = ["count_step", "init_operations"]


def init_operations(app: Flask) -> None:
    """Logging, the request hooks (first of all), the metrics and health routes, the pool gauges."""
    configure_logging(app.config.get("LOG_FORMAT", "json"), app.config.get("LOG_LEVEL", "INFO"))
    install_request_hooks(app)
    app.register_blueprint(bp)
    listen_for_commits()
    with app.app_context():
        watch_pool(db.engine)
