"""The event log of a process, for process mining tools: CSV, or XES (IEEE 1849-2016).

One case per instance (its id; the business key beside it), one activity per `activity_instance` row:
its element's name, start and end, the user who completed it (the resource) and how it ended, in the
XES standard lifecycle model (`complete`, `ate_abort` for a cancelled or interrupted occurrence, and
`start` alone for one still open). XES gives each occurrence a `start` event and, once ended, a
`complete` (or `ate_abort`) event, paired by `concept:instance`, in time order within the trace.

The log is streamed: the rows are read in batches (a server-side cursor on PostgreSQL) and written out
as they come, one trace at a time, so memory holds one instance's rows, never the log. At most `limit`
instances (the earliest started that match) are exported per call; the period filters instances by
their start, so a trace is always whole.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from itertools import groupby
from typing import Iterator
from xml.sax.saxutils import quoteattr

from sqlalchemy import select

from ...extensions import db
from ...models import ActivityInstance, ActivityState, ProcessInstance
from ..core import Actor
from .scope import Scope, instance_filters, resolve

A, P = ActivityInstance, ProcessInstance
EXPORT_LIMIT = 100_000  # instances per export, at most
BATCH = 1_000  # rows read per round trip
LIFECYCLE = {ActivityState.COMPLETED: "complete", ActivityState.CANCELLED: "ate_abort",
             ActivityState.INTERRUPTED: "ate_abort", ActivityState.ACTIVE: "start"}
CSV_COLUMNS = ("case_id", "business_key", "activity", "activity_id", "element_type", "start_timestamp",
               "complete_timestamp", "resource", "lifecycle", "outcome")
FORMATS = {"csv": "text/csv; charset=utf-8", "xes": "application/xml; charset=utf-8"}


@dataclass
class EventLog:
    """A log ready to stream: its media type, a file name, and the generator of its text."""

    media_type: str
    filename: str
    chunks: Iterator[str]


def event_log(actor: Actor, *, format: str = "csv", limit: int = 10_000,
              **query) -> EventLog:
    """The event log of a process (a key alone: every version), streamed as CSV or XES.

    Permissions are checked now; the rows are read as the returned generator is consumed.

    Raises:
        ValidationError, ForbiddenError, NotFoundError: as `scope.resolve`.
    """
    scope = resolve(actor, every_version=True, **query)
    limit = max(1, min(limit, EXPORT_LIMIT))
    if format == "xes":
        return EventLog(FORMATS["xes"], f"{scope.key}.xes", _xes(scope, limit))
    return EventLog(FORMATS["csv"], f"{scope.key}.csv", _csv(scope, limit))


def _rows(scope: Scope, limit: int):
    """The activity rows of the first `limit` matching instances, instance by instance, in order."""
    cases = (select(P.id, P.business_key, P.started_at).where(*instance_filters(scope))
             .order_by(P.started_at, P.id).limit(limit).subquery())
    stmt = (select(A.id, A.instance_id, cases.c.business_key, A.element_id, A.element_name, A.element_type,
                   A.started_at, A.ended_at, A.state, A.actor, A.outcome)
            .join(cases, cases.c.id == A.instance_id)
            .order_by(cases.c.started_at, cases.c.id, A.started_at, A.id))
    return db.session.execute(stmt.execution_options(yield_per=BATCH))


# A cell a spreadsheet would read as a formula (=, +, -, @, or a tab or carriage return before one) is
# written with a leading apostrophe, as OWASP advises against CSV injection: a business key or an element
# name is anyone's text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 allows no document to hold (C0 controls but tab, line feed and carriage return; U+FFFE/F;
# lone surrogates): replaced by U+FFFD, so a business key cannot make the log unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _attr(value) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", "" if value is None else str(value)))


def _at(moment) -> str:
    return moment.isoformat(timespec="milliseconds") if moment else ""


def _csv(scope: Scope, limit: int) -> Iterator[str]:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    for n, row in enumerate(_rows(scope, limit), 1):
        out.writerow((row.instance_id, _cell(row.business_key), _cell(row.element_name or row.element_id),
                      _cell(row.element_id), _cell(row.element_type), _at(row.started_at), _at(row.ended_at),
                      _cell(row.actor), LIFECYCLE.get(row.state, "unknown"), _cell(row.outcome)))
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849.2016">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity_and_transition" keys="concept:name lifecycle:transition"/>
"""


def _xes(scope: Scope, limit: int) -> Iterator[str]:
    yield XES_HEAD + (f'  <string key="concept:name" value={_attr(scope.key)}/>\n'
                      '  <string key="lifecycle:model" value="standard"/>\n')
    for instance_id, rows in groupby(_rows(scope, limit), key=lambda r: r.instance_id):
        yield _trace(instance_id, list(rows))
    yield "</log>\n"


def _trace(instance_id: str, rows: list) -> str:
    """One instance's trace: a start event per occurrence and an end event per ended one, in time order."""
    events = []
    for row in rows:
        activity = row.element_name or row.element_id
        events.append((row.started_at, row.id, 0, activity, "start", None, row))
        if row.ended_at is not None:
            events.append((row.ended_at, row.id, 1, activity, LIFECYCLE.get(row.state, "complete"), row.actor, row))
    # at one moment, the earlier occurrence's end before the next one's start (a loop back to a task)
    events.sort(key=lambda e: e[:3])
    parts = ["  <trace>\n", f"    <string key=\"concept:name\" value={_attr(instance_id)}/>\n"]
    if rows[0].business_key:
        parts.append(f"    <string key=\"business_key\" value={_attr(rows[0].business_key)}/>\n")
    for moment, occurrence, _, activity, transition, resource, row in events:
        parts.append("    <event>\n"
                     f"      <string key=\"concept:name\" value={_attr(activity)}/>\n"
                     f"      <string key=\"concept:instance\" value=\"{occurrence}\"/>\n"
                     f"      <date key=\"time:timestamp\" value=\"{_at(moment)}\"/>\n"
                     f"      <string key=\"lifecycle:transition\" value=\"{transition}\"/>\n"
                     f"      <string key=\"element_id\" value={_attr(row.element_id)}/>\n"
                     f"      <string key=\"element_type\" value={_attr(row.element_type)}/>\n")
        if resource:
            parts.append(f"      <string key=\"org:resource\" value={_attr(resource)}/>\n")
        if transition != "start" and row.outcome:
            parts.append(f"      <string key=\"outcome\" value={_attr(row.outcome)}/>\n")
        parts.append("    </event>\n")
    parts.append("  </trace>\n")
    return "".join(parts)
