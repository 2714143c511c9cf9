"""Users and groups: who may log in, with which groups and role (admins manage them; a user changes
their own password).

Every change that affects a user's rights (disabling, a new password, groups or role) bumps their
`token_version`, so their tokens end at once (see `sessions`); deleting the user ends them too.
The last enabled admin can be neither disabled, demoted nor deleted. The CLI calls these same
functions as `SYSTEM`.
"""
from __future__ import annotations

import secrets

from marshmallow import ValidationError as SchemaError
from sqlalchemy import delete, func, select

from ..errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Authorization, Group, User, user_groups
from ..schemas.users import UserSchema, UserUpdateSchema
from .access import require_admin
from .core import SYSTEM, Actor, Page, paginate, write_transaction
from .sessions import check_password, end_sessions, hash_password

# /api/v1/users/me is the caller: no user may take that name.
RESERVED_NAMES = frozenset({"me"})


def create_user(username: str, password: str, groups: list[str] | tuple = (), is_admin: bool = False, *,
                email: str | None = None, manager: str | None = None, actor: Actor) -> User:
    """Create a user (and any group that does not exist yet); admins only."""
    require_admin(actor, "create users")
    if not username or not password:
        raise ValidationError("username and password are required")
    if username in RESERVED_NAMES:
        raise ValidationError(f"{username!r} is reserved", errors={"username": [f"{username!r} is reserved"]})
    with write_transaction():
        if db.session.scalar(select(User.id).where(User.username == username)):
            raise ConflictError(f"user {username!r} exists")
        user = User(username=username, password_hash=hash_password(password), is_admin=is_admin, email=email,
                    manager=manager, disabled=False, token_version=0)
        user.groups = [_group(name) for name in dict.fromkeys(groups)]
        db.session.add(user)
    return user


def create_account(fields: dict, actor: Actor) -> User:
    """Create a user from `{username, password, email, manager, groups, is_admin}`, each checked as
    POST /api/v1/users checks it (a form's input: 400 naming the field at fault); admins only."""
    require_admin(actor, "create users")
    data = _checked(UserSchema(), fields)
    return create_user(data.pop("username"), data.pop("password"), actor=actor, **data)


def update_account(username: str, changes: dict, actor: Actor) -> User:
    """`update_user` with `changes` checked as PATCH /api/v1/users/{username} checks them (400 per field)."""
    require_admin(actor, "change users")
    return update_user(username, _checked(UserUpdateSchema(), changes), actor)


def _checked(schema, fields: dict) -> dict:
    try:
        return schema.load(fields)
    except SchemaError as exc:
        errors = {name: _messages(found) for name, found in exc.normalized_messages().items()}
        raise ValidationError(f"{len(errors)} field(s) refused", errors=errors) from None


def _messages(found) -> list[str]:
    """A field's messages as a flat list (a list's items report theirs by index)."""
    if isinstance(found, dict):
        return [m for item in found.values() for m in _messages(item)]
    return [str(m) for m in found] if isinstance(found, list) else [str(found)]


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
        create_user("admin", password, is_admin=True, actor=SYSTEM)
    except ConflictError:  # another process created it first
        return None
    return generated


# -- reading ------------------------------------------------------------------------------------

def list_users(actor: Actor, *, group: str | None = None, disabled: bool | None = None,
               is_admin: bool | None = None, page: int = 1, per_page: int = 50) -> Page:
    """Users by name, filtered by group, disabled or admin; admins only."""
    require_admin(actor, "list users")
    stmt = select(User)
    if group is not None:
        stmt = stmt.where(User.id.in_(select(user_groups.c.user_id).join(Group, Group.id == user_groups.c.group_id)
                                      .where(Group.name == group)))
    if disabled is not None:
        stmt = stmt.where(User.disabled.is_(disabled))
    if is_admin is not None:
        stmt = stmt.where(User.is_admin.is_(is_admin))
    return paginate(stmt.order_by(User.username), page, per_page)


def get_user(username: str, actor: Actor) -> User:
    """One user: an admin reads anyone, a user themselves."""
    if actor.username != username:
        require_admin(actor, "read other users")
    return _user(username)


def _user(username: str, *, lock: bool = False) -> User:
    stmt = select(User).where(User.username == username)
    user = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def list_groups(actor: Actor) -> list[dict]:
    """Every group with its number of members; admins only."""
    require_admin(actor, "list groups")
    rows = db.session.execute(
        select(Group.name, func.count(user_groups.c.user_id))
        .outerjoin(user_groups, user_groups.c.group_id == Group.id)
        .group_by(Group.id, Group.name).order_by(Group.name)).all()
    return [{"name": name, "members": members} for name, members in rows]


