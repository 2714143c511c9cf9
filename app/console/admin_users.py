"""Admin pages for users and groups: the users (with their groups, role and whether disabled), a new user,
one user's groups, password and disabling, and every group with its members.

Everything goes through the API's use cases (`services.users`): a new user and changed fields are checked
as POST and PATCH /api/v1/users check them, so a refused field comes back beside its input (400, what was
typed kept, never a password); disabling, demoting or deleting the last admin is the service's 409 page.
A new password, groups or disabling end the user's sessions at once, as on the API.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..errors import ConflictError, ValidationError
from ..services import users
from .auth import admin_required, current_actor
from .blueprint import bp, nav
from .helpers import htmx_target, page_number

PER_PAGE = 50

nav("Users", "console.admin_users", admin=True, order=65, also=("console.admin_user",))


def _groups(text: str) -> list[str]:
    """A comma-separated list of group names, as typed."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _filters() -> dict:
    disabled = request.args.get("disabled")
    return {"group": request.args.get("group", "").strip(),
            "disabled": disabled if disabled in ("yes", "no") else ""}


def _render_users(*, errors: dict | None = None, values: dict | None = None, status: int = 200):
    actor = current_actor()
    f = _filters()
    disabled = {"yes": True, "no": False}.get(f["disabled"])
    page = users.list_users(actor, group=f["group"] or None, disabled=disabled, page=page_number(), per_page=PER_PAGE)
    context = {"page": page, "filters": f, "errors": errors or {}, "values": values or {}}
    if htmx_target() == "users-results":
        return render_template("console/admin/_users.html", **context), status
    return render_template("console/admin/users.html", groups=users.groups_with_members(actor), **context), status


@bp.route("/admin/users")
@admin_required
def admin_users():
    """Users by name (filtered by group and disabled), a form for a new one, the groups and their members."""
    return _render_users()


@bp.route("/admin/users", methods=["POST"])
@admin_required
def admin_create_user():
    """Create a user; a refused field (a name taken, a short password) is shown beside its input."""
    form = request.form
    values = {"username": form.get("username", "").strip(), "email": form.get("email", "").strip(),
              "groups": form.get("groups", ""), "is_admin": form.get("is_admin") == "1"}
    fields = {"username": values["username"], "password": form.get("password", ""),
              "email": values["email"] or None, "groups": _groups(values["groups"]), "is_admin": values["is_admin"]}
    try:
        user = users.create_account(fields, current_actor())
    except ValidationError as exc:
        return _render_users(errors=exc.errors or {"username": [exc.detail]}, values=values, status=exc.status)
    except ConflictError as exc:  # the name is taken
        return _render_users(errors={"username": [exc.detail]}, values=values, status=exc.status)
    flash(f"User {user.username} created.", "success")
    return redirect(url_for("console.admin_user", username=user.username))


def _render_user(username: str, *, errors: dict | None = None, values: dict | None = None, status: int = 200):
    user = users.get_user(username, current_actor())
    return render_template("console/admin/user.html", user=user, errors=errors or {},
                           values=values or {"groups": ", ".join(user.group_names)}), status


@bp.route("/admin/users/<username>")
@admin_required
def admin_user(username: str):
    """One user: groups, role, disabled; forms to set the groups, reset the password, disable or enable."""
    return _render_user(username)


@bp.route("/admin/users/<username>/groups", methods=["POST"])
@admin_required
def admin_set_groups(username: str):
    """Set the user's groups (their sessions end when they change)."""
    typed = request.form.get("groups", "")
    try:
        user = users.update_account(username, {"groups": _groups(typed)}, current_actor())
    except ValidationError as exc:
        return _render_user(username, errors=exc.errors or {"groups": [exc.detail]}, values={"groups": typed},
                            status=exc.status)
    flash(f"{user.username}'s groups are now: {', '.join(user.group_names) or 'none'}.", "success")
    return redirect(url_for("console.admin_user", username=username))


@bp.route("/admin/users/<username>/password", methods=["POST"])
@admin_required
def admin_reset_password(username: str):
    """Give the user a new password (their sessions end)."""
    try:
        users.update_account(username, {"password": request.form.get("password", "")}, current_actor())
    except ValidationError as exc:
        return _render_user(username, errors=exc.errors or {"password": [exc.detail]}, status=exc.status)
    flash(f"{username} has a new password; their sessions have ended.", "success")
    return redirect(url_for("console.admin_user", username=username))


@bp.route("/admin/users/<username>/<any(disable, enable):action>", methods=["POST"])
@admin_required
def admin_toggle_user(username: str, action: str):
    """Disable a user (they cannot log in, their sessions end) or enable them again; not the last admin (409)."""
    users.update_account(username, {"disabled": action == "disable"}, current_actor())
    flash(f"{username} is {action}d.", "success")
    return redirect(url_for("console.admin_user", username=username))
