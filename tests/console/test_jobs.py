"""My Jobs: tabs, filters, sorting and paging from the projection tables; claim and unclaim in place."""
from __future__ import annotations

import datetime as dt
import re

from ..factories import fixture
from .conftest import text


def rows(page) -> list[str]:
    """The task ids of a My Jobs page's rows, in order."""
    return re.findall(r'<tr id="task-([^"]+)"', text(page))


def test_a_group_task_is_under_my_groups_with_its_record_until_claimed(console, discount):
    maria = console("maria")
    assert rows(maria.get("/console/jobs")) == []
    groups = maria.get("/console/jobs?tab=groups")
    assert rows(groups) == [discount["task_id"]]
    assert "Deal discount approval" in text(groups)
    assert f'/console/records/Deals/{discount["record_id"]}">Zylker fleet</a>' in text(groups)
    assert 'aria-label="Claim Approve discount"' in text(groups)


def test_others_do_not_see_the_task_anywhere(console, discount, olga):
    browser = console("olga")
    for tab in ("mine", "groups", "completed"):
        assert rows(browser.get(f"/console/jobs?tab={tab}")) == []


def test_claim_and_unclaim_in_place_with_htmx(console, discount, admin):
    maria = console("maria")
    task = discount["task_id"]
    claimed = maria.post(f"/console/tasks/{task}/claim", htmx=True)
    assert claimed.status_code == 200
    assert text(claimed).lstrip().startswith(f'<tr id="task-{task}">')  # only the row, swapped in place
    assert "<html" not in text(claimed)
    assert 'aria-label="Unclaim Approve discount"' in text(claimed) and ">maria<" in text(claimed)
    assert admin.get(f"/api/v1/tasks/{task}").get_json()["assignee"] == "maria"
    assert rows(maria.get("/console/jobs")) == [task]
    assert rows(maria.get("/console/jobs?tab=groups")) == []

    unclaimed = maria.post(f"/console/tasks/{task}/unclaim", htmx=True)
    assert 'aria-label="Claim Approve discount"' in text(unclaimed)
    assert admin.get(f"/api/v1/tasks/{task}").get_json()["assignee"] is None


def test_claiming_without_htmx_goes_back_to_the_list(console, discount):
    answer = console("maria").post(f"/console/tasks/{discount['task_id']}/claim", {"next": "/console/jobs?tab=groups"})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/jobs?tab=groups")


def test_a_line_break_in_where_to_go_back_is_not_followed(console, discount):
    """The claim is made and the browser goes to the task (a line break in a Location header failed the answer
    with a 500 after the claim was saved)."""
    answer = console("maria").post(f"/console/tasks/{discount['task_id']}/claim",
                                   {"next": "/console/jobs\r\nX-Injected: 1"})
    assert (answer.status_code, answer.headers["Location"]) == (302, f"/console/tasks/{discount['task_id']}")
    assert "X-Injected" not in answer.headers


def test_a_claim_refused_by_the_service_shows_its_answer(console, discount, make, olga):
    task = discount["task_id"]
    assert console("olga").post(f"/console/tasks/{task}/claim").status_code == 404  # not hers to see
    make.grant("read", resource_id="discount_approval", user="olga")  # she may read it, not claim it
    forbidden = console("olga").post(f"/console/tasks/{task}/claim")
    assert forbidden.status_code == 403
    assert "<h1>Not allowed" in text(forbidden) and "Only a candidate user or group member" in text(forbidden)

    make.user("mia", groups=["sales_managers"])
    assert console("maria").post(f"/console/tasks/{task}/claim", htmx=True).status_code == 200
    late = console("mia").post(f"/console/tasks/{task}/claim", htmx=True)
    assert late.status_code == 409  # in the page's message area, the row stays as it was
    assert (late.headers["HX-Retarget"], late.headers["HX-Reswap"]) == ("#messages", "innerHTML")
    assert "already claimed by maria" in text(late)


def test_completed_tasks_are_under_completed(console, discount, admin):
    maria = console("maria")
    assert maria.post(f"/console/tasks/{discount['task_id']}/complete", {"approved": "true"}).status_code == 302
    assert rows(maria.get("/console/jobs?tab=completed")) == [discount["task_id"]]
    assert rows(maria.get("/console/jobs?tab=groups")) == []


