"""SQLAlchemy models, one module per aggregate."""
from .activities import ActivityInstance, ActivityState
from .conversion_goals import ConversionGoal
from .batches import Batch, BatchItem
from .companions import Attachment, Note
from .crm import Binding, Counter, CrmTask, Module, Record, RecordEvent
from .deployments import Deployment, DeploymentResource, ProcessDefinition
from .external_tasks import ExternalTask
from .jobs import BufferedMessage, EventSubscription, Job, RunnerHeartbeat
from .instances import ENDED_STATE, ActiveActivity, HistoryEvent, Incident, ProcessInstance
from .outbox import EmailTracking, OutboxMessage
from .scoring import ScoringRules
from .security import Authorization, OutboundHost
from .tasks import HumanTask, TaskCandidate
from .users import Group, User, user_groups

__all__ = [
    "ActivityInstance", "ActivityState",
    "Batch", "BatchItem", "Authorization", "BufferedMessage", "OutboundHost", "EventSubscription", "ExternalTask", "Job",
    "Attachment", "Binding", "ConversionGoal", "Counter", "CrmTask", "EmailTracking", "Module", "Note", "OutboxMessage", "Record", "RecordEvent",
    "ENDED_STATE", "ActiveActivity", "Deployment", "DeploymentResource", "Group", "HistoryEvent", "HumanTask",
    "Incident", "ProcessDefinition", "ProcessInstance", "RunnerHeartbeat", "ScoringRules", "TaskCandidate", "User",
    "user_groups",
]
