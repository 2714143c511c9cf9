"""HTTP only: parse, call one service, dump. One module per resource."""
from .activities import blp as activities_blp
from .record_analytics import blp as record_analytics_blp
from .analytics import blp as analytics_blp
from .approvals import blp as approvals_blp
from .auth import blp as auth_blp
from .authorizations import blp as authorizations_blp
from .bindings import blp as bindings_blp
from .blueprints import blp as blueprints_blp
from .crm_tasks import blp as crm_tasks_blp
from .definitions import blp as definitions_blp
from .deployments import blp as deployments_blp
from .events import blp as events_blp
from .incidents import blp as incidents_blp
from .instances import blp as instances_blp
from .migrations import blp as migrations_blp
from .modules import blp as modules_blp
from .outbound_hosts import blp as outbound_hosts_blp
from .record_companions import blp as record_companions_blp
from .retention import blp as retention_blp
from .scoring import blp as scoring_blp
from .statistics import blp as statistics_blp
from .tasks import blp as tasks_blp
from .users import blp as users_blp
from .groups import blp as groups_blp
from .workflow_rules import blp as workflow_rules_blp
from .tracking import blp as tracking_blp

BLUEPRINTS = [auth_blp, deployments_blp, definitions_blp, instances_blp, tasks_blp, modules_blp, bindings_blp,
              activities_blp, events_blp, workflow_rules_blp, authorizations_blp, outbound_hosts_blp,
              users_blp, groups_blp, approvals_blp, crm_tasks_blp, record_companions_blp, scoring_blp,
              migrations_blp, retention_blp, statistics_blp, incidents_blp, blueprints_blp,
              record_analytics_blp, analytics_blp]

# Plain Flask blueprints outside /api/v1 and its OpenAPI: the public email tracking links.
PUBLIC_BLUEPRINTS = [tracking_blp]
