"""SQLAlchemy models, one module per aggregate."""
from .deployments import Deployment, DeploymentResource, ProcessDefinition
from .instances import ActiveActivity, HistoryEvent, Incident, ProcessInstance
from .tasks import HumanTask, TaskCandidate
from .users import Group, User, user_groups

__all__ = [
    "ActiveActivity", "Deployment", "DeploymentResource", "Group", "HistoryEvent", "HumanTask",
    "Incident", "ProcessDefinition", "ProcessInstance", "TaskCandidate", "User", "user_groups",
]
