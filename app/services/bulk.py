"""One operation on many instances: retry, cancel, suspend or resume each of a list, or of a filter's matches.

Each instance goes through its own use case (`instances.retry_instance`, `cancel_instance`, ...) in its
own transaction, so authorization and the one command executor apply to each exactly as a call for
that instance alone would: one refused does not stop or undo the others, and every instance gets its
outcome, done (with its status now) or refused (the problem its own call would have answered).
A batch takes at most `MAX_INSTANCES`: more ids, or a filter matching more, is refused (400, with the
count) before anything is done.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..errors import DatabaseUnavailableError, StagecoachError, ValidationError, is_database_outage
from ..extensions import db
from . import instances
from .core import Actor, TenantFilter

log = logging.getLogger(__name__)

MAX_INSTANCES = 1_000

# What each operation calls: the use case of one instance, with the actor and the reason.
OPERATIONS = {
    "retry": instances.retry_instance,
    "cancel": instances.cancel_instance,
    "suspend": instances.suspend_instance,
    "resume": instances.resume_instance,
}

# The filters of the instance list (`instances.list_instances`) a batch may select by.
FILTERS = ("status", "key", "business_key", "business_key_like", "activity", "started_after", "started_before",
           "module", "record_id", "definition_id", "tenant_id", "without_tenant_id")


@dataclass
class BulkOutcome:
    """What the operation did to one instance: `ok` with the instance's status now, or refused with the
    problem (type, title, status, detail and its own members) its own call would have answered."""

    instance_id: str
    ok: bool
    instance_status: str | None = None
    problem: dict | None = None


@dataclass
class BulkResult:
    operation: str
    items: list[BulkOutcome] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return len(self.items)

    @property
    def succeeded(self) -> int:
        return sum(1 for item in self.items if item.ok)

    @property
    def refused(self) -> int:
        return self.matched - self.succeeded


def select_instances(actor: Actor, filters: dict) -> list[str]:
    """The ids of the instances the actor may read that match the instance list's `filters`, newest first.

    Raises:
        ValidationError: a filter the list does not know, or more than MAX_INSTANCES match (`matched`).
    """
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise ValidationError("unknown filter", errors={f"filter.{name}": ["unknown filter"] for name in unknown})
    filters = dict(filters)
    tenant_id, without_tenant_id = filters.pop("tenant_id", None), filters.pop("without_tenant_id", False)
    tenants = TenantFilter.of([tenant_id] if tenant_id else None, without_tenant_id)
    page = instances.list_instances(actor, **filters, tenants=tenants, page=1, per_page=MAX_INSTANCES)
    if page.total > MAX_INSTANCES:
        raise ValidationError(f"the filter matches {page.total} instances, more than the {MAX_INSTANCES} one batch "
                              "may change: narrow it (status, started_after, started_before, ...)",
                              matched=page.total, limit_value=MAX_INSTANCES)
    return [instance.id for instance in page.items]


def run_bulk(actor: Actor, operation: str, *, instance_ids: list[str] | None = None, filters: dict | None = None,
              reason: str | None = None) -> BulkResult:
    """Apply `operation` (retry, cancel, suspend, resume) to each instance of `instance_ids`, or of those
    `filters` select (`select_instances`), one at a time, each through its own use case.

    Raises:
        ValidationError: an unknown operation; neither or both of ids and filters; no ids or more than
            MAX_INSTANCES of them, or a filter matching more (nothing is done then).
    """
    call = OPERATIONS.get(operation)
    if call is None:
        raise ValidationError(f"unknown operation {operation!r}",
                              errors={"operation": [f"choose one of {', '.join(OPERATIONS)}"]})
    if (instance_ids is None) == (filters is None):
        raise ValidationError("name the instances or give a filter, not both",
                              errors={"instance_ids": ["give instance_ids or filter"]})
    if instance_ids is not None:
        ids = list(dict.fromkeys(instance_ids))  # each once, in the order given
        if not ids:
            raise ValidationError("no instances named", errors={"instance_ids": ["name or select at least one instance"]})
        if len(ids) > MAX_INSTANCES:
            raise ValidationError(f"{len(ids)} instances named, more than the {MAX_INSTANCES} one batch may change",
                                  matched=len(ids), limit_value=MAX_INSTANCES)
    else:
        ids = select_instances(actor, filters)
    return BulkResult(operation, [_apply(call, instance_id, actor, reason) for instance_id in ids])


def _apply(call, instance_id: str, actor: Actor, reason: str | None) -> BulkOutcome:
    try:
        result = call(instance_id, actor, reason)
    except StagecoachError as exc:
        db.session.rollback()
        return BulkOutcome(instance_id, False, problem=problem_of(exc))
    except Exception as exc:  # one instance's failure is its outcome; the others go on
        db.session.rollback()
        if is_database_outage(exc):
            return BulkOutcome(instance_id, False, problem=problem_of(DatabaseUnavailableError(
                "the database cannot be reached right now; try again later")))
        log.exception("batch operation failed on instance %s", instance_id)
        return BulkOutcome(instance_id, False, problem=problem_of(StagecoachError(
            "the server failed on this instance; it has been logged")))
    return BulkOutcome(instance_id, True, instance_status=result.status)


def problem_of(error: StagecoachError) -> dict:
    """The problem details the error answers on its own (RFC 9457 members and the error's own)."""
    body = {"type": f"/problems/{error.slug}", "title": error.title, "status": error.status, "detail": error.detail}
    if error.errors:
        body["errors"] = error.errors
    body.update({k: v for k, v in error.extra.items() if v is not None})
    return body
