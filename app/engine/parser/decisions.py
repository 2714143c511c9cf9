"""DMN decisions: DMN 1.1, 1.2 and 1.3 files, each decision of a file on its own, and decision
requirements graphs.

SpiffWorkflow 3.2 reads one decision per file, in the namespaces it knows, and looks its elements up
under the `dmn` prefix. Camunda 7 reads DMN 1.1 (both of its namespaces), 1.2 and 1.3, files with
several decisions, and evaluates a decision's `requiredDecision`s before it. `check_decisions` refuses
what cannot be evaluated, each problem naming its line and element; `DecisionGraphParser` is the mixin
that gives SpiffWorkflow's parsers every decision of every file, and a business rule task a
`DecisionGraphEngine` holding its decision and those it requires.
"""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser

from ..decision_graph import AGGREGATIONS, HIT_POLICIES, DecisionGraphEngine
from ..xml import Problem, local_name
from .reading import _File

_TABLE_ADVICE = ("Stagecoach evaluates decision tables; model the decision as a decision table (one output "
                 "column holding the value), or compute the value in a script task")


def _decisions(root) -> list:
    ns = etree.QName(root).namespace
    return root.findall(f"{{{ns}}}decision")


def decision_ids(root) -> list[str]:
    """The ids of the decisions of a DMN document."""
    return [d.get("id") for d in _decisions(root) if d.get("id")]


def _required(decision) -> list[tuple[str, object]]:
    """(required decision id, its requiredDecision element) for each decision this one requires."""
    ns = etree.QName(decision).namespace
    found = []
    for ref in decision.iter(f"{{{ns}}}requiredDecision"):
        href = (ref.get("href") or "").strip()
        found.append((href.rsplit("#", 1)[-1], ref))
    return found


def check_decisions(f: _File) -> None:
    """Refuse what cannot be evaluated in a DMN file, every problem with its line and element: a
    decision that is not a decision table, a required decision that is not in the file, a cycle of
    requirements."""
    decisions = {d.get("id"): d for d in _decisions(f.root)}
    if not decisions:
        f.problems.append(Problem(f.name, "no decision in this DMN file", f.root.sourceline))
        return
    ns = etree.QName(f.root).namespace
    for decision_id, decision in decisions.items():
        tables = decision.findall(f"{{{ns}}}decisionTable")
        if len(tables) != 1:
            what = next((local_name(c) for c in decision if isinstance(c.tag, str) and local_name(c) in
                         ("literalExpression", "context", "invocation", "list", "relation", "functionDefinition")),
                        None)
            f.problems.append(Problem(
                f.name, f"decision {decision_id!r} is {'a ' + what if what else 'not a decision table'}; "
                        + _TABLE_ADVICE, decision.sourceline, decision_id, "decision"))
        for table in tables[:1]:
            policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
            aggregation = (table.get("aggregation") or "").strip().upper()
            if policy not in HIT_POLICIES:
                f.problems.append(Problem(
                    f.name, f"decision {decision_id!r} has hit policy {policy}, which Stagecoach does not evaluate "
                            f"(it evaluates {', '.join(HIT_POLICIES)}); order the rules and use FIRST or RULE ORDER",
                    table.sourceline, decision_id, "decision"))
            elif aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
                f.problems.append(Problem(
                    f.name, f"decision {decision_id!r}: aggregation {aggregation} is only for hit policy COLLECT, as "
                            f"one of {', '.join(AGGREGATIONS)}", table.sourceline, decision_id, "decision"))
        for required, ref in _required(decision):
            if required not in decisions:
                f.problems.append(Problem(
                    f.name, f"decision {decision_id!r} requires decision {required!r}, which is not in this file; "
                            f"a decision requirements graph is evaluated from one DMN file: draw the required "
                            f"decision in it", ref.sourceline, decision_id, "decision"))
    for decision_id in decisions:
        cycle = _cycle_from(decision_id, decisions)
        if cycle:
            decision = decisions[decision_id]
            f.problems.append(Problem(
                f.name, f"decision {decision_id!r} requires itself ({' -> '.join(cycle)}); a decision requirements "
                        f"graph must not have cycles", decision.sourceline, decision_id, "decision"))
            return


def _cycle_from(start: str, decisions: dict) -> list[str] | None:
    path, stack = [start], [(start, iter(_required(decisions[start])))]
    while stack:
        node, edges = stack[-1]
        edge = next(edges, None)
        if edge is None:
            stack.pop()
            path.pop()
            continue
        target = edge[0]
        if target == start:
            return path + [start]
        if target in decisions and target not in path:
            path.append(target)
            stack.append((target, iter(_required(decisions[target]))))
    return None


def required_first(decision_id: str, requirements: dict[str, list[str]]) -> list[str]:
    """The decisions `decision_id` requires, directly or not, each after those it requires, then itself."""
    order: list[str] = []
    stack = [(decision_id, False)]
    while stack:
        node, expanded = stack.pop()
        if node in order:
            continue
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((r, False) for r in reversed(requirements.get(node, [])) if r not in order)
    return order


class _DecisionParser(DMNParser):
    """SpiffWorkflow's DMN parser for one decision of a file."""

    def __init__(self, p, decision, nsmap, filename=None):
        super().__init__(p, decision.getroottree().getroot(), nsmap, filename=filename)
        self.decision_element = decision

    def parse(self):
        if self.decision is None:
            self.decision = self._parse_decision([self.decision_element])
            ns = etree.QName(self.decision_element).namespace
            element = self.decision_element.find(f"{{{ns}}}decisionTable")
            aggregation = (element.get("aggregation") or "").strip().upper() if element is not None else ""
            if aggregation:  # kept with the table's hit policy (decision_graph reads it): COLLECT SUM
                table = self.decision.decisionTables[0]
                table.hit_policy = f"{table.hit_policy} {aggregation}"

    @property
    def bpmn_id(self):
        return self.decision_element.get("id")

    def get_name(self):
        return self.decision_element.get("name")


class DecisionGraphParser:
    """Mixin for SpiffWorkflow's BPMN/DMN parsers: every decision of every DMN file, and decision
    requirements graphs."""

    def add_dmn_xml(self, node, filename=None):
        requirements = self.__dict__.setdefault("dmn_requirements", {})
        namespaces = {**self.namespaces, **{k: v for k, v in node.nsmap.items() if k}}
        namespaces["dmn"] = etree.QName(node).namespace
        for decision in _decisions(node):
            parser = _DecisionParser(self, decision, namespaces, filename=filename)
            self.dmn_parsers[parser.bpmn_id] = parser
            self.dmn_parsers_by_name[parser.get_name()] = parser
            requirements[parser.bpmn_id] = [required for required, _ in _required(decision)]

    def get_engine(self, decision_ref, node):
        refused_in = getattr(self, "refused_decisions", {}).get(decision_ref)
        if decision_ref not in self.dmn_parsers and refused_in:
            raise ValidationException(f"business rule task names decision {decision_ref!r} of {refused_in}, which is "
                                      f"refused: the problems of {refused_in} say what to change", node=node,
                                      file_name="")
        if decision_ref not in self.dmn_parsers:
            raise ValidationException(f"business rule task names decision {decision_ref!r}, which is in no DMN file "
                                      f"of this deployment; deploy the DMN file that defines it with it",
                                      node=node, file_name="")
        tables = []
        for decision_id in required_first(decision_ref, self.__dict__.get("dmn_requirements", {})):
            parser = self.dmn_parsers[decision_id]
            parser.parse()
            tables.append(parser.decision.decisionTables[0])
        return DecisionGraphEngine(tables[-1], tables[:-1])
