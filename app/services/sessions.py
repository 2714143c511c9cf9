"""Who is calling: passwords, bearer tokens, HTTP Basic, and the throttle on failed logins.

A bearer token is signed (itsdangerous, with the app's clock) and carries only the user's id and
`token_version`. Every authenticated request reads the user's row by primary key, with their
groups, in one query: a token whose version is no longer the row's, of a disabled or deleted
user, is refused, and groups and the admin flag are always the row's current ones. So logout,
disabling, deleting, a new password, new groups or role end every token of the user at once;
`TOKEN_TTL_SECONDS` only bounds how long an untouched token lives.

HTTP Basic (/engine-rest) would run argon2 on every request. A password verified once is
remembered for `BASIC_AUTH_CACHE_SECONDS` in this process, under the username and an HMAC of
the password with a key that never leaves the process (the password is never stored); a hit
still re-reads the row like a token does, so a changed `token_version` drops the entry.

Failed logins are counted per username and per client address (the `limits` package, moving
windows, storage `RATELIMIT_STORAGE_URI`); once either count is full the caller gets 429 with
Retry-After before any password is checked, a right one included, so a throttled guesser learns
nothing and costs no argon2. Only failures count: a client that logs in right is never slowed.
Until those counts fill, many clients guessing at once could still keep every worker thread busy
hashing; so a process checks at most `PASSWORD_CHECKS_AT_ONCE` passwords at a time, and a login
that finds no free slot soon gets 503 with Retry-After instead of a thread: bearer tokens and
remembered Basic passwords, which need no hashing, keep being served.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator

import limits
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import bindparam, select

from .. import clock
from ..errors import AuthenticationError, StagecoachError
from ..extensions import db
from ..models import Group, User, user_groups
from .core import Actor, end_read, write_transaction

log = logging.getLogger(__name__)

_TOKEN_SALT = "stagecoach-bearer"
_LOCK = threading.Lock()  # guards the lazy creation of the per-app objects below


class LoginThrottledError(StagecoachError):
    status, slug, title = 429, "too-many-failed-logins", "Too many failed logins"


class LoginBusyError(StagecoachError):
    status, slug, title = 503, "login-busy", "Too many passwords being checked at once"

    def __init__(self, detail=None, **kw):
        kw.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail or "the server is checking too many passwords at once; try again in a second", **kw)


def _per_app(name: str, build):
    """The app's `name` object, built once (in the worker process that first needs it)."""
    key = f"stagecoach.{name}"
    found = current_app.extensions.get(key)
    if found is None:
        with _LOCK:
            found = current_app.extensions.get(key)
            if found is None:
                found = current_app.extensions[key] = build(current_app.config)
    return found


# -- passwords ---------------------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    """argon2id with the configured cost (tests turn it down)."""
    return _per_app("hasher", lambda cfg: PasswordHasher(time_cost=cfg["PASSWORD_TIME_COST"],
                                                         memory_cost=cfg["PASSWORD_MEMORY_COST"]))


def hash_password(password: str) -> str:
    """The argon2id hash to store for `password`."""
    return _hasher().hash(password)


class PasswordGate:
    """At most `slots` password checks at once in this process; a check waits briefly for a slot."""

    WAIT_SECONDS = 0.25  # a few checks' time: a burst of honest logins queues, a flood is turned away

    def __init__(self, slots: int):
        self._slots = threading.BoundedSemaphore(max(1, slots))

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.WAIT_SECONDS):
            raise LoginBusyError()
        try:
            yield
        finally:
            self._slots.release()


def _gate() -> PasswordGate:
    return _per_app("password_gate", lambda cfg: PasswordGate(cfg["PASSWORD_CHECKS_AT_ONCE"]))


# -- the throttle on failed logins ----------------------------------------------------------------

