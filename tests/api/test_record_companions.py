"""What records carry besides their fields, over HTTP: CRM to-dos, notes, attachments and related lists.

Rita owns the deal; Ben is her manager; Cole is a colleague who reads nothing of hers; the admin
reads and changes everything. Each refusal is followed by a look proving nothing changed.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from ..factories import assert_problem, fixture

MODULES = "/api/v1/modules"
TODOS = "/api/v1/crm-tasks"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/users')</script></body></html>"


def records(module: str) -> str:
    return f"{MODULES}/{module}/records"


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture(autouse=True)
def storage(app, tmp_path, monkeypatch) -> Path:
    """Each test stores its attachments in its own folder."""
    folder = tmp_path / "attachments"
    monkeypatch.setitem(app.config, "ATTACHMENT_PATH", str(folder))
    return folder


@pytest.fixture
def people(make, admin):
    ben = make.client("ben")
    return {"rita": make.client("rita", manager="ben"), "ben": ben, "cole": make.client("cole"), "admin": admin}


@pytest.fixture
def deal(people):
    return ok(people["rita"].post(records("Deals"), json={"deal_name": "Globex renewal"}), 201)


def timeline(client, module, record_id) -> list[dict]:
    return ok(client.get(f"{records(module)}/{record_id}/timeline?per_page=200"))["items"]


# -- CRM to-dos ------------------------------------------------------------------------------------

@pytest.fixture
def todo(people, admin):
    """A Deals record of Rita's whose creation started a process that gave her a to-do and waits for it."""
    admin.deploy(fixture("crm", "follow_up_todo.bpmn"))
    ok(admin.post("/api/v1/bindings", json={"module": "Deals", "event": "create",
                                             "process_key": "crm_follow_up_todo"}), 201)
    deal = ok(people["rita"].post(records("Deals"), json={"deal_name": "Initech"}), 201)
    [task] = ok(people["rita"].get(f"{TODOS}?mine=true"))["items"]
    return deal, task


def test_a_process_to_do_is_listed_read_and_edited_by_its_owner_and_her_manager(people, todo):
    deal, task = todo
    rita, ben, admin = people["rita"], people["ben"], people["admin"]
    assert (task["subject"], task["owner"], task["status"]) == ("Call about Initech", "rita", "open")
    assert task["due_date"] == (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    assert [t["id"] for t in ok(ben.get(TODOS))["items"]] == [task["id"]]  # his report's
    assert ok(ben.get(f"{TODOS}?owner=rita&due=next_7_days"))["total"] == 1
    assert ok(ben.get(f"{TODOS}?due=overdue"))["total"] == 0
    assert ok(ben.get(f"{TODOS}?mine=true"))["total"] == 0

    edited = ok(ben.patch(f"{TODOS}/{task['id']}", json={"subject": "Call Initech's CFO", "due_date": None,
                                                          "description": "ask about the renewal"}))
    assert (edited["subject"], edited["due_date"], edited["description"]) == (
        "Call Initech's CFO", None, "ask about the renewal")
    assert ok(rita.get(f"{TODOS}/{task['id']}"))["subject"] == "Call Initech's CFO"
    assert ok(admin.patch(f"{TODOS}/{task['id']}", json={"owner": "ben"}))["owner"] == "ben"
    [event] = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "task_updated"][:1]
    assert event["user"] == "ben" and event["data"]["changes"]["subject"] == ["Call about Initech",
                                                                              "Call Initech's CFO"]


def test_a_colleague_neither_sees_nor_changes_someone_elses_to_do(people, todo):
    _, task = todo
    cole, rita = people["cole"], people["rita"]
    assert ok(cole.get(TODOS))["total"] == 0
    assert ok(cole.get(f"{TODOS}?record_id={task['record_id']}"))["total"] == 0
    assert_problem(cole.get(f"{TODOS}/{task['id']}"), 404)
    assert_problem(cole.patch(f"{TODOS}/{task['id']}", json={"subject": "mine now"}), 404)
    assert_problem(cole.post(f"{TODOS}/{task['id']}/complete"), 404)
    assert ok(rita.get(f"{TODOS}/{task['id']}")) == task  # unchanged


