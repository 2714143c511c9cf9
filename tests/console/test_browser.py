"""The console in a real browser: Debian's Chromium driven by Playwright, against the app served in a thread.

A person logs in, claims a discount approval in place on My Jobs, completes it after a validation
error shown beside the field, and moves a deal through its blueprint from the record page; an admin reads
the badges on a definition's diagram and cancels two selected instances at once; each
page is also checked at 390 px wide (nothing wider than the screen). Playwright's expectations wait
for what they look for (no sleeping). The screenshots (My Jobs, a task, a record, an instance) are
taken every run; with UPDATE_SCREENSHOTS=1 they replace those of the README in docs/screenshots/.

Chromium comes from Debian (`apt-get install chromium`; scripts/test.sh installs it): Playwright's own
browser download cannot run here. Without it these tests are skipped, or fail under CI=true.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ..factories import ROOT

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
# What the browser waits for (an action, an expectation) may take a while on a loaded two-core CI machine:
# a form's post, its redirect and the next page's scripts took over the expectations' default 5 s there.
# Both wait up to the same bound; they still return as soon as what they look for is there.
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does when it can)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with _own_clock():
        playwright = sync_api.sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@contextmanager
def _own_clock():
    """Start the browser and its driver on the machine's clock, as a user's browser runs on its own: a run
    of the suite under libfaketime (a shifted clock for the server) must not preload it into Chromium. The
    settings come back as soon as both have started: libfaketime reads them again every few seconds, and
    the server's clock would otherwise fall back to the real one in the middle of a test."""
    shifted = {k: os.environ.pop(k) for k in list(os.environ) if k == "LD_PRELOAD" or k.startswith("FAKETIME")}
    try:
        yield
    finally:
        os.environ.update(shifted)


@pytest.fixture
def live_server(app):
    """The app served over HTTP in a thread, as gunicorn would serve it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"scripts failed in the page: {errors}"


@pytest.fixture
def screenshot(tmp_path):
    """Take a screenshot of the page; kept for the README when UPDATE_SCREENSHOTS=1."""
    def take(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path
    return take


def log_in(page, username: str, password: str = "secret") -> None:
    """Log in from the front page with the keyboard: type, tab, type, Enter."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Username").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My Jobs")).to_be_visible()


