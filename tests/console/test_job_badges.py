"""My Jobs' tab counts: open tasks of mine, offered to my groups, my open CRM to-dos; refreshed by htmx
polling every 30 s from a fragment view that reads the same services (no inline script)."""
from __future__ import annotations

import re

from .conftest import text

POLL = re.compile(r'<nav class="tabs" id="job-tabs" aria-label="Lists" hx-get="([^"]+)" hx-trigger="every 30s" '
                  r'hx-swap="outerHTML">')


def counts(html: str) -> dict:
    return dict(re.findall(r'<span class="badge" data-count="(\w+)">([^<]+)</span>', html))


def test_the_tabs_count_and_poll_for_fresh_counts(console, discount):
    maria = console("maria")
    page = text(maria.get("/console/jobs?tab=groups"))
    [url] = POLL.findall(page)
    assert url == "/console/jobs/tabs?tab=groups"
    assert counts(page) == {"mine": "0", "groups": "1", "todos": "0"}

    assert maria.post(f"/console/tasks/{discount['task_id']}/claim", htmx=True).status_code == 200
    fresh = maria.get(url, htmx=True)
    assert fresh.status_code == 200
    assert counts(text(fresh)) == {"mine": "1", "groups": "0", "todos": "0"}
    assert POLL.findall(text(fresh)) == [url]  # it keeps polling after the swap
    assert 'href="/console/jobs?tab=groups" aria-current="page"' in text(fresh)
    assert "<html" not in text(fresh)


def test_the_counts_are_the_callers_own(console, discount, make):
    make.user("olga")
    assert counts(text(console("olga").get("/console/jobs/tabs"))) == {"mine": "0", "groups": "0", "todos": "0"}


def test_polling_after_the_session_ended_leads_to_the_login_page(console):
    anonymous = console().get("/console/jobs/tabs", htmx=True)
    assert anonymous.status_code == 401 and anonymous.headers["HX-Redirect"].startswith("/console/login")


def test_a_tab_listed_unfiltered_is_counted_once_for_its_page_and_its_badge(app, console, discount):
    """The groups tab's page total is its badge: one count of the caller's offered tasks per page, not two;
    a filtered page still shows the tab's whole count as its badge."""
    from tests.factories import sql_sent

    maria = console("maria")
    with sql_sent(app) as sent:
        page = text(maria.get("/console/jobs?tab=groups"))
    assert counts(page) == {"mine": "0", "groups": "1", "todos": "0"}
    offered = [s for s in sent if s.lstrip().upper().startswith("SELECT COUNT") and "task_candidate" in s]
    assert len(offered) == 1, offered

    filtered = text(maria.get("/console/jobs?tab=groups&key=no_such_process"))
    assert counts(filtered) == {"mine": "0", "groups": "1", "todos": "0"}
    assert discount["task_id"] not in filtered
    assert discount["task_id"] in page