class LoginThrottle:
    """Failed logins per username and per client address, in moving windows."""

    def __init__(self, storage_uri: str, per_username: str, per_address: str):
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, wrap_exceptions=True))
        self.limits = (("username", limits.parse(per_username)), ("address", limits.parse(per_address)))

    @staticmethod
    def _keys(username: str, address: str | None) -> dict[str, str]:
        # hashed: bounded keys whatever a client sends, and no usernames in the counter store
        return {kind: hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]
                for kind, value in (("username", username), ("address", address or "unknown"))}

    def check(self, username: str, address: str | None) -> None:
        """Raise LoginThrottledError if either count is full; fail open if the store is down."""
        keys = self._keys(username, address)
        try:
            for kind, item in self.limits:
                if not self.limiter.test(item, "login-failures", kind, keys[kind]):
                    reset = self.limiter.get_window_stats(item, "login-failures", kind, keys[kind]).reset_time
                    wait = max(1, math.ceil(reset - clock.timestamp()))
                    raise LoginThrottledError(
                        f"too many failed logins for this {kind}; try again in {wait} s",
                        headers={"Retry-After": str(wait)})
        except StorageError:
            log.warning("the login throttle's store (RATELIMIT_STORAGE_URI) is unreachable; not throttling")

    def failed(self, username: str, address: str | None) -> None:
        """Count one failed login against the username and the address."""
        keys = self._keys(username, address)
        try:
            for kind, item in self.limits:
                self.limiter.hit(item, "login-failures", kind, keys[kind])
        except StorageError:
            log.warning("the login throttle's store (RATELIMIT_STORAGE_URI) is unreachable; failure not counted")


def _throttle() -> LoginThrottle:
    return _per_app("login_throttle", lambda cfg: LoginThrottle(
        cfg["RATELIMIT_STORAGE_URI"], cfg["LOGIN_FAILURES_PER_USERNAME"], cfg["LOGIN_FAILURES_PER_ADDRESS"]))


# -- the users' rows ---------------------------------------------------------------------------------

_USERS, _GROUPS = User.__table__, Group.__table__
# Built once (a statement object keeps its cache key): every authenticated request runs it.
_LIVE_ACTOR = (select(_USERS.c.username, _USERS.c.is_admin, _USERS.c.disabled, _USERS.c.token_version, _GROUPS.c.name)
               .select_from(_USERS.outerjoin(user_groups, user_groups.c.user_id == _USERS.c.id)
                            .outerjoin(_GROUPS, _GROUPS.c.id == user_groups.c.group_id))
               .where(_USERS.c.id == bindparam("user_id")))


def _live_actor(user_id: str, version: int) -> Actor | str:
    """The user as they are now (one query), or why a credential for (`user_id`, `version`) is void."""
    rows = db.session.connection().execute(_LIVE_ACTOR, {"user_id": user_id}).all()
    end_read()
    if not rows:
        return "the user no longer exists"
    username, is_admin, disabled, token_version = rows[0][:4]
    if disabled:
        return "the user is disabled"
    if token_version != version:
        return "the token was revoked (logout, a new password, or changed groups or role); log in again"
    return Actor(username, tuple(sorted(r[4] for r in rows if r[4] is not None)), bool(is_admin))


def _verify(username: str, password: str, address: str | None, *, checked: bool = False) -> tuple[str, int]:
    """Check a password, throttled (`checked`: the caller asked the throttle already); the user's id and version.

    Raises:
        LoginThrottledError: too many failures for this username or address (nothing hashed).
        LoginBusyError: no free slot to check a password in this process (nothing hashed).
        AuthenticationError: unknown user, wrong password (counted as a failure), or a disabled user.
    """
    throttle = _throttle()
    if not checked:
        throttle.check(username, address)
    row = db.session.execute(select(User.id, User.password_hash, User.disabled, User.token_version)
                             .where(User.username == username)).first()
    db.session.rollback()
    try:
        with _gate().slot():
            if row is None:
                _hasher().hash(password)  # same cost whether or not the user exists
                raise VerificationError()
            _hasher().verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        throttle.failed(username, address)
        raise AuthenticationError("unknown user or wrong password") from None
    if row.disabled:
        raise AuthenticationError("the user is disabled")
    return row.id, row.token_version


def check_password(username: str, password: str, address: str | None = None) -> str:
    """The id of the user whose password this is (throttled like a login)."""
    return _verify(username, password, address)[0]


# -- bearer tokens ----------------------------------------------------------------------------

