"""The Camunda 7 REST subset under /engine-rest: what the Camunda Modeler and Camunda 7 clients call.

HTTP Basic with a Stagecoach user; Camunda's request and response shapes and
error bodies; the same services (and authorization rules) as /api/v1.
"""
from .common import install_routing_errors
from .deployment import blp as deployment_blp
from .external_task import blp as external_task_blp
from .history import blp as history_blp
from .incident import blp as incident_blp
from .message import blp as message_blp
from .migration import blp as migration_blp
from .process_definition import blp as process_definition_blp
from .process_instance import blp as process_instance_blp
from .task import blp as task_blp
from .version import blp as version_blp

BLUEPRINTS = [deployment_blp, process_definition_blp, process_instance_blp, task_blp, message_blp,
              history_blp, incident_blp, external_task_blp, version_blp, migration_blp]

__all__ = ["BLUEPRINTS", "install_routing_errors"]
