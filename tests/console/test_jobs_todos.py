"""My Jobs' CRM to-dos tab: sorted by due date or creation, filtered by the process that created them, and a
to-do marked done in place (services.crm_tasks.complete_task: its 403 and 409 as the API answers them)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from ..factories import fixture
from .conftest import text

TODOS = "/api/v1/crm-tasks"


def todo_rows(page) -> list[str]:
    return re.findall(r'<tr id="todo-([^"]+)"', text(page))


@pytest.fixture
def follow_up(admin, make):
    """Rita's deal, whose creation started `crm_follow_up_todo`: it gave her a to-do and waits for it."""
    admin.deploy(fixture("crm", "follow_up_todo.bpmn"))
    assert admin.post("/api/v1/bindings", json={"module": "Deals", "event": "create",
                                                 "process_key": "crm_follow_up_todo"}).status_code == 201
    make.user("ben")
    rita = make.client("rita", manager="ben")
    deal = rita.post("/api/v1/modules/Deals/records", json={"deal_name": "Initech"}).get_json()
    [todo] = rita.get(f"{TODOS}?mine=true").get_json()["items"]
    return deal, todo


def add_todo(app, subject: str, owner: str, due_in_days: int | None, created_hours_ago: int) -> str:
    from app.extensions import db
    from app.models import CrmTask

    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        todo = CrmTask(subject=subject, owner=owner, status="open", created_at=now - dt.timedelta(hours=created_hours_ago),
                       due_date=None if due_in_days is None else now.date() + dt.timedelta(days=due_in_days))
        db.session.add(todo)
        db.session.commit()
        todo_id = todo.id
        db.session.remove()
    return todo_id


def test_to_dos_sort_by_due_date_or_creation_and_filter_by_their_process(app, console, follow_up):
    _, process_todo = follow_up  # due in 2 days, created now
    soon = add_todo(app, "Soon", "rita", 1, created_hours_ago=5)
    later = add_todo(app, "Later", "rita", 9, created_hours_ago=1)
    undated = add_todo(app, "Undated", "rita", None, created_hours_ago=3)
    rita = console("rita")
    by_due = rita.get("/console/jobs?tab=todos")
    assert todo_rows(by_due) == [soon, process_todo["id"], later, undated]
    assert '<option value="due" selected>Due date</option>' in text(by_due)
    by_created = rita.get("/console/jobs?tab=todos&sort=created", htmx=True,
                          headers={"HX-Target": "jobs-results"})
    assert todo_rows(by_created) == [process_todo["id"], later, undated, soon]
    assert "<h1>" not in text(by_created)  # the results only
    by_process = rita.get("/console/jobs?tab=todos&key=crm_follow_up_todo")
    assert todo_rows(by_process) == [process_todo["id"]]
    assert todo_rows(rita.get("/console/jobs?tab=todos&key=no_such_process")) == []
    assert todo_rows(rita.get("/console/jobs?tab=todos&sort=priority")) == todo_rows(by_due)  # falls back


def test_a_to_do_marked_done_in_place_reaches_the_process_that_waits_for_it(console, admin, follow_up):
    deal, todo = follow_up
    rita = console("rita")
    page = text(rita.get("/console/jobs?tab=todos"))
    assert f'aria-label="Mark “Call about Initech” done"' in page
    done = rita.post(f"/console/todos/{todo['id']}/complete", htmx=True)
    assert done.status_code == 200
    assert todo_rows(done) == [todo["id"]] and "<td data-label=\"Status\">completed</td>" in text(done)
    assert "Mark “Call about Initech” done" not in text(done)
    after = admin.get(f"{TODOS}/{todo['id']}").get_json()
    assert (after["status"], after["completed_by"]) == ("completed", "rita")
    [instance] = admin.get(f"/api/v1/process-instances?record_id={deal['id']}&module=Deals").get_json()["items"]
    assert instance["status"] == "completed"
    assert todo_rows(rita.get("/console/jobs?tab=todos")) == []  # the tab lists open to-dos

    again = rita.post(f"/console/todos/{todo['id']}/complete", htmx=True)  # done already (another tab, the API)
    assert again.status_code == 409 and again.headers["HX-Retarget"] == "#messages"
    assert "is completed already" in text(again)


def test_without_htmx_done_goes_back_to_the_list_and_a_second_time_is_the_409_page(console, follow_up):
    _, todo = follow_up
    rita = console("rita")
    done = rita.post(f"/console/todos/{todo['id']}/complete", {"next": "/console/jobs?tab=todos&sort=created"})
    assert done.status_code == 302 and done.headers["Location"] == "/console/jobs?tab=todos&sort=created"
    elsewhere = rita.post(f"/console/todos/{todo['id']}/complete", {"next": "https://elsewhere.example/"})
    assert elsewhere.status_code == 409 and "is completed already" in text(elsewhere)


def test_a_reader_of_the_record_may_not_mark_its_to_do_done(console, admin, make, follow_up):
    _, todo = follow_up
    make.user("cole")
    make.grant("read", "module", "Deals", user="cole")
    refused = console("cole").post(f"/console/todos/{todo['id']}/complete")
    assert refused.status_code == 403 and "only its owner" in text(refused)
    assert admin.get(f"{TODOS}/{todo['id']}").get_json()["status"] == "open"
    make.user("olga")
    assert console("olga").post(f"/console/todos/{todo['id']}/complete").status_code == 404
    assert console("rita").post(f"/console/todos/{todo['id']}/complete").status_code == 302
