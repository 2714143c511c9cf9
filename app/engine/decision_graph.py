"""Decision tables as Camunda 7 evaluates them, and decision requirements graphs.

SpiffWorkflow 3.2 reads an input entry as a Python expression compared with `==` (so the FEEL list
`"EU","UK"` matched nothing, `not("US")` compared with False and `[1..5]` failed), knows the UNIQUE and
COLLECT hit policies only (a UNIQUE table with two matching rules took the first, FIRST and RULE ORDER
took the first, COLLECT's aggregation was ignored). `FeelTable` evaluates an input entry as a FEEL unary
test (`unary_tests`; an entry that is not FEEL keeps SpiffWorkflow's reading) and applies Camunda's hit
policies: UNIQUE (two matching rules are an error), FIRST, ANY (matching rules must agree), RULE ORDER
and COLLECT (each output a list, in rule order), COLLECT with SUM, MIN, MAX or COUNT (one value; none
without a match). The parser writes an aggregation into the hit policy (`COLLECT SUM`), the form kept
with the table. A decision's outputs replace the variables of the same name (SpiffWorkflow merged lists
into the old ones).

A decision with `requiredDecision`s (a DRG, as Camunda 7 evaluates it) is a `DecisionGraphEngine`: the
required tables, ordered so each comes after those it requires, are evaluated first, each output of each
available by its name to the tables after it; only the decision the task names gives the task its
result, as Camunda maps only the called decision's result.
"""
from __future__ import annotations

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from .unary_tests import INPUT, compile_entry, input_python, input_value

__all__ = ["AGGREGATIONS", "DecisionError", "DecisionGraphEngine", "FeelTable", "HIT_POLICIES"]

HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")


class DecisionError(Exception):
    """A table's rules broke its hit policy (two matches of a UNIQUE table, disagreeing ones of ANY)."""


class FeelTable(DMNEngine):
    """One decision table, its input entries read as FEEL unary tests, its hit policy as Camunda's."""

    def evaluate(self, input_expr, match_expr, task):
        compiled = "True" if match_expr is None else compile_entry(match_expr)
        if compiled is None:  # not FEEL: SpiffWorkflow's reading (Python, `?` for the input)
            return super().evaluate(input_expr, match_expr, task)
        if compiled == "True":
            return True
        engine = task.workflow.script_engine
        value = input_value(engine.evaluate(task, input_python(input_expr)))
        return bool(engine.evaluate(task, compiled, external_context={INPUT: value}))

    def decide(self, task):
        policy = self._policy()[0]
        matched = []
        for rule in self.decision_table.rules:
            if self._DMNEngine__check_rule(rule, task):
                matched.append(rule)
                if policy == "FIRST":
                    break
        return matched

    def result(self, task):
        policy, aggregation = self._policy()
        matched = self.decide(task)
        table = self.decision_table.name or self.decision_table.id
        if not matched:
            return {}
        outputs = [rule.output_as_dict(task) for rule in matched]
        if policy == "UNIQUE" and len(matched) > 1:
            rows = ", ".join(str(rule.row_number) for rule in matched)
            raise DecisionError(f"decision {table!r} has hit policy UNIQUE and rules {rows} all match")
        if policy == "ANY" and any(o != outputs[0] for o in outputs[1:]):
            raise DecisionError(f"decision {table!r} has hit policy ANY and its matching rules give different "
                                "outputs")
        if policy in ("RULE ORDER", "COLLECT"):
            result = {key: [o[key] for o in outputs if key in o] for key in outputs[0]}
            if aggregation:
                result = {key: _aggregate(aggregation, values) for key, values in result.items()}
        else:
            result = dict(outputs[0])
        for key in result:  # the decision's outputs replace what the variables held
            task.data.pop(key, None)
        return result

    def _policy(self) -> tuple[str, str | None]:
        words = (self.decision_table.hit_policy or "UNIQUE").upper().split()
        if words[-1] in AGGREGATIONS:
            return " ".join(words[:-1]), words[-1]
        return " ".join(words), None


def _aggregate(aggregation: str, values: list):
    present = [v for v in values if v is not None and v != ""]
    if aggregation == "COUNT":
        return len(present)
    if not present:
        return None
    if aggregation == "SUM":
        return sum(present)
    return min(present) if aggregation == "MIN" else max(present)


class DecisionGraphEngine(FeelTable):
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
                context.update(FeelTable(table).result(task))
            result = super().result(task)
        finally:
            task.data = saved
        for key in result:  # as for one table: the outputs replace what the variables held
            saved.pop(key, None)
        return result