def groups_with_members(actor: Actor) -> list[dict]:
    """Every group with the usernames of its members, by name: `{"name", "members": [...]}`; admins only."""
    require_admin(actor, "list groups")
    rows = db.session.execute(
        select(Group.name, User.username)
        .outerjoin(user_groups, user_groups.c.group_id == Group.id)
        .outerjoin(User, User.id == user_groups.c.user_id)
        .order_by(Group.name, User.username)).all()
    groups: dict[str, list[str]] = {}
    for name, username in rows:
        groups.setdefault(name, [])
        if username is not None:
            groups[name].append(username)
    return [{"name": name, "members": members} for name, members in groups.items()]


# -- changing ------------------------------------------------------------------------------------

def _admins_locked() -> list[str]:
    """The enabled admins' ids, their rows locked in id order (two concurrent demotions cannot deadlock)."""
    return list(db.session.scalars(select(User.id).where(User.is_admin.is_(True), User.disabled.is_(False))
                                   .order_by(User.id).with_for_update()))


def _keep_an_admin(user: User, admins: list[str], what: str) -> None:
    """409 if `user` is the last enabled admin."""
    if admins == [user.id]:
        raise ConflictError(f"{user.username!r} is the last admin and cannot be {what}; make another admin first")


def update_user(username: str, changes: dict, actor: Actor) -> User:
    """Change a user's email, manager, groups, role, disabled flag or password; admins only.

    A change of groups, role, disabled flag or password ends the user's tokens.

    Raises:
        ForbiddenError: the actor is not an admin.
        NotFoundError: no such user.
        ConflictError: it would leave no enabled admin.
    """
    require_admin(actor, "change users")
    with write_transaction():
        removes_an_admin = changes.get("is_admin") is False or changes.get("disabled") is True
        admins = _admins_locked() if removes_an_admin else []  # before the user's row: one lock order
        user = _user(username, lock=True)
        rights_changed = False
        if changes.get("is_admin") is False:
            _keep_an_admin(user, admins, "demoted")
        if changes.get("disabled") is True:
            _keep_an_admin(user, admins, "disabled")
        for key in ("email", "manager"):
            if key in changes:
                setattr(user, key, changes[key])
        for key in ("is_admin", "disabled"):
            if changes.get(key) is not None and bool(changes[key]) != bool(getattr(user, key)):
                setattr(user, key, bool(changes[key]))
                rights_changed = True
        if changes.get("groups") is not None:
            names = list(dict.fromkeys(changes["groups"]))
            if sorted(names) != user.group_names:
                user.groups = [_group(name) for name in names]
                rights_changed = True
        if changes.get("password"):
            user.password_hash = hash_password(changes["password"])
            rights_changed = True
        if rights_changed:
            end_sessions(user)
    return _user(username)


def set_disabled(username: str, disabled: bool, actor: Actor) -> User:
    """Disable a user (their tokens end; they cannot log in) or enable them again; admins only."""
    return update_user(username, {"disabled": disabled}, actor)


def set_password(username: str, password: str, actor: Actor) -> User:
    """Give a user a new password (their tokens end); admins only."""
    if not password:
        raise ValidationError("a password is required")
    return update_user(username, {"password": password}, actor)


def delete_user(username: str, actor: Actor) -> None:
    """Delete a user, their group memberships and the grants made to them; admins only.

    Their tasks, records and history keep the username as it was.
    """
    require_admin(actor, "delete users")
    with write_transaction():
        admins = _admins_locked()
        user = _user(username, lock=True)
        _keep_an_admin(user, admins, "deleted")
        # a user created later under the same name must not inherit these grants
        db.session.execute(delete(Authorization).where(Authorization.user_id == username))
        db.session.delete(user)


def change_own_password(actor: Actor, current_password: str, new_password: str,
                        address: str | None = None) -> User:
    """The caller changes their own password, proving the current one; every token of theirs ends.

    Raises:
        LoginThrottledError: too many wrong current passwords (counted as failed logins).
        ValidationError: the current password is wrong (400).
    """
    try:
        user_id = check_password(actor.username, current_password, address)
    except AuthenticationError:
        raise ValidationError("the current password is wrong",
                              errors={"current_password": ["wrong password"]}) from None
    with write_transaction():
        user = db.session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFoundError(f"no user {actor.username!r}")
        user.password_hash = hash_password(new_password)
        end_sessions(user)
    return _user(actor.username)
