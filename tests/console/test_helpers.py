"""The console's building blocks on their own: JSON Schema forms both ways, the diagram macro, record titles."""
from __future__ import annotations

import html
import json
import re

import pytest

from werkzeug.datastructures import MultiDict

from app.console import forms
from app.console.helpers import record_title

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "integer", "title": "Amount", "minimum": 1},
        "rate": {"type": "number"},
        "urgent": {"type": "boolean"},
        "kind": {"enum": ["a", "b", 3]},
        "tags": {"type": "array", "items": {"enum": ["x", "y"]}},
        "creditor": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 500}}},
        "note": {"type": "string", "readOnly": True, "default": "kept"},
        "when": {"type": "string", "format": "date"},
    },
    "required": ["amount"],
}


def test_posted_fields_become_the_values_an_api_client_would_send():
    posted = MultiDict([("amount", "12"), ("rate", "2.5"), ("urgent", "false"), ("kind", "3"), ("tags", "x"),
                        ("tags", "y"), ("creditor.name", "ACME"), ("note", "forged"), ("when", "2031-01-02")])
    assert forms.parse(SCHEMA, posted) == {"amount": 12, "rate": 2.5, "urgent": False, "kind": 3, "tags": ["x", "y"],
                                           "creditor": {"name": "ACME"}, "when": "2031-01-02"}


def test_empty_inputs_are_left_out_and_what_does_not_parse_is_passed_on_for_the_validator_to_name():
    posted = MultiDict([("amount", "twelve"), ("rate", "1e999"), ("urgent", ""), ("kind", "z"), ("creditor.name", " ")])
    assert forms.parse(SCHEMA, posted) == {"amount": "twelve", "rate": "1e999", "kind": "z"}


def test_controls_are_filled_from_typed_values_and_defaults():
    controls = {f.name: f for f in forms.fields_of(SCHEMA, {"amount": 5, "urgent": True, "kind": 3,
                                                             "creditor": {"name": "ACME"}})}
    assert (controls["amount"].kind, controls["amount"].input_type, controls["amount"].value) == ("input", "number", "5")
    assert controls["amount"].required and controls["amount"].attrs == {"step": "1", "min": "1"}
    assert (controls["urgent"].kind, controls["urgent"].value) == ("boolean", "true")
    assert controls["kind"].options == [("a", "a"), ("b", "b"), ("3", "3")] and controls["kind"].value == "3"
    assert controls["tags"].kind == "choices"
    assert [(c.name, c.kind, c.value) for c in controls["creditor"].children] == [("creditor.name", "textarea", "ACME")]
    assert (controls["note"].readonly, controls["note"].value) == (True, "kept")
    assert controls["when"].input_type == "date"
    only = forms.fields_of(SCHEMA, {}, only=["rate", "amount"], required=["rate"])
    assert [(f.name, f.required) for f in only] == [("rate", True), ("amount", True)]


def test_the_diagram_macro_carries_markers_badges_and_links_safely(app):
    with app.test_request_context("/console/x"):
        macros = app.jinja_env.get_template("console/_macros.html").module
        markup = str(macros.diagram("/d.bpmn", None, 'A "quoted" <label>',
                                    markers={"Task_1": "marker-incident"},
                                    badges={"Task_1": [{"text": '3 "stuck" <b>', "kind": "incident"}]},
                                    element_url="/console/x?element={id}"))
    attributes = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', markup))
    assert json.loads(html.unescape(attributes["data-markers"])) == {"Task_1": "marker-incident"}
    assert json.loads(html.unescape(attributes["data-badges"]))["Task_1"][0]["text"] == '3 "stuck" <b>'
    assert attributes["data-element-url"] == "/console/x?element={id}"
    assert "<b>" not in markup and 'aria-label="A &#34;quoted&#34; &lt;label&gt;"' in markup


def test_records_are_named_by_a_person_s_name_or_their_first_text_field():
    fields = [{"name": "code", "type": "text"}, {"name": "deal_name", "type": "text", "required": True}]
    assert record_title(fields, {"code": "X1", "deal_name": "Fleet"}, "r1") == "Fleet"
    assert record_title(fields, {"code": "X1"}, "r1") == "X1"
    assert record_title(fields, {}, "r1") == "r1"
    assert record_title([], {"first_name": "Ada", "last_name": "Lovelace"}, "r1") == "Ada Lovelace"


@pytest.mark.parametrize("path", ["/console/jobs", "/console/records/Deals"])
def test_a_page_number_past_any_page_is_the_last_possible_page_not_a_server_error(console, olga, path):
    page = console("olga").get(f"{path}?page=99999999999999999999")
    assert page.status_code == 200
