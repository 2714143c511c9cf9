"""My Jobs: the caller's tasks in tabs (mine, my groups, completed, CRM to-dos), filtered, sorted and paged.

Lists come from the projection tables through `services.tasks.list_tasks` and
`services.crm_tasks.list_tasks`; nothing loads an instance's state. Filters and paging are htmx
requests that swap only the results (and push the URL, so a reload or a shared link shows the same).
"""
from __future__ import annotations

from flask import render_template, request

from .. import clock
from ..services import crm_tasks, definitions, modules, tasks
from ..services.access import may_work_on
from ..services.core import definition_info
from .auth import current_actor
from .blueprint import bp, nav
from .helpers import htmx_target, page_number, record_title

TABS = {"mine": "Mine", "groups": "My groups", "completed": "Completed", "todos": "CRM to-dos"}
SORTS = {"created": ("created_at", "desc"), "due": ("due_at", "asc"), "priority": ("priority", "desc")}
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
            "sort": args.get("sort") if args.get("sort") in SORTS else "created"}


def _task_query(f: dict) -> dict:
    actor = current_actor()
    query: dict = {"order_by": [SORTS[f["sort"]]], "key": f["key"] or None, "record_id": f["record"] or None,
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


@bp.route("/jobs")
def jobs():
    """My Jobs: a tab of tasks (or CRM to-dos), with filters, sorting and paging."""
    actor = current_actor()
    f = _filters()
    page_no = page_number()
    if f["tab"] == "todos":
        page = crm_tasks.list_tasks(actor, mine=True, record_id=f["record"] or None,
                                    due="overdue" if f["overdue"] else None, page=page_no, per_page=PER_PAGE)
        rows = [{"todo": todo} for todo in page.items]
    else:
        page = tasks.list_tasks(actor, page=page_no, per_page=PER_PAGE, **_task_query(f))
        rows = task_rows(page.items)
    context = {"filters": f, "page": page, "rows": rows, "tabs": TABS, "sorts": SORTS, "priorities": PRIORITIES}
    if htmx_target() == "jobs-results":
        return render_template("console/jobs/_results.html", **context)
    processes = definitions.list_definitions(None, True, 1, 500).items
    return render_template("console/jobs/index.html", processes=processes, **context)
