"""Sessions that end when they should, and logins that cannot be brute-forced.

Each attack is made as it would be over HTTP and must now fail to get in:
a demoted, disabled, deleted or logged-out user's old token, a token signed
before a password change, wrong passwords past the throttle (which must not
even run argon2), and a forged X-Forwarded-For. Throttle tests build an app
with small, real limits; the suite's own app has generous ones. Time moves
with the `clock` fixture, never by sleeping.
"""
from __future__ import annotations

import datetime as dt
import secrets

import argon2
import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Group, User
from app.services import sessions
from config import TestConfig

from ..camunda.test_rest import basic
from ..conftest import make_config
from ..factories import PROBLEM, ApiClient, assert_problem

TOKEN = "/api/v1/auth/token"
ENGINE_TASKS = "/engine-rest/task"
REDIS = "redis://127.0.0.1:6379/15"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(app, username: str, password: str = "secret", address: str = "10.0.0.1"):
    return app.test_client().post(TOKEN, json={"username": username, "password": password},
                                  environ_base={"REMOTE_ADDR": address})


def engine_get(app, headers: dict, address: str = "10.0.0.1"):
    return app.test_client().get(ENGINE_TASKS, headers=headers, environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def argon2_calls(monkeypatch) -> dict:
    """How often argon2 hashed or verified a password since the test began."""
    calls = {"verify": 0, "hash": 0}
    verify, hash_ = argon2.PasswordHasher.verify, argon2.PasswordHasher.hash

    def counting_verify(self, *args, **kw):
        calls["verify"] += 1
        return verify(self, *args, **kw)

    def counting_hash(self, *args, **kw):
        calls["hash"] += 1
        return hash_(self, *args, **kw)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    monkeypatch.setattr(argon2.PasswordHasher, "hash", counting_hash)
    return calls


def _app(database_url: str, **settings):
    return create_app(make_config(database_url, **settings))


@pytest.fixture
def strict_app(database_url):
    """An app with the real throttle: 3 failures per username, 5 per address, in a 60 s window."""
    application = _app(database_url, LOGIN_FAILURES_PER_USERNAME="3 per minute",
                       LOGIN_FAILURES_PER_ADDRESS="5 per minute")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def proxied_app(database_url):
    """The strict app behind one reverse proxy (STAGECOACH_PROXY_HOPS=1)."""
    application = _app(database_url, LOGIN_FAILURES_PER_USERNAME="3 per minute",
                       LOGIN_FAILURES_PER_ADDRESS="5 per minute", PROXY_HOPS=1)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


# -- tokens follow the user's row ------------------------------------------------------------

def test_a_demoted_admins_old_token_is_refused_at_once(app, admin, make):
    ann = make.client("ann", admin=True)
    assert ann.get("/api/v1/authorizations").status_code == 200

    assert admin.patch("/api/v1/users/ann", json={"is_admin": False}).status_code == 200

    body = assert_problem(ann.get("/api/v1/authorizations"), 401)
    assert "revoked" in body["detail"]
    again = ApiClient.login(app, "ann", "secret")
    assert_problem(again.get("/api/v1/authorizations"), 403)


def test_a_new_secret_key_voids_every_token_signed_with_the_old_one(app, make):
    """The token serializer is kept between requests, but never past a change of the app's secret key."""
    ann = make.client("ann")
    assert ann.get("/api/v1/tasks").status_code == 200
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = old + "-rotated"
    try:
        assert "invalid token" in assert_problem(ann.get("/api/v1/tasks"), 401)["detail"]
        fresh = ApiClient.login(app, "ann", "secret")
        assert fresh.get("/api/v1/tasks").status_code == 200
    finally:
        app.config["SECRET_KEY"] = old
    assert ann.get("/api/v1/tasks").status_code == 200
    assert_problem(fresh.get("/api/v1/tasks"), 401)


def test_role_and_groups_are_read_from_the_row_on_every_request(app, make):
    """Even a change written straight to the table, without a new token version, applies at once."""
    ann = make.client("ann", admin=True, groups=["sales"])
    with app.app_context():
        assert sessions.actor_from_token(ann.token).groups == ("sales",)
        user = db.session.scalar(select(User).where(User.username == "ann"))
        user.is_admin = False
        user.groups = [db.session.scalar(select(Group).where(Group.name == "sales")), Group(name="support")]
        db.session.commit()
        actor = sessions.actor_from_token(ann.token)
    assert (actor.is_admin, actor.groups) == (False, ("sales", "support"))
    assert_problem(ann.get("/api/v1/authorizations"), 403)


def test_a_user_disabled_in_the_table_is_refused_even_with_a_current_token(app, make):
    bob = make.client("bob")
    assert engine_get(app, basic("bob")).status_code == 200
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "bob")).disabled = True
        db.session.commit()
    assert "disabled" in assert_problem(bob.get("/api/v1/tasks"), 401)["detail"]
    assert engine_get(app, basic("bob")).status_code == 401


