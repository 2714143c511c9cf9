"""Who may read /metrics: admins, or whoever holds the metrics token; everyone else gets a problem."""
from __future__ import annotations

import pytest
import requests

from app import create_app
from app.extensions import db
from app.operations.exporter import serve_configured

from ..conftest import make_config
from ..factories import ApiClient, assert_problem
from .conftest import Scrape

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture
def token_app(database_url):
    built = create_app(make_config(database_url, AUTO_UPGRADE=False, METRICS_TOKEN=METRICS_TOKEN))
    yield built
    with built.app_context():
        db.engine.dispose()


def test_without_a_token_the_metrics_are_refused_with_401(client):
    problem = assert_problem(client.get("/metrics"), 401)
    assert problem["type"] == "/problems/unauthenticated"
    assert_problem(client.get("/metrics", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), 401)


def test_a_user_who_is_not_an_admin_gets_403(make):
    user = make.client("watcher")
    problem = assert_problem(user.get("/metrics"), 403)
    assert problem["type"] == "/problems/forbidden"


def test_an_admin_reads_the_metrics(admin):
    response = admin.get("/metrics")
    assert response.status_code == 200
    assert Scrape(response.get_data(as_text=True)).value("stagecoach_database_up") == 1


def test_the_metrics_token_reads_them_and_a_wrong_one_does_not(token_app):
    client = token_app.test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert Scrape(response.get_data(as_text=True)).value("stagecoach_database_up") == 1
    assert_problem(client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"}), 401)
    assert_problem(client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"}), 401)
    admin = ApiClient.login(token_app, "admin", "admin-password")
    assert admin.get("/metrics").status_code == 200  # admins still may


def test_without_a_configured_token_no_guess_passes(client):
    """No METRICS_TOKEN: an empty or made-up bearer value is an invalid token, never a match."""
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer "}), 401)
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer None"}), 401)


def test_on_a_separate_address_the_metrics_leave_the_server_port(database_url, admin):
    separate = create_app(make_config(database_url, AUTO_UPGRADE=False, METRICS_ADDRESS="127.0.0.1:0"))
    try:
        assert_problem(ApiClient(separate, admin.token).get("/metrics"), 404)
        server = serve_configured(separate.config)
        try:
            response = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10)
        finally:
            server.shutdown()
            server.server_close()
        assert response.status_code == 200
        scraped = Scrape(response.text)
        assert scraped.value("stagecoach_database_up") == 1
        assert scraped.labels_of("stagecoach_open_tasks") == [{}]
    finally:
        with separate.app_context():
            db.engine.dispose()
