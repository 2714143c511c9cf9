"""The web console at /console: My Jobs, tasks and their forms, starting processes, records and blueprints;
for admins, instances and their repairs, incidents, the job queue, the outbox, users, and deploying.

Server-rendered pages (Jinja) that call the services directly, as the API's views do, with htmx for
claiming in place, filters and paging, and bpmn-js and form-js (committed bundles, see
static/vendor/vendor.lock.json) for diagrams and Camunda forms. No SpiffWorkflow, no SQL here:
the services decide who may do what, the console only says who is calling (`auth.current_actor`).

Adding a page: a module here with routes on `blueprint.bp` (decorate admin pages with
`auth.admin_required`), imported below; a template extending "console/base.html"; a header link
with `blueprint.nav(...)`.
"""
from __future__ import annotations

from flask import Flask, redirect, url_for
from flask.sessions import SecureCookieSessionInterface

from ..extensions import csrf
from . import admin_instances, auth, errors, helpers, jobs, processes, records, tasks  # noqa: F401 - each adds its pages to bp
from . import admin_users, admin_work, deploy  # noqa: F401 - the admin pages for users, jobs and the outbox, deploying
from . import admin_bulk, admin_definitions  # noqa: F401 - the Definition page, bulk operations on instances
from . import record_files  # noqa: F401 - a record's attachments: upload, download
from . import admin_analytics  # noqa: F401 - Path Finder and the funnel
from . import analytics, process_analytics  # noqa: F401 - a process's heat map on its diagram, its other analyses
from .blueprint import FORM_TYPES, bp


@bp.route("/")
def index():
    """The console's front page is My Jobs."""
    return redirect(url_for("console.jobs"))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions (the console's login), with the signing serializer made only for a
    request that sends the cookie: Flask makes one for every request, and the APIs' clients send none."""

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_console(app: Flask) -> None:
    """Mount the console at /console, with its CSRF protection, and send GET / there."""
    app.session_interface = CookieSessions()
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # the console checks its own posts; the APIs take bearer tokens
    csrf.init_app(app)
    app.register_blueprint(bp)
    errors.handle_unrouted(app)
    app.add_url_rule("/", "home", lambda: redirect(url_for("console.index")))
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("console.") and endpoint != "console.static":
            view.accepted_mimetypes = FORM_TYPES  # what the request checks let console views read
