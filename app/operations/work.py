"""Per job: one log line and its metrics (outcome, how late it ran, how long it took).

The job runner (`app/jobs/runner.py`) calls `job_ran` once per job it claimed,
after the job's transaction ended, whatever its outcome.
"""
from __future__ import annotations

import datetime as dt
import logging

from .metrics import metrics

job_log = logging.getLogger("stagecoach.jobs")


def job_ran(*, kind: str, job_id: str, instance_id: str | None, due_at: dt.datetime, ran_at: dt.datetime,
            seconds: float, outcome: str, worker: str, error: str | None = None) -> None:
    """Count and log one job: `outcome` is done, retried, failed (out of attempts) or error (not recorded)."""
    late = max(0.0, (ran_at - due_at).total_seconds())
    counters = metrics()
    counters.jobs.labels(kind, outcome).inc()
    counters.job_lateness.labels(kind).observe(late)
    counters.job_seconds.labels(kind).observe(seconds)
    level = logging.INFO if outcome == "done" else logging.WARNING
    job_log.log(level, "job %s %s" + (": %s" if error else ""), kind, outcome, *([error[:500]] if error else []),
                extra={"kind": kind, "job_id": job_id, "instance_id": instance_id, "outcome": outcome,
                       "duration_ms": round(seconds * 1000, 2), "late_ms": round(late * 1000), "worker": worker})
