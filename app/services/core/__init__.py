"""The runtime core: what every instance command runs on.

It imports only the engine, the models and the layers below them (never a
use case): the definition cache, the per-step context, transactions and the
instance lock, the step projection, the removal time of an ending instance, the after-step hook registry and the one
command executor. Use cases (`app.services.*`) sit above it, the CRM wiring
(`app.services.crm`) above them.
"""
from .activity import activity_claimed
from .context import SYSTEM, Actor, StepContext, acting_for, cascade_depth, cascading, current_step, engine, utcnow
from .definitions import (
    DefinitionInfo, DefinitionNotFoundError, definition_info, incident_type, latest_definition_id, load_workflow,
    new_workflow,
)
from .executor import InstanceNotActionableError, InstanceResult, Turn, run_on_instance, start_new
from .hooks import register_after_step
from .moments import millis_between, seconds_between
from .pagination import Page, paginate, past
from .projection import Step, history, jsonable
from .retention import effective_ttl_days, removal_time_after
from .tenants import TenantFilter, narrowed
from .transactions import (
    LOCK_MODE, InstanceRow, end_read, instance_columns, instance_from, lock_instance, locked_instance, write_transaction,
)

__all__ = [
    "activity_claimed",
    "SYSTEM", "Actor", "StepContext", "acting_for", "cascade_depth", "cascading", "current_step", "engine", "utcnow",
    "DefinitionInfo", "DefinitionNotFoundError", "definition_info", "incident_type", "latest_definition_id", "load_workflow", "new_workflow",
    "InstanceNotActionableError", "InstanceResult", "Turn", "run_on_instance", "start_new",
    "register_after_step", "millis_between", "seconds_between", "Page", "paginate", "past", "Step", "history", "jsonable", "TenantFilter",
    "narrowed", "effective_ttl_days", "removal_time_after",
    "LOCK_MODE", "InstanceRow", "end_read", "instance_columns", "instance_from", "lock_instance", "locked_instance", "write_transaction",
]
