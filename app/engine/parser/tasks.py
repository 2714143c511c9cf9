"""SpiffWorkflow task parsers of the Camunda dialect.

`_StagecoachCamundaParser` is SpiffWorkflow's CamundaParser with more OVERRIDE_PARSER_CLASSES: service,
business rule and send tasks and message throw and end events become script tasks or `ExternalTask`s as
`implementation` decides, and send and receive tasks carry Camunda's message definition, the only one
SpiffWorkflow's Camunda serializer stores. Both dialects' parsers read DMN decisions through
`decisions.DecisionGraphParser`.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.ProcessParser import AdHocParser, ProcessParser
from SpiffWorkflow.bpmn.parser.event_parsers import (CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
                                                      MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                                                      ReceiveTaskParser, SendTaskParser)
from SpiffWorkflow.bpmn.specs.defaults import (EndEvent, IntermediateThrowEvent, ReceiveTask, ScriptTask, SendTask,
                                               ServiceTask)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (CamundaBoundaryEventParser, CamundaEndEventParser,
                                                        CamundaEventDefinitionParser,
                                                        CamundaIntermediateThrowEventParser, CamundaStartEventParser)
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser, CamundaTaskParser, ScriptTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.spiff.parser.event_parsers import (SpiffBoundaryEventParser, SpiffEndEventParser,
                                                      SpiffIntermediateThrowEventParser, SpiffStartEventParser)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, SpiffProcessParser

from ..errors_caught import mark as mark_caught
from ..event_subprocesses import mark as mark_interrupting
from ..serializer import ExternalTask
from .compensation import CompensatingProcessParser, ReusingParsers, compensation_throw_parser
from .decisions import DecisionGraphParser
from .implementation import _in_process_script, _is_external
from .reading import BPMN_NS, CAMUNDA_NS


class _ServiceTaskParser(CamundaTaskParser):
    """Service, send and business rule tasks of the Camunda dialect.

    A task run outside the engine (camunda:type="external", zeebe:taskDefinition, Java code named by
    camunda:class / delegateExpression / expression, or a camunda:connector) is an `ExternalTask`, held by
    the server until a worker completes it. A camunda:expression that translates to sandbox Python runs in
    the engine instead, as a script task (same id, name and line). A business rule task with
    camunda:decisionRef stays a DMN task; anything else keeps SpiffWorkflow's spec."""

    def __init__(self, process_parser, spec_class, node, nsmap=None, lane=None):
        self.script = _in_process_script(node)
        if self.script is not None:
            spec_class = ScriptTask
        elif _is_external(node):
            spec_class = ExternalTask
        super().__init__(process_parser, spec_class, node, nsmap, lane)

    def create_task(self):
        if self.script is not None:
            return self.spec_class(self.spec, self.bpmn_id, script=self.script, **self.bpmn_attributes)
        if self.spec_class is BusinessRuleTask:
            return BusinessRuleTaskParser.create_task(self)
        return super().create_task()

    @staticmethod
    def get_decision_ref(node):
        """The DMN decision of a business rule task, None without one (SpiffWorkflow asks before parsing)."""
        return node.get(f"{{{CAMUNDA_NS}}}decisionRef")


def _send_task_parser(process_parser, spec_class, node, nsmap=None, lane=None):
    """A send task run by Java code or a worker is an external task; a plain one throws its message."""
    if _in_process_script(node) is None and not _is_external(node):
        return _PLAIN_SEND_TASK[0](process_parser, spec_class, node, nsmap, lane)
    return _ServiceTaskParser(process_parser, spec_class, node, nsmap, lane)


def _message_throw_parser(base):
    """An intermediate throw or end event whose message is sent by Java code (camunda:class,
    delegateExpression or expression on its messageEventDefinition) is an external task too."""

    class _Parser(base):
        def __init__(self, process_parser, spec_class, node, nsmap=None, lane=None):
            self.external = _is_external(node)
            super().__init__(process_parser, ExternalTask if self.external else spec_class, node, nsmap, lane)

        def create_task(self):
            if self.external:
                return ExternalTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
            return _without_payload(super().create_task())

    _Parser.__name__ = _Parser.__qualname__ = f"_Stagecoach{base.__name__}"
    return _Parser


class _CamundaSendTaskParser(CamundaEventDefinitionParser, SendTaskParser):
    """A send task of the Camunda dialect, with Camunda's message definition (SpiffWorkflow's Camunda
    serializer stores no other: the plain one made every receive or send task unstorable)."""

    def create_task(self):
        return _without_payload(SendTaskParser.create_task(self))


class _CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    """A receive task of the Camunda dialect, with Camunda's message definition (see above)."""

    def create_task(self):
        return ReceiveTaskParser.create_task(self)


_PLAIN_SEND_TASK = (_CamundaSendTaskParser, SendTask)

_START_EVENTS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
                 ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH]


def _boundary_event_parser(base):
    """Boundary events that keep the variables an error or escalation definition names for what they catch
    (`errors_caught`)."""

    class _Parser(base):
        def parse_extensions(self, node=None):
            extensions = super().parse_extensions(node)
            return mark_caught(extensions, self.node) if node is None or node is self.node else extensions

    _Parser.__name__ = _Parser.__qualname__ = f"_Stagecoach{base.__name__}"
    return _Parser