def test_a_reader_of_the_record_reads_its_to_do_but_may_not_change_it(people, todo, make):
    _, task = todo
    make.grant("read", "module", "Deals", user="cole")
    cole, rita = people["cole"], people["rita"]
    assert ok(cole.get(f"{TODOS}?record_id={task['record_id']}"))["total"] == 1
    assert ok(cole.get(f"{TODOS}/{task['id']}"))["id"] == task["id"]
    assert_problem(cole.patch(f"{TODOS}/{task['id']}", json={"subject": "mine now"}), 403)
    assert_problem(cole.post(f"{TODOS}/{task['id']}/complete"), 403)
    assert ok(rita.get(f"{TODOS}/{task['id']}")) == task


def test_completing_a_to_do_writes_the_timeline_and_reaches_the_waiting_process(people, todo, admin):
    deal, task = todo
    rita = people["rita"]
    [instance] = ok(admin.get(f"/api/v1/process-instances?record_id={deal['id']}&module=Deals"))["items"]
    assert instance["status"] == "running"

    done = ok(rita.post(f"{TODOS}/{task['id']}/complete"))
    assert (done["status"], done["completed_by"]) == ("completed", "rita")
    assert admin.instance(instance["id"])["status"] == "completed"
    events = timeline(rita, "Deals", deal["id"])
    assert [e for e in events if e["type"] == "task_completed"][0]["data"]["task_id"] == task["id"]
    assert "Call done by rita" in [e["data"]["text"] for e in events if e["type"] == "note"]
    assert_problem(rita.post(f"{TODOS}/{task['id']}/complete"), 409)
    assert ok(rita.get(TODOS))["total"] == 0  # the default lists open to-dos
    assert ok(rita.get(f"{TODOS}?status=completed"))["total"] == 1

    reopened = ok(people["ben"].post(f"{TODOS}/{task['id']}/reopen"))
    assert (reopened["status"], reopened["completed_by"]) == ("open", None)
    assert "task_reopened" in [e["type"] for e in timeline(rita, "Deals", deal["id"])]
    assert_problem(rita.post(f"{TODOS}/{task['id']}/reopen"), 409)


def test_bad_to_do_input_is_a_400(people, todo):
    _, task = todo
    rita = people["rita"]
    assert_problem(rita.patch(f"{TODOS}/{task['id']}", json={"owner": "nobody"}), 400)
    assert_problem(rita.patch(f"{TODOS}/{task['id']}", json={"subject": ""}), 400)
    assert_problem(rita.patch(f"{TODOS}/{task['id']}", json={"due_date": "soon"}), 400)
    assert_problem(rita.get(f"{TODOS}?due=someday"), 400)
    assert_problem(rita.get(f"{TODOS}?status=lost"), 400)
    assert ok(rita.get(f"{TODOS}/{task['id']}")) == task


# -- notes -------------------------------------------------------------------------------------------

def notes_of(deal) -> str:
    return f"{records('Deals')}/{deal['id']}/notes"


def test_notes_are_written_read_edited_and_deleted_as_the_record_allows(people, deal):
    rita, ben, cole, admin = people["rita"], people["ben"], people["cole"], people["admin"]
    url = notes_of(deal)
    mine = ok(rita.post(url, json={"text": "Budget approved in Q3"}), 201)
    assert (mine["author"], mine["text"]) == ("rita", "Budget approved in Q3")
    his = ok(ben.post(url, json={"text": "Push for a two-year term"}), 201)
    assert [n["id"] for n in ok(rita.get(url))["items"]] == [his["id"], mine["id"]]

    assert_problem(cole.get(url), 404)
    assert_problem(cole.post(url, json={"text": "hello"}), 404)
    assert_problem(cole.patch(f"{url}/{mine['id']}", json={"text": "changed"}), 404)
    assert_problem(cole.delete(f"{url}/{mine['id']}"), 404)
    assert_problem(ben.patch(f"{url}/{mine['id']}", json={"text": "changed"}), 403)  # not his words
    assert_problem(rita.patch(f"{url}/{his['id']}", json={"text": "changed"}), 403)
    assert [n["text"] for n in ok(admin.get(url))["items"]] == ["Push for a two-year term", "Budget approved in Q3"]

    assert ok(rita.patch(f"{url}/{mine['id']}", json={"text": "Budget approved in Q4"}))["text"] == \
        "Budget approved in Q4"
    assert ok(admin.patch(f"{url}/{his['id']}", json={"text": "Two-year term"}))["text"] == "Two-year term"
    assert rita.delete(f"{url}/{his['id']}").status_code == 204  # she may change the record
    assert ben.delete(f"{url}/{mine['id']}").status_code == 204  # so may her manager
    assert ok(rita.get(url))["total"] == 0
    types = [e["type"] for e in timeline(admin, "Deals", deal["id"])]
    assert types.count("note") == 2 and types.count("note_edited") == 2 and types.count("note_deleted") == 2


