"""The rows a step keeps beside an instance's state say what that state says.

- `active_activity`: after every command, the instance's rows are, as a multiset, the active elements of its
  saved workflow (element, name, type and state; a multi-instance's parent and each of its instances), in any
  diagram: a step writes only what changed (one row moved to the next element is one UPDATE), and rows
  that are not what the step found fall back to being written anew.
- `task_candidate`: the rows of a task live while it is open; whatever closes it (completion, an
  interrupting boundary event, cancelling the instance, any UPDATE of its state) removes them, and only them.

Each scenario runs on one server and across a restart (the `server` fixture): the state is saved and loaded
between the commands.
"""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import delete, insert, select, update

from app.engine.outcome import active_elements
from app.extensions import db
from app.models import ActiveActivity, HumanTask, ProcessInstance, TaskCandidate
from app.services.core import definition_info, load_workflow

from ..factories import fixture

KEY = "parallel_boundary_multi"


def _active_rows(server, instance_id: str) -> Counter:
    with server.app.app_context():
        try:
            rows = db.session.execute(select(ActiveActivity.element_id, ActiveActivity.element_name,
                                             ActiveActivity.element_type, ActiveActivity.state,
                                             ActiveActivity.definition_id)
                                      .where(ActiveActivity.instance_id == instance_id)).all()
        finally:
            db.session.remove()
    return Counter(tuple(r) for r in rows)


def _engine_says(server, instance_id: str) -> Counter:
    """The active elements of the instance's saved workflow, each with the instance's definition."""
    with server.app.app_context():
        try:
            inst = db.session.get(ProcessInstance, instance_id)
            if inst.ended_at is not None:
                return Counter()
            wf = load_workflow(definition_info(inst.definition_id), inst.state)
            return Counter((a["element_id"], a["element_name"], a["element_type"], a["state"], inst.definition_id)
                           for a in active_elements(wf))
        finally:
            db.session.remove()


def _candidates(server, instance_id: str) -> dict[str, set]:
    """{task id: {(kind, name)}} of the instance's candidate rows."""
    with server.app.app_context():
        try:
            rows = db.session.execute(select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.name)
                                      .where(TaskCandidate.instance_id == instance_id)).all()
        finally:
            db.session.remove()
    found: dict[str, set] = {}
    for task_id, kind, name in rows:
        found.setdefault(task_id, set()).add((kind, name))
    return found


def _open_tasks(server, instance_id: str) -> dict[str, str]:
    """{task id: element id} of the instance's open tasks, as the API shows them."""
    return {t["id"]: t["element_id"] for t in server.admin.instance(instance_id)["tasks"]}


def _check(server, instance_id: str) -> Counter:
    rows = _active_rows(server, instance_id)
    assert rows == _engine_says(server, instance_id)
    open_tasks = _open_tasks(server, instance_id)
    assert _candidates(server, instance_id) == {task_id: {("group", "staff")} for task_id in open_tasks}
    return Counter({key[0]: n for key, n in rows.items()})


def _task_of(server, instance_id: str, element_id: str) -> str:
    return next(t for t, e in _open_tasks(server, instance_id).items() if e == element_id)


@pytest.fixture
def deployed(server):
    server.login()
    server.admin.deploy(fixture("valid", f"{KEY}.bpmn"))
    return server


def test_active_rows_follow_every_step_of_parallel_paths_a_boundary_event_and_a_multi_instance(deployed):
    server = deployed
    started = server.admin.start(KEY, business_key="deal-1")
    iid = started["id"]
    at = _check(server, iid)
    assert at["review"] == 1 and at["escalate"] == 1 and at["sign"] >= 2  # the multi-instance and its instances

    server.restart()
    server.admin.complete(_task_of(server, iid, "sign"))  # one of two signatures: the rest stays
    at = _check(server, iid)
    assert at["sign"] >= 1 and at["review"] == 1

    server.restart()
    sent = server.admin.post("/api/v1/messages", json={"name": "escalate", "business_key": "deal-1"})
    assert sent.status_code in (200, 201), sent.get_json()
    at = _check(server, iid)  # review interrupted (its candidates gone), escalated opened
    assert "review" not in at and "escalate" not in at and at["escalated"] == 1

    server.restart()
    server.admin.complete(_task_of(server, iid, "escalated"))  # waits at the join for the other path
    at = _check(server, iid)
    assert "escalated" not in at

    server.restart()
    server.admin.complete(_task_of(server, iid, "sign"))  # the join goes on: close opens
    at = _check(server, iid)
    assert "sign" not in at and at["close"] == 1

    server.restart()
    done = server.admin.complete(_task_of(server, iid, "close"))
    assert done["status"] == "completed"
    assert _check(server, iid) == Counter()


