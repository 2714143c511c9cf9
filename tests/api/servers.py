"""A server a time-driven scenario talks to, once or across a restart (shared by the event tests)."""
from __future__ import annotations

from app import create_app
from app.extensions import db
from app.jobs.runner import run_due_jobs
from config import TestConfig

from ..conftest import make_config
from ..factories import ApiClient


class Server:
    """The server a scenario talks to. With `restarts`, `restart()` replaces it by a new app on the same
    database, as a restarted process would be; otherwise `restart()` changes nothing."""

    def __init__(self, app, database_url: str, restarts: bool):
        self.app = app
        self.database_url = database_url
        self.restarts = restarts
        self.built = []
        self.admin: ApiClient | None = None

    def login(self) -> ApiClient:
        """Log the admin in now: tokens expire after 12 h of (travelled) time."""
        self.admin = ApiClient.login(self.app, "admin", TestConfig.ADMIN_PASSWORD)
        return self.admin

    def restart(self) -> None:
        if self.restarts:
            self.app = create_app(make_config(self.database_url))
            self.built.append(self.app)
            self.login()

    def fire(self) -> dict:
        """Run the jobs due now, as the embedded worker of this server would."""
        with self.app.app_context():
            counts = run_due_jobs()
            db.session.remove()
        return counts
