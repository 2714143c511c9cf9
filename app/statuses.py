"""The statuses instances, human tasks, jobs, batches and outbox messages move through, named once.

Stored as these strings in the database and shown as-is by both APIs; compare
against the names, never against literals. Depends on nothing, so every layer
may import it.
"""
from __future__ import annotations


class InstanceStatus:
    """A process instance: running until it ends (completed, cancelled); error and suspended stop it."""

    RUNNING = "running"
    SUSPENDED = "suspended"
    ERROR = "error"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    ENDED = frozenset({COMPLETED, CANCELLED})
    LIVE = frozenset({RUNNING, SUSPENDED, ERROR})


class TaskState:
    """A human task: open until completed, or cancelled when its instance moved past it."""

    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class JobStatus:
    """A due job (a timer, an asynchronous continuation): pending until done (the row goes) or failed."""

    PENDING = "pending"
    FAILED = "failed"


class OutboxStatus:
    """An email or webhook queued by a step: pending until sent, failed after its last try."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class BatchStatus:
    """A batch (instance migration): running while items are pending, then completed."""

    RUNNING = "running"
    COMPLETED = "completed"


class BatchItemStatus:
    """One instance of a batch: pending until done, refused (the plan cannot apply, with reasons) or failed."""

    PENDING = "pending"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