def test_a_reader_adds_a_note_but_deletes_only_her_own(people, deal, make):
    make.grant("read", "module", "Deals", user="cole")
    rita, cole = people["rita"], people["cole"]
    url = notes_of(deal)
    hers = ok(rita.post(url, json={"text": "hers"}), 201)
    his = ok(cole.post(url, json={"text": "his"}), 201)
    assert_problem(cole.delete(f"{url}/{hers['id']}"), 403)
    assert cole.delete(f"{url}/{his['id']}").status_code == 204
    assert [n["id"] for n in ok(rita.get(url))["items"]] == [hers["id"]]


def test_bad_notes_are_a_400(people, deal):
    rita = people["rita"]
    url = notes_of(deal)
    assert_problem(rita.post(url, json={"text": ""}), 400)
    assert_problem(rita.post(url, json={"text": "x" * 10_001}), 400)
    assert_problem(rita.post(url, json={}), 400)
    assert_problem(rita.post(f"{records('Deals')}/nope/notes", json={"text": "x"}), 404)
    assert ok(rita.get(url))["total"] == 0


def test_a_process_note_is_a_note_like_the_others(admin, make, bpmn_path):
    admin.deploy(fixture("crm", "welcome_lead.bpmn"))
    ok(admin.post("/api/v1/bindings", json={"module": "Leads", "event": "create",
                                             "process_key": "crm_welcome_lead"}), 201)
    sam = make.client("sam")
    lead = ok(sam.post(records("Leads"), json={"last_name": "Lee"}), 201)
    [note] = ok(sam.get(f"{records('Leads')}/{lead['id']}/notes"))["items"]
    assert (note["text"], note["author"]) == ("Welcome call planned for Lee", None)
    assert note["instance_id"]
    assert_problem(sam.patch(f"{records('Leads')}/{lead['id']}/notes/{note['id']}", json={"text": "x"}), 403)
    assert sam.delete(f"{records('Leads')}/{lead['id']}/notes/{note['id']}").status_code == 204  # her record


# -- attachments -------------------------------------------------------------------------------------

def attachments_of(deal) -> str:
    return f"{records('Deals')}/{deal['id']}/attachments"


def upload(client, deal, content: bytes, name: str = "quote.pdf", content_type: str = "application/pdf"):
    return client.post(attachments_of(deal), data={"file": (io.BytesIO(content), name, content_type)},
                       content_type="multipart/form-data")


