"""Records over HTTP: create, read, list, change and delete; typed field checks; owners, lookups and the timeline."""
from __future__ import annotations

import pytest

from ..factories import assert_problem

MODULES = "/api/v1/modules"
TRIP_FIELDS = [
    {"name": "title", "type": "text", "required": True, "max_length": 80},
    {"name": "notes", "type": "long_text"},
    {"name": "travellers", "type": "number", "min": 1, "max": 12},
    {"name": "budget", "type": "currency", "min": 0},
    {"name": "deposit_share", "type": "percent"},
    {"name": "insured", "type": "boolean"},
    {"name": "departure", "type": "date"},
    {"name": "call_back_at", "type": "datetime"},
    {"name": "contact_email", "type": "email"},
    {"name": "contact_phone", "type": "phone"},
    {"name": "code", "type": "text", "pattern": "[A-Z]{3}-[0-9]{2}"},
    {"name": "cabin", "type": "picklist", "values": ["Economy", "Business"]},
    {"name": "extras", "type": "multi_picklist", "values": ["Wifi", "Meals", "Lounge"]},
    {"name": "account", "type": "lookup", "lookup": "Accounts"},
    {"name": "agent", "type": "user"},
]
ACCOUNT, DEAL = "<an Accounts record>", "<a Deals record>"


def records(module: str) -> str:
    return f"{MODULES}/{module}/records"


@pytest.fixture
def trips(admin):
    """A custom module with a field of every type; returns a function resolving record placeholders."""
    response = admin.post(MODULES, json={"api_name": "Trips", "fields": TRIP_FIELDS})
    assert response.status_code == 201, response.get_json()
    account = admin.post(records("Accounts"), json={"account_name": "Globex"}).get_json()["id"]
    deal = admin.post(records("Deals"), json={"deal_name": "Globex renewal"}).get_json()["id"]

    def resolve(value):
        return {ACCOUNT: account, DEAL: deal}.get(value, value) if isinstance(value, str) else value
    return resolve