def test_a_disabled_users_token_and_password_stop_working_on_both_apis(app, admin, make):
    bob = make.client("bob")
    assert bob.get("/api/v1/tasks").status_code == 200
    assert engine_get(app, bearer(bob.token)).status_code == 200
    assert engine_get(app, basic("bob")).status_code == 200  # and now remembered by the Basic cache

    assert admin.patch("/api/v1/users/bob", json={"disabled": True}).status_code == 200

    assert_problem(bob.get("/api/v1/tasks"), 401)
    for headers in (bearer(bob.token), basic("bob")):
        refused = engine_get(app, headers)
        assert refused.status_code == 401
        assert refused.get_json()["type"] == "AuthenticationException"
    assert "disabled" in assert_problem(login(app, "bob"), 401)["detail"]


def test_logout_ends_every_token_of_the_user(app, make):
    phone, laptop = make.client("bob"), ApiClient.login(app, "bob", "secret")
    other = make.client("carol")

    response = phone.post("/api/v1/auth/logout")
    assert response.status_code == 204

    for device in (phone, laptop):
        assert_problem(device.get("/api/v1/tasks"), 401)
        assert engine_get(app, bearer(device.token)).status_code == 401
    assert other.get("/api/v1/tasks").status_code == 200  # someone else's session goes on
    assert ApiClient.login(app, "bob", "secret").get("/api/v1/tasks").status_code == 200


def test_logout_needs_a_valid_token(client):
    assert_problem(client.post("/api/v1/auth/logout"), 401)
    assert_problem(client.post("/api/v1/auth/logout", headers=bearer("forged")), 401)


def test_a_new_password_ends_the_old_tokens(app, admin, make):
    bob = make.client("bob")
    assert admin.patch("/api/v1/users/bob", json={"password": "a-new-password"}).status_code == 200
    assert_problem(bob.get("/api/v1/tasks"), 401)
    assert_problem(login(app, "bob", "secret"), 401)
    assert login(app, "bob", "a-new-password").status_code == 200


def test_changing_ones_own_password_ends_ones_tokens(app, make):
    bob = make.client("bob")
    response = bob.patch("/api/v1/users/me", json={"current_password": "secret", "password": "better-password"})
    assert response.status_code == 200, response.get_json()
    assert_problem(bob.get("/api/v1/tasks"), 401)
    assert login(app, "bob", "better-password").status_code == 200


def test_new_groups_end_the_old_tokens(admin, make):
    bob = make.client("bob", groups=["sales"])
    assert admin.patch("/api/v1/users/bob", json={"groups": ["sales", "support"]}).status_code == 200
    assert_problem(bob.get("/api/v1/tasks"), 401)


def test_a_deleted_users_token_is_refused_even_once_the_name_is_taken_again(app, admin, make):
    bob = make.client("bob", admin=True)
    assert admin.delete("/api/v1/users/bob").status_code == 204
    assert_problem(bob.get("/api/v1/tasks"), 401)

    make.user("bob", admin=True)  # a new account under the old name, token version 0 again
    assert_problem(bob.get("/api/v1/authorizations"), 401)


def test_a_token_of_the_old_format_carrying_its_own_role_is_refused(app, client):
    with app.test_request_context():
        forged = sessions._serializer().dumps({"u": "admin", "g": [], "a": True})
    assert_problem(client.get("/api/v1/tasks", headers=bearer(forged)), 401)


def test_an_expired_token_is_refused(app, clock, make):
    bob = make.client("bob")
    clock.shift(dt.timedelta(seconds=TestConfig.TOKEN_TTL_SECONDS + 1))
    assert "expired" in assert_problem(bob.get("/api/v1/tasks"), 401)["detail"]


# -- the throttle on failed logins ----------------------------------------------------------

def test_failed_logins_per_username_are_throttled_before_argon2_runs(strict_app, clock, make, argon2_calls):
    make.user("bob")
    for _ in range(3):
        assert_problem(login(strict_app, "bob", "guess"), 401)
    hashed = dict(argon2_calls)

    throttled = login(strict_app, "bob", "secret")  # even the right password
    body = assert_problem(throttled, 429)
    assert body["type"] == "/problems/too-many-failed-logins"
    assert throttled.headers["Retry-After"] == "60"
    assert argon2_calls == hashed  # no password was checked

    clock.shift(dt.timedelta(seconds=30))
    assert login(strict_app, "bob", "guess").headers["Retry-After"] == "30"
    clock.shift(dt.timedelta(seconds=31))
    assert login(strict_app, "bob", "secret").status_code == 200