def test_an_attachment_is_uploaded_listed_and_downloaded_with_safe_headers(people, deal, storage):
    rita, ben = people["rita"], people["ben"]
    stored = ok(upload(rita, deal, PDF), 201)
    assert (stored["file_name"], stored["content_type"], stored["size"], stored["uploaded_by"]) == (
        "quote.pdf", "application/pdf", len(PDF), "rita")
    assert [a["id"] for a in ok(ben.get(attachments_of(deal)))["items"]] == [stored["id"]]

    response = ben.get(f"{attachments_of(deal)}/{stored['id']}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "quote.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    [on_disk] = list(storage.iterdir())
    assert on_disk.read_bytes() == PDF and on_disk.name != "quote.pdf" and len(on_disk.name) == 32
    added = [e for e in timeline(rita, "Deals", deal["id"]) if e["type"] == "attachment_added"]
    assert added[0]["data"]["attachment_id"] == stored["id"]


def test_office_images_and_text_pass_with_the_type_their_bytes_show(people, deal):
    rita = people["rita"]
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert ok(upload(rita, deal, PNG, "pixel.pdf", "application/pdf"), 201)["content_type"] == "image/png"
    assert ok(upload(rita, deal, b"name,amount\nGlobex,10\n", "deal.csv", "text/csv"), 201)["content_type"] == \
        "text/csv"
    assert ok(upload(rita, deal, "Grüße\n".encode(), "hello.txt", "text/plain"), 201)["content_type"] == \
        "text/plain"
    word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert ok(upload(rita, deal, docx.getvalue(), "offer.docx", word), 201)["content_type"] == word


@pytest.mark.parametrize("content", [ELF, WINDOWS_EXE, HTML, b"  <script>alert(1)</script>",
                                     b"#!/bin/sh\nrm -rf ~\n", b"\x00\x01\x02binary"],
                         ids=["elf", "exe", "html", "script-tag", "shell", "unknown-binary"])
def test_a_forged_content_type_is_refused_and_nothing_is_stored(people, deal, storage, content):
    rita = people["rita"]
    body = assert_problem(upload(rita, deal, content, "invoice.pdf", "application/pdf"), 415)
    assert "STAGECOACH_ATTACHMENT_TYPES" in body["detail"]
    assert ok(rita.get(attachments_of(deal)))["total"] == 0
    assert not storage.exists() or list(storage.iterdir()) == []


def test_the_allow_list_is_a_setting(people, deal, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_TYPES", ("image/png",))
    assert_problem(upload(people["rita"], deal, PDF), 415)
    assert ok(upload(people["rita"], deal, PNG, "a.png", "image/png"), 201)["content_type"] == "image/png"


def test_an_upload_over_the_size_limit_is_a_413(people, deal, storage, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1000)
    rita = people["rita"]
    assert ok(upload(rita, deal, PDF + b"%" * (1000 - len(PDF))), 201)["size"] == 1000
    body = assert_problem(upload(rita, deal, PDF + b"%" * (1001 - len(PDF))), 413)
    assert body["limit"] == "STAGECOACH_ATTACHMENT_MAX_BYTES" and body["limit_value"] == 1000
    body = assert_problem(upload(rita, deal, PDF + b"%" * 200_000), 413)  # refused from its Content-Length
    assert body["limit"] == "STAGECOACH_ATTACHMENT_MAX_BYTES"
    assert ok(rita.get(attachments_of(deal)))["total"] == 1
    assert len(list(storage.iterdir())) == 1


def test_the_attachment_limit_is_not_the_request_limit_of_other_calls(people, deal, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 20_000)
    rita = people["rita"]
    assert ok(upload(rita, deal, PDF + b"%" * 10_000), 201)["size"] == len(PDF) + 10_000
    assert_problem(rita.post(notes_of(deal), json={"text": "x" * 5_000}), 413)


def test_an_empty_or_missing_file_is_a_400(people, deal):
    rita = people["rita"]
    assert_problem(upload(rita, deal, b""), 400)
    assert_problem(rita.post(attachments_of(deal), data={"other": "x"}, content_type="multipart/form-data"), 400)
    assert_problem(rita.post(attachments_of(deal), json={"file": "x"}), 415)


@pytest.mark.parametrize("name, shown", [("../../../etc/passwd.txt", "passwd.txt"),
                                         ("....//....//boot.ini.txt", "boot.ini.txt"),
                                         ("..", "attachment"), ("/", "attachment")])
def test_a_path_in_the_file_name_is_never_a_path_on_disk(people, deal, storage, tmp_path, name, shown):
    rita = people["rita"]
    stored = ok(upload(rita, deal, b"plain words\n", name, "text/plain"), 201)
    assert stored["file_name"] == shown
    [on_disk] = list(storage.iterdir())
    assert on_disk.parent == storage and len(on_disk.name) == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attachments"]
    response = rita.get(f"{attachments_of(deal)}/{stored['id']}")
    assert response.data == b"plain words\n" and "/" not in response.headers["Content-Disposition"]


def test_attachments_follow_the_record_and_their_uploader(people, deal, storage, make):
    rita, ben, cole, admin = people["rita"], people["ben"], people["cole"], people["admin"]
    hers = ok(upload(rita, deal, PDF), 201)
    url = f"{attachments_of(deal)}/{hers['id']}"
    assert_problem(cole.get(attachments_of(deal)), 404)
    assert_problem(cole.get(url), 404)
    assert_problem(upload(cole, deal, PDF), 404)
    assert_problem(cole.delete(url), 404)
    make.grant("read", "module", "Deals", user="cole")
    assert cole.get(url).data == PDF
    his = ok(upload(cole, deal, PNG, "a.png", "image/png"), 201)
    assert_problem(cole.delete(url), 403)
    assert rita.get(url).data == PDF and len(list(storage.iterdir())) == 2

    assert cole.delete(f"{attachments_of(deal)}/{his['id']}").status_code == 204
    assert ben.delete(url).status_code == 204  # her manager may change the record
    assert_problem(admin.get(url), 404)
    assert list(storage.iterdir()) == []
    assert [e["type"] for e in timeline(admin, "Deals", deal["id"])].count("attachment_deleted") == 2


def test_deleting_a_record_takes_its_notes_and_attachments(people, deal, admin, storage):
    rita = people["rita"]
    other = ok(rita.post(records("Deals"), json={"deal_name": "Kept"}), 201)
    ok(rita.post(notes_of(deal), json={"text": "a note"}), 201)
    ok(upload(rita, deal, PDF), 201)
    kept = ok(upload(rita, other, PNG, "kept.png", "image/png"), 201)
    assert rita.delete(f"{records('Deals')}/{deal['id']}").status_code == 204
    assert_problem(admin.get(notes_of(deal)), 404)
    assert_problem(admin.get(attachments_of(deal)), 404)
    assert [p.read_bytes() for p in storage.iterdir()] == [PNG]
    assert rita.get(f"{attachments_of(other)}/{kept['id']}").data == PNG


# -- related lists -----------------------------------------------------------------------------------

def test_an_accounts_related_deals_are_those_its_reader_may_read(people):
    rita, ben, cole, admin = people["rita"], people["ben"], people["cole"], people["admin"]
    account = ok(rita.post(records("Accounts"), json={"account_name": "Globex"}), 201)
    other = ok(rita.post(records("Accounts"), json={"account_name": "Initech"}), 201)
    contact = ok(rita.post(records("Contacts"), json={"last_name": "Lee", "account": account["id"]}), 201)
    deals = [ok(rita.post(records("Deals"), json={"deal_name": f"Globex {n}", "account": account["id"],
                                                  "contact": contact["id"]}), 201) for n in range(3)]
    ok(rita.post(records("Deals"), json={"deal_name": "Initech", "account": other["id"]}), 201)
    coles = ok(cole.post(records("Deals"), json={"deal_name": "Cole's Globex", "account": account["id"]}), 201)

    url = f"{records('Accounts')}/{account['id']}/related"
    assert [d["id"] for d in ok(rita.get(f"{url}/Deals"))["items"]] == [d["id"] for d in reversed(deals)]
    assert ok(ben.get(f"{url}/Deals"))["total"] == 3  # his report's, not Cole's
    assert ok(admin.get(f"{url}/Deals"))["total"] == 4
    page = ok(admin.get(f"{url}/Deals?per_page=2&page=2"))
    assert (page["total"], len(page["items"]), page["page"]) == (4, 2, 2)
    assert [c["id"] for c in ok(rita.get(f"{url}/Contacts"))["items"]] == [contact["id"]]
    contact_deals = ok(rita.get(f"{records('Contacts')}/{contact['id']}/related/Deals?field=contact"))
    assert contact_deals["total"] == 3
    assert_problem(cole.get(f"{url}/Deals"), 404)  # he may not read the account
    make_reader = ok(admin.post("/api/v1/authorizations", json={
        "user_id": "cole", "resource_type": "module", "resource_id": "Accounts", "permissions": ["read"]}), 201)
    assert make_reader["id"]
    assert [d["id"] for d in ok(cole.get(f"{url}/Deals"))["items"]] == [coles["id"]]  # only his own deal

    assert_problem(rita.get(f"{url}/Leads"), 404)  # no lookup from Leads to Accounts
    assert_problem(rita.get(f"{url}/Nothing"), 404)
    assert_problem(rita.get(f"{url}/Deals?field=contact"), 400)
