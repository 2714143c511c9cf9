"""The BPMN a workflow rule generates: start event → one script task per action → end event, with
timers for date-based rules and scheduled actions.

A rule (validated by app/services/workflow_rules.py) becomes an ordinary
BPMN 2.0 document with diagram interchange (a left-to-right row), so it
deploys like any upload and opens in a modeler. Every value an action
carries reaches its script as a Python literal made by `repr()` (checked to
read back equal with `ast.literal_eval`), never by pasting user text into
code. Plain data in, bytes out: no Flask, no database.
"""
from __future__ import annotations

import ast
import math
import re
import urllib.parse

from lxml import etree

__all__ = ["action_label", "action_script", "rule_bpmn"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "xsi": XSI_NS}
# Characters XML 1.0 cannot hold (C0 controls but tab/newline/return, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _literal(value) -> str:
    """`value` as Python source that reads back equal: JSON-like values only."""
    def plain(v) -> bool:
        if v is None or isinstance(v, (bool, int, str)):
            return True
        if isinstance(v, float):
            return math.isfinite(v)
        if isinstance(v, list):
            return all(plain(i) for i in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(i) for k, i in v.items())
        return False

    if not plain(value):
        raise ValueError(f"cannot write {type(value).__name__} into a rule script")
    text = repr(value)
    if ast.literal_eval(text) != value:  # pragma: no cover - repr of these types always round-trips
        raise ValueError("value does not survive as a literal")
    return text


