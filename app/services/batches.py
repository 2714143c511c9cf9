"""Batches: a migration of many instances, worked through in chunks of one transaction each.

A batch is created with its plan and one pending item per instance, and with a
job of kind `batch` that keeps it in the job runner's line. Each chunk locks the
batch row, migrates its next pending items (each inside a savepoint, so one
instance that fails is marked failed and the others keep their migration), marks
them and commits: what a chunk did and the marks that say so commit together.
A crash in the middle rolls back only the chunk it was in; running the batch
again (`resume_batch`, or its job) takes the pending items that are left, so no
instance is migrated twice.

Run from a request (`run_now`), the chunks follow one another at once and the
job is kept a minute ahead, so the job runner resumes the batch only if the
request died; run by the job runner (`run_async`), one chunk per claim.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select

from ..errors import NotFoundError, StagecoachError
from ..extensions import db
from ..models import Batch, BatchItem, Job
from ..models.base import new_id
from ..statuses import BatchItemStatus, BatchStatus, JobStatus
from . import migrations
from .core import Actor, Page, engine, paginate, utcnow, write_transaction

log = logging.getLogger(__name__)

MIGRATION = "instance-migration"
# How long a batch run from a request may go without a chunk before the job runner takes it over.
RESUME_AFTER = dt.timedelta(seconds=60)


def start_migration(actor: Actor, plan: migrations.Plan, instance_ids: list[str], *, run_now: bool = True) -> Batch:
    """Create the batch (its items pending, its job queued), then run it now unless `run_now` is false."""
    with write_transaction():
        now = utcnow()
        batch = Batch(id=new_id(), kind=MIGRATION, status=BatchStatus.RUNNING, plan=plan.as_dict(),
                      total=len(instance_ids), done=0, refused=0, failed=0, created_by=actor.username, created_at=now)
        db.session.add(batch)
        db.session.flush()
        if instance_ids:
            db.session.execute(BatchItem.__table__.insert(), [
                {"batch_id": batch.id, "position": n, "instance_id": iid, "status": BatchItemStatus.PENDING}
                for n, iid in enumerate(instance_ids)])
        db.session.add(Job(id=new_id(), kind="batch", instance_id=None, batch_id=batch.id,
                           due_at=now + RESUME_AFTER if run_now else now, status=JobStatus.PENDING, attempts=0,
                           max_attempts=3, created_at=now))
    if run_now:
        run_batch(batch.id)
    return batch


def run_batch(batch_id: str) -> None:
    """Run every chunk left, one transaction each."""
    while run_chunk(batch_id, heartbeat=True):
        pass


BATCHES, ITEMS, JOBS = Batch.__table__, BatchItem.__table__, Job.__table__
_COUNTERS = {BatchItemStatus.DONE: "done", BatchItemStatus.REFUSED: "refused", BatchItemStatus.FAILED: "failed"}


def run_chunk(batch_id: str, *, heartbeat: bool = False) -> bool:
    """Migrate the next chunk of pending items; whether items remain pending afterwards.

    Written with Core statements on the session's connection (the ORM would flush at every savepoint).

    Args:
        heartbeat: keep the batch's job a while ahead (a request runs the chunks; the job runner
            takes over only if it stops).
    """
    with write_transaction():
        conn = db.session.connection()
        batch = conn.execute(select(BATCHES).where(BATCHES.c.id == batch_id).with_for_update()).one_or_none()
        if batch is None:
            return False
        counts = dict.fromkeys(_COUNTERS.values(), 0)
        if batch.status != BatchStatus.COMPLETED:
            items = conn.execute(select(ITEMS.c.position, ITEMS.c.instance_id).where(
                ITEMS.c.batch_id == batch_id, ITEMS.c.status == BatchItemStatus.PENDING)
                .order_by(ITEMS.c.position).limit(current_app.config["MIGRATION_CHUNK_SIZE"])).all()
            if items:
                plan = migrations.Plan.from_dict(batch.plan)
                actor = Actor(batch.created_by)
                for position, instance_id in items:
                    status, reasons, error = _run_item(batch_id, plan, instance_id, actor)
                    conn.execute(ITEMS.update().where(ITEMS.c.batch_id == batch_id, ITEMS.c.position == position)
                                 .values(status=status, reasons=reasons, error=error, finished_at=utcnow()))
                    counts[_COUNTERS[status]] += 1
        pending = batch.total - batch.done - batch.refused - batch.failed - sum(counts.values())
        now = utcnow()
        values = {name: getattr(BATCHES.c, name) + n for name, n in counts.items() if n}
        if not pending and batch.status != BatchStatus.COMPLETED:
            values.update(status=BatchStatus.COMPLETED, finished_at=now)
        if values:
            conn.execute(BATCHES.update().where(BATCHES.c.id == batch_id).values(**values))
        if not pending:
            conn.execute(JOBS.delete().where(JOBS.c.batch_id == batch_id))
        elif heartbeat:
            conn.execute(JOBS.update().where(JOBS.c.batch_id == batch_id).values(due_at=now + RESUME_AFTER))
        return pending > 0


def _run_item(batch_id: str, plan: migrations.Plan, instance_id: str, actor: Actor) -> tuple:
    """Migrate one instance inside a savepoint; (item status, reasons, error)."""
    try:
        with db.session.begin_nested():
            result = migrations.migrate_instance(plan, instance_id, actor, batch_id=batch_id)
    except NotFoundError as exc:
        return BatchItemStatus.REFUSED, [{"element_id": None, "reason": "not-found", "message": exc.detail}], None
    except StagecoachError as exc:  # a limit, a busy instance, state that cannot be loaded
        return BatchItemStatus.FAILED, None, exc.detail
    except Exception as exc:  # the instance's own failure: recorded, the batch goes on
        log.exception("migrating instance %s in batch %s failed", instance_id, batch_id)
        return BatchItemStatus.FAILED, None, f"{type(exc).__name__}: {exc}"
    return (BatchItemStatus.DONE if result.status == "done" else BatchItemStatus.REFUSED), result.reasons, None


# -- reading and resuming ------------------------------------------------------------------------------------

def get_batch(batch_id: str, actor: Actor) -> Batch:
    """A batch its creator or an admin may read (404 otherwise, as for one that does not exist)."""
    batch = db.session.get(Batch, batch_id)
    if batch is None or not (actor.is_admin or batch.created_by == actor.username):
        raise NotFoundError(f"no migration {batch_id}")
    return batch


def list_batches(actor: Actor, page: int = 1, per_page: int = 20, offset: int | None = None) -> Page:
    """Newest first, described: every batch for an admin, one's own for anyone else."""
    stmt = select(Batch)
    if not actor.is_admin:
        stmt = stmt.where(Batch.created_by == actor.username)
    found = paginate(stmt.order_by(Batch.created_at.desc(), Batch.id), page, per_page, offset)
    found.items = [describe(b) for b in found.items]
    return found


