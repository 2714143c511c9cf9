"""Users and groups: the list with groups, role and status; a new user; groups, password, disabling; groups
with their members. Each field is checked as the API checks it and refused beside its input."""
from __future__ import annotations

import pytest

from config import TestConfig

from .conftest import text

ADMIN = ("admin", TestConfig.ADMIN_PASSWORD)


def row(page, row_id: str) -> str:
    html = text(page)
    start = html.index(f'id="{row_id}"')
    return html[start:html.index("</tr>", start)]


def field(page, dom_id: str) -> str:
    """The HTML of the field block holding the control `dom_id` (label, input, error)."""
    html = text(page)
    start = html.rfind('<div class="field', 0, html.index(f'id="{dom_id}"'))
    return html[start:html.index("</div>", start)]


@pytest.fixture
def people(make):
    make.user("maria", groups=["sales_managers", "staff"], email="maria@example.com")
    make.user("sam", groups=["staff"])
    make.user("gone")
    return ("maria", "sam", "gone")


def test_the_list_shows_groups_role_and_status_and_the_groups_their_members(console, people, admin):
    session = console(*ADMIN)
    session.post("/console/admin/users/gone/disable")

    page = session.get("/console/admin/users")

    assert page.status_code == 200
    assert "sales_managers, staff" in row(page, "user-maria") and "maria@example.com" in row(page, "user-maria")
    assert '<span class="tag">admin</span>' in row(page, "user-admin")
    assert "disabled" in row(page, "user-gone") and "enabled" in row(page, "user-sam")
    groups = text(page).split('id="groups"')[1].split("</dl>")[0]
    assert '>staff</a></dt>' in groups
    staff = groups.split(">staff</a></dt>")[1].split("</dd>")[0]
    assert ">maria</a>" in staff and ">sam</a>" in staff and "gone" not in staff


def test_the_list_filters_by_group_and_status(console, people):
    session = console(*ADMIN)
    session.post("/console/admin/users/gone/disable")

    staff = text(session.get("/console/admin/users?group=staff", htmx=True, headers={"HX-Target": "users-results"}))
    disabled = text(session.get("/console/admin/users?disabled=yes"))

    assert 'id="user-maria"' in staff and 'id="user-sam"' in staff and 'id="user-admin"' not in staff
    assert "<h1>" not in staff  # htmx: the results only
    assert 'id="user-gone"' in disabled and 'id="user-sam"' not in disabled


def test_a_new_user_can_log_in_with_their_groups(console, admin):
    session = console(*ADMIN)

    created = session.post("/console/admin/users", {"username": "nina", "password": "long enough pw",
                                                     "email": "nina@example.com", "groups": "staff, sales",
                                                     "is_admin": ""})

    assert (created.status_code, created.headers["Location"]) == (302, "/console/admin/users/nina")
    user = admin.get("/api/v1/users/nina").get_json()
    assert (user["groups"], user["is_admin"], user["email"]) == (["sales", "staff"], False, "nina@example.com")
    assert console().login("nina", "long enough pw").status_code == 302


@pytest.mark.parametrize("form, name, message", [
    ({"username": "no spaces allowed", "password": "long enough pw"}, "username", "1 to 200 letters"),
    ({"username": "nina", "password": "short"}, "password", "between 8 and 1000 characters"),
    ({"username": "nina", "password": "long enough pw", "email": "not-an-email"}, "email", "Not a valid email"),
    ({"username": "maria", "password": "long enough pw"}, "username", "user &#39;maria&#39; exists"),
], ids=["bad-username", "short-password", "bad-email", "name-taken"])
def test_a_refused_field_is_shown_beside_its_input_and_nothing_is_created(console, people, admin, form, name, message):
    page = console(*ADMIN).post("/console/admin/users", form)

    assert page.status_code in (400, 409)
    block = field(page, f"new-{name}")
    assert 'class="error"' in block and message in block
    assert form["password"] not in text(page)  # a password is never sent back
    if name != "username" or "exists" not in message:
        assert form["username"] in field(page, "new-username")  # what was typed is kept
    assert admin.get("/api/v1/users/nina").status_code == 404


def test_setting_groups_and_a_bad_group_name(console, people, admin):
    session = console(*ADMIN)

    done = session.post("/console/admin/users/sam/groups", {"groups": "staff, workers"})
    refused = session.post("/console/admin/users/sam/groups", {"groups": "staff, " + "x" * 201})

    assert done.status_code == 302
    assert admin.get("/api/v1/users/sam").get_json()["groups"] == ["staff", "workers"]
    assert refused.status_code == 400 and "Length must be between 1 and 200" in field(refused, "user-groups")
    assert "x" * 201 in field(refused, "user-groups")
    assert admin.get("/api/v1/users/sam").get_json()["groups"] == ["staff", "workers"]


def test_resetting_a_password_ends_the_users_session(console, people):
    sam = console("sam")
    session = console(*ADMIN)

    short = session.post("/console/admin/users/sam/password", {"password": "short"})
    done = session.post("/console/admin/users/sam/password", {"password": "a new long password"})

    assert short.status_code == 400 and "between 8 and 1000 characters" in field(short, "user-password")
    assert done.status_code == 302
    assert sam.get("/console/jobs").status_code == 302  # back to the login page
    assert console().login("sam", "a new long password").status_code == 302


def test_disabling_and_enabling_a_user(console, people):
    maria = console("maria")
    session = console(*ADMIN)

    assert session.post("/console/admin/users/maria/disable").status_code == 302
    assert maria.get("/console/jobs").status_code == 302
    assert console().login("maria").status_code == 401
    page = session.get("/console/admin/users/maria")
    assert "disabled" in text(page) and ">Enable maria</button>" in text(page)
    assert session.post("/console/admin/users/maria/enable").status_code == 302
    assert console().login("maria").status_code == 302


def test_the_last_admin_cannot_be_disabled(console, admin):
    refused = console(*ADMIN).post("/console/admin/users/admin/disable")

    assert refused.status_code == 409 and "is the last admin" in text(refused)
    assert admin.get("/api/v1/users/admin").get_json()["disabled"] is False


@pytest.mark.parametrize("method, url", [
    ("get", "/console/admin/users"), ("get", "/console/admin/users/sam"), ("post", "/console/admin/users"),
    ("post", "/console/admin/users/sam/groups"), ("post", "/console/admin/users/sam/password"),
    ("post", "/console/admin/users/sam/disable"),
])
def test_a_plain_user_gets_403(console, people, olga, admin, method, url):
    session = console("olga")
    answer = getattr(session, method)(url, {"username": "x", "password": "long enough pw", "groups": "admins"}) \
        if method == "post" else session.get(url)
    assert answer.status_code == 403
    sam = admin.get("/api/v1/users/sam").get_json()
    assert (sam["groups"], sam["disabled"]) == (["staff"], False)


def test_a_post_without_the_csrf_token_is_refused(console, people, admin):
    refused = console(*ADMIN).post("/console/admin/users/sam/disable", csrf=False)
    assert refused.status_code == 400 and "cannot be accepted" in text(refused)
    assert admin.get("/api/v1/users/sam").get_json()["disabled"] is False
