"""A process's history time to live: `camunda:historyTimeToLive` on `bpmn:process`.

Camunda 7 reads it as a whole number of days, written plainly (`30`) or as an ISO-8601
duration in days (`P30D`); nothing else (hours, months, expressions, negative numbers) is a
valid time to live, and such a diagram is refused at deploy with its line and process. An
absent or empty attribute means none: the server's default applies (`HISTORY_TTL_DAYS`).
"""
from __future__ import annotations

import re

from ..xml import Problem
from .reading import CAMUNDA_NS

TTL_ATTRIBUTE = f"{{{CAMUNDA_NS}}}historyTimeToLive"
# A hundred years: longer is "keep forever", which is leaving the attribute out.
MAX_HISTORY_TTL_DAYS = 36_500
_DAYS = re.compile(r"(?:P([0-9]+)D|([0-9]+))")


def parse_ttl_days(raw: str | None) -> int | None:
    """The days a time to live names; None when absent or empty.

    Raises:
        ValueError: not a number of days, or more than MAX_HISTORY_TTL_DAYS.
    """
    if raw is None or not raw.strip():
        return None
    match = _DAYS.fullmatch(raw.strip())
    if match is None:
        raise ValueError(f"camunda:historyTimeToLive must be a number of days (30) or an ISO-8601 duration "
                         f"in days (P30D), not {raw.strip()[:40]!r}")
    days = int(match.group(1) or match.group(2))
    if days > MAX_HISTORY_TTL_DAYS:
        raise ValueError(f"camunda:historyTimeToLive is at most {MAX_HISTORY_TTL_DAYS} days (leave it out to "
                         f"keep history forever), not {days}")
    return days


def history_ttl(file_name: str, process, problems: list[Problem]) -> int | None:
    """The process's time to live in days, or None; an invalid value adds a problem naming its line."""
    try:
        return parse_ttl_days(process.get(TTL_ATTRIBUTE))
    except ValueError as exc:
        problems.append(Problem(file_name, str(exc), process.sourceline, process.get("id"), "process"))
        return None