def test_rows_that_are_not_what_the_step_found_are_written_anew(deployed):
    """The rows are written from the state; if they ever differ from it (changed by hand, lost), the next
    step writes them whole instead of moving a row that is not there."""
    server = deployed
    server.admin.deploy(fixture("valid", "three_tasks.bpmn"))
    started = server.admin.start("three_tasks")
    iid = started["id"]
    with server.app.app_context():
        db.session.execute(delete(ActiveActivity).where(ActiveActivity.instance_id == iid))
        db.session.execute(insert(ActiveActivity).values(instance_id=iid, definition_id="gone", element_id="nowhere",
                                                         element_type="UserTask", state="ready"))
        db.session.commit()
        db.session.remove()

    server.restart()
    server.admin.complete(started["tasks"][0]["id"])
    rows = _active_rows(server, iid)
    assert rows == _engine_says(server, iid)
    assert [key[0] for key in rows] == ["task_b"]


def test_cancelling_an_instance_removes_its_rows_and_its_tasks_candidates(deployed):
    server = deployed
    iid = server.admin.start(KEY)["id"]
    assert _candidates(server, iid)

    server.restart()
    response = server.admin.post(f"/api/v1/process-instances/{iid}/cancel", json={"reason": "lost"})
    assert response.status_code in (200, 204), response.get_json()

    assert _active_rows(server, iid) == Counter()
    assert _candidates(server, iid) == {}
    with server.app.app_context():
        states = set(db.session.scalars(select(HumanTask.state).where(HumanTask.instance_id == iid)))
        db.session.remove()
    assert states == {"cancelled"}


def test_a_task_leaving_open_loses_its_candidate_rows_whoever_updates_it(deployed):
    """The database removes them (a trigger), so no way of closing a task can leave them behind; a change
    that keeps the task open (a new assignee) keeps them, and other tasks keep theirs."""
    server = deployed
    iid = server.admin.start(KEY)["id"]
    tasks = _open_tasks(server, iid)
    first, *others = sorted(tasks)
    with server.app.app_context():
        db.session.execute(update(HumanTask).where(HumanTask.id == first).values(assignee="sam"))
        db.session.commit()
        assert _candidates(server, iid)[first] == {("group", "staff")}
        db.session.execute(update(HumanTask).where(HumanTask.id == first).values(state="cancelled"))
        db.session.commit()
        db.session.remove()

    left = _candidates(server, iid)
    assert first not in left
    assert set(left) == set(others) and all(v == {("group", "staff")} for v in left.values())


def test_every_element_type_a_row_holds_is_one_the_engine_names_and_each_kind_filters_its_rows(deployed):
    """Camunda's activityType filter picks its element types from the engine's (no scan of the rows)."""
    from app.api.camunda.history import activity_type
    from app.engine import element_types
    from app.models import ActivityInstance
    from app.services.core import SYSTEM
    from app.services.history import list_activity_instances

    server = deployed
    iid = server.admin.start(KEY, business_key="deal-2")["id"]
    server.admin.post("/api/v1/messages", json={"name": "escalate", "business_key": "deal-2"})
    for element in ("sign", "sign", "escalated", "close"):
        server.admin.complete(_task_of(server, iid, element))
    with server.app.app_context():
        try:
            rows = db.session.execute(select(ActivityInstance.id, ActivityInstance.element_type)
                                      .where(ActivityInstance.instance_id == iid)).all()
            kinds = {activity_type(t) for _, t in rows}
            filtered = {kind: {int(r.id.rsplit(":", 1)[1]) for r in list_activity_instances(
                SYSTEM, instance_id=iid, limit=500, element_type=lambda t, k=kind: activity_type(t) == k).items}
                for kind in kinds}
        finally:
            db.session.remove()
    assert {t for _, t in rows} <= element_types()
    assert {"userTask", "parallelGateway", "exclusiveGateway", "boundaryEvent", "endEvent"} <= kinds
    assert filtered == {kind: {i for i, t in rows if activity_type(t) == kind} for kind in kinds}


def test_a_command_that_changes_the_workflow_before_it_runs_still_writes_what_changed(deployed):
    """A retry sets the failed task ready before the engine runs: the rows are compared with the state as it
    was stored (the task failed), not as the command left it before running (ready), so the task's row says
    ready afterwards even though the instance stays at the same element."""
    server = deployed
    server.admin.deploy(fixture("valid", "io_mapping.bpmn"))
    iid = server.admin.start("io_quote", {"manager": "mia", "customer": {"name": "Ada"}})["id"]  # no order
    assert {key[0]: key[3] for key in _active_rows(server, iid)} == {"review": "error"}

    server.restart()
    server.admin.patch(f"/api/v1/process-instances/{iid}/variables", json={"variables": {"order": {"total": 40}}})
    assert server.admin.post(f"/api/v1/process-instances/{iid}/retry").get_json()["status"] == "running"
    rows = _active_rows(server, iid)
    assert rows == _engine_says(server, iid)
    assert {key[0]: key[3] for key in rows} == {"review": "ready"}
