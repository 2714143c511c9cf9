"""The order in which a process's elements are reached along its sequence flows.

Lists that follow a diagram (a blueprint's stages, a definition's elements) read it top-down: an
element after every element that leads to it, a loop's way back ignored, and of a gateway's branches
the one whose flow was drawn first listed first. That is the reverse postorder of a depth-first walk
from the process's start along the flows, visiting a node's outgoing flows last to first.
"""
from __future__ import annotations

__all__ = ["flow_order"]


def flow_order(spec) -> list[str]:
    """The BPMN ids of the elements of `spec` (a parsed process) reachable from its start, in flow order.

    SpiffWorkflow's own tasks (its start, end and boundary-event wrappers) are walked through but not
    listed. Elements inside sub-processes belong to their own specs and are not listed.
    """
    finished: list = []
    seen = {id(spec.start)}
    # An explicit stack (node, outgoing flows still to follow): diagrams may be thousands of elements long.
    stack = [(spec.start, list(spec.start.outputs))]
    while stack:
        node, pending = stack[-1]
        while pending:
            child = pending.pop()  # last drawn first: it finishes first, so it is listed last
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, list(child.outputs)))
                break
        else:
            stack.pop()
            finished.append(node)
    order, listed = [], set()
    for node in reversed(finished):
        bpmn_id = getattr(node, "bpmn_id", None)
        if bpmn_id is not None and bpmn_id not in listed:
            listed.add(bpmn_id)
            order.append(bpmn_id)
    return order
