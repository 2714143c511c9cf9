"""Decision requirements graphs: a DMN decision evaluated after the decisions it requires.

SpiffWorkflow 3.2 evaluates one decision table per business rule task. A decision with
`requiredDecision`s (a DRG, as Camunda 7 evaluates it) is a `DecisionGraphEngine`: the required
tables, ordered so each comes after those it requires, are evaluated first, each output of each
available by its name to the tables after it; only the decision the task names gives the task its
result, as Camunda maps only the called decision's result.
"""
from __future__ import annotations

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine


class DecisionGraphEngine(DMNEngine):
    """A decision table and the tables it requires, required ones first."""

    def __init__(self, decision_table, required=()):
        super().__init__(decision_table)
        self.required = list(required)

    def result(self, task):
        if not self.required:
            return super().result(task)
        saved = task.data
        context = dict(saved)  # the required decisions' outputs are seen by the ones after them, not kept
        try:
            task.data = context
            for table in self.required:
                context.update(DMNEngine(table).result(task))
            return super().result(task)
        finally:
            task.data = saved