def _start_event_parser(base):
    """Start events with every trigger an event sub-process may start by (BPMN 2.0, 10.5.2), errors and
    escalations included: SpiffWorkflow reads neither, so an error or escalation event sub-process read as
    one with a plain start event and ran as each instance started. The start event of an event
    sub-process is marked interrupting or not (`event_subprocesses`)."""

    class _Parser(base):
        def create_task(self):
            task = self._create_task(self.get_event_definition(_START_EVENTS))
            self.spec.start.connect(task)
            return task

        def parse_extensions(self, node=None):
            extensions = super().parse_extensions(node)
            if node is None or node is self.node:
                extensions = mark_caught(mark_interrupting(extensions, self.node), self.node)
            return extensions

    _Parser.__name__ = _Parser.__qualname__ = f"_Stagecoach{base.__name__}"
    return _Parser


class _CamundaScriptTaskParser(ScriptTaskParser, CamundaTaskParser):
    """A script task of the Camunda dialect, whose multi-instance marker is read as every other task's
    (camunda:collection and camunda:elementVariable; SpiffWorkflow's reads only BPMN's data references)."""


def _without_payload(task_spec):
    """A Camunda message thrown without camunda:expression carries no payload: SpiffWorkflow evaluates the
    missing expression and fails ("Error evaluating expression 'None'") when the event is thrown."""
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, CamundaMessageEventDefinition) and definition.expression is None:
        definition.expression = "None"
    return task_spec


class _ReadsElements:
    """A process parser that hands each flow node to the deployment's `metadata.ElementReader` as it parses
    it: `parse_node` is where SpiffWorkflow builds every node of a process or sub-process, so the server's
    metadata of an element is read once, beside its task spec."""

    def parse_node(self, node):
        reader = getattr(self.parser, "element_reader", None)
        if reader is not None:
            reader.read(node, self.filename)
        return super().parse_node(node)


class _ProcessParser(_ReadsElements, CompensatingProcessParser, ProcessParser):
    """SpiffWorkflow's process parser, reading element metadata, with compensation (`compensation`)."""


class _SpiffProcessParser(_ReadsElements, CompensatingProcessParser, SpiffProcessParser):
    """SpiffWorkflow's own dialect's process parser, reading element metadata, with compensation."""


class _AdHocParser(_ReadsElements, AdHocParser):
    pass


class _StagecoachSpiffParser(ReusingParsers, DecisionGraphParser, SpiffBpmnParser):
    """SpiffWorkflow's own dialect, with every decision of every DMN file and decision requirements graphs,
    and compensation."""

    PROCESS_PARSER_CLASS = _SpiffProcessParser
    AD_HOC_PARSER_CLASS = _AdHocParser
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        f"{{{BPMN_NS}}}startEvent": (_start_event_parser(SpiffStartEventParser),
                                     SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[f"{{{BPMN_NS}}}startEvent"][1]),
        f"{{{BPMN_NS}}}boundaryEvent": (_boundary_event_parser(SpiffBoundaryEventParser),
                                        SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[f"{{{BPMN_NS}}}boundaryEvent"][1]),
        f"{{{BPMN_NS}}}intermediateThrowEvent": (
            compensation_throw_parser(SpiffIntermediateThrowEventParser, end=False),
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[f"{{{BPMN_NS}}}intermediateThrowEvent"][1]),
        f"{{{BPMN_NS}}}endEvent": (compensation_throw_parser(SpiffEndEventParser, end=True),
                                   SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[f"{{{BPMN_NS}}}endEvent"][1]),
    }


class _StagecoachCamundaParser(ReusingParsers, DecisionGraphParser, CamundaParser):
    PROCESS_PARSER_CLASS = _ProcessParser
    AD_HOC_PARSER_CLASS = _AdHocParser
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        f"{{{BPMN_NS}}}startEvent": (_start_event_parser(CamundaStartEventParser),
                                     CamundaParser.OVERRIDE_PARSER_CLASSES[f"{{{BPMN_NS}}}startEvent"][1]),
        f"{{{BPMN_NS}}}boundaryEvent": (_boundary_event_parser(CamundaBoundaryEventParser),
                                        CamundaParser.OVERRIDE_PARSER_CLASSES[f"{{{BPMN_NS}}}boundaryEvent"][1]),
        f"{{{BPMN_NS}}}serviceTask": (_ServiceTaskParser, ServiceTask),
        f"{{{BPMN_NS}}}businessRuleTask": (_ServiceTaskParser, BusinessRuleTask),
        f"{{{BPMN_NS}}}sendTask": (_send_task_parser, _PLAIN_SEND_TASK[1]),
        f"{{{BPMN_NS}}}receiveTask": (_CamundaReceiveTaskParser, ReceiveTask),
        f"{{{BPMN_NS}}}scriptTask": (_CamundaScriptTaskParser, ScriptTask),
        f"{{{BPMN_NS}}}intermediateThrowEvent": (compensation_throw_parser(
            _message_throw_parser(CamundaIntermediateThrowEventParser), end=False), IntermediateThrowEvent),
        f"{{{BPMN_NS}}}endEvent": (compensation_throw_parser(_message_throw_parser(CamundaEndEventParser), end=True),
                                   EndEvent),
    }
