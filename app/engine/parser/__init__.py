"""Deploy-time parsing: from uploaded files to runnable, validated process models.

Every file of a deployment is read safely (`xml.parse_untrusted`), checked
against the BPMN 2.0 XSD, parsed by SpiffWorkflow in the dialect it was
written in (Camunda extensions or SpiffWorkflow extensions), and every
script and condition is compiled by the sandbox. JUEL (`${...}`) and FEEL
(`= ...`) conditions, loop expressions and timers are first translated into
sandbox Python (`expressions.translate`). All problems of all files
are collected before `BpmnRejected` is raised, each naming file, line and
element id, so a modeler fixes a diagram in one round.

One module per job, each depending only on those before it: `bounds` (size limits and form
patterns), `reading` (uploads, safely), `rewrite` (dialect normalisation), `implementation` (how a
task is implemented), `compensation` (compensation's checks, rewrite and parsers), `tasks` (SpiffWorkflow
task parsers), `checks` (refusals), `forms` and
`metadata` (what the server keeps of each element), `retention` (a process's history time to live), and `deployment`, which runs them. What a task's metadata means at run
time is resolved by `engine.resolvers`, re-exported here.
"""
from __future__ import annotations

from ..resolvers import resolve_assignment, resolve_candidates, resolve_due_date, resolve_priority
from ..xml import Problem
from .bounds import DiagramLimits
from .deployment import BpmnRejected, ProcessModel, parse_deployment
from .retention import MAX_HISTORY_TTL_DAYS, parse_ttl_days

__all__ = ["BpmnRejected", "DiagramLimits", "MAX_HISTORY_TTL_DAYS", "parse_ttl_days", "Problem", "ProcessModel", "parse_deployment", "resolve_assignment", "resolve_candidates",
           "resolve_due_date", "resolve_priority"]
