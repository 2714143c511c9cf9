"""Records: module lists with filters and paging; a record's page with its blueprint, lock and timeline."""
from __future__ import annotations

import re

from config import TestConfig

from .conftest import text


def titles(page) -> list[str]:
    return re.findall(r'<td data-label="Record"><a href="[^"]+">([^<]+)</a>', text(page))


def test_modules_and_a_module_s_records(console, deals):
    ravi = console("ravi")
    modules = ravi.get("/console/records")
    assert 'href="/console/records/Deals"' in text(modules)
    deals_page = ravi.get("/console/records/Deals")
    assert titles(deals_page) == ["Fleet of laptops"]
    assert '<td data-label="Stage">Qualification</td>' in text(deals_page)


def test_records_one_may_not_read_are_neither_listed_nor_shown(console, deals, olga):
    olga_session = console("olga")
    assert titles(olga_session.get("/console/records/Deals")) == []
    page = olga_session.get(f"/console/records/Deals/{deals['record_id']}")
    assert page.status_code == 404 and "<h1>Not found" in text(page)
    refused = olga_session.post(f"/console/records/Deals/{deals['record_id']}/transitions/lose")
    assert refused.status_code == 404
    assert console("ravi").get("/console/records/Nope").status_code == 404


def test_filters_and_paging(console, deals):
    ravi, api = console("ravi"), deals["ravi"]
    for n in range(25):
        assert api.post("/api/v1/modules/Deals/records", json={"deal_name": f"Deal {n:02}"}).status_code == 201
    first = ravi.get("/console/records/Deals")
    assert len(titles(first)) == 25 and "Page 1 of 2 (26)" in text(first)
    second = ravi.get("/console/records/Deals?page=2", htmx=True, headers={"HX-Target": "records-results"})
    assert "<html" not in text(second) and len(titles(second)) == 1
    assert titles(ravi.get("/console/records/Deals?f_deal_name=Deal+07")) == ["Deal 07"]
    assert "Page 1 of 2 (26)" in text(ravi.get("/console/records/Deals?f_stage=Qualification&owner=ravi"))
    assert titles(ravi.get("/console/records/Deals?f_stage=Closing")) == []
    refused = ravi.get("/console/records/Deals?f_approved=perhaps")
    assert refused.status_code == 400  # the API's answer, named at its filter
    assert "<code>approved</code>: must be true or false" in text(refused)


def test_the_record_page_shows_fields_stages_transitions_timeline_and_processes(console, deals):
    page = console("ravi").get(f"/console/records/Deals/{deals['record_id']}")
    html = text(page)
    assert "<h1>Fleet of laptops</h1>" in html
    stages = re.findall(r'<li class="(\w+)"[^>]*>([^<]+)</li>', html)
    assert stages == [("current", "Qualification"), ("ahead", "Negotiation"), ("ahead", "Closing"),
                      ("ahead", "Closed Won"), ("ahead", "Closed Lost")]
    assert 'aria-current="step">Qualification' in html
    assert re.findall(r'data-open-dialog="transition-(\w+)"[^>]*>([^<]+)<', html) == [
        ("negotiate", "Start negotiating"), ("lose", "Mark as lost")]
    negotiate = html[html.index('<dialog id="transition-negotiate"'):html.index("</dialog>")]
    assert 'id="f-amount" name="amount" aria-required="true"' in negotiate
    assert 'value="12000"' in negotiate  # the mandatory field, prefilled from the record
    assert "started process <strong>electronics_deal_followup</strong>" in html
    assert "electronics_deal_followup" in html[html.index("Processes on this record"):]
    assert ">Qualification</a>" in html[html.index("Open tasks"):]  # the blueprint's waiting task


def test_a_transition_refused_then_corrected(console, deals, admin):
    ravi = console("ravi")
    url = f"/console/records/Deals/{deals['record_id']}/transitions/negotiate"
    refused = ravi.post(url, {"amount": "-5"})
    assert refused.status_code == 400
    html = text(refused)
    dialog = html[html.index('<dialog id="transition-negotiate"'):]
    dialog = dialog[:dialog.index("</dialog>")]
    assert "data-open-on-load" in dialog  # the dialog opens again, with the error beside its field
    assert '<p class="error" id="f-amount-error">-5 is less than the minimum of 0</p>' in dialog
    assert 'value="-5"' in dialog
    assert ravi.get(f"/console/records/Deals/{deals['record_id']}").status_code == 200
    assert admin.get(f"/api/v1/modules/Deals/records/{deals['record_id']}").get_json()["stage"] == "Qualification"

    done = ravi.post(url, {"amount": "15000"})
    assert done.status_code == 302
    record = admin.get(f"/api/v1/modules/Deals/records/{deals['record_id']}").get_json()
    assert (record["stage"], record["amount"]) == ("Negotiation", 15000)
    page = text(ravi.get(done.headers["Location"]))
    assert "“Start negotiating” done." in page
    assert 'aria-current="step">Negotiation' in page
    assert re.findall(r'data-open-dialog="transition-(\w+)"', page) == ["close", "lose"]


