"""How a task of a diagram is implemented: in the engine, or by a worker outside it.

A camunda:expression that translates to sandbox Python runs in the engine, as a script. camunda:type=
"external", zeebe:taskDefinition, Java code (camunda:class, camunda:delegateExpression, an expression that
does not translate) and camunda:connector make an external task that a worker fetches by its topic. The
task parsers (which spec to build), the checks (what to refuse) and the element metadata (the `external`
entry) all ask here, so they cannot disagree.
"""
from __future__ import annotations

import re

from ..expressions import TranslationError, translate
from ..xml import local_name
from .reading import BPMN_NS, CAMUNDA_NS, _zeebe

_SERVICE_TAGS = ("serviceTask", "sendTask", "businessRuleTask")
_MESSAGE_THROW_TAGS = ("intermediateThrowEvent", "endEvent")
_JAVA_IMPLEMENTATIONS = ("class", "delegateExpression", "expression")
_WRAPPED_EXPRESSION = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)


def _implementation_node(el):
    """The element carrying a task's camunda: implementation: the task itself, or the
    messageEventDefinition of a message throw or end event; None for other elements."""
    kind = local_name(el)
    if kind in _SERVICE_TAGS:
        if kind == "businessRuleTask" and el.get(f"{{{CAMUNDA_NS}}}decisionRef"):
            return None
        return el
    if kind in _MESSAGE_THROW_TAGS:
        return el.find(f"{{{BPMN_NS}}}messageEventDefinition")
    return None


def _in_process_script(el) -> str | None:
    """A camunda:expression that translates to sandbox Python, as the script that runs it in the engine
    (storing camunda:resultVariable when given); None when there is none or it cannot be translated."""
    if local_name(el) not in _SERVICE_TAGS or _implementation_node(el) is None:
        return None
    expression = el.get(f"{{{CAMUNDA_NS}}}expression")
    if not expression or el.get(f"{{{CAMUNDA_NS}}}class") or el.get(f"{{{CAMUNDA_NS}}}delegateExpression"):
        return None
    try:
        python = translate(expression)
    except TranslationError:
        return None
    result = (el.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
    return f"{result} = ({python})" if result else f"({python})"


def _translates(expression: str) -> bool:
    try:
        translate(expression)
    except TranslationError:
        return False
    return True


def _connector_id(el) -> str | None:
    """The camunda:connectorId of a camunda:connector (http-connector, soap-http-connector, ...)."""
    connector = el.find(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}connector")
    if connector is None:
        return None
    return (connector.findtext(f"{{{CAMUNDA_NS}}}connectorId") or "").strip() or None


def _java_topic(el) -> tuple[str, str] | None:
    """(implementation, topic) of a task whose work Camunda 7 did in Java, or by a connector.

    As the Camunda 7 to 8 migration tooling does, such a task becomes an external task that a worker
    fetches by a topic named after the code: the class name (camunda:class), the bean of a delegate
    expression (`${loggerDelegate}` -> `loggerDelegate`; a longer expression without its `${}`), the text of
    a camunda:expression that does not translate to sandbox Python, or the connector's id."""
    node = _implementation_node(el)
    if node is None:
        return None
    for attr in _JAVA_IMPLEMENTATIONS:
        value = (node.get(f"{{{CAMUNDA_NS}}}{attr}") or "").strip()
        if not value:
            continue
        if attr == "expression" and (_in_process_script(el) is not None if node is el else _translates(value)):
            return None  # runs in the engine (on a message event: the payload SpiffWorkflow evaluates)
        if attr != "class":
            wrapped = _WRAPPED_EXPRESSION.match(value)
            value = wrapped.group(1).strip() if wrapped else value
        return f"camunda:{attr}", value
    if node is el:
        connector = _connector_id(el)
        if connector:
            return "camunda:connector", connector
    return None


def _is_external(el) -> bool:
    """camunda:type="external", a Zeebe service task with zeebe:taskDefinition, or a task (or message
    throw event) implemented in Java or by a connector."""
    node = _implementation_node(el) if local_name(el) in _MESSAGE_THROW_TAGS else el
    if node is None:
        return False
    return node.get(f"{{{CAMUNDA_NS}}}type") == "external" or (
        local_name(el) == "serviceTask" and _zeebe(el, "taskDefinition") is not None) or (
        _java_topic(el) is not None)


def _external(el) -> dict | None:
    """camunda:type="external" (or zeebe:taskDefinition type="..."): a worker fetches the task by its
    camunda:topic (the Zeebe type) and completes it. A task implemented in Java or by a connector is
    fetched by the topic `_java_topic` names, and says which implementation it replaces."""
    if not _is_external(el):
        return None
    node = _implementation_node(el) if local_name(el) in _MESSAGE_THROW_TAGS else el
    topic = node.get(f"{{{CAMUNDA_NS}}}topic")
    definition = _zeebe(el, "taskDefinition")
    if not topic and definition is not None:
        topic = definition.get("type")
    info = {"topic": (topic or "").strip()}
    java = None if node.get(f"{{{CAMUNDA_NS}}}type") == "external" or definition is not None else _java_topic(el)
    if java is not None:
        info["implementation"], info["topic"] = java
    # camunda:taskPriority of the task, else of its process: an integer or one ${expression}
    priority = el.get(f"{{{CAMUNDA_NS}}}taskPriority")
    process = next((a for a in el.iterancestors(f"{{{BPMN_NS}}}process")), None)
    if priority is None and process is not None:
        priority = process.get(f"{{{CAMUNDA_NS}}}taskPriority")
    if priority and priority.strip():
        info["priority"] = priority.strip()
    return info
