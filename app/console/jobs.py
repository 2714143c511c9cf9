"""My Jobs: the caller's tasks in tabs (mine, my groups, completed, CRM to-dos), filtered, sorted and paged.

Lists come from the projection tables through `services.tasks.list_tasks` and
`services.crm_tasks.list_tasks`; nothing loads an instance's state. Filters and paging are htmx
requests that swap only the results (and push the URL, so a reload or a shared link shows the same). The tabs'
counts refresh by htmx polling every 30 s (`/console/jobs/tabs`, the same services' totals).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from .. import clock
from ..services import crm_tasks, definitions, modules, tasks
from ..services.access import may_work_on
from ..services.core import definition_info
from .auth import current_actor
from .blueprint import bp, nav
from .helpers import htmx_target, is_htmx, local_path, page_number, record_title

TABS = {"mine": "Mine", "groups": "My groups", "completed": "Completed", "todos": "CRM to-dos"}
SORTS = {"created": ("created_at", "desc"), "due": ("due_at", "asc"), "priority": ("priority", "desc")}
TODO_SORTS = {"due": "Due date", "created": "Newest first"}  # services.crm_tasks.SORTS
PRIORITIES = {"high": {"min_priority": 75}, "normal": {"min_priority": 50, "max_priority": 74},
              "low": {"max_priority": 49}}
PER_PAGE = 20

nav("My Jobs", "console.jobs", order=10, also=("console.task",))


def _filters() -> dict:
    """The list's filters as the query string has them (unknown values fall back to the defaults)."""
    args = request.args
    return {"tab": args.get("tab") if args.get("tab") in TABS else "mine",
            "key": args.get("key", "").strip(), "record": args.get("record", "").strip(),
            "overdue": args.get("overdue") == "1",
            "priority": args.get("priority") if args.get("priority") in PRIORITIES else "",
            "sort": args.get("sort") if args.get("sort") in _sorts(args.get("tab")) else _default_sort(args.get("tab"))}


def _sorts(tab: str | None) -> dict:
    return TODO_SORTS if tab == "todos" else SORTS


def _default_sort(tab: str | None) -> str:
    return "due" if tab == "todos" else "created"


def _task_query(f: dict) -> dict:
    actor = current_actor()
    # newest first is the services' default order, which the open tasks' (created_at, id) index serves
    query: dict = {"order_by": None if f["sort"] == "created" else [SORTS[f["sort"]]], "key": f["key"] or None, "record_id": f["record"] or None,
                   **PRIORITIES.get(f["priority"], {})}
    if f["overdue"]:
        query["due"] = {"before": clock.utcnow()}
    if f["tab"] == "mine":
        query.update(assignee=actor.username)
    elif f["tab"] == "groups":
        query.update(mine=True, assigned=False)  # offered to the caller (their groups, or by name), unclaimed
    else:
        query.update(assignee=actor.username, state="completed")
    return query


def task_rows(items) -> list[dict]:
    """What a row shows of each task: the task, its process's name, its record and whether the caller may claim."""
    actor = current_actor()
    linked = tasks.task_records(items)
    by_name = {m.api_name: m for m in modules.list_modules()} if linked else {}
    rows = []
    for task in items:
        record = linked.get(task.id)
        if record is not None:
            module = by_name.get(record["module"])
            record = dict(record, title=record_title(module.fields if module else [], record["data"],
                                                     record["record_id"]),
                          label=module.label if module else record["module"])
        rows.append({"task": task, "process": definition_info(task.definition_id).name, "record": record,
                     "may_claim": task.state == "open" and task.assignee is None and may_work_on(task, actor),
                     "may_unclaim": task.state == "open" and task.assignee is not None
                     and (task.assignee == actor.username or actor.is_admin)})
    return rows


@bp.route("/todos/<todo_id>/complete", methods=["POST"])
def complete_todo(todo_id: str):
    """Mark a CRM to-do done (its owner, their managers, admins: 403 otherwise; 409 if done already);
    from My Jobs (htmx) the row is swapped in place."""
    todo = crm_tasks.complete_task(todo_id, current_actor())
    if is_htmx():
        return render_template("console/jobs/_todo_row.html", t=todo)
    flash(f"“{todo.subject}” done.", "success")
    return redirect(_safe_back(request.form.get("next")))


def _safe_back(target: str | None) -> str:
    """Back to the My Jobs list the form came from (a path of this console only)."""
    found = local_path(target, url_for("console.jobs"))
    return found if found and "//" not in found else url_for("console.jobs", tab="todos")


def tab_counts(known: dict | None = None) -> dict:
    """How many open tasks are the caller's, offered to the caller, and open CRM to-dos of theirs (the tab badges);
    a count past the services' cap reads "10000+". `known`: a tab's page listed unfiltered in this request,
    whose total is its badge (not counted again)."""
    actor = current_actor()
    known = known or {}
    mine = known.get("mine") or tasks.list_tasks(actor, assignee=actor.username, per_page=1, exact=False)
    groups = known.get("groups") or tasks.list_tasks(actor, mine=True, assigned=False, per_page=1, exact=False)
    todos = known.get("todos") or crm_tasks.list_tasks(actor, mine=True, per_page=1)
    return {"mine": _shown(mine), "groups": _shown(groups), "todos": _shown(todos)}


def _shown(page) -> str:
    return f"{page.total}" + ("" if getattr(page, "total_exact", True) else "+")


@bp.route("/jobs/tabs")
def job_tabs():
    """The My Jobs tabs with their counts: what the page's htmx polling (every 30 s) swaps in."""
    tab = request.args.get("tab")
    return render_template("console/jobs/_tabs.html", tabs=TABS, counts=tab_counts(),
                           current=tab if tab in TABS else "mine")


@bp.route("/jobs")
def jobs():
    """My Jobs: a tab of tasks (or CRM to-dos), with filters, sorting and paging."""
    actor = current_actor()
    f = _filters()
    page_no = page_number()
    if f["tab"] == "todos":
        page = crm_tasks.list_tasks(actor, mine=True, record_id=f["record"] or None, process_key=f["key"] or None,
                                    due="overdue" if f["overdue"] else None,
                                    sort="created" if f["sort"] == "created" else "due", page=page_no,
                                    per_page=PER_PAGE)
        rows = [{"todo": todo} for todo in page.items]
    else:
        # a group may be offered tens of thousands of tasks: count at most the services' cap ("10000+")
        page = tasks.list_tasks(actor, page=page_no, per_page=PER_PAGE, exact=False, **_task_query(f))
        rows = task_rows(page.items)
    context = {"filters": f, "page": page, "rows": rows, "tabs": TABS, "sorts": SORTS, "todo_sorts": TODO_SORTS, "priorities": PRIORITIES}
    if htmx_target() == "jobs-results":
        return render_template("console/jobs/_results.html", **context)
    processes = definitions.list_definitions(None, True, 1, 500).items
    # the tab's own list, unfiltered, is counted as its badge is: its total is the badge
    unfiltered = f["tab"] != "completed" and not (f["key"] or f["record"] or f["overdue"] or f["priority"])
    return render_template("console/jobs/index.html", processes=processes,
                           counts=tab_counts({f["tab"]: page} if unfiltered else None),
                           current=f["tab"], **context)
