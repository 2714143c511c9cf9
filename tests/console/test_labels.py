"""Every form control of every page has a name a screen reader reads: a <label for>, a label around it, or
aria-label / aria-labelledby (hidden inputs and buttons with text aside). Pages are filled with what the
scenarios leave: a group task, a record with a blueprint and an approval, an instance in error."""
from __future__ import annotations

import lxml.html
import pytest

from config import TestConfig

from ..factories import fixture

CONTROLS = "//input[not(@type='hidden') and not(@type='submit') and not(@type='button')] | //select | //textarea"


def unlabelled(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    labelled = {label.get("for") for label in tree.iter("label") if label.get("for")}
    missing = []
    for control in tree.xpath(CONTROLS):
        if control.get("aria-label") or control.get("aria-labelledby") or control.get("id") in labelled:
            continue
        if any(parent.tag == "label" for parent in control.iterancestors()):
            continue
        missing.append(lxml.html.tostring(control, encoding="unicode")[:120])
    return missing


def buttons_without_names(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    return [lxml.html.tostring(b, encoding="unicode")[:120] for b in tree.iter("button")
            if not (b.text_content().strip() or b.get("aria-label") or b.get("aria-labelledby"))]


@pytest.fixture
def pages(console, discount, deals, admin):
    admin.deploy(fixture("valid", "failing_script.bpmn"), fixture("valid", "start_form.bpmn"))
    failed = admin.start("failing_script")
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    urls = [f"/console/jobs?tab={tab}" for tab in ("mine", "groups", "completed", "todos")] + [
        f"/console/tasks/{discount['task_id']}", "/console/start", "/console/records", "/console/records/Deals",
        f"/console/records/Deals/{deals['record_id']}", f"/console/records/Deals/{discount['record_id']}",
        "/console/admin/processes", "/console/admin/processes/failing_script/definition",
        "/console/admin/instances", f"/console/admin/instances/{failed['id']}", "/console/admin/incidents",
        "/console/admin/jobs", "/console/admin/outbox", "/console/deploy", "/console/admin/users",
        "/console/admin/users/maria", "/console/start/start_form"]
    return session, urls


def test_every_control_of_every_page_has_a_label_and_every_button_a_name(pages, console):
    session, urls = pages
    found, controls = {}, {}
    for url in urls:
        page = session.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        controls[url] = len(lxml.html.fromstring(html).xpath(CONTROLS))
        problems = unlabelled(html) + buttons_without_names(html)
        if problems:
            found[url] = problems
    login = console().get("/console/login").get_data(as_text=True)
    if unlabelled(login):
        found["/console/login"] = unlabelled(login)
    assert found == {}
    # pages of links only: the start list, the modules, the processes, the incidents (every record page has at
    # least its attachment upload)
    assert sum(1 for n in controls.values() if n == 0) == 4 and sum(controls.values()) > 60, controls


def test_the_check_finds_a_control_without_a_label():
    assert unlabelled('<form><input name="a"><label>B <input name="b"></label><label for="c">C</label>'
                      '<input id="c" name="c"><select aria-label="D"></select></form>') == ['<input name="a">']
    assert buttons_without_names("<div><button></button><button>OK</button></div>") == ["<button></button>"]
