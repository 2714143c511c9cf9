"""A transition that needs a note or an attachment (`transition.X.requires`) says so in its dialog.

The note is a field of the dialog, required when the transition needs one, posted as the API takes it (apart
from the transition's fields) and kept on the record's timeline; a refusal comes back beside it with what was
typed, and changes nothing. An attachment the record lacks is named in the dialog.
"""
from __future__ import annotations

import re

from ..api.test_record_write_path import _blueprint_variant
from .conftest import text


def dialog(html: str, name: str) -> str:
    start = html.index(f'<dialog id="transition-{name}"')
    return html[start:html.index("</dialog>", start)]


def _deal(admin, make, tmp_path, console, requires: str):
    _blueprint_variant(admin, tmp_path, requires=requires)
    make.user("rita", groups=["sales_reps"])
    rita = console("rita")
    created = admin.post("/api/v1/modules/Deals/records", json={"deal_name": "Acme", "amount": 500, "owner": "rita"})
    assert created.status_code == 201, created.get_json()
    return rita, created.get_json()["id"]


def test_a_transition_that_needs_a_note_asks_for_it_and_keeps_it_on_the_timeline(console, admin, make, tmp_path):
    rita, deal = _deal(admin, make, tmp_path, console, "note")
    page = text(rita.get(f"/console/records/Deals/{deal}"))
    advance = dialog(page, "advance")
    assert re.search(r'<label for="f-_note">Note <span class="req"', advance)
    assert 'id="f-_note" name="_note" aria-required="true"' in advance
    lose = dialog(page, "lose")  # a note is optional where it is not required
    assert 'name="_note"' in lose and 'name="_note" aria-required' not in lose

    url = f"/console/records/Deals/{deal}/transitions/advance"
    refused = rita.post(url, {"amount": "900", "_note": "  "})
    assert refused.status_code == 400
    advance = dialog(text(refused), "advance")
    assert "data-open-on-load" in advance
    assert '<p class="error" id="f-_note-error">this transition needs a note</p>' in advance
    assert 'value="900"' in advance
    record = admin.get(f"/api/v1/modules/Deals/records/{deal}").get_json()
    assert (record["stage"], record["amount"]) == ("Qualification", 500)  # nothing half-done

    done = rita.post(url, {"amount": "900", "_note": "Budget confirmed by phone"})
    assert done.status_code == 302
    record = admin.get(f"/api/v1/modules/Deals/records/{deal}").get_json()
    assert (record["stage"], record["amount"]) == ("Negotiation", 900)
    events = admin.get(f"/api/v1/modules/Deals/records/{deal}/timeline?per_page=100").get_json()["items"]
    [note] = [e for e in events if e["type"] == "note"]
    assert (note["data"]["text"], note["user"]) == ("Budget confirmed by phone", "rita")


def test_a_note_typed_into_a_refused_dialog_is_kept(console, admin, make, tmp_path):
    rita, deal = _deal(admin, make, tmp_path, console, "note")
    refused = rita.post(f"/console/records/Deals/{deal}/transitions/advance", {"amount": "-1", "_note": "Called"})
    assert refused.status_code == 400
    advance = dialog(text(refused), "advance")
    assert "-1 is less than the minimum of 0" in advance
    assert re.search(r'name="_note"[^>]*>Called</textarea>', advance)


def test_a_transition_that_needs_an_attachment_names_it_in_its_dialog(console, admin, make, tmp_path):
    rita, deal = _deal(admin, make, tmp_path, console, "attachment")
    advance = dialog(text(rita.get(f"/console/records/Deals/{deal}")), "advance")
    assert "needs a file attached to the record at this stage" in advance

    refused = rita.post(f"/console/records/Deals/{deal}/transitions/advance", {"amount": "900"})
    assert refused.status_code == 400
    advance = dialog(text(refused), "advance")
    assert "this transition needs a file attached to the record at this stage</p>" in advance
    assert admin.get(f"/api/v1/modules/Deals/records/{deal}").get_json()["stage"] == "Qualification"


def test_a_note_too_long_is_refused_beside_it_as_the_api_refuses_it(console, admin, make, tmp_path):
    rita, deal = _deal(admin, make, tmp_path, console, "note")
    refused = rita.post(f"/console/records/Deals/{deal}/transitions/advance", {"amount": "900", "_note": "x" * 10_001})
    assert refused.status_code == 400
    assert '<p class="error" id="f-_note-error">at most 10000 characters</p>' in dialog(text(refused), "advance")
    assert admin.get(f"/api/v1/modules/Deals/records/{deal}").get_json()["stage"] == "Qualification"
