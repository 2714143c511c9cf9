"""Process analytics over activity instances: heat map, bottlenecks, gateway branches, durations, event log.

Every answer is computed in SQL from indexed rows (`activity_instance`, `process_instance`,
`human_task`), grouped and ranked in the database; no instance's state is loaded. Who may ask: admins,
and holders of the `analytics` permission on the process key (`scope.resolve`), which shows the
aggregates and the event log of every instance of that process.
"""
from .bottlenecks import Bottlenecks, bottlenecks
from .durations import Durations, instance_durations
from .eventlog import EXPORT_LIMIT, EventLog, event_log
from .heatmap import Gateways, HeatMap, gateway_branches, heat_map
from .scope import ANALYTICS, Filters, definition_diagram

__all__ = ["ANALYTICS", "EXPORT_LIMIT", "Bottlenecks", "Durations", "EventLog", "Filters", "Gateways", "HeatMap",
           "bottlenecks", "definition_diagram", "event_log", "gateway_branches", "heat_map", "instance_durations"]
