"""Signing in to the console: the session cookie, CSRF on every post, and sessions that end like tokens."""
from __future__ import annotations

import re

import pytest

from app import create_app
from app.extensions import db

from ..conftest import make_config
from ..factories import ApiClient
from .conftest import Console, text


def test_the_front_page_leads_to_the_console_which_asks_who_you_are(console, make):
    browser = console()
    assert browser.get("/").headers["Location"].endswith("/console/")
    assert browser.get("/console/").headers["Location"].endswith("/console/login?next=/console/")
    make.user("maria")
    assert console("maria").get("/console/").headers["Location"].endswith("/console/jobs")
    answer = browser.get("/console/jobs?tab=groups")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/console/login?next=/console/jobs?tab%3Dgroups")
    login_page = browser.get(answer.headers["Location"])
    assert login_page.status_code == 200
    assert 'name="next" value="/console/jobs?tab=groups"' in text(login_page)


def test_logging_in_sets_an_httponly_samesite_session_cookie_and_leads_where_you_were_going(console, make):
    make.user("maria")
    browser = console()
    answer = browser.client.post("/console/login", data={
        "username": "maria", "password": "secret", "next": "/console/start", "csrf_token": browser.csrf_token()})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/console/start")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("stagecoach_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = browser.get("/console/start")
    assert page.status_code == 200 and "maria" in text(page)


def test_the_cookie_is_secure_when_configured(app, database_url, make):
    make.user("maria")
    secure = create_app(make_config(database_url, SESSION_COOKIE_SECURE=True))
    try:
        browser = Console(secure)
        answer = browser.login("maria")
        assert answer.status_code == 302
        assert "Secure" in answer.headers["Set-Cookie"]
    finally:
        with secure.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console", "/api/v1/users", "/console\\@x",
                                    "/console/x\r\nX-Injected: 1", "/console/x\ty", "/console/../api/v1/users/me",
                                    "/console/%2e%2e/api/v1/users/me"])
def test_after_logging_in_only_console_pages_are_a_destination(console, make, target):
    make.user("maria")
    browser = console()
    answer = browser.client.post("/console/login", data={
        "username": "maria", "password": "secret", "next": target, "csrf_token": browser.csrf_token()})
    assert answer.headers["Location"] == "/console/jobs"


def test_a_wrong_password_is_refused_on_the_login_page_without_a_session(console, make):
    make.user("maria")
    browser = console()
    answer = browser.login("maria", "wrong")
    assert answer.status_code == 401
    assert "Unknown user or wrong password." in text(answer)
    assert 'value="maria"' in text(answer)  # the username is kept, never the password
    assert browser.get("/console/jobs").status_code == 302


def test_a_disabled_user_cannot_log_in(console, make):
    from app.services.core import SYSTEM
    from app.services.users import set_disabled

    make.user("maria")
    with make.app.app_context():
        set_disabled("maria", True, SYSTEM)
        db.session.remove()
    answer = console().login("maria")
    assert answer.status_code == 401
    assert "The user is disabled." in text(answer)


def test_failed_logins_are_throttled_with_a_429_page(database_url, make):
    make.user("maria")
    strict = create_app(make_config(database_url, LOGIN_FAILURES_PER_USERNAME="2 per hour"))
    try:
        browser = Console(strict)
        assert [browser.login("maria", "wrong").status_code for _ in range(2)] == [401, 401]
        throttled = browser.login("maria", "secret")  # even the right password: no hint for the guesser
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        assert "Too many failed logins" in text(throttled)
    finally:
        with strict.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(console, discount, admin):
    maria = console("maria")
    claim = f"/console/tasks/{discount['task_id']}/claim"
    refused = maria.post(claim, csrf=False)
    assert refused.status_code == 400
    assert "The form cannot be accepted" in text(refused)
    forged = maria.post(claim, {"csrf_token": "forged"}, csrf=False)
    assert forged.status_code == 400
    htmx_without_header = maria.client.post(claim, headers={"HX-Request": "true"})
    assert htmx_without_header.status_code == 400
    assert htmx_without_header.headers["HX-Retarget"] == "#messages"
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["assignee"] is None
    # the same posts with the page's token go through: in the form, or in htmx's header
    assert maria.post(claim, htmx=True).status_code == 200
    assert admin.get(f"/api/v1/tasks/{discount['task_id']}").get_json()["assignee"] == "maria"


def test_logging_in_needs_a_csrf_token_too(console, make):
    make.user("maria")
    answer = console().client.post("/console/login", data={"username": "maria", "password": "secret"})
    assert answer.status_code == 400


def test_logging_out_ends_every_session_of_the_user(app, console, make):
    make.user("maria")
    browser = console("maria")
    api = ApiClient.login(app, "maria", "secret")
    stolen = browser.client.get_cookie("stagecoach_session").value
    answer = browser.post("/console/logout")
    assert answer.headers["Location"] == "/console/login"
    assert "You are logged out." in text(browser.get("/console/login"))
    assert browser.get("/console/jobs").status_code == 302
    # a copy of the cookie taken before is worth nothing now, and neither are the user's API tokens
    replay = app.test_client()
    replay.set_cookie("stagecoach_session", stolen)
    assert replay.get("/console/jobs").status_code == 302
    assert api.get("/api/v1/users/me").status_code == 401


def test_disabling_a_user_ends_their_console_session_at_once(console, make):
    from app.services.core import SYSTEM
    from app.services.users import set_disabled

    make.user("maria")
    browser = console("maria")
    assert browser.get("/console/jobs").status_code == 200
    with make.app.app_context():
        set_disabled("maria", True, SYSTEM)
        db.session.remove()
    answer = browser.get("/console/jobs")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]
    assert "Your session has ended (the user is disabled)" in text(browser.get(answer.headers["Location"]))


def test_a_new_token_version_ends_the_console_session(app, console, make):
    make.user("maria")
    browser = console("maria")
    ApiClient.login(app, "maria", "secret").post("/api/v1/auth/logout")  # logs out every device
    assert browser.get("/console/jobs").status_code == 302
    htmx = browser.get("/console/jobs", htmx=True)
    assert (htmx.status_code, htmx.headers["HX-Redirect"]) == (401, "/console/login?next=/console/jobs")


def test_pages_carry_their_security_headers(console, make):
    make.user("maria")
    page = console("maria").get("/console/jobs")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert not re.search(r"<script>(?!\s*$)", text(page)), "no inline script: the policy forbids it"


def test_the_admin_only_decorator_refuses_everyone_else(app):
    from flask import g

    from app.console.auth import admin_required
    from app.errors import ForbiddenError
    from app.services.core import Actor

    page = admin_required(lambda: "the admin page")
    with app.test_request_context("/console/anything"):
        g.actor = Actor("admin", (), True)
        assert page() == "the admin page"
        g.actor = Actor("maria", ("admins-in-name-only",), False)
        with pytest.raises(ForbiddenError) as refused:
            page()
    assert refused.value.status == 403


def test_unknown_console_urls_get_the_console_s_pages_and_the_api_keeps_its_problems(console, make):
    make.user("maria")
    maria = console("maria")
    missing = maria.get("/console/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html" and "<h1>Not Found" in text(missing)
    wrong_method = maria.get("/console/logout")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] and "<h1>" in text(wrong_method)
    api = maria.get("/api/v1/no-such-resource")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
