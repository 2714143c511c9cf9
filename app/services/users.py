"""Users, groups and bearer tokens."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from .. import clock
from ..errors import AuthenticationError, ConflictError, ValidationError
from ..extensions import db
from ..models import Group, User
from .core import Actor, write_transaction

_TOKEN_SALT = "stagecoach-bearer"


def _hasher() -> PasswordHasher:
    """argon2id with the configured cost (tests turn it down)."""
    cfg = current_app.config
    key = ("stagecoach.hasher", cfg["PASSWORD_TIME_COST"], cfg["PASSWORD_MEMORY_COST"])
    hasher = current_app.extensions.get(key)
    if hasher is None:
        hasher = current_app.extensions[key] = PasswordHasher(
            time_cost=cfg["PASSWORD_TIME_COST"], memory_cost=cfg["PASSWORD_MEMORY_COST"])
    return hasher


class _ClockSigner(TimestampSigner):
    """Tokens carry their issue time from the app's clock, and their age is read from it too."""

    def get_timestamp(self) -> int:
        return int(clock.timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT, signer=_ClockSigner)


def create_user(username: str, password: str, groups: list[str] | tuple = (), is_admin: bool = False, *,
                email: str | None = None, manager: str | None = None) -> User:
    """Create a user (and any group that does not exist yet)."""
    if not username or not password:
        raise ValidationError("username and password are required")
    with write_transaction():
        if db.session.scalar(select(User.id).where(User.username == username)):
            raise ConflictError(f"user {username!r} exists")
        user = User(username=username, password_hash=_hasher().hash(password), is_admin=is_admin, email=email,
                    manager=manager)
        user.groups = [_group(name) for name in dict.fromkeys(groups)]
        db.session.add(user)
    return user


def _group(name: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(name=name)
        db.session.add(group)
    return group


def ensure_admin(password: str | None) -> str | None:
    """Create the `admin` user on first start; return the password if it was generated."""
    if db.session.scalar(select(User.id).where(User.username == "admin")):
        db.session.rollback()
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    try:
        create_user("admin", password, is_admin=True)
    except ConflictError:  # another process created it first
        return None
    return generated


def _verified_user(username: str, password: str) -> User:
    """The user whose password this is; AuthenticationError otherwise (same cost either way)."""
    user = db.session.scalar(select(User).where(User.username == username))
    try:
        if user is None:
            _hasher().hash(password)  # same cost whether or not the user exists
            raise VerificationError()
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationError("unknown user or wrong password") from None
    finally:
        db.session.rollback()
    return user


def issue_token(username: str, password: str) -> str:
    """Check a password and return a signed bearer token carrying the user's groups."""
    user = _verified_user(username, password)
    return _serializer().dumps({"u": user.username, "g": user.group_names, "a": bool(user.is_admin)})


def authenticate_password(username: str, password: str) -> Actor:
    """Check a password (HTTP Basic) and return the caller with the user's current groups.

    Raises:
        AuthenticationError: unknown user or wrong password.
    """
    user = _verified_user(username, password)
    actor = Actor(user.username, tuple(user.group_names), bool(user.is_admin))
    db.session.rollback()  # end the read transaction the attribute loads began
    return actor


def actor_from_token(token: str) -> Actor:
    """Verify a bearer token; groups and role are those at issue time."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except SignatureExpired:
        raise AuthenticationError("token expired; ask POST /api/v1/auth/token for a new one") from None
    except BadSignature:
        raise AuthenticationError("invalid token") from None
    return Actor(data["u"], tuple(data.get("g", ())), bool(data.get("a")))
