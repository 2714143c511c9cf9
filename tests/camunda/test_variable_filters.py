"""GET and POST /process-instance filtered by variables, as Camunda's `variables` parameter: typed comparisons.

A value matches variables of its own JSON type only (the string "100" is not the number 100), so a
comparison never fails on a variable of another type; null matches a null or missing variable.
"""
from __future__ import annotations

import pytest

from .test_rest import admin_rest, assert_camunda_error, deployed  # noqa: F401  (fixtures)

PEOPLE = {
    "ann": {"amount": 150, "region": "north", "vip": True, "code": "100"},
    "bob": {"amount": 80.5, "region": "south", "vip": False, "code": 100},
    "cyd": {"amount": "lots", "region": "northeast", "note": None},
    "dee": {"region": None},
}


def typed(variables: dict) -> dict:
    def kind(value):
        if value is None:
            return "Null"
        if isinstance(value, bool):
            return "Boolean"
        return {int: "Integer", float: "Double", str: "String"}[type(value)]
    return {name: {"value": value, "type": kind(value)} for name, value in variables.items()}


@pytest.fixture
def people(deployed):
    return {name: deployed.start("simple_user_task", typed(variables)) for name, variables in PEOPLE.items()}


def matching(api, people, query: str) -> set[str]:
    response = api.get(f"/process-instance?variables={query}")
    assert response.status_code == 200, response.get_json()
    by_id = {instance["id"]: name for name, instance in people.items()}
    return {by_id[i["id"]] for i in response.get_json()}


@pytest.mark.parametrize("query, expected", [
    ("amount_gt_100", {"ann"}),
    ("amount_gteq_80.5", {"ann", "bob"}),
    ("amount_lt_100", {"bob"}),
    ("amount_neq_150", {"bob"}),
    ("amount_eq_lots", {"cyd"}),
    ("region_eq_north", {"ann"}),
    ("region_like_north%", {"ann", "cyd"}),
    ("region_neq_north", {"bob", "cyd"}),
    ("vip_eq_true", {"ann"}),
    ("vip_eq_false", {"bob"}),
    ("code_eq_100", {"bob"}),
    ("amount_gt_50,region_like_%th", {"ann", "bob"}),
    ("missing_gt_1", set()),
    ("amount_lt_1e3", {"ann", "bob"}),
    ("amount_gt_9223372036854775807", set()),
    ("amount_lt_9223372036854775807", {"ann", "bob"}),
    ("code_eq_\u0661\u0660\u0660", set()),  # Arabic-Indic digits are text, not the number 100
])
def test_a_filter_compares_values_of_its_own_type(deployed, people, query, expected):
    assert matching(deployed, people, query) == expected


def test_null_matches_null_and_missing_variables_in_a_body(deployed, people):
    by_id = {instance["id"]: name for name, instance in people.items()}

    def body(filters):
        response = deployed.post("/process-instance", json={"variables": filters})
        assert response.status_code == 200, response.get_json()
        return {by_id[i["id"]] for i in response.get_json()}

    assert body([{"name": "note", "operator": "eq", "value": None}]) == {"ann", "bob", "cyd", "dee"}
    assert body([{"name": "region", "operator": "eq", "value": None}]) == {"dee"}
    assert body([{"name": "region", "operator": "neq", "value": None}]) == {"ann", "bob", "cyd"}
    assert body([{"name": "code", "operator": "eq", "value": "100"}]) == {"ann"}
    assert body([{"name": "amount", "operator": "lteq", "value": 150}]) == {"ann", "bob"}
    count = deployed.post("/process-instance/count",
                          json={"variables": [{"name": "vip", "operator": "eq", "value": True}]})
    assert count.get_json() == {"count": 1}


def test_a_name_with_underscores_is_read_in_a_query_string(deployed):
    wanted = deployed.start("simple_user_task", typed({"order_no": 7}))
    deployed.start("simple_user_task", typed({"order_no": 8}))
    found = deployed.get("/process-instance?variables=order_no_eq_7").get_json()
    assert [i["id"] for i in found] == [wanted["id"]]


def test_an_unknown_operator_is_named(deployed):
    body = assert_camunda_error(deployed.get("/process-instance?variables=amount_xx_1"), 400, "InvalidRequestException")
    assert "amount_xx_1" in body["message"]


@pytest.mark.parametrize("query", ["amount_lt_1e400", "amount_gt_" + "9" * 400])
def test_a_number_past_a_double_is_a_400(deployed, query):
    assert_camunda_error(deployed.get(f"/process-instance?variables={query}"), 400, "InvalidRequestException")


@pytest.mark.parametrize("variables", [
    "amount_between_1", "amount", "vip_gt_true", [{"name": "a", "operator": "like", "value": None}],
    [{"name": "a", "operator": "gt", "value": None}], [{"name": 'a"b', "operator": "eq", "value": 1}],
    [{"name": "a", "operator": "eq", "value": {"nested": 1}}], [{"name": "a", "operator": "eq", "value": "x" * 4001}],
    [{"name": f"v{i}", "operator": "eq", "value": 1} for i in range(21)], "not a list",
])
def test_a_filter_that_cannot_be_read_is_a_400(deployed, variables):
    if isinstance(variables, str) and variables != "not a list":
        response = deployed.get(f"/process-instance?variables={variables}")
    else:
        response = deployed.post("/process-instance", json={"variables": variables})
    assert_camunda_error(response, 400, "InvalidRequestException")


def test_a_like_pattern_is_text_even_when_it_reads_as_a_number(deployed):
    """Camunda matches `like` against String.valueOf(value): a zip code or a `true` is a pattern, not a 400."""
    zips = {z: deployed.start("simple_user_task", typed({"zip": z, "flag": f}))["id"]
            for z, f in (("80331", "true"), ("80999", "false"), ("10115", "yes"))}
    zips["number"] = deployed.start("simple_user_task", typed({"zip": 80331}))["id"]  # a number: never like

    def ids(query=None, body=None):
        response = deployed.get(f"/process-instance?variables={query}") if body is None else \
            deployed.post("/process-instance", json={"variables": body})
        assert response.status_code == 200, response.get_json()
        return {i["id"] for i in response.get_json()}

    assert ids("zip_like_80331") == {zips["80331"]}
    assert ids("zip_like_80%25") == {zips["80331"], zips["80999"]}
    assert ids("flag_like_true") == {zips["80331"]}
    assert ids(body=[{"name": "zip", "operator": "like", "value": 80331}]) == {zips["80331"]}
    assert ids(body=[{"name": "flag", "operator": "like", "value": False}]) == {zips["80999"]}