def _reviews(admin, make, urgencies, clock=None) -> list[str]:
    """One "Review" task (group reviewers, due in a day, priority = urgency) per urgency, oldest first
    (a minute apart when the test owns the clock)."""
    admin.deploy(fixture("valid", "task_extensions.bpmn"))
    make.user("rita", groups=["reviewers"])
    ids = []
    for urgency in urgencies:
        if clock is not None:
            clock.shift(dt.timedelta(minutes=1))
        ids.append(admin.start("task_extensions", {"urgency": urgency, "follow_up": None})["tasks"][0]["id"])
    return ids


def test_filters_and_sorting(clock, console, admin, make, discount):
    ids = _reviews(admin, make, [10, 90, 60], clock)
    make.user("rosa", groups=["reviewers", "sales_managers"])
    rosa = console("rosa")
    assert rows(rosa.get("/console/jobs?tab=groups")) == ids[::-1] + [discount["task_id"]]  # newest first
    assert rows(rosa.get("/console/jobs?tab=groups&key=task_extensions")) == ids[::-1]
    assert rows(rosa.get("/console/jobs?tab=groups&key=task_extensions&sort=priority")) == [ids[1], ids[2], ids[0]]
    assert rows(rosa.get("/console/jobs?tab=groups&priority=high")) == [ids[1]]
    assert rows(rosa.get("/console/jobs?tab=groups&priority=low")) == [ids[0]]
    assert rows(rosa.get(f"/console/jobs?tab=groups&record={discount['record_id']}")) == [discount["task_id"]]
    # due in a day: none is overdue now, the reviews are two days from now (the discount has no due date)
    assert rows(rosa.get("/console/jobs?tab=groups&overdue=1")) == []
    assert rows(rosa.get("/console/jobs?tab=groups&sort=due"))[:3] == ids  # the soonest due first, undated last
    clock.shift(dt.timedelta(days=2))
    later = console("rosa")  # the earlier session has expired meanwhile
    overdue = later.get("/console/jobs?tab=groups&overdue=1")
    assert sorted(rows(overdue)) == sorted(ids)
    assert text(overdue).count('class="tag overdue"') == 3


def test_filters_answer_htmx_with_the_results_only_and_unknown_values_fall_back(console, discount):
    maria = console("maria")
    partial = maria.get("/console/jobs?tab=groups&key=discount_approval", htmx=True,
                        headers={"HX-Target": "jobs-results"})
    assert "<html" not in text(partial) and rows(partial) == [discount["task_id"]]
    odd = maria.get("/console/jobs?tab=nonsense&sort=drop+table&priority=max&page=-3")
    assert odd.status_code == 200 and rows(odd) == []


def test_paging(clock, console, admin, make):
    ids = _reviews(admin, make, [50] * 21, clock)
    rita = console("rita")
    first = rita.get("/console/jobs?tab=groups")
    assert rows(first) == ids[::-1][:20]
    assert "Page 1 of 2 (21)" in text(first)
    assert 'href="/console/jobs?tab=groups&amp;page=2"' in text(first)
    second = rita.get("/console/jobs?tab=groups&page=2", htmx=True, headers={"HX-Target": "jobs-results"})
    assert rows(second) == [ids[0]]
    assert 'rel="prev"' in text(second)


def test_crm_to_dos_are_their_own_tab(app, console, discount):
    from app.extensions import db
    from app.models import CrmTask

    with app.app_context():
        db.session.add(CrmTask(subject="Call Zylker about the fleet", owner="maria", record_id=discount["record_id"],
                               module="Deals", due_date=dt.date.today() - dt.timedelta(days=1), status="open"))
        db.session.add(CrmTask(subject="Someone else's call", owner="admin", status="open"))
        db.session.commit()
        db.session.remove()
    todos = console("maria").get("/console/jobs?tab=todos")
    assert "Call Zylker about the fleet" in text(todos)
    assert "Someone else" not in text(todos)
    assert 'class="tag overdue"' in text(todos)
    assert f'/console/records/Deals/{discount["record_id"]}"' in text(todos)


def test_a_list_past_the_count_cap_says_at_least_and_still_pages(clock, console, admin, make, monkeypatch):
    import app.services.core.pagination as pagination

    ids = _reviews(admin, make, [50] * 25, clock)
    monkeypatch.setattr(pagination, "TOTAL_CAP", 21)
    rita = console("rita")
    first = rita.get("/console/jobs?tab=groups")
    assert rows(first) == ids[::-1][:20]
    assert "Page 1 of 2 or more (21+)" in text(first)
    second = rita.get("/console/jobs?tab=groups&page=2")
    assert rows(second) == ids[::-1][20:]