def test_the_username_throttle_holds_from_any_address(strict_app, clock, make):
    make.user("bob")
    for n in range(3):
        assert_problem(login(strict_app, "bob", "guess", address=f"10.0.1.{n}"), 401)
    assert_problem(login(strict_app, "bob", "secret", address="10.0.2.1"), 429)
    assert login(strict_app, "carol", "guess", address="10.0.2.1").status_code == 401  # another user: not yet


def test_failed_logins_per_address_are_throttled_across_usernames(strict_app, clock, make, argon2_calls):
    make.user("bob")
    for n in range(5):
        assert_problem(login(strict_app, f"nobody{n}", "guess"), 401)
    hashed = dict(argon2_calls)
    body = assert_problem(login(strict_app, "bob", "secret"), 429)
    assert "address" in body["detail"]
    assert argon2_calls == hashed
    assert login(strict_app, "bob", "secret", address="10.9.9.9").status_code == 200  # another address


def test_successful_logins_are_not_counted(strict_app, clock, make):
    make.user("bob")
    for _ in range(10):
        assert login(strict_app, "bob", "secret").status_code == 200
    for _ in range(3):
        assert_problem(login(strict_app, "bob", "guess"), 401)
    assert_problem(login(strict_app, "bob", "secret"), 429)


def test_http_basic_failures_are_throttled_before_argon2_runs(strict_app, clock, make, argon2_calls):
    make.user("bob")
    for _ in range(3):
        assert engine_get(strict_app, basic("bob", "guess")).status_code == 401
    hashed = dict(argon2_calls)

    throttled = engine_get(strict_app, basic("bob"))
    assert throttled.status_code == 429
    assert throttled.get_json()["type"] == "AuthenticationException"  # Camunda's error body on /engine-rest
    assert throttled.headers["Retry-After"] == "60"
    assert argon2_calls == hashed

    assert_problem(login(strict_app, "bob", "secret"), 429)  # one count for both APIs
    clock.shift(dt.timedelta(seconds=61))
    assert engine_get(strict_app, basic("bob")).status_code == 200