def test_who_may_not_perform_a_transition_sees_no_button_and_gets_the_api_s_403(console, deals):
    maya = console("maya")  # ravi's manager reads his deal, but the transitions are for sales reps
    page = maya.get(f"/console/records/Deals/{deals['record_id']}")
    assert page.status_code == 200 and "data-open-dialog" not in text(page)
    refused = maya.post(f"/console/records/Deals/{deals['record_id']}/transitions/lose")
    assert refused.status_code == 403 and "not an owner of transition" in text(refused)


def test_an_unknown_transition_is_a_404(console, deals):
    assert console("ravi").post(f"/console/records/Deals/{deals['record_id']}/transitions/fly").status_code == 404


def test_a_record_locked_by_an_approval_says_which_instance(console, discount):
    page = text(console("maria").get(f"/console/records/Deals/{discount['record_id']}"))
    banner = page[page.index('<div class="banner locked"'):]
    banner = banner[:banner.index("</div>")]
    assert "“discount_approval”" in banner and discount["instance_id"] in banner
    assert "until its approval or review ends" in banner
    assert "data-open-dialog" not in page  # no blueprint on this deal: no stage bar, no transitions
    assert 'aria-label="Stages"' not in page


def _stage_bar(page) -> list[tuple[str, str]]:
    html = text(page)
    bar = html[html.index('aria-label="Stages"'):]
    return re.findall(r'<li class="(\w+)"[^>]*>([^<]+)</li>', bar[:bar.index("</nav>")])


def test_the_stage_bar_follows_the_blueprint_s_flow_in_the_version_the_record_runs(console, admin, make, tmp_path):
    """The stage picklist lists its values alphabetically; the bar lists the stages as the diagram leads a record
    through them (GET /api/v1/blueprints/{key}/stages), in the version its instance runs, not the latest."""
    from ..factories import fixture

    article = fixture("crm", "article_stages.bpmn")
    admin.deploy(article)
    stages = ["Approval", "Archived", "Draft", "Finance review", "Legal review", "Published", "Withdrawn"]
    created = admin.post("/api/v1/modules", json={"api_name": "Articles", "fields": [
        {"name": "title", "type": "text", "required": True}, {"name": "stage", "type": "picklist", "values": stages}]})
    assert created.status_code == 201, created.get_json()
    bound = admin.post("/api/v1/bindings", json={"name": "Articles", "module": "Articles", "event": "create",
                                                 "process_key": "article_stages", "kind": "blueprint"})
    assert bound.status_code == 201, bound.get_json()
    first = admin.post("/api/v1/modules/Articles/records", json={"title": "On tides"}).get_json()
    assert first["stage"] == "Draft"
    in_flow_order = admin.get("/api/v1/blueprints/article_stages/stages").get_json()["stages"]

    page = console("admin", TestConfig.ADMIN_PASSWORD).get(f"/console/records/Articles/{first['id']}")

    assert [name for _, name in _stage_bar(page)] == [s["name"] for s in in_flow_order] == [
        "Draft", "Legal review", "Finance review", "Approval", "Published", "Withdrawn"]
    assert _stage_bar(page)[0] == ("current", "Draft")

    renamed = tmp_path / "article_stages.bpmn"
    renamed.write_bytes(article.read_bytes().replace(b'name="Approval"', b'name="Sign-off"'))
    admin.deploy(renamed)
    second = admin.post("/api/v1/modules/Articles/records", json={"title": "On waves"}).get_json()
    session = console("admin", TestConfig.ADMIN_PASSWORD)
    assert "Approval" in [name for _, name in _stage_bar(session.get(f"/console/records/Articles/{first['id']}"))]
    assert "Sign-off" in [name for _, name in _stage_bar(session.get(f"/console/records/Articles/{second['id']}"))]


    # once its instance has ended, the record keeps the stages of the version it ran, and a stage set by hand
    # that the diagram does not name is shown as the current one, after the diagram's
    [running] = admin.get(f"/api/v1/process-instances?record_id={first['id']}").get_json()["items"]
    assert admin.post(f"/api/v1/process-instances/{running['id']}/cancel", json={"reason": "shelved"}).status_code == 200
    archived = admin.patch(f"/api/v1/modules/Articles/records/{first['id']}", json={"stage": "Archived"})
    assert archived.status_code == 200, archived.get_json()
    bar = _stage_bar(session.get(f"/console/records/Articles/{first['id']}"))
    assert bar[-1] == ("current", "Archived") and "Approval" in [name for _, name in bar]
