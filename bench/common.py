"""What the benchmarks share: percentiles, database resets, machine load."""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (values in seconds, result in milliseconds)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1] * 1000


def reset_postgres(url: str) -> None:
    """Drop and recreate the public schema of the bench database (create the database if missing)."""
    url = sqlalchemy_url(url)
    eng = create_engine(url)
    try:
        conn = eng.connect()
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        eng.dispose()
        name = eng.url.database
        admin = create_engine(eng.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        conn = eng.connect()
    with conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.commit()
    eng.dispose()


def sqlalchemy_url(url: str) -> str:
    from config import normalise_database_url
    return normalise_database_url(url)


def load_average() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"