def test_with_redis_every_worker_counts_the_same_failures(database_url, make):
    """Two apps stand for two gunicorn workers: with RATELIMIT_STORAGE_URI=redis:// they share the counts."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS}")
    workers = [_app(database_url, LOGIN_FAILURES_PER_USERNAME="3 per minute", LOGIN_FAILURES_PER_ADDRESS="5 per minute",
                    RATELIMIT_STORAGE_URI=REDIS) for _ in range(2)]
    name, address = f"bob-{secrets.token_hex(6)}", f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    make.user(name)
    try:
        for n in range(3):
            assert_problem(login(workers[n % 2], name, "guess", address=address), 401)
        assert_problem(login(workers[1], name, "secret", address=address), 429)
        assert_problem(login(workers[0], name, "secret", address=address), 429)
    finally:
        for worker in workers:
            with worker.app_context():
                db.session.remove()
                db.engine.dispose()


def test_an_unreachable_counter_store_does_not_lock_everyone_out(database_url, make):
    """Fail open: with the store down logins still work (each one still costs an argon2 check)."""
    down = _app(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")  # the discard port: refused
    make.user("bob")
    try:
        assert_problem(login(down, "bob", "guess"), 401)
        assert login(down, "bob", "secret").status_code == 200
    finally:
        with down.app_context():
            db.session.remove()
            db.engine.dispose()


def test_wrong_current_passwords_count_as_failed_logins(strict_app, clock, make):
    make.user("bob")
    bob = ApiClient.login(strict_app, "bob", "secret")
    for _ in range(3):
        response = bob.patch("/api/v1/users/me", json={"current_password": "guess", "password": "new-password"})
        assert_problem(response, 400)
    response = bob.patch("/api/v1/users/me", json={"current_password": "secret", "password": "new-password"})
    assert_problem(response, 429)
    assert bob.get("/api/v1/tasks").status_code == 200  # nothing changed: the token still works


def test_with_every_password_slot_taken_a_login_is_turned_away_and_others_are_served(app, make, argon2_calls):
    """A flood of guesses cannot hold every thread: past PASSWORD_CHECKS_AT_ONCE, no hashing, 503 at once."""
    bob = make.client("bob")
    assert engine_get(app, basic("bob")).status_code == 200  # remembered
    checks = dict(argon2_calls)
    gate = app.extensions["stagecoach.password_gate"]
    held = [gate._slots.acquire(blocking=False) for _ in range(TestConfig.PASSWORD_CHECKS_AT_ONCE)]
    assert all(held)
    try:
        busy = login(app, "carol")
        assert assert_problem(busy, 503)["type"] == "/problems/login-busy"
        assert busy.headers["Retry-After"] == "1"
        assert engine_get(app, basic("carol")).status_code == 503
        assert argon2_calls == checks
        assert bob.get("/api/v1/tasks").status_code == 200  # a token needs no slot
        assert engine_get(app, basic("bob")).status_code == 200  # nor a remembered password
    finally:
        for _ in held:
            gate._slots.release()
    assert login(app, "bob").status_code == 200


# -- HTTP Basic is verified once, then remembered ---------------------------------------------

def test_a_second_basic_request_does_not_run_argon2(app, clock, make, argon2_calls):
    make.user("bob")
    assert engine_get(app, basic("bob")).status_code == 200
    assert argon2_calls["verify"] == 1
    for _ in range(5):
        assert engine_get(app, basic("bob")).status_code == 200
    assert argon2_calls["verify"] == 1

    clock.shift(dt.timedelta(seconds=TestConfig.BASIC_AUTH_CACHE_SECONDS + 1))
    assert engine_get(app, basic("bob")).status_code == 200
    assert argon2_calls["verify"] == 2


def test_a_wrong_password_is_never_taken_from_the_cache(app, make, argon2_calls):
    make.user("bob")
    assert engine_get(app, basic("bob")).status_code == 200
    assert engine_get(app, basic("bob", "secreT")).status_code == 401
    assert engine_get(app, basic("alice")).status_code == 401  # bob's password, another name
    assert argon2_calls["verify"] == 2


def test_a_changed_password_is_not_remembered(app, admin, make, argon2_calls):
    make.user("bob")
    assert engine_get(app, basic("bob")).status_code == 200
    assert admin.patch("/api/v1/users/bob", json={"password": "a-new-password"}).status_code == 200

    assert engine_get(app, basic("bob")).status_code == 401
    assert engine_get(app, basic("bob", "a-new-password")).status_code == 200


def test_the_basic_cache_keeps_no_password(app, make):
    make.user("bob", password="very-distinctive-password")
    assert engine_get(app, basic("bob", "very-distinctive-password")).status_code == 200
    cache = app.extensions["stagecoach.basic_cache"]
    assert cache._entries
    assert "very-distinctive-password" not in repr(cache.__dict__)
    assert b"very-distinctive-password" not in b"".join(key[1] for key in cache._entries)


# -- the client address ------------------------------------------------------------------------

def test_x_forwarded_for_is_not_trusted_by_default(strict_app, clock, make):
    """A client cannot escape the per-address throttle by inventing addresses."""
    make.user("bob")
    for n in range(5):
        response = strict_app.test_client().post(TOKEN, json={"username": f"nobody{n}", "password": "guess"},
                                                 headers={"X-Forwarded-For": f"203.0.113.{n}"},
                                                 environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert_problem(response, 401)
    response = strict_app.test_client().post(TOKEN, json={"username": "bob", "password": "secret"},
                                             headers={"X-Forwarded-For": "203.0.113.99"},
                                             environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert_problem(response, 429)


def test_behind_a_configured_proxy_the_forwarded_address_is_the_clients(proxied_app, clock, make):
    make.user("bob")
    for n in range(5):  # five clients, one failure each, all through the proxy at 10.0.0.1
        response = proxied_app.test_client().post(TOKEN, json={"username": f"nobody{n}", "password": "guess"},
                                                  headers={"X-Forwarded-For": f"203.0.113.{n}"},
                                                  environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert_problem(response, 401)
    response = proxied_app.test_client().post(TOKEN, json={"username": "bob", "password": "secret"},
                                              headers={"X-Forwarded-For": "203.0.113.99"},
                                              environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 200, response.get_json()
    for n in range(5):  # one client through the proxy: throttled whatever it puts in front
        proxied_app.test_client().post(TOKEN, json={"username": f"other{n}", "password": "guess"},
                                       headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.7"},
                                       environ_base={"REMOTE_ADDR": "10.0.0.1"})
    response = proxied_app.test_client().post(TOKEN, json={"username": "bob", "password": "secret"},
                                              headers={"X-Forwarded-For": "203.0.113.7"},
                                              environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 429 and response.mimetype == PROBLEM