def action_script(action: dict) -> str:
    """The one line a script task runs for `action`: a CRM call with literal arguments."""
    kind = action["type"]
    if kind == "field_update":
        return f"update_record(**{{{_literal(action['field'])}: {_literal(action['value'])}}})"
    if kind == "email":
        return (f"send_email({_literal(action['to'])}, {_literal(action['subject'])}, "
                f"{_literal(action['body'])})")
    if kind == "task":
        return (f"create_crm_task({_literal(action['subject'])}, owner={_literal(action['owner'])}, "
                f"due_in_days={_literal(action['due_in_days'])})")
    if kind == "assign_owner":
        if action.get("user"):
            return f"set_owner({_literal(action['user'])})"
        if action.get("group"):
            return f"assign_round_robin({_literal(action['group'])})"
        return (f"assign_by_field({_literal(action['field'])}, {_literal(action['mapping'])}, "
                f"default={_literal(action.get('default'))})")
    return f"call_webhook({_literal(action['url'])})"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(_NOT_XML.sub("", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def action_label(action: dict) -> str:
    kind = action["type"]
    if kind == "field_update":
        return _short(f"Set {action['field']}")
    if kind == "email":
        return _short(f"Email {', '.join(action['to'])}")
    if kind == "task":
        return _short(f"Task: {action['subject']}")
    if kind == "assign_owner":
        how = action.get("user") or (f"round robin in {action['group']}" if action.get("group")
                                     else f"by {action.get('field')}")
        return _short(f"Owner: {how}")
    return _short(f"Call {urllib.parse.urlsplit(action['url']).hostname}")


def _due_script(variable: str, reference: str, spec: dict, timezone: str, repeat: str | None,
                after: str | None = None) -> str:
    """`variable = rule_next_due(...)`: the moment to wait for, or None (app/crm/schedules.py)."""
    args = [reference, _literal(spec.get("days", 0)), _literal(spec.get("hours", 0)), _literal(spec.get("time")),
            _literal(timezone), _literal(repeat)]
    if after:
        args.append(after)
    return f"{variable} = rule_next_due({', '.join(args)})"


def _offset_label(spec: dict, reference: str) -> str:
    days, hours = spec.get("days", 0), spec.get("hours", 0)
    parts = [f"{abs(days)} d" if days else "", f"{abs(hours)} h" if hours else ""]
    amount = " ".join(p for p in parts if p)
    before = days < 0 or (days == 0 and hours < 0)
    text = f"{amount} {'before' if before else 'after'} {reference}" if amount else reference
    return text + (f" at {spec['time']}" if spec.get("time") else "")


class _Graph:
    """Nodes, flows and their positions, in the order they are added."""

    SIZES = {"startEvent": (36, 36), "endEvent": (36, 36), "intermediateCatchEvent": (36, 36),
             "scriptTask": (100, 80), "exclusiveGateway": (50, 50), "parallelGateway": (50, 50)}

    def __init__(self) -> None:
        self.nodes: list[tuple[str, str, str, dict]] = []  # id, tag, name, extra (script, timer)
        self.flows: list[tuple[str, str, str, str | None]] = []  # id, source, target, condition
        self.defaults: dict[str, str] = {}
        self.at: dict[str, tuple[int, int]] = {}  # node id → (column, row)

    def node(self, node_id: str, tag: str, name: str, column: int, row: int, **extra) -> str:
        self.nodes.append((node_id, tag, _short(name), extra))
        self.at[node_id] = (column, row)
        return node_id

    def flow(self, source: str, target: str, condition: str | None = None, default: bool = False) -> None:
        flow_id = f"flow_{len(self.flows) + 1}"
        self.flows.append((flow_id, source, target, condition))
        if default:
            self.defaults[source] = flow_id


def _graph(rule: dict) -> _Graph:
    """start → [date: when → wait] → instant actions → [fork → per scheduled action: when → wait → action →
    merge → join]
    → [repeat: next → back to the date's gateway] → end."""
    g = _Graph()
    actions = list(enumerate(rule["actions"], start=1))
    date = rule.get("date")
    timezone = (date or {}).get("timezone") or rule.get("timezone") or "UTC"
    col = 0
    chain = g.node("start", "startEvent", "Date reached" if date else "Record event", col, 0)
    if date:
        field = _literal(date["field"])
        g.node("due", "scriptTask", f"When: {_offset_label(date, date['field'])}", col := col + 1, 0,
               script=_due_script("rule_due_at", f"record({field})", date, timezone, date.get("repeat")))
        g.flow(chain, "due")
        g.node("when", "exclusiveGateway", "A date ahead?", col := col + 1, 0)
        g.flow("due", "when")
        g.node("no_date", "endEvent", "No date ahead", col + 1, -1)
        g.flow("when", "no_date", condition="rule_due_at is None")
        chain = g.node("wait", "intermediateCatchEvent", "Until the date", col := col + 1, 0, timer="rule_due_at")
        g.flow("when", chain, default=True)
    for i, action in actions:
        if action.get("schedule"):
            continue
        g.node(f"action_{i}", "scriptTask", action_label(action), col := col + 1, 0, script=action_script(action))
        g.flow(chain, f"action_{i}")
        chain = f"action_{i}"
    scheduled = [(i, a) for i, a in actions if a.get("schedule")]
    if scheduled:
        g.node("fork", "parallelGateway", "Scheduled actions", col := col + 1, 0)
        g.flow(chain, "fork")
        fork_col = col
        for row, (i, action) in enumerate(scheduled, start=1):
            spec = action["schedule"]
            reference = f"record({_literal(spec['field'])})" if spec.get("field") else "now()"
            label = _offset_label(spec, spec.get("field") or "the trigger")
            g.node(f"when_{i}", "scriptTask", f"When: {label}", fork_col + 1, row,
                   script=_due_script(f"rule_wait_{i}", reference, spec, timezone, None))
            g.node(f"check_{i}", "exclusiveGateway", "Still ahead?", fork_col + 2, row)
            g.node(f"wait_{i}", "intermediateCatchEvent", label, fork_col + 3, row, timer=f"rule_wait_{i}")
            g.node(f"action_{i}", "scriptTask", action_label(action), fork_col + 4, row, script=action_script(action))
            g.flow("fork", f"when_{i}")
            g.flow(f"when_{i}", f"check_{i}")
            # A parallel join waits for each incoming flow: the branch's two ends merge first.
            g.node(f"merge_{i}", "exclusiveGateway", "", fork_col + 5, row)
            g.flow(f"check_{i}", f"merge_{i}", condition=f"rule_wait_{i} is None")
            g.flow(f"check_{i}", f"wait_{i}", default=True)
            g.flow(f"wait_{i}", f"action_{i}")
            g.flow(f"action_{i}", f"merge_{i}")
            g.flow(f"merge_{i}", "join")
        chain = g.node("join", "parallelGateway", "Done", col := fork_col + 6, 0)
    if date and date.get("repeat"):
        g.node("next", "scriptTask", f"Next {date['repeat'].removesuffix('ly')}", col := col + 1, 0,
               script=_due_script("rule_due_at", f"record({_literal(date['field'])})", date, timezone,
                                  date["repeat"], after="rule_due_at"))
        g.flow(chain, "next")
        g.flow("next", "when")
    else:
        g.node("end", "endEvent", "Done", col + 1, 0)
        g.flow(chain, "end")
    return g


def rule_bpmn(rule: dict, key: str) -> bytes:
    """The rule as a BPMN 2.0 document with its diagram: see `_graph` for the shape."""
    def q(ns: str, tag: str) -> str:
        return f"{{{ns}}}{tag}"

    root = etree.Element(q(BPMN_NS, "definitions"), nsmap=_NSMAP)
    root.set("id", f"Definitions_{key}")
    root.set("targetNamespace", "http://stagecoach/workflow-rules")
    root.set("exporter", "Stagecoach workflow rules")
    root.set("exporterVersion", "1")
    process = etree.SubElement(root, q(BPMN_NS, "process"), id=key, name=rule["name"], isExecutable="true")
    doc = etree.SubElement(process, q(BPMN_NS, "documentation"))
    event = rule["event"]
    if rule.get("date"):
        event = f"date {_offset_label(rule['date'], rule['date']['field'])}" + (
            f", {rule['date']['repeat']}" if rule["date"].get("repeat") else "")
    doc.text = _NOT_XML.sub("", f"Workflow rule on {rule['module']} {event}"
                + (f" of {rule['field']}" if rule.get("field") else "")
                + (f" when {rule['criteria']}" if rule["criteria"] else "")
                + ". Generated by Stagecoach: edit the rule (POST /api/v1/workflow-rules), not this diagram.")

    g = _graph(rule)
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow_id, source, target, _ in g.flows:
        outgoing.setdefault(source, []).append(flow_id)
        incoming.setdefault(target, []).append(flow_id)
    for node_id, tag, name, extra in g.nodes:
        el = etree.SubElement(process, q(BPMN_NS, tag), id=node_id, name=name)
        if node_id in g.defaults:
            el.set("default", g.defaults[node_id])
        if tag == "scriptTask":
            el.set("scriptFormat", "python")
        for flow_id in incoming.get(node_id, []):
            etree.SubElement(el, q(BPMN_NS, "incoming")).text = flow_id
        for flow_id in outgoing.get(node_id, []):
            etree.SubElement(el, q(BPMN_NS, "outgoing")).text = flow_id
        if "timer" in extra:
            timer = etree.SubElement(el, q(BPMN_NS, "timerEventDefinition"), id=f"{node_id}_timer")
            etree.SubElement(timer, q(BPMN_NS, "timeDate")).text = extra["timer"]
        if "script" in extra:
            etree.SubElement(el, q(BPMN_NS, "script")).text = extra["script"]
    for flow_id, source, target, condition in g.flows:
        flow = etree.SubElement(process, q(BPMN_NS, "sequenceFlow"), id=flow_id, sourceRef=source, targetRef=target)
        if condition:
            expression = etree.SubElement(flow, q(BPMN_NS, "conditionExpression"))
            expression.set(q(XSI_NS, "type"), "bpmn:tFormalExpression")
            expression.text = condition

    # Diagram interchange: columns left to right, scheduled actions on rows below, so a modeler shows it.
    diagram = etree.SubElement(root, q(BPMNDI_NS, "BPMNDiagram"), id=f"BPMNDiagram_{key}")
    plane = etree.SubElement(diagram, q(BPMNDI_NS, "BPMNPlane"), id=f"BPMNPlane_{key}", bpmnElement=key)
    bounds: dict[str, tuple[int, int, int, int]] = {}
    for node_id, tag, _, _ in g.nodes:
        column, row = g.at[node_id]
        w, h = _Graph.SIZES[tag]
        cx, cy = 170 + column * 150, 220 + row * 130
        bounds[node_id] = (cx - w // 2, cy - h // 2, w, h)
        shape = etree.SubElement(plane, q(BPMNDI_NS, "BPMNShape"), id=f"{node_id}_di", bpmnElement=node_id)
        etree.SubElement(shape, q(DC_NS, "Bounds"), x=str(cx - w // 2), y=str(cy - h // 2), width=str(w),
                         height=str(h))
    for flow_id, source, target, _ in g.flows:
        sx, sy, sw, sh = bounds[source]
        tx, ty, _, th = bounds[target]
        edge = etree.SubElement(plane, q(BPMNDI_NS, "BPMNEdge"), id=f"{flow_id}_di", bpmnElement=flow_id)
        etree.SubElement(edge, q(DI_NS, "waypoint"), x=str(sx + sw), y=str(sy + sh // 2))
        etree.SubElement(edge, q(DI_NS, "waypoint"), x=str(tx), y=str(ty + th // 2))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