def _get(client, module, record_id):
    response = client.get(f"{records(module)}/{record_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _timeline(client, module, record_id):
    response = client.get(f"{records(module)}/{record_id}/timeline")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


# -- create, read, list, change, delete ------------------------------------------------------------------

def test_a_user_creates_a_record_and_owns_it(make):
    rita = make.client("rita", groups=["sales_reps"])

    response = rita.post(records("Deals"), json={"deal_name": "Acme", "amount": 5000, "stage": "Qualification"})

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["id"] and created["module"] == "Deals"
    assert (created["deal_name"], created["amount"], created["stage"]) == ("Acme", 5000, "Qualification")
    assert created["owner"] == "rita" and created["created_by"] == "rita" and created["modified_by"] == "rita"
    assert created["created_at"] == created["modified_at"] and created["locked_by"] is None
    assert _get(rita, "Deals", created["id"]) == created


def test_an_explicit_owner_must_be_a_user(make, admin):
    rita = make.client("rita")
    make.user("ben")

    owned = rita.post(records("Deals"), json={"deal_name": "For Ben", "owner": "ben"})
    problem = assert_problem(rita.post(records("Deals"), json={"deal_name": "For nobody", "owner": "ghost"}), 400)

    assert owned.status_code == 201
    assert owned.get_json()["owner"] == "ben" and owned.get_json()["created_by"] == "rita"
    assert problem["errors"] == {"owner": ["no user ghost"]}
    assert [d["deal_name"] for d in admin.get(records("Deals")).get_json()["items"]] == ["For Ben"]


def test_a_patch_changes_the_fields_sent_and_records_who_changed_them(make):
    ben = make.client("ben")
    rita = make.client("rita", manager="ben")  # ben manages rita: her records are his to change
    deal = rita.post(records("Deals"), json={"deal_name": "Acme", "amount": 5000, "discount": 5}).get_json()

    response = ben.patch(f"{records('Deals')}/{deal['id']}", json={"amount": 6500, "closing_date": "2031-03-31"})

    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert (changed["amount"], changed["closing_date"], changed["discount"]) == (6500, "2031-03-31", 5)
    assert changed["created_by"] == "rita" and changed["modified_by"] == "ben" and changed["owner"] == "rita"
    assert changed["modified_at"] > deal["modified_at"] and changed["created_at"] == deal["created_at"]
    assert _get(rita, "Deals", deal["id"]) == changed


def test_a_patch_can_hand_the_record_to_another_user_but_not_to_a_stranger(make, admin):
    rita = make.client("rita")
    make.user("ben")
    deal = rita.post(records("Deals"), json={"deal_name": "Acme"}).get_json()

    problem = assert_problem(rita.patch(f"{records('Deals')}/{deal['id']}", json={"owner": "ghost"}), 400)
    assert problem["errors"] == {"owner": ["no user ghost"]}
    assert _get(admin, "Deals", deal["id"]) == deal

    handed = rita.patch(f"{records('Deals')}/{deal['id']}", json={"owner": "ben"})
    assert handed.status_code == 200 and handed.get_json()["owner"] == "ben"
    [updated] = [e for e in _timeline(admin, "Deals", deal["id"]) if e["type"] == "updated"]
    assert updated["data"]["changes"] == {"owner": ["rita", "ben"]}


def test_a_patch_that_changes_nothing_leaves_no_trace(admin):
    deal = admin.post(records("Deals"), json={"deal_name": "Acme", "amount": 10}).get_json()

    response = admin.patch(f"{records('Deals')}/{deal['id']}", json={"amount": 10})

    assert response.status_code == 200
    assert response.get_json()["modified_at"] == deal["modified_at"]
    assert [e["type"] for e in _timeline(admin, "Deals", deal["id"])] == ["created"]


def test_a_field_is_cleared_with_null(admin):
    deal = admin.post(records("Deals"), json={"deal_name": "Acme", "amount": 10}).get_json()

    response = admin.patch(f"{records('Deals')}/{deal['id']}", json={"amount": None})

    assert response.status_code == 200 and response.get_json()["amount"] is None


def test_a_deleted_record_is_gone_but_its_timeline_remains(make, admin):
    rita = make.client("rita")
    deal = rita.post(records("Deals"), json={"deal_name": "Acme", "amount": 10}).get_json()

    response = rita.delete(f"{records('Deals')}/{deal['id']}")

    assert response.status_code == 204 and response.data == b""
    assert_problem(rita.get(f"{records('Deals')}/{deal['id']}"), 404)
    assert admin.get(records("Deals")).get_json()["total"] == 0
    events = _timeline(admin, "Deals", deal["id"])
    assert [e["type"] for e in events] == ["created", "deleted"]
    assert events[-1]["user"] == "rita" and events[-1]["data"] == {"fields": {"deal_name": "Acme", "amount": 10}}
    assert_problem(rita.delete(f"{records('Deals')}/{deal['id']}"), 404)


def test_the_timeline_shows_creation_and_each_change_with_old_and_new_values(make):
    ben = make.client("ben")
    rita = make.client("rita", manager="ben")
    deal = rita.post(records("Deals"), json={"deal_name": "Acme", "amount": 100, "stage": "Qualification"}).get_json()
    ben.patch(f"{records('Deals')}/{deal['id']}", json={"amount": 150, "stage": "Negotiation"})
    rita.patch(f"{records('Deals')}/{deal['id']}", json={"discount": 10, "amount": 150})

    events = _timeline(rita, "Deals", deal["id"])

    assert [(e["type"], e["user"]) for e in events] == [("created", "rita"), ("updated", "ben"), ("updated", "rita")]
    assert events[0]["data"] == {"fields": {"deal_name": "Acme", "amount": 100, "stage": "Qualification"},
                                 "source": "api"}
    assert events[1]["data"] == {"changes": {"amount": [100, 150], "stage": ["Qualification", "Negotiation"]},
                                 "source": "api"}
    assert events[2]["data"]["changes"] == {"discount": [None, 10]}  # amount was sent unchanged
    assert all(e["at"] and e["instance_id"] is None for e in events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_the_timeline_is_paginated_oldest_first(admin):
    deal = admin.post(records("Deals"), json={"deal_name": "Acme", "amount": 0}).get_json()
    for amount in (1, 2, 3):
        admin.patch(f"{records('Deals')}/{deal['id']}", json={"amount": amount})

    second = admin.get(f"{records('Deals')}/{deal['id']}/timeline?per_page=2&page=2").get_json()

    assert second["total"] == 4 and second["page"] == 2 and second["per_page"] == 2
    assert [e["data"]["changes"]["amount"] for e in second["items"]] == [[1, 2], [2, 3]]


# -- listing --------------------------------------------------------------------------------------------

@pytest.fixture
def cases(make):
    """Five cases: three by rita, two by ben, created in this order."""
    rita, ben = make.client("rita"), make.client("ben")
    specs = [(rita, "Printer jam", "High", "New"), (ben, "Login fails", "High", "Escalated"),
             (rita, "Invoice copy", "Low", "New"), (rita, "Refund", "High", "New"), (ben, "Typo", "Low", "Closed")]
    created = []
    for client, subject, priority, status in specs:
        response = client.post(records("Cases"), json={"subject": subject, "priority": priority, "status": status})
        assert response.status_code == 201, response.get_json()
        created.append(response.get_json())
    return created


def _subjects(client, query=""):
    response = client.get(f"{records('Cases')}{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [r["subject"] for r in body["items"]], body["total"]


def test_records_are_listed_newest_first_with_their_fields(admin, cases):
    body = admin.get(records("Cases")).get_json()

    assert body["total"] == 5 and body["page"] == 1 and body["per_page"] == 20
    assert [r["subject"] for r in body["items"]] == ["Typo", "Refund", "Invoice copy", "Login fails", "Printer jam"]
    assert body["items"][0]["owner"] == "ben" and body["items"][0]["priority"] == "Low"


def test_the_list_is_paginated(admin, cases):
    pages = [_subjects(admin, f"?per_page=2&page={n}") for n in (1, 2, 3, 4)]

    assert pages == [(["Typo", "Refund"], 5), (["Invoice copy", "Login fails"], 5), (["Printer jam"], 5), ([], 5)]


@pytest.mark.parametrize("query", ["?per_page=0", "?per_page=201", "?page=0", "?page=two"])
def test_bad_pagination_is_refused(admin, query):
    assert_problem(admin.get(f"{records('Cases')}{query}"), 400)


@pytest.mark.parametrize("query, expected", [
    ("?priority=High", ["Refund", "Login fails", "Printer jam"]),
    ("?priority=High&status=New", ["Refund", "Printer jam"]),
    ("?owner=ben", ["Typo", "Login fails"]),
    ("?owner=ben&priority=High", ["Login fails"]),
    ("?status=Escalated&per_page=1", ["Login fails"]),
    ("?subject=Nothing+like+this", []),
])
def test_the_list_filters_by_field_values_and_owner(admin, cases, query, expected):
    subjects, total = _subjects(admin, query)

    assert subjects == expected and total == len(expected)


@pytest.mark.parametrize("query, expected", [
    ("?amount=5000", ["Big"]),
    ("?amount=5000.0", ["Big"]),
    ("?discount=12.5", ["Big"]),
    ("?approved=true", ["Big"]),
    ("?approved=false", ["Small"]),
    ("?closing_date=2031-01-02", ["Big"]),
    ("?stage=Closing", ["Small"]),
], ids=["currency", "currency-as-decimal", "percent", "boolean-true", "boolean-false", "date", "picklist"])
def test_typed_fields_filter_by_their_value(admin, query, expected):
    for body in ({"deal_name": "Big", "amount": 5000, "discount": 12.5, "approved": True, "closing_date": "2031-01-02"},
                 {"deal_name": "Small", "amount": 7, "discount": 1, "approved": False, "stage": "Closing"},
                 {"deal_name": "Empty"}):
        assert admin.post(records("Deals"), json=body).status_code == 201

    response = admin.get(f"{records('Deals')}{query}")

    assert response.status_code == 200, response.get_json()
    assert [r["deal_name"] for r in response.get_json()["items"]] == expected


@pytest.mark.parametrize("query, field, message", [
    ("?colour=red", "colour", "not a field of this module"),
    ("?amount=lots", "amount", "must be a number"),
    ("?approved=maybe", "approved", "must be true or false"),
])
def test_a_filter_on_an_unknown_field_or_with_a_bad_value_is_refused(admin, query, field, message):
    problem = assert_problem(admin.get(f"{records('Deals')}{query}"), 400)

    assert problem["errors"] == {field: [message]}


# -- typed fields ----------------------------------------------------------------------------------------

ACCEPTED = [
    ("title", "Lisbon", "Lisbon"),
    ("title", "x" * 80, "x" * 80),
    ("notes", "n" * 5000, "n" * 5000),
    ("travellers", 1, 1),
    ("travellers", 12, 12),
    ("budget", 1999.99, 1999.99),
    ("budget", 0, 0),
    ("deposit_share", 0, 0),
    ("deposit_share", 100, 100),
    ("deposit_share", 33.5, 33.5),
    ("insured", True, True),
    ("insured", False, False),
    ("departure", "2031-06-10", "2031-06-10"),
    ("call_back_at", "2031-06-10T09:30:00+00:00", "2031-06-10T09:30:00+00:00"),
    ("call_back_at", "2031-06-10T09:30", "2031-06-10T09:30:00"),
    ("contact_email", "ana@example.com", "ana@example.com"),
    ("contact_phone", "+351 (21) 123-4567", "+351 (21) 123-4567"),
    ("code", "LIS-01", "LIS-01"),
    ("cabin", "Business", "Business"),
    ("extras", ["Wifi", "Meals", "Wifi"], ["Wifi", "Meals"]),
    ("extras", [], []),
    ("account", ACCOUNT, ACCOUNT),
    ("agent", "rita", "rita"),
    ("notes", None, None),
]
REFUSED = [
    ("title", 42, "must be a string"),
    ("title", "x" * 81, "at most 80 characters"),
    ("notes", "n" * 32_001, "at most 32000 characters"),
    ("travellers", "3", "must be a number"),
    ("travellers", True, "must be a number"),
    ("travellers", 0, "must be at least 1"),
    ("travellers", 13, "must be at most 12"),
    ("budget", -0.01, "must be at least 0"),
    ("budget", [100], "must be a number"),
    ("deposit_share", 100.5, "must be at most 100"),
    ("deposit_share", -1, "must be at least 0"),
    ("insured", "yes", "must be true or false"),
    ("insured", 1, "must be true or false"),
    ("departure", "10/06/2031", "must be a date (YYYY-MM-DD)"),
    ("departure", "2031-02-30", "must be a date (YYYY-MM-DD)"),
    ("departure", 20310610, "must be a date (YYYY-MM-DD)"),
    ("call_back_at", "tomorrow morning", "must be an ISO 8601 date-time"),
    ("contact_email", "ana.example.com", "not an email address"),
    ("contact_email", "ana@example", "not an email address"),
    ("contact_phone", "call me maybe", "not a phone number"),
    ("code", "lis-1", "must match [A-Z]{3}-[0-9]{2}"),
    ("cabin", "First", "must be one of Economy, Business"),
    ("extras", "Wifi", "must be a list of Wifi, Meals, Lounge"),
    ("extras", ["Wifi", "Spa"], "must be a list of Wifi, Meals, Lounge"),
    ("account", "0" * 32, f"no Accounts record {'0' * 32}"),
    ("account", DEAL, "no Accounts record"),
    ("agent", "ghost", "no user ghost"),
    ("title", None, "required"),
    ("mood", "sunny", "not a field of this module"),
]


def _ids(cases):
    return [f"{field}={str(value)[:20]!s}" for field, value, _ in cases]


@pytest.mark.parametrize("field, value, stored", ACCEPTED, ids=_ids(ACCEPTED))
def test_each_field_type_accepts_its_values(admin, make, trips, field, value, stored):
    make.user("rita")
    body = {"title": "Trip", field: trips(value)}

    response = admin.post(records("Trips"), json=body)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()[field] == trips(stored)
    assert _get(admin, "Trips", response.get_json()["id"])[field] == trips(stored)


@pytest.mark.parametrize("field, value, message", REFUSED, ids=_ids(REFUSED))
def test_each_field_type_refuses_a_bad_value_on_create_and_nothing_is_written(admin, trips, field, value, message):
    body = {"title": "Trip", field: trips(value)}

    problem = assert_problem(admin.post(records("Trips"), json=body), 400)

    assert list(problem["errors"]) == [field]
    [error] = problem["errors"][field]
    assert error.startswith(message), error
    assert admin.get(records("Trips")).get_json()["total"] == 0


@pytest.mark.parametrize("field, value, message", REFUSED, ids=_ids(REFUSED))
def test_each_field_type_refuses_a_bad_value_on_patch_and_the_record_is_unchanged(admin, trips, field, value,
                                                                                  message):
    trip = admin.post(records("Trips"), json={"title": "Trip", "travellers": 2, "cabin": "Economy"}).get_json()

    problem = assert_problem(admin.patch(f"{records('Trips')}/{trip['id']}", json={field: trips(value)}), 400)

    assert list(problem["errors"]) == [field]
    assert problem["errors"][field][0].startswith(message)
    assert _get(admin, "Trips", trip["id"]) == trip
    assert [e["type"] for e in _timeline(admin, "Trips", trip["id"])] == ["created"]


def test_every_problem_of_a_write_is_reported_at_once(admin, trips):
    problem = assert_problem(admin.post(records("Trips"), json={
        "travellers": 0, "insured": "yes", "cabin": "First"}), 400)

    assert problem["type"] == "/problems/invalid-request"
    assert set(problem["errors"]) == {"travellers", "insured", "cabin", "title"}
    assert problem["errors"]["travellers"][0].startswith("must be at least 1")
    assert problem["errors"]["insured"] == ["must be true or false"]
    assert problem["errors"]["cabin"] == ["must be one of Economy, Business"]
    assert problem["errors"]["title"] == ["required"]
    assert admin.get(records("Trips")).get_json()["total"] == 0


def test_a_required_field_is_required_on_create_only_when_missing(admin):
    missing = assert_problem(admin.post(records("Deals"), json={"amount": 5}), 400)
    deal = admin.post(records("Deals"), json={"deal_name": "Acme"}).get_json()
    partial = admin.patch(f"{records('Deals')}/{deal['id']}", json={"amount": 5})
    cleared = assert_problem(admin.patch(f"{records('Deals')}/{deal['id']}", json={"deal_name": ""}), 400)

    assert missing["errors"] == {"deal_name": ["required"]}
    assert partial.status_code == 200
    assert cleared["errors"] == {"deal_name": ["required"]}
    assert _get(admin, "Deals", deal["id"])["deal_name"] == "Acme"


@pytest.mark.parametrize("system_field", ["id", "created_by", "modified_at", "locked_by"])
def test_system_fields_cannot_be_written(admin, system_field):
    problem = assert_problem(admin.post(records("Deals"), json={"deal_name": "Acme", system_field: "forged"}), 400)

    assert system_field in problem["errors"]
    assert admin.get(records("Deals")).get_json()["total"] == 0


def test_a_lookup_points_at_a_record_of_its_module(admin):
    account = admin.post(records("Accounts"), json={"account_name": "Globex"}).get_json()
    lead = admin.post(records("Leads"), json={"last_name": "Smith"}).get_json()

    contact = admin.post(records("Contacts"), json={"last_name": "Jones", "account": account["id"]})
    wrong_module = assert_problem(admin.post(records("Contacts"), json={"last_name": "Li", "account": lead["id"]}), 400)

    assert contact.status_code == 201 and contact.get_json()["account"] == account["id"]
    assert wrong_module["errors"] == {"account": [f"no Accounts record {lead['id']}"]}
    assert [c["last_name"] for c in admin.get(records("Contacts")).get_json()["items"]] == ["Jones"]


def test_a_lookup_to_a_deleted_record_is_refused(admin):
    account = admin.post(records("Accounts"), json={"account_name": "Gone Inc"}).get_json()
    admin.delete(f"{records('Accounts')}/{account['id']}")

    problem = assert_problem(admin.post(records("Contacts"), json={"last_name": "Li", "account": account["id"]}), 400)

    assert problem["errors"] == {"account": [f"no Accounts record {account['id']}"]}


# -- 404s and 401 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", "/Deals/records/nope"),
    ("patch", "/Deals/records/nope"),
    ("delete", "/Deals/records/nope"),
    ("get", "/Deals/records/nope/timeline"),
    ("get", "/Trips/records"),
    ("post", "/Trips/records"),
    ("get", "/Trips/records/nope"),
])
def test_unknown_modules_and_records_are_404(admin, method, path):
    kwargs = {"json": {"deal_name": "x"}} if method in {"post", "patch"} else {}

    problem = assert_problem(getattr(admin, method)(f"{MODULES}{path}", **kwargs), 404)

    assert problem["type"] == "/problems/not-found"


@pytest.mark.parametrize("method, suffix", [("get", ""), ("patch", ""), ("delete", ""), ("get", "/timeline")])
def test_a_record_is_not_found_under_another_module(admin, method, suffix):
    deal = admin.post(records("Deals"), json={"deal_name": "Acme"}).get_json()
    kwargs = {"json": {"last_name": "x"}} if method == "patch" else {}

    assert_problem(getattr(admin, method)(f"{records('Leads')}/{deal['id']}{suffix}", **kwargs), 404)

    assert _get(admin, "Deals", deal["id"]) == deal


def test_records_need_a_token(client):
    response = client.get(records("Deals"))

    assert response.status_code == 401 and response.mimetype == "application/problem+json"
