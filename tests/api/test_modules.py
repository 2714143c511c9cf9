"""Modules over HTTP: the built-in ones, custom modules with typed fields, and validation rules."""
from __future__ import annotations

import pytest

from ..factories import assert_problem

MODULES = "/api/v1/modules"

EVERY_FIELD_TYPE = [
    {"name": "title", "label": "Title", "type": "text", "required": True, "max_length": 80},
    {"name": "notes", "type": "long_text"},
    {"name": "travellers", "type": "number", "min": 1, "max": 12},
    {"name": "budget", "type": "currency", "min": 0},
    {"name": "deposit_share", "type": "percent"},
    {"name": "insured", "type": "boolean"},
    {"name": "departure", "type": "date"},
    {"name": "call_back_at", "type": "datetime"},
    {"name": "contact_email", "type": "email"},
    {"name": "contact_phone", "type": "phone"},
    {"name": "cabin", "type": "picklist", "values": ["Economy", "Business"]},
    {"name": "extras", "type": "multi_picklist", "values": ["Wifi", "Meals", "Lounge"]},
    {"name": "account", "type": "lookup", "lookup": "Accounts"},
    {"name": "agent", "type": "user"},
]


def _module(client, name):
    response = client.get(f"{MODULES}/{name}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _names(client) -> list[str]:
    return [m["api_name"] for m in client.get(MODULES).get_json()["items"]]


def _deals(client) -> list[dict]:
    return client.get(f"{MODULES}/Deals/records").get_json()["items"]


# -- built-in modules -----------------------------------------------------------------------------------

def test_the_built_in_modules_are_listed_with_their_typed_fields(make):
    reader = make.client("reader")

    response = reader.get(MODULES)

    assert response.status_code == 200
    body = response.get_json()
    by_name = {m["api_name"]: m for m in body["items"]}
    assert {"Leads", "Contacts", "Accounts", "Deals", "Cases"} <= set(by_name)
    assert body["total"] == len(body["items"])
    assert all(by_name[n]["builtin"] for n in ("Leads", "Contacts", "Accounts", "Deals", "Cases"))
    deal_fields = {f["name"]: f for f in by_name["Deals"]["fields"]}
    assert deal_fields["deal_name"]["type"] == "text" and deal_fields["deal_name"]["required"] is True
    assert deal_fields["discount"]["type"] == "percent"
    assert deal_fields["stage"]["type"] == "picklist" and "Closed Won" in deal_fields["stage"]["values"]
    assert (deal_fields["account"]["type"], deal_fields["account"]["lookup"]) == ("lookup", "Accounts")
    assert {f["name"] for f in by_name["Leads"]["fields"]} >= {"last_name", "company", "region", "converted"}
    assert by_name["Deals"]["rules"] == []


def test_one_module_is_read_by_its_api_name_and_an_unknown_one_is_404(admin):
    assert _module(admin, "Cases")["label"] == "Case"

    problem = assert_problem(admin.get(f"{MODULES}/Trips"), 404)

    assert "Trips" in problem["detail"]


# -- custom modules -------------------------------------------------------------------------------------

def test_an_admin_defines_a_custom_module_with_every_field_type(admin, make):
    response = admin.post(MODULES, json={"api_name": "Trips", "label": "Trip", "fields": EVERY_FIELD_TYPE})

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["api_name"] == "Trips" and created["label"] == "Trip" and created["builtin"] is False
    assert [(f["name"], f["type"]) for f in created["fields"]] == [(f["name"], f["type"]) for f in EVERY_FIELD_TYPE]
    by_name = {f["name"]: f for f in created["fields"]}
    assert by_name["extras"]["values"] == ["Wifi", "Meals", "Lounge"]
    assert by_name["account"]["lookup"] == "Accounts"
    assert by_name["title"]["max_length"] == 80 and by_name["title"]["required"] is True
    assert by_name["travellers"]["min"] == 1 and by_name["travellers"]["max"] == 12

    assert "Trips" in _names(make.client("reader"))
    assert _module(admin, "Trips")["fields"] == created["fields"]


def test_a_custom_module_can_look_up_its_own_records(admin):
    response = admin.post(MODULES, json={"api_name": "Regions", "fields": [
        {"name": "name", "type": "text", "required": True},
        {"name": "parent", "type": "lookup", "lookup": "Regions"}]})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["label"] == "Regions"  # the label defaults to the api name


def test_only_an_admin_defines_a_module(make):
    rep = make.client("rita", groups=["sales_reps"])

    problem = assert_problem(rep.post(MODULES, json={"api_name": "Trips", "fields": EVERY_FIELD_TYPE}), 403)

    assert "admin" in problem["detail"]
    assert "Trips" not in _names(rep)


@pytest.mark.parametrize("field, error_on, message", [
    ({"name": "size", "type": "shoe_size"}, "size", "type must be one of"),
    ({"name": "cabin", "type": "picklist"}, "cabin", "a picklist needs its values"),
    ({"name": "cabin", "type": "picklist", "values": []}, "cabin", "a picklist needs its values"),
    ({"name": "extras", "type": "multi_picklist"}, "extras", "a picklist needs its values"),
    ({"name": "ship", "type": "lookup", "lookup": "Ships"}, "ship", "a lookup needs `lookup`"),
    ({"name": "ship", "type": "lookup"}, "ship", "a lookup needs `lookup`"),
    ({"name": "Title", "type": "text"}, "Title", "lower_snake_case"),
    ({"name": "owner", "type": "user"}, "owner", "not a system field"),
    ({"name": "code", "type": "text", "pattern": "([A-Z"}, "code", "not a valid regular expression"),
], ids=["unknown-type", "picklist-without-values", "picklist-with-empty-values", "multi-picklist-without-values",
        "lookup-to-unknown-module", "lookup-without-module", "bad-name", "system-field", "bad-pattern"])
def test_a_bad_field_definition_is_refused_with_the_field_named(admin, field, error_on, message):
    fields = [{"name": "title", "type": "text"}, field]

    problem = assert_problem(admin.post(MODULES, json={"api_name": "Trips", "fields": fields}), 400)

    assert list(problem["errors"]) == [error_on]
    assert any(message in m for m in problem["errors"][error_on]), problem["errors"]
    assert "Trips" not in _names(admin)


def test_a_field_defined_twice_is_refused(admin):
    fields = [{"name": "title", "type": "text"}, {"name": "title", "type": "long_text"}]

    problem = assert_problem(admin.post(MODULES, json={"api_name": "Trips", "fields": fields}), 400)

    assert problem["errors"] == {"title": ["duplicate field"]}
    assert "Trips" not in _names(admin)


@pytest.mark.parametrize("api_name", ["trips", "Trips!", "", "9Lives"])
def test_a_module_name_must_be_an_upper_camel_identifier(admin, api_name):
    problem = assert_problem(admin.post(MODULES, json={"api_name": api_name, "fields": []}), 400)

    assert "api_name" in problem["errors"]
    assert api_name not in _names(admin)


def test_a_custom_module_name_is_taken_once(admin):
    assert admin.post(MODULES, json={"api_name": "Trips", "fields": [{"name": "title", "type": "text"}]}
                      ).status_code == 201
    before = _module(admin, "Trips")

    problem = assert_problem(admin.post(MODULES, json={"api_name": "Trips", "fields": EVERY_FIELD_TYPE}), 409)

    assert "Trips" in problem["detail"]
    assert _module(admin, "Trips") == before
    assert _names(admin).count("Trips") == 1


def test_a_built_in_module_name_cannot_be_redefined(admin):
    before = _module(admin, "Deals")

    problem = assert_problem(admin.post(MODULES, json={"api_name": "Deals", "fields": EVERY_FIELD_TYPE}), 409)

    assert "Deals" in problem["detail"]
    assert _module(admin, "Deals") == before


def test_an_admin_adds_a_field_to_a_custom_module_and_records_accept_it(admin):
    admin.post(MODULES, json={"api_name": "Trips", "fields": [{"name": "title", "type": "text"}]})
    refused = admin.post(f"{MODULES}/Trips/records", json={"title": "Lisbon", "nights": 3})
    assert_problem(refused, 400)

    response = admin.patch(f"{MODULES}/Trips", json={"fields": [
        {"name": "title", "type": "text"}, {"name": "nights", "type": "number", "min": 1}]})

    assert response.status_code == 200, response.get_json()
    assert [f["name"] for f in response.get_json()["fields"]] == ["title", "nights"]
    created = admin.post(f"{MODULES}/Trips/records", json={"title": "Lisbon", "nights": 3})
    assert created.status_code == 201 and created.get_json()["nights"] == 3


def test_a_bad_field_list_in_a_patch_changes_nothing(admin):
    before = _module(admin, "Cases")

    problem = assert_problem(admin.patch(f"{MODULES}/Cases", json={"fields": [{"name": "x", "type": "nope"}]}), 400)

    assert "x" in problem["errors"]
    assert _module(admin, "Cases") == before


# -- validation rules -------------------------------------------------------------------------------------

DISCOUNT_RULE = {"name": "discount limit", "expression": "discount is None or discount <= 20 or approved",
                 "field": "discount", "message": "a discount above 20% needs approval"}


def test_an_admin_sets_validation_rules_on_a_module(admin):
    response = admin.patch(f"{MODULES}/Deals", json={"rules": [DISCOUNT_RULE]})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rules"] == [DISCOUNT_RULE]
    assert _module(admin, "Deals")["rules"] == [DISCOUNT_RULE]
    assert [f["name"] for f in _module(admin, "Deals")["fields"]][0] == "deal_name"  # fields untouched


def test_a_rule_without_a_name_gets_one(admin):
    response = admin.patch(f"{MODULES}/Deals", json={"rules": [{"expression": "amount is None or amount < 10**6"}]})

    assert response.status_code == 200
    assert response.get_json()["rules"] == [
        {"name": "rule 1", "expression": "amount is None or amount < 10**6", "field": None, "message": None}]


def test_only_an_admin_changes_rules(admin, make):
    rep = make.client("rita", groups=["sales_reps"])

    assert_problem(rep.patch(f"{MODULES}/Deals", json={"rules": [DISCOUNT_RULE]}), 403)

    assert _module(admin, "Deals")["rules"] == []


@pytest.mark.parametrize("expression", ["().__class__.__base__.__subclasses__()", "import os", "discount <="],
                         ids=["dunder-walk", "statement", "syntax-error"])
def test_a_rule_that_cannot_run_is_refused(admin, expression):
    problem = assert_problem(admin.patch(f"{MODULES}/Deals", json={"rules": [
        DISCOUNT_RULE, {"name": "evil", "expression": expression}]}), 400)

    assert list(problem["errors"]) == ["rules[1]"]
    assert "expression cannot run" in problem["errors"]["rules[1]"][0]
    assert _module(admin, "Deals")["rules"] == []


def test_a_patch_of_an_unknown_module_is_404(admin):
    assert_problem(admin.patch(f"{MODULES}/Trips", json={"rules": []}), 404)


def test_a_write_breaking_a_rule_is_refused_naming_the_rules_field(admin, make):
    admin.patch(f"{MODULES}/Deals", json={"rules": [DISCOUNT_RULE]})
    rep = make.client("rita", groups=["sales_reps"])

    problem = assert_problem(rep.post(f"{MODULES}/Deals/records",
                                      json={"deal_name": "Acme", "discount": 25}), 400)

    assert problem["errors"] == {"discount": ["a discount above 20% needs approval"]}
    assert _deals(admin) == []


def test_the_rule_holds_when_its_exception_applies(admin):
    admin.patch(f"{MODULES}/Deals", json={"rules": [DISCOUNT_RULE]})

    small = admin.post(f"{MODULES}/Deals/records", json={"deal_name": "Small", "discount": 20})
    approved = admin.post(f"{MODULES}/Deals/records", json={"deal_name": "Big", "discount": 25, "approved": True})

    assert small.status_code == 201 and approved.status_code == 201
    assert len(_deals(admin)) == 2


def test_a_patch_breaking_a_rule_on_the_merged_record_leaves_it_unchanged(admin):
    admin.patch(f"{MODULES}/Deals", json={"rules": [DISCOUNT_RULE]})
    deal = admin.post(f"{MODULES}/Deals/records", json={"deal_name": "Acme", "discount": 25, "approved": True}
                      ).get_json()

    problem = assert_problem(admin.patch(f"{MODULES}/Deals/records/{deal['id']}", json={"approved": False}), 400)

    assert problem["errors"] == {"discount": ["a discount above 20% needs approval"]}
    after = admin.get(f"{MODULES}/Deals/records/{deal['id']}").get_json()
    assert after == deal
    timeline = admin.get(f"{MODULES}/Deals/records/{deal['id']}/timeline").get_json()["items"]
    assert [e["type"] for e in timeline] == ["created"]


def test_a_rule_without_a_field_reports_on_the_record(admin):
    admin.patch(f"{MODULES}/Deals", json={"rules": [
        {"name": "closing needs a date", "expression": "stage != 'Closing' or closing_date is not None"}]})

    problem = assert_problem(admin.post(f"{MODULES}/Deals/records", json={"deal_name": "A", "stage": "Closing"}), 400)

    assert problem["errors"] == {"record": ["breaks rule 'closing needs a date'"]}
    assert _deals(admin) == []


def test_a_rule_that_fails_to_evaluate_refuses_the_write(admin):
    admin.patch(f"{MODULES}/Deals", json={"rules": [
        {"name": "ratio", "expression": "amount / discount < 1000", "field": "amount"}]})

    problem = assert_problem(admin.post(f"{MODULES}/Deals/records",
                                        json={"deal_name": "A", "amount": 100, "discount": 0}), 400)

    assert problem["errors"]["amount"][0].startswith("rule 'ratio' could not be evaluated")
    assert _deals(admin) == []


def test_rules_on_a_custom_module_compare_fields(admin):
    admin.post(MODULES, json={
        "api_name": "Trips",
        "fields": [{"name": "title", "type": "text"}, {"name": "departure", "type": "date"},
                   {"name": "return_on", "type": "date"}],
        "rules": [{"name": "return after departure", "field": "return_on",
                   "expression": "departure is None or return_on is None or return_on >= departure"}]})

    problem = assert_problem(admin.post(f"{MODULES}/Trips/records", json={
        "title": "Oslo", "departure": "2031-06-10", "return_on": "2031-06-01"}), 400)
    ok = admin.post(f"{MODULES}/Trips/records", json={"title": "Oslo", "departure": "2031-06-10",
                                                       "return_on": "2031-06-14"})

    assert problem["errors"] == {"return_on": ["breaks rule 'return after departure'"]}
    assert ok.status_code == 201
    assert admin.get(f"{MODULES}/Trips/records").get_json()["total"] == 1
