"""Attaching a file to a record from its page, through the attachment service's own checks.

A refused file (too large 413, a type not allowed 415, empty 400) comes back on the record page with its
status and the reason beside the file field, and nothing is stored; an accepted one is listed and can be
downloaded. With it, a transition that needs an attachment can be done from the console alone.
"""
from __future__ import annotations

import io
import re

import pytest

from ..api.test_record_companions import ELF, PDF
from .conftest import text
from .test_transition_requirements import _deal, dialog

UPLOAD_ERROR = re.compile(r'<p class="error" id="attachment-file-error" role="alert">([^<]*)</p>')


@pytest.fixture(autouse=True)
def storage(app, tmp_path, monkeypatch):
    folder = tmp_path / "attachments"
    monkeypatch.setitem(app.config, "ATTACHMENT_PATH", str(folder))
    return folder


def stored(folder) -> list[str]:
    return [p.name for p in folder.iterdir()] if folder.exists() else []


def upload(session, deal: str, content: bytes, name: str, **kw):
    return session.post(f"/console/records/Deals/{deal}/attachments",
                        {"file": (io.BytesIO(content), name)}, content_type="multipart/form-data", **kw)


def test_a_file_attached_from_the_record_page_is_listed_and_downloads(console, admin, make, tmp_path, storage):
    rita, deal = _deal(admin, make, tmp_path, console, "attachment")
    page = text(rita.get(f"/console/records/Deals/{deal}"))
    assert '<label for="attachment-file">File to attach</label>' in page
    assert 'enctype="multipart/form-data"' in page and 'id="attachment-file" name="file" required' in page

    done = upload(rita, deal, PDF, "quote.pdf")
    assert done.status_code == 302
    page = text(rita.get(done.headers["Location"]))
    [item] = re.findall(r'<a href="(/console/records/Deals/[^"]+/attachments/[^"]+)" download>quote.pdf</a>', page)
    assert "application/pdf" in page and "“quote.pdf” attached." in page
    download = rita.get(item)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert len(stored(storage)) == 1
    [listed] = admin.get(f"/api/v1/modules/Deals/records/{deal}/attachments").get_json()["items"]
    assert (listed["file_name"], listed["uploaded_by"]) == ("quote.pdf", "rita")


def test_a_transition_that_needs_an_attachment_can_be_done_from_the_console_alone(console, admin, make, tmp_path):
    rita, deal = _deal(admin, make, tmp_path, console, "attachment")
    url = f"/console/records/Deals/{deal}/transitions/advance"
    assert rita.post(url, {"amount": "900"}).status_code == 400
    assert upload(rita, deal, PDF, "signed.pdf").status_code == 302
    done = rita.post(url, {"amount": "900"})
    assert done.status_code == 302, dialog(text(done), "advance")
    record = admin.get(f"/api/v1/modules/Deals/records/{deal}").get_json()
    assert (record["stage"], record["amount"]) == ("Negotiation", 900)


@pytest.mark.parametrize("content, name, status, reason", [
    (ELF, "invoice.pdf", 415, "The file&#39;s content is application/octet-stream"),
    (b"", "empty.txt", 400, "The file is empty"),
    (b"x" * 2_000, "big.txt", 413, "The file is larger than 1000 bytes"),
])
def test_a_refused_file_is_named_beside_the_field_and_nothing_is_stored(
        console, admin, make, tmp_path, storage, app, monkeypatch, content, name, status, reason):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1_000)
    rita, deal = _deal(admin, make, tmp_path, console, "attachment")
    refused = upload(rita, deal, content, name)
    assert refused.status_code == status
    [message] = UPLOAD_ERROR.findall(text(refused))
    assert message.startswith(reason)
    assert 'aria-invalid="true"' in text(refused).split('id="attachment-file"', 1)[1].split(">", 1)[0]
    assert stored(storage) == []
    assert admin.get(f"/api/v1/modules/Deals/records/{deal}/attachments").get_json()["total"] == 0


def test_a_body_far_past_the_limit_is_refused_before_it_is_read(console, admin, make, tmp_path, storage, app,
                                                                monkeypatch):
    rita, deal = _deal(admin, make, tmp_path, console, "attachment")
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1_000)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)
    refused = upload(rita, deal, b"x" * 200_000, "huge.txt")
    assert refused.status_code == 413
    [message] = UPLOAD_ERROR.findall(text(refused))
    assert message.startswith("The file is larger than 1000 bytes")
    assert stored(storage) == []


def test_an_upload_without_the_forms_csrf_token_or_a_file_stores_nothing(console, admin, make, tmp_path, storage):
    rita, deal = _deal(admin, make, tmp_path, console, "attachment")
    forged = upload(rita, deal, PDF, "quote.pdf", csrf=False)
    assert forged.status_code == 400 and "It was not sent from this console" in text(forged)
    missing = rita.post(f"/console/records/Deals/{deal}/attachments", {}, content_type="multipart/form-data")
    assert missing.status_code == 400 and UPLOAD_ERROR.findall(text(missing)) == ["Choose a file to attach"]
    assert stored(storage) == []


def test_a_record_the_caller_may_not_read_takes_no_upload(console, admin, make, tmp_path, storage):
    _, deal = _deal(admin, make, tmp_path, console, "attachment")
    make.user("cole")
    assert upload(console("cole"), deal, PDF, "quote.pdf").status_code == 404
    assert stored(storage) == []


def test_a_body_far_past_the_limit_without_a_session_leads_to_the_login_page(console, admin, make, tmp_path, app,
                                                                              monkeypatch, storage):
    _, deal = _deal(admin, make, tmp_path, console, "attachment")
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1_000)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)
    refused = upload(console(), deal, b"x" * 200_000, "huge.txt", csrf=False)
    assert refused.status_code == 302 and "/console/login" in refused.headers["Location"]
    assert stored(storage) == []