def migration(batch_id: str, actor: Actor) -> dict:
    """One batch, described (without its instances: `batch_items` pages through them)."""
    return describe(get_batch(batch_id, actor))


def batch_items(batch_id: str, actor: Actor, *, status: str | None = None, page: int = 1,
                per_page: int = 100) -> Page:
    """A batch's instances in order, with what came of each (optionally one status: pending, migrated,
    refused or failed)."""
    get_batch(batch_id, actor)
    stmt = select(BatchItem).where(BatchItem.batch_id == batch_id)
    if status:
        stmt = stmt.where(BatchItem.status == {"migrated": BatchItemStatus.DONE}.get(status, status))
    found = paginate(stmt.order_by(BatchItem.position), page, per_page)
    found.items = [describe_item(i) for i in found.items]
    return found


def all_items(batch_id: str) -> list[BatchItem]:
    return list(db.session.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id)
                                   .order_by(BatchItem.position).execution_options(populate_existing=True)))


def resume_batch(batch_id: str, actor: Actor) -> dict:
    """Run what is left of a batch now (after a crash, or instead of waiting for its job); returns it
    described with its instances. The caller must still be allowed to migrate both process keys."""
    batch = get_batch(batch_id, actor)
    plan = migrations.Plan.from_dict(batch.plan)
    migrations.make_plan(actor, plan.source.id, plan.target.id, plan.mapping, check_mapping=False)
    run_batch(batch_id)
    return describe(db.session.get(Batch, batch_id, populate_existing=True), all_items(batch_id))


# -- the use case ------------------------------------------------------------------------------------------------

def migrate(actor: Actor, *, source_definition_id: str, target_definition_id: str,
            instance_ids: list[str] | None = None, filter: dict | None = None, mapping: dict | None = None,
            variables: dict | None = None, dry_run: bool = False, run_async: bool = False) -> dict:
    """Migrate instances (see `migrations`): a dry run answers per instance whether it could move and
    changes nothing; otherwise a batch is created and run now (or only queued, `run_async`).

    Returns what `describe` gives (a dry run has no id, and the changes between the versions).
    """
    plan = migrations.make_plan(actor, source_definition_id, target_definition_id, mapping, variables)
    ids = migrations.select_instances(actor, plan, instance_ids, filter)
    if not dry_run:
        batch = start_migration(actor, plan, ids, run_now=not run_async)
        return describe(db.session.get(Batch, batch.id, populate_existing=True), all_items(batch.id))
    items = [_check(plan, iid, actor) for iid in ids]
    counts = {status: sum(1 for i in items if i["status"] == status) for status in ("migratable", "refused", "failed")}
    return {"id": None, "dry_run": True, "status": "dry-run", **plan.as_dict(), "total": len(items),
            "migrated": 0, "migratable": counts["migratable"], "refused": counts["refused"],
            "failed": counts["failed"], "pending": 0, "created_by": actor.username, "created_at": utcnow(),
            "finished_at": None,
            "changes": engine().migration_compare(migrations.ref(plan.source), migrations.ref(plan.target)),
            "instances": items}


def _check(plan: migrations.Plan, instance_id: str, actor: Actor) -> dict:
    """One instance of a dry run: migratable, refused with reasons, or failed with the error (a limit, a
    busy instance, state that cannot be loaded)."""
    try:
        result = migrations.migrate_instance(plan, instance_id, actor, dry_run=True)
    except StagecoachError as exc:
        return {"instance_id": instance_id, "status": "failed", "reasons": None, "error": exc.detail}
    return {"instance_id": instance_id, "status": result.status, "reasons": result.reasons, "error": None}


_SHOWN = {BatchItemStatus.DONE: "migrated"}


def describe(batch: Batch, items: list[BatchItem] | None = None) -> dict:
    """A batch as the API shows it, with its items when given."""
    described = {"id": batch.id, "dry_run": False, "status": batch.status, **batch.plan, "total": batch.total,
                 "migrated": batch.done, "migratable": None, "refused": batch.refused, "failed": batch.failed,
                 "pending": batch.pending, "created_by": batch.created_by, "created_at": batch.created_at,
                 "finished_at": batch.finished_at, "changes": None}
    if items is not None:
        described["instances"] = [describe_item(i) for i in items]
    return described


def describe_item(item: BatchItem) -> dict:
    return {"instance_id": item.instance_id, "status": _SHOWN.get(item.status, item.status),
            "reasons": item.reasons, "error": item.error, "finished_at": item.finished_at}
