"""Users over HTTP and on the command line: admins manage them, a user reads themselves and changes their password."""
from __future__ import annotations

import pytest

from config import TestConfig

from ..factories import ApiClient, assert_problem

USERS = "/api/v1/users"


def names(page: dict) -> list[str]:
    return [u["username"] for u in page["items"]]


# -- admins manage users -----------------------------------------------------------------------

def test_an_admin_creates_a_user_who_can_then_log_in(app, admin):
    response = admin.post(USERS, json={"username": "maria", "password": "maria-password", "email": "maria@example.com",
                                       "groups": ["sales_managers", "sales"], "manager": "boss"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {"username": "maria", "email": "maria@example.com", "manager": "boss",
                    "groups": ["sales", "sales_managers"], "is_admin": False, "disabled": False,
                    "created_at": body["created_at"]}
    maria = ApiClient.login(app, "maria", "maria-password")
    me = maria.get(f"{USERS}/me").get_json()
    assert (me["username"], me["groups"]) == ("maria", ["sales", "sales_managers"])


@pytest.mark.parametrize("body, field", [
    ({"username": "maria", "password": "short"}, "password"),
    ({"username": "has space", "password": "long-enough"}, "username"),
    ({"username": "a/b", "password": "long-enough"}, "username"),
    ({"password": "long-enough"}, "username"),
    ({"username": "maria", "password": "long-enough", "email": "not-an-email"}, "email"),
    ({"username": "maria", "password": "long-enough", "is_admin": "maybe"}, "is_admin"),
    ({"username": "maria", "password": "long-enough", "password_hash": "x"}, "password_hash"),
    ({"username": "me", "password": "long-enough"}, "username"),
], ids=["short-password", "space", "slash", "no-username", "email", "is-admin", "unknown-field", "reserved"])
def test_a_user_that_cannot_be_created_gets_400_naming_the_field(admin, body, field):
    problem = assert_problem(admin.post(USERS, json=body), 400)
    assert field in problem["errors"]


def test_a_taken_username_is_a_conflict(admin, make):
    make.user("maria")
    assert_problem(admin.post(USERS, json={"username": "maria", "password": "long-enough"}), 409)


def test_users_are_listed_by_page_and_filtered_by_group_and_state(admin, make):
    for name in ("ann", "bob", "carol"):
        make.user(name, groups=["sales"] if name != "carol" else ["support"])
    assert admin.patch(f"{USERS}/bob", json={"disabled": True}).status_code == 200

    everyone = admin.get(USERS, query_string={"per_page": 2}).get_json()
    assert (everyone["total"], names(everyone)) == (4, ["admin", "ann"])
    assert names(admin.get(USERS, query_string={"per_page": 2, "page": 2}).get_json()) == ["bob", "carol"]
    assert names(admin.get(USERS, query_string={"group": "sales"}).get_json()) == ["ann", "bob"]
    assert names(admin.get(USERS, query_string={"disabled": "true"}).get_json()) == ["bob"]
    assert names(admin.get(USERS, query_string={"group": "sales", "disabled": "false"}).get_json()) == ["ann"]
    assert_problem(admin.get(USERS, query_string={"per_page": 0}), 400)


def test_no_response_carries_a_password_or_its_hash(admin, make):
    make.user("bob", password="distinctive-password")
    for response in (admin.get(USERS), admin.get(f"{USERS}/bob"),
                     admin.patch(f"{USERS}/bob", json={"password": "another-password"})):
        text = response.get_data(as_text=True)
        assert "password" not in text and "argon2" not in text


def test_an_admin_changes_email_manager_groups_and_role(app, admin, make):
    make.user("bob", groups=["sales"])
    response = admin.patch(f"{USERS}/bob", json={"email": "bob@example.com", "manager": "ann",
                                                 "groups": ["support"], "is_admin": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["email"], body["manager"], body["groups"], body["is_admin"]) == (
        "bob@example.com", "ann", ["support"], True)
    assert ApiClient.login(app, "bob", "secret").get("/api/v1/authorizations").status_code == 200


def test_email_and_manager_changes_leave_the_users_tokens_alone(admin, make):
    bob = make.client("bob")
    assert admin.patch(f"{USERS}/bob", json={"email": "bob@example.com", "manager": None}).status_code == 200
    assert bob.get("/api/v1/tasks").status_code == 200


def test_a_disabled_user_cannot_log_in_until_enabled_again(app, admin, make):
    make.user("bob")
    assert admin.patch(f"{USERS}/bob", json={"disabled": True}).get_json()["disabled"] is True
    response = app.test_client().post("/api/v1/auth/token", json={"username": "bob", "password": "secret"})
    assert_problem(response, 401)
    assert admin.patch(f"{USERS}/bob", json={"disabled": False}).status_code == 200
    assert ApiClient.login(app, "bob", "secret").get("/api/v1/tasks").status_code == 200


def test_deleting_a_user_removes_their_memberships_and_grants(admin, make):
    make.user("bob", groups=["sales"])
    grant = make.grant("read", "process", "discount_approval", user="bob")
    assert admin.delete(f"{USERS}/bob").status_code == 204
    assert_problem(admin.get(f"{USERS}/bob"), 404)
    assert_problem(admin.get(f"/api/v1/authorizations/{grant}"), 404)
    assert admin.get("/api/v1/groups").get_json()["items"] == [{"name": "sales", "members": 0}]


def test_groups_are_listed_with_their_number_of_members(admin, make):
    make.user("ann", groups=["sales", "support"])
    make.user("bob", groups=["sales"])
    assert admin.get("/api/v1/groups").get_json() == {
        "items": [{"name": "sales", "members": 2}, {"name": "support", "members": 1}], "total": 2}


def test_unknown_users_are_404(admin):
    for response in (admin.get(f"{USERS}/ghost"), admin.patch(f"{USERS}/ghost", json={"disabled": True}),
                     admin.delete(f"{USERS}/ghost")):
        assert_problem(response, 404)


# -- the last admin ------------------------------------------------------------------------------

def test_the_last_admin_cannot_be_disabled_demoted_or_deleted(admin):
    for response in (admin.patch(f"{USERS}/admin", json={"disabled": True}),
                     admin.patch(f"{USERS}/admin", json={"is_admin": False}),
                     admin.delete(f"{USERS}/admin")):
        assert "last admin" in assert_problem(response, 409)["detail"]
    assert admin.get(f"{USERS}/admin").get_json()["is_admin"] is True


def test_with_a_second_admin_one_of_them_may_go(admin, make):
    make.user("ann", admin=True)
    assert admin.patch(f"{USERS}/ann", json={"is_admin": False}).status_code == 200
    assert_problem(admin.patch(f"{USERS}/admin", json={"is_admin": False}), 409)


def test_a_disabled_admin_does_not_count_as_the_other_admin(admin, make):
    make.user("ann", admin=True)
    assert admin.patch(f"{USERS}/ann", json={"disabled": True}).status_code == 200
    assert_problem(admin.delete(f"{USERS}/admin"), 409)
    assert admin.delete(f"{USERS}/ann").status_code == 204


# -- a user and their own account ------------------------------------------------------------

def test_a_user_reads_themselves_but_manages_nobody(make):
    bob = make.client("bob", groups=["sales"])
    make.user("carol")
    me = bob.get(f"{USERS}/me")
    assert me.status_code == 200 and me.get_json()["groups"] == ["sales"]
    assert bob.get(f"{USERS}/bob").status_code == 200
    for response in (bob.get(USERS), bob.get(f"{USERS}/carol"), bob.get("/api/v1/groups"),
                     bob.post(USERS, json={"username": "eve", "password": "long-enough", "is_admin": True}),
                     bob.patch(f"{USERS}/bob", json={"is_admin": True}),
                     bob.patch(f"{USERS}/carol", json={"disabled": True}),
                     bob.delete(f"{USERS}/carol")):
        assert_problem(response, 403)


def test_a_user_changes_their_password_with_the_current_one(app, make):
    bob = make.client("bob")
    wrong = bob.patch(f"{USERS}/me", json={"current_password": "guess", "password": "better-password"})
    assert "current_password" in assert_problem(wrong, 400)["errors"]
    short = bob.patch(f"{USERS}/me", json={"current_password": "secret", "password": "short"})
    assert "password" in assert_problem(short, 400)["errors"]
    sneaky = bob.patch(f"{USERS}/me", json={"current_password": "secret", "password": "better-password",
                                              "is_admin": True})
    assert "is_admin" in assert_problem(sneaky, 400)["errors"]

    done = bob.patch(f"{USERS}/me", json={"current_password": "secret", "password": "better-password"})
    assert done.status_code == 200 and done.get_json()["is_admin"] is False
    assert ApiClient.login(app, "bob", "better-password").get(f"{USERS}/me").status_code == 200


def test_the_users_api_needs_a_token(client):
    for response in (client.get(USERS), client.get(f"{USERS}/me"), client.get("/api/v1/groups")):
        assert_problem(response, 401)


# -- the command line --------------------------------------------------------------------------

def test_the_cli_lists_disables_enables_resets_and_deletes(app, make):
    runner = app.test_cli_runner()
    bob = make.client("bob", groups=["sales"])
    make.user("carol")

    listed = runner.invoke(args=["users", "list", "--group", "sales"])
    assert listed.exit_code == 0 and listed.output.splitlines() == ["bob\tsales\t-\t-"]

    assert runner.invoke(args=["users", "disable", "bob"]).exit_code == 0
    assert_problem(bob.get("/api/v1/tasks"), 401)
    assert runner.invoke(args=["users", "list", "--disabled"]).output.startswith("bob\t")
    assert runner.invoke(args=["users", "enable", "bob"]).exit_code == 0

    bob = ApiClient.login(app, "bob", "secret")
    assert runner.invoke(args=["users", "set-password", "bob", "--password", "from-the-cli"]).exit_code == 0
    assert_problem(bob.get("/api/v1/tasks"), 401)
    ApiClient.login(app, "bob", "from-the-cli")

    assert runner.invoke(args=["users", "delete", "carol", "--yes"]).exit_code == 0
    assert "carol" not in runner.invoke(args=["users", "list"]).output


def test_the_cli_refuses_to_remove_the_last_admin_and_unknown_users(app):
    runner = app.test_cli_runner()
    for args in (["users", "disable", "admin"], ["users", "delete", "admin", "--yes"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "last admin" in result.output
    result = runner.invoke(args=["users", "disable", "ghost"])
    assert result.exit_code == 1 and "ghost" in result.output
    ApiClient.login(app, "admin", TestConfig.ADMIN_PASSWORD)
