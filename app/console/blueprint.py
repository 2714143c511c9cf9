"""The console's one blueprint and its navigation, shared by every page module.

A page module adds routes to `bp` (endpoints are `console.<view>`) and, for a page of its own in the
header, a `nav(...)` entry; `admin=True` entries are shown to admins only (the views still refuse
others: see `auth.admin_required`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

# What console views read: HTML forms (htmx sends them form-encoded too), never JSON.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class NavItem:
    """One link of the header: its label, the endpoint it opens, whether only admins see it."""

    label: str
    endpoint: str
    admin: bool = False
    order: int = 50
    # endpoints (besides `endpoint`) under which the link is marked as the current page
    also: tuple[str, ...] = ()
    # who else sees it: a service's question about the caller (`definitions.may_deploy`)
    shown_to: Callable | None = None

    def visible_to(self, actor) -> bool:
        if actor.is_admin or not self.admin:
            return True
        return self.shown_to is not None and self.shown_to(actor)


NAV: list[NavItem] = []


def nav(label: str, endpoint: str, *, admin: bool = False, order: int = 50, also: tuple[str, ...] = (),
        shown_to: Callable | None = None) -> None:
    """Add a link to the console's header (ordered by `order`, then label); `admin=True` links are for admins
    and, with `shown_to(actor)`, for the others it answers True for."""
    NAV.append(NavItem(label, endpoint, admin, order, also, shown_to))
    NAV.sort(key=lambda item: (item.order, item.label))