class _ClockSigner(TimestampSigner):
    """Tokens carry their issue time from the app's clock, and their age is read from it too."""

    def get_timestamp(self) -> int:
        return int(clock.timestamp())


def _serializer() -> URLSafeTimedSerializer:
    """The app's token serializer, made again only when its secret key changes."""
    secret = current_app.config["SECRET_KEY"]
    made = current_app.extensions.get(_SERIALIZER_KEY)
    if made is None or made[0] is not secret:
        made = current_app.extensions[_SERIALIZER_KEY] = (
            secret, URLSafeTimedSerializer(secret, salt=_TOKEN_SALT, signer=_ClockSigner))
    return made[1]


_SERIALIZER_KEY = "stagecoach.token_serializer"


def issue_token(username: str, password: str, address: str | None = None) -> str:
    """Check a password and return a signed bearer token bound to the user's current token version."""
    user_id, version = _verify(username, password, address)
    return _serializer().dumps({"i": user_id, "v": version})


def actor_from_token(token: str) -> Actor:
    """Verify a bearer token against its user's row: the caller with their current groups and role.

    Raises:
        AuthenticationError: bad signature, expired, revoked, or the user is disabled or deleted.
    """
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except SignatureExpired:
        raise AuthenticationError("token expired; ask POST /api/v1/auth/token for a new one") from None
    except BadSignature:
        raise AuthenticationError("invalid token") from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), str) or not isinstance(data.get("v"), int):
        raise AuthenticationError("invalid token; ask POST /api/v1/auth/token for a new one")
    actor = _live_actor(data["i"], data["v"])
    if isinstance(actor, str):
        raise AuthenticationError(actor)
    return actor


def end_sessions(user: User) -> None:
    """Make every token (and remembered Basic password) of `user` void; inside a write transaction."""
    user.token_version = User.token_version + 1  # in SQL: concurrent bumps never lose one


def logout(actor: Actor) -> None:
    """End every session of the caller: all their tokens, on every device, stop working."""
    with write_transaction():
        user = db.session.scalar(select(User).where(User.username == actor.username))
        if user is not None:
            end_sessions(user)


# -- HTTP Basic ---------------------------------------------------------------------------------

class BasicCache:
    """Passwords verified lately, as (username, HMAC of the password) → (user id, token version, until)."""

    def __init__(self, seconds: int, size: int = 4096):
        self.seconds, self.size = seconds, size
        self._key = secrets.token_bytes(32)  # never leaves the process: the digests are useless elsewhere
        self._entries: OrderedDict[tuple[str, bytes], tuple[str, int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _id(self, username: str, password: str) -> tuple[str, bytes]:
        return username, hmac.new(self._key, password.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def get(self, username: str, password: str) -> tuple[str, int] | None:
        key = self._id(username, password)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[2] <= clock.timestamp():
                del self._entries[key]
                return None
            return entry[0], entry[1]

    def put(self, username: str, password: str, user_id: str, version: int) -> None:
        if self.seconds <= 0:
            return
        key = self._id(username, password)
        with self._lock:
            self._entries[key] = (user_id, version, clock.timestamp() + self.seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, username: str, password: str) -> None:
        with self._lock:
            self._entries.pop(self._id(username, password), None)


def _basic_cache() -> BasicCache:
    return _per_app("basic_cache", lambda cfg: BasicCache(cfg["BASIC_AUTH_CACHE_SECONDS"]))


def authenticate_password(username: str, password: str, address: str | None = None) -> Actor:
    """Check an HTTP Basic password and return the caller with the user's current groups and role.

    Raises:
        LoginThrottledError: too many failed logins for this username or address.
        AuthenticationError: unknown user, wrong password, or a disabled user.
    """
    _throttle().check(username, address)
    cache = _basic_cache()
    remembered = cache.get(username, password)
    if remembered is not None:
        actor = _live_actor(*remembered)
        if isinstance(actor, Actor):
            return actor
        cache.drop(username, password)  # revoked: the password may have changed, check it afresh
    user_id, version = _verify(username, password, address, checked=True)
    actor = _live_actor(user_id, version)
    if isinstance(actor, str):  # changed between the two reads
        raise AuthenticationError(actor)
    cache.put(username, password, user_id, version)
    return actor