def fits_390(page) -> None:
    """At 390 px wide nothing makes the page scroll sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})


def test_claim_and_complete_a_form_task_after_a_validation_error(app, page, discount, screenshot):
    log_in(page, "maria")
    tabs = page.get_by_role("navigation", name="Lists")
    tabs.get_by_role("link", name="My groups").click()
    row = page.locator(f"#task-{discount['task_id']}")
    expect(row).to_contain_text("Deal discount approval")
    row.get_by_role("button", name="Claim Approve discount").click()
    # claimed in place: the row now offers Unclaim and names her, the page did not reload
    expect(row.get_by_role("button", name="Unclaim Approve discount")).to_be_focused()
    expect(row).to_contain_text("maria")
    expect(page).to_have_url(re.compile(r"tab=groups"))
    tabs.get_by_role("link", name="Mine").click()
    expect(page.locator(f"#task-{discount['task_id']}")).to_be_visible()
    fits_390(page)
    screenshot(page, "my-jobs")

    page.get_by_role("link", name="Approve discount").click()
    expect(page.get_by_role("heading", name="Approve discount")).to_be_visible()
    diagram = page.locator(".diagram[data-diagram-state=ready]")
    expect(diagram.locator(".djs-element.highlight")).to_have_count(1)  # the task, marked on the diagram
    page.get_by_label("Comment").fill("good customer")
    page.get_by_role("button", name="Complete").click()
    # refused: the error beside the field, the comment kept
    group = page.get_by_role("group", name=re.compile("Approve the discount"))
    expect(group.locator(".error")).to_have_text("required")
    expect(page.get_by_label("Comment")).to_have_value("good customer")
    expect(page.locator(".diagram[data-diagram-state=ready]")).to_be_visible()
    fits_390(page)
    screenshot(page, "task")

    group.get_by_label("Yes").check()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("“Approve discount” is completed")
    with app.app_context():
        from app.services.core import SYSTEM
        from app.services.instances import get_instance
        instance = get_instance(discount["instance_id"], SYSTEM)
        assert (instance.status, instance.variables["approval_status"]) == ("completed", "approved")


def test_a_blueprint_transition_from_the_record_page(app, page, deals, screenshot):
    log_in(page, "ravi")
    page.get_by_role("link", name="Records").click()
    page.get_by_role("link", name="Deals").click()
    page.get_by_role("link", name="Fleet of laptops").click()
    stages = page.get_by_role("navigation", name="Stages")
    expect(stages.locator("[aria-current=step]")).to_have_text("Qualification")

    page.get_by_role("button", name="Start negotiating").focus()
    page.keyboard.press("Enter")  # opens the dialog, focus on its first field
    dialog = page.get_by_role("dialog", name="Start negotiating")
    amount = dialog.get_by_label("Amount")
    expect(amount).to_be_focused()
    expect(amount).to_have_value("12000")  # prefilled from the record
    amount.fill("-5")
    dialog.get_by_role("button", name="Start negotiating").click()
    dialog = page.get_by_role("dialog", name="Start negotiating")  # the page again, the dialog open with the error
    expect(dialog.locator(".error")).to_contain_text("minimum")
    expect(dialog.get_by_label("Amount")).to_have_value("-5")
    dialog.get_by_label("Amount").fill("15000")
    dialog.get_by_role("button", name="Start negotiating").click()

    expect(page.get_by_role("status")).to_contain_text("“Start negotiating” done")
    expect(stages.locator("[aria-current=step]")).to_have_text("Negotiation")
    expect(page.locator(".timeline")).to_contain_text("Negotiation")
    fits_390(page)
    screenshot(page, "record")


def test_a_camunda_form_in_form_js(app, page, admin, make):
    from ..factories import fixture

    admin.deploy(fixture("valid", "camunda_form_invoice.bpmn"), fixture("valid", "camunda_form_invoice.form"))
    make.user("alice")
    started = admin.start("invoice_form", {"amount": 250})
    task = started["tasks"][0]["id"]
    admin.post(f"/api/v1/tasks/{task}/delegate", json={"user": "alice"})
    log_in(page, "alice")
    page.goto(f"/console/tasks/{task}")
    form = page.locator(".formjs[data-formjs-state=ready]")
    expect(form.get_by_label("Amount")).to_have_value("250")  # the instance's value
    form.get_by_label("Creditor").fill("A")
    page.get_by_role("button", name="Complete").click()
    expect(form.locator(".fjs-form-field-error")).not_to_have_count(0)  # form-js checks first: nothing sent
    expect(page).to_have_url(re.compile(f"/console/tasks/{task}$"))
    form.get_by_label("Creditor").fill("ACME")
    page.keyboard.press("Tab")  # with the keyboard: on to the checkbox, tick it
    expect(form.get_by_label("Approved")).to_be_focused()
    page.keyboard.press("Space")
    expect(form.get_by_label("Approved")).to_be_checked()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("“Approve invoice” is completed")
    assert admin.instance(started["id"])["variables"]["creditor"] == {"name": "ACME"}


def test_an_admin_fixes_a_variable_and_retries_an_incident_from_the_instance_page(app, page, admin, screenshot):
    """The script task fails on missing data (no `divisor`): the diagram marks it as an incident; the admin sets
    the variable and retries, and the marker moves on to the task the instance now waits at."""
    from config import TestConfig

    from ..factories import fixture

    admin.deploy(fixture("valid", "failing_script.bpmn"))
    failed = admin.start("failing_script")
    assert failed["status"] == "error"
    log_in(page, "admin", TestConfig.ADMIN_PASSWORD)
    page.goto(f"/console/admin/instances/{failed['id']}")
    diagram = page.locator(".diagram[data-diagram-state=ready]")
    expect(diagram.locator('[data-element-id="compute"].marker-incident')).to_have_count(1)
    expect(diagram.locator(".diagram-badge", has_text="1×")).not_to_have_count(0)  # times each element was entered
    screenshot(page, "instance")

    page.get_by_label("Name").fill("divisor")
    page.get_by_label("Value (JSON)").fill("4")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Variable divisor set.")
    page.get_by_role("button", name="Retry").click()

    expect(page.get_by_role("status")).to_contain_text("it is now running")
    diagram = page.locator(".diagram[data-diagram-state=ready]")
    expect(diagram.locator('[data-element-id="after"].marker-active')).to_have_count(1)
    expect(diagram.locator(".marker-incident")).to_have_count(0)
    fits_390(page)
    assert admin.instance(failed["id"])["variables"]["result"] == 25


def test_an_admin_bulk_cancels_two_instances_and_reads_the_definition_badges(app, page, admin, make):
    from ..factories import fixture

    admin.deploy(fixture("valid", "failing_script.bpmn"))
    first, second, kept = (admin.start("failing_script", {"divisor": 5})["id"] for _ in range(3))
    make.user("ada", admin=True)
    log_in(page, "ada")

    page.goto("/console/admin/processes/failing_script/definition")
    diagram = page.locator(".diagram[data-diagram-state=ready]")
    waiting = diagram.locator('.djs-overlays[data-container-id="after"] .diagram-badge.badge-active')
    expect(waiting).to_have_text("3")  # three instances wait at "after"
    expect(diagram.locator('.djs-overlays[data-container-id="compute"] .diagram-badge.badge-completed')).to_have_text("3")
    fits_390(page)

    page.goto("/console/admin/instances?key=failing_script")
    page.get_by_label(f"Select instance {first}").check()
    page.get_by_label(f"Select instance {second}").focus()
    page.keyboard.press("Space")  # with the keyboard too
    page.get_by_label("Operation").select_option("cancel")
    page.get_by_label("Reason").fill("duplicates")
    fits_390(page)
    page.get_by_role("button", name="Apply operation").click()

    expect(page.get_by_role("heading", name="Cancel: 2 instances")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="refused")).to_have_text("2 done, 0 refused.")
    for instance_id in (first, second):
        expect(page.locator(f"#outcome-{instance_id}")).to_contain_text("done")
        expect(page.locator(f"#outcome-{instance_id}")).to_contain_text("cancelled")
    fits_390(page)
    assert [admin.instance(i)["status"] for i in (first, second, kept)] == ["cancelled", "cancelled", "running"]


def test_an_analyst_reads_path_finder_and_collapses_repeats(app, page, admin, make, tmp_path):
    """A holder of `analytics` on Leads opens Path Finder from the header: the edges and paths of the leads'
    touchpoints; ticking "Collapse repeats" swaps the results in place (htmx), the repeat counted once."""
    assert admin.put("/api/v1/modules/Leads/conversion-goal", json={
        "field": "lead_status", "value": "Converted", "lost": ["Lost"]}).status_code == 200
    lead = admin.post("/api/v1/modules/Leads/records", json={"last_name": "Okafor"}).get_json()["id"]
    for kind in ("email_replied", "email_replied", "call_logged"):
        admin.post(f"/api/v1/modules/Leads/records/{lead}/touchpoints", json={"type": kind})
    make.user("nadia")
    make.grant("analytics", "module", "Leads", user="nadia")
    log_in(page, "nadia")
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Path Finder")).to_be_visible()
    expect(page.locator("#path-edges")).to_contain_text("email_replied")
    expect(page.locator("#path-variants")).to_contain_text("email_replied → email_replied → call_logged")
    page.get_by_label("Collapse repeats").check()
    expect(page.locator("#path-variants")).to_contain_text("email_replied → call_logged")
    expect(page.locator("#path-variants")).not_to_contain_text("email_replied → email_replied")
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "path-finder.png"), full_page=True)


def test_an_analyst_reads_the_heat_map_on_the_diagram_and_colours_it_by_median_time(app, page, admin, make, clock):
    """A user with only the `analytics` permission on Case SLA: counts on the elements, frequencies on the flows,
    the hottest element marked; then the same diagram by median duration."""
    import datetime as dt

    from ..api import analytics_data as data
    from ..factories import shipped

    definition_id = admin.deploy(shipped("sla", "case_sla.bpmn"))["definitions"][0]["id"]
    made = data.cases(dt.datetime.now(dt.timezone.utc))
    data.write(make, definition_id, made)
    elements, flows = data.expected_heat(data.rows_of(made))
    make.user("ana")
    make.grant("analytics", "process", "case_sla", user="ana")
    log_in(page, "ana")

    page.goto("/console/analytics/case_sla/heat-map")
    diagram = page.locator(".diagram[data-diagram-state=ready]")
    expect(diagram.locator('.djs-overlays[data-container-id="resolve_case"] .diagram-badge.badge-heat')).to_have_text(
        str(elements["resolve_case"]["count"]))
    expect(diagram.locator('.djs-overlays[data-container-id="flow_resolved"] .diagram-badge.badge-flow')).to_have_text(
        f"{flows['flow_resolved']}×")
    hottest = max(elements, key=lambda e: elements[e]["count"])
    expect(diagram.locator(f'[data-element-id="{hottest}"].heat-5')).to_have_count(1)
    fits_390(page)

    page.get_by_label("Colour by").select_option("p50")
    page.get_by_role("button", name="Show").click()
    diagram = page.locator(".diagram[data-diagram-state=ready]")
    expect(diagram.locator('.djs-overlays[data-container-id="seven_days_silent"] .diagram-badge.badge-heat')).to_have_text(
        "7 d")
    expect(diagram.locator('[data-element-id="seven_days_silent"].heat-5')).to_have_count(1)  # the longest wait


def test_an_analyst_opens_the_bottlenecks_from_the_heat_map_tabs(app, page, admin, make, clock):
    """From the heat map, the Bottlenecks tab for the same version: the SLA breaches of the support task and the
    times each escalation level fired; it and the gateway branches and durations tabs fit a phone's width."""
    import datetime as dt

    from ..api import analytics_data as data
    from ..factories import shipped

    definition_id = admin.deploy(shipped("sla", "case_sla.bpmn"))["definitions"][0]["id"]
    made = data.cases(dt.datetime.now(dt.timezone.utc))
    data.write(make, definition_id, made)
    expected = data.expected_bottlenecks(data.rows_of(made), dt.datetime.now(dt.timezone.utc))
    make.user("ana")
    make.grant("analytics", "process", "case_sla", user="ana")
    log_in(page, "ana")

    page.goto("/console/analytics/case_sla/heat-map?version=1")
    page.get_by_role("navigation", name="Analyses").get_by_role("link", name="Bottlenecks").click()
    expect(page.get_by_role("heading", name="SLA breaches")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/analytics/case_sla/bottlenecks\?version=1$"))
    sla = expected["sla"]["resolve_case"]
    expect(page.locator("#sla-resolve_case .breached")).to_have_text(str(sla["completed_late"] + sla["open_overdue"]))
    expect(page.locator("#escalation-four_hours_unresolved .fired")).to_have_text(
        str(expected["fired"]["four_hours_unresolved"]))
    fits_390(page)
    for tab, table in (("Gateway branches", "#gateway-case_outcome"), ("Durations", "#durations-versions")):
        page.get_by_role("navigation", name="Analyses").get_by_role("link", name=tab).click()
        expect(page.locator(table)).to_be_visible()
        fits_390(page)
