"""Server-side request forgery: webhooks reach only hosts on the allow list, and never a private address
unless its entry allows one.

A plain user (a modeler: they may deploy and start their own diagrams) names
the URL. Each refusal is proven twice: the instance shows an incident naming
the cause, and a local HTTP server that counts every request it gets stays at
zero after the outbox delivered what was due. The dispatcher thread is off in
tests: each test calls `deliver_due(now)` itself, with `now` taken from the
real clock.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.services import outbound
from app.services.outbox import deliver_due

from ..factories import assert_problem, fixture

HOSTS = "/api/v1/outbound-hosts"
OUTBOX = "/api/v1/outbox"
NOTHING = {"sent": 0, "retried": 0, "failed": 0}


# -- helpers --------------------------------------------------------------------------------------------------

def deliver(app) -> dict:
    """One dispatcher pass, now."""
    with app.app_context():
        try:
            return deliver_due(dt.datetime.now(dt.timezone.utc))
        finally:
            db.session.remove()


def outbox(admin) -> list[dict]:
    response = admin.get(OUTBOX)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def allow(admin, pattern: str, allow_private: bool = False) -> dict:
    response = admin.post(HOSTS, json={"pattern": pattern, "allow_private": allow_private})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def receivers():
    """Start local HTTP servers on 127.0.0.1 that count every request; `receivers(redirect_to=None)`.

    Each has `.port`, `.hits` (method, path, Host header) and `.url(host="127.0.0.1")`; with
    `redirect_to` it answers 302 (or `.status`) pointing there, otherwise 200.
    """
    started = []

    def start(redirect_to: str | None = None, status: int = 302, tls: ssl.SSLContext | None = None):
        hits: list[tuple[str, str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                hits.append((self.command, self.path, self.headers.get("Host")))
                self.send_response(status if redirect_to else 200)
                if redirect_to:
                    self.send_header("Location", redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        port = server.server_port
        scheme = "https" if tls is not None else "http"
        return SimpleNamespace(port=port, hits=hits,
                               url=lambda host="127.0.0.1", path="/hook": f"{scheme}://{host}:{port}{path}")

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def modeler(admin, make):
    """A plain user who may deploy and start diagrams (the `modelers` group), and has deployed one
    whose script calls `call_webhook(target_url)`."""
    client = make.client("mallory", groups=["modelers"])
    client.deploy(fixture("crm", "webhook.bpmn"))
    return client


def call(client, url: str) -> dict:
    """Start the webhook diagram with `url`; returns the started instance."""
    return client.start("crm_webhook", {"target_url": url})


def incident(admin, instance_id: str) -> dict:
    instance = admin.instance(instance_id)
    assert instance["status"] == "error", instance
    [found] = instance["incidents"]
    return found


# -- refused when a step queues the call ----------------------------------------------------------------------

@pytest.mark.parametrize(("url", "cause"), [
    ("http://127.0.0.1:{port}/internal/admin", "calls to 127.0.0.1 are refused: the host is not on the outbound allow list"),
    ("http://169.254.169.254/latest/meta-data/", "calls to 169.254.169.254 are refused"),
    ("http://10.0.0.7/", "calls to 10.0.0.7 are refused"),
    ("http://[::1]:{port}/hook", "calls to ::1 are refused"),
    ("http://[::ffff:127.0.0.1]:{port}/hook", "calls to 127.0.0.1 are refused"),
    ("http://localhost:{port}/hook", "calls to localhost are refused"),
    ("http://2130706433:{port}/hook", "'2130706433' is neither a host name nor an IP address"),
    ("ftp://127.0.0.1:{port}/hook", "only http:// and https:// URLs may be called, not ftp scheme"),
    ("file:///etc/passwd", "only http:// and https:// URLs may be called, not file scheme"),
    ("gopher://127.0.0.1:{port}/_redis", "not gopher scheme"),
], ids=["loopback", "metadata", "ten-net", "ipv6-loopback", "ipv4-mapped", "localhost", "decimal-ip", "ftp",
        "file", "gopher"])
def test_a_plain_users_call_to_a_host_off_the_list_fails_the_step_and_sends_nothing(app, admin, modeler, receivers,
                                                                                    url, cause):
    receiver = receivers()
    allow(admin, "hooks.example.com")  # the list is not empty: it just does not hold these

    started = call(modeler, url.format(port=receiver.port))

    assert started["status"] == "error"
    found = incident(admin, started["id"])
    assert found["element_id"] == "call" and cause in found["message"]
    assert outbox(admin) == []
    assert deliver(app) == NOTHING
    assert receiver.hits == []


def test_a_url_with_user_info_is_refused_even_for_an_allowed_host(app, admin, modeler):
    allow(admin, "hooks.example.com")

    started = call(modeler, "http://hooks.example.com@127.0.0.1/")

    assert "may not carry user info" in incident(admin, started["id"])["message"]
    assert outbox(admin) == []


def test_the_refused_instance_stays_at_its_last_good_state_and_a_retry_goes_on_once_the_host_is_allowed(
        app, admin, modeler, receivers):
    receiver = receivers()
    started = call(modeler, receiver.url())
    assert "not on the outbound allow list" in incident(admin, started["id"])["message"]
    assert admin.instance(started["id"])["variables"].get("delivery_id") is None

    allow(admin, "127.0.0.1", allow_private=True)
    retried = admin.post(f"/api/v1/process-instances/{started['id']}/retry")

    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "completed"
    [message] = outbox(admin)
    assert admin.instance(started["id"])["variables"]["delivery_id"] == message["id"]
    assert deliver(app) == {"sent": 1, "retried": 0, "failed": 0}
    assert [hit[:2] for hit in receiver.hits] == [("POST", "/hook")]


def test_an_allowed_host_is_called(app, admin, modeler, receivers):
    receiver = receivers()
    allow(admin, "127.0.0.1", allow_private=True)

    started = call(modeler, receiver.url(path="/hook?topic=deals"))

    assert started["status"] == "completed"
    assert deliver(app) == {"sent": 1, "retried": 0, "failed": 0}
    assert receiver.hits == [("POST", "/hook?topic=deals", f"127.0.0.1:{receiver.port}")]
    assert [m["status"] for m in outbox(admin)] == ["sent"]


def test_operators_allow_hosts_in_the_configuration(app, admin, modeler, receivers, monkeypatch):
    receiver = receivers()
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE", ("localhost",))

    started = call(modeler, receiver.url("localhost"))

    assert started["status"] == "completed"
    assert deliver(app)["sent"] == 1 and len(receiver.hits) == 1


def test_a_bad_pattern_in_the_configuration_refuses_every_call_and_names_the_setting(admin, modeler, monkeypatch, app):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW", ("hooks example com",))

    started = call(modeler, "https://hooks.example.com/x")

    assert "STAGECOACH_OUTBOUND_ALLOW holds 'hooks example com'" in incident(admin, started["id"])["message"]


# -- refused when the outbox delivers the call ------------------------------------------------------------------

def _only_failed_message(admin, reason: str) -> dict:
    [message] = outbox(admin)
    assert message["status"] == "failed" and message["attempts"] == 1, message
    assert message["last_error"].startswith("refused: ") and reason in message["last_error"], message["last_error"]
    return message


@pytest.mark.parametrize(("host", "pattern"), [("localhost", "localhost"), ("127.0.0.1", "127.0.0.1"),
                                               ("127.0.0.1", "127.0.0.0/8")])
def test_an_allowed_host_that_is_a_private_address_is_refused_at_delivery_unless_allowed_private(
        app, admin, modeler, receivers, host, pattern):
    receiver = receivers()
    allow(admin, pattern)  # public addresses only

    started = call(modeler, receiver.url(host))

    assert started["status"] == "completed"  # the host is on the list: queued
    assert deliver(app) == {"sent": 0, "retried": 0, "failed": 1}
    _only_failed_message(admin, f"calls to {host} are refused: it resolves to")
    assert "loopback" in outbox(admin)[0]["last_error"]
    assert deliver(app) == NOTHING  # failed for good, not retried
    assert receiver.hits == []


def test_a_host_taken_off_the_list_after_the_call_was_queued_is_refused_at_delivery(app, admin, modeler, receivers):
    receiver = receivers()
    entry = allow(admin, "127.0.0.1", allow_private=True)
    call(modeler, receiver.url())

    assert admin.delete(f"{HOSTS}/{entry['id']}").status_code == 204
    assert deliver(app) == {"sent": 0, "retried": 0, "failed": 1}

    _only_failed_message(admin, "not on the outbound allow list")
    assert receiver.hits == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_from_an_allowed_host_is_a_failed_delivery_and_is_not_followed(app, admin, modeler, receivers,
                                                                                  status):
    internal = receivers()  # what the redirect points at: loopback, reached under a name not on the list
    redirecting = receivers(redirect_to=internal.url("localhost", "/internal/admin"), status=status)
    allow(admin, "127.0.0.1", allow_private=True)

    call(modeler, redirecting.url())
    counts = deliver(app)

    assert counts == {"sent": 0, "retried": 0, "failed": 1}
    _only_failed_message(admin, f"answered {status} redirecting to http://localhost:{internal.port}/internal/admin")
    assert len(redirecting.hits) == 1 and internal.hits == []


def test_delivery_connects_to_the_address_it_checked_and_resolves_the_name_once(app, admin, modeler, receivers,
                                                                                monkeypatch):
    """`hooks.test` exists in no DNS: the request only arrives if it goes to the address the check resolved."""
    receiver = receivers()
    allow(admin, "hooks.test", allow_private=True)
    lookups = []

    def resolve(host, port):
        lookups.append((host, port))
        return ["127.0.0.1"]

    monkeypatch.setattr(outbound, "resolve", resolve)
    call(modeler, receiver.url("hooks.test"))

    assert deliver(app) == {"sent": 1, "retried": 0, "failed": 0}
    assert lookups == [("hooks.test", receiver.port)]
    assert receiver.hits == [("POST", "/hook", f"hooks.test:{receiver.port}")]


@pytest.fixture
def certificate(tmp_path):
    """`certificate(name)`: a self-signed certificate for the host `name`, as (cert file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")

    def make(name: str) -> tuple[str, str]:
        cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key),
                        "-out", str(cert)], check=True, capture_output=True)
        return str(cert), str(key)
    return make


@pytest.fixture
def tls_receiver(receivers, certificate, monkeypatch):
    """`tls_receiver(cert_name)`: an HTTPS receiver presenting a certificate for `cert_name`, which the
    server trusts; `hooks.test` resolves to 127.0.0.1."""
    def start(cert_name: str):
        cert, key = certificate(cert_name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        trusting = ssl.create_default_context
        monkeypatch.setattr(ssl, "create_default_context", lambda *a, **kw: trusting(cafile=cert))
        monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
        return receivers(tls=context)
    return start


def test_https_goes_to_the_checked_address_and_verifies_the_certificate_of_the_name(app, admin, modeler,
                                                                                    tls_receiver):
    receiver = tls_receiver("hooks.test")
    allow(admin, "hooks.test", allow_private=True)
    call(modeler, receiver.url("hooks.test"))

    assert deliver(app) == {"sent": 1, "retried": 0, "failed": 0}
    assert receiver.hits == [("POST", "/hook", f"hooks.test:{receiver.port}")]


def test_https_to_a_receiver_with_another_names_certificate_is_not_delivered(app, admin, modeler, tls_receiver):
    receiver = tls_receiver("other.test")
    allow(admin, "hooks.test", allow_private=True)
    call(modeler, receiver.url("hooks.test"))

    assert deliver(app) == {"sent": 0, "retried": 1, "failed": 0}
    [message] = outbox(admin)
    assert "CERTIFICATE_VERIFY_FAILED" in message["last_error"] or "certificate" in message["last_error"]
    assert receiver.hits == []


@pytest.mark.parametrize("answers", [["93.184.216.34", "10.0.0.5"], ["::ffff:127.0.0.1"], ["169.254.169.254"],
                                     ["2002:7f00:1::1"], ["64:ff9b::a00:1"], ["fd00::1"], ["0.0.0.0"]],
                         ids=["one-of-two-private", "ipv4-mapped-loopback", "metadata", "6to4-loopback",
                              "nat64-private", "unique-local", "unspecified"])
def test_a_public_only_host_that_resolves_to_any_private_address_is_refused(app, admin, modeler, monkeypatch,
                                                                            answers):
    """A name rebound to a private address between queueing and delivery goes nowhere."""
    allow(admin, "hooks.example.com")
    monkeypatch.setattr(outbound, "resolve", lambda host, port: answers)
    call(modeler, "https://hooks.example.com/deals")
    connections = []
    monkeypatch.setattr("socket.create_connection", lambda *a, **kw: connections.append(a))

    assert deliver(app) == {"sent": 0, "retried": 0, "failed": 1}

    _only_failed_message(admin, "calls to hooks.example.com are refused: it resolves to")
    assert connections == []


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "fec0::1",
    "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::", "2001:db8::1"])
def test_addresses_that_are_not_public(address):
    assert outbound.not_public(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert outbound.not_public(ipaddress.ip_address(address)) is None


# -- per-process limits ---------------------------------------------------------------------------------------

@pytest.fixture
def calls_twice(admin, modeler):
    """The modeler's diagram: one step queues a webhook per url and an email per address, a user task
    waits, the next step queues the same again."""
    modeler.deploy(fixture("crm", "outbound_calls.bpmn"))
    allow(admin, "hooks.example.com")


def _complete_review(admin, instance_id: str):
    [task] = admin.get(f"/api/v1/tasks?instance_id={instance_id}").get_json()["items"]
    return admin.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})


def test_one_step_over_its_limit_fails_naming_the_limit_and_queues_nothing(app, admin, modeler, calls_twice,
                                                                         monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_MAX_PER_STEP", 3)

    started = modeler.start("crm_outbound_calls", {"urls": ["https://hooks.example.com/a"] * 2,
                                                   "emails": ["a@example.com", "b@example.com"]})

    assert started["status"] == "error"
    found = incident(admin, started["id"])
    assert found["element_id"] == "first"
    assert "at most 3 outbound calls" in found["message"]
    assert "STAGECOACH_OUTBOUND_MAX_PER_STEP" in found["message"]
    assert outbox(admin) == []


def test_the_step_limit_counts_each_step_on_its_own(app, admin, modeler, calls_twice, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_MAX_PER_STEP", 3)
    variables = {"urls": ["https://hooks.example.com/a"] * 2, "emails": ["a@example.com"]}

    started = modeler.start("crm_outbound_calls", variables)
    assert started["status"] == "running" and len(outbox(admin)) == 3
    completed = _complete_review(admin, started["id"])

    assert completed.status_code == 200, completed.get_json()
    assert admin.instance(started["id"])["status"] == "completed"
    assert len(outbox(admin)) == 6


def test_an_instance_over_its_total_limit_fails_the_step_that_goes_over(app, admin, modeler, calls_twice,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_MAX_PER_INSTANCE", 5)
    started = modeler.start("crm_outbound_calls", {"urls": ["https://hooks.example.com/a"] * 3, "emails": []})
    assert started["status"] == "running"

    _complete_review(admin, started["id"])

    found = incident(admin, started["id"])
    assert found["element_id"] == "again"
    assert "at most 5 outbound calls" in found["message"]
    assert "STAGECOACH_OUTBOUND_MAX_PER_INSTANCE" in found["message"]
    assert len(outbox(admin)) == 3  # the first step's calls; the failed step's went with it


def test_the_limits_have_safe_defaults(app):
    assert app.config["OUTBOUND_MAX_PER_STEP"] == 50
    assert app.config["OUTBOUND_MAX_PER_INSTANCE"] == 1000
    assert app.config["OUTBOUND_ALLOW"] == () and app.config["OUTBOUND_ALLOW_PRIVATE"] == ()


# -- workflow rules -----------------------------------------------------------------------------------------------

RULES = "/api/v1/workflow-rules"


def webhook_rule(*urls: str) -> dict:
    return {"name": "deal hook", "module": "Deals", "event": "create",
            "actions": [{"type": "webhook", "url": url} for url in urls]}


def new_deal(client) -> dict:
    response = client.post("/api/v1/modules/Deals/records", json={"deal_name": "Acme", "amount": 100})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rule_instance(admin, deal: dict) -> dict:
    [summary] = admin.get(f"/api/v1/process-instances?record_id={deal['id']}").get_json()["items"]
    return admin.instance(summary["id"])


@pytest.mark.parametrize(("url", "cause"), [
    ("http://127.0.0.1/internal", "calls to 127.0.0.1 are refused: the host is not on the outbound allow list"),
    ("http://169.254.169.254/latest/meta-data/", "calls to 169.254.169.254 are refused"),
    ("http://localhost:8080/", "calls to localhost are refused"),
    ("http://user:secret@hooks.example.com/", "may not carry user info"),
])
def test_a_rule_calling_a_host_off_the_list_is_a_400_and_nothing_is_saved(admin, url, cause):
    allow(admin, "hooks.example.com")

    body = assert_problem(admin.post(RULES, json=webhook_rule(url)), 400)

    [message] = body["errors"]["actions[0].url"]
    assert cause in message
    assert admin.get(RULES).get_json()["total"] == 0


def test_a_rule_whose_host_was_taken_off_the_list_fails_its_run_with_an_incident(app, admin, make):
    entry = allow(admin, "hooks.example.com")
    assert admin.post(RULES, json=webhook_rule("https://hooks.example.com/deals")).status_code == 201
    assert admin.delete(f"{HOSTS}/{entry['id']}").status_code == 204
    seller = make.client("sam")

    deal = new_deal(seller)

    instance = rule_instance(admin, deal)
    assert instance["status"] == "error"
    assert "calls to hooks.example.com are refused" in instance["incidents"][0]["message"]
    assert outbox(admin) == []


def test_a_rule_to_an_allowed_name_that_resolves_to_loopback_is_refused_at_delivery(app, admin, make, receivers):
    receiver = receivers()
    allow(admin, "localhost")  # public addresses only
    assert admin.post(RULES, json=webhook_rule(receiver.url("localhost"))).status_code == 201

    deal = new_deal(make.client("sam"))

    assert rule_instance(admin, deal)["status"] == "completed"
    assert deliver(app) == {"sent": 0, "retried": 0, "failed": 1}
    _only_failed_message(admin, "calls to localhost are refused: it resolves to")
    assert receiver.hits == []


def test_a_rule_to_an_allowed_private_host_delivers(app, admin, make, receivers):
    receiver = receivers()
    allow(admin, "127.0.0.1", allow_private=True)
    assert admin.post(RULES, json=webhook_rule(receiver.url())).status_code == 201

    new_deal(make.client("sam"))

    assert deliver(app) == {"sent": 1, "retried": 0, "failed": 0}
    assert [hit[:2] for hit in receiver.hits] == [("POST", "/hook")]


def test_a_rule_run_over_the_step_limit_fails_at_the_action_that_goes_over(app, admin, make, monkeypatch):
    """Each action is a script task of its own: those before the refused one ran and stay run."""
    allow(admin, "hooks.example.com")
    assert admin.post(RULES, json=webhook_rule(*[f"https://hooks.example.com/{n}" for n in range(3)])
                      ).status_code == 201
    monkeypatch.setitem(app.config, "OUTBOUND_MAX_PER_STEP", 2)

    deal = new_deal(make.client("sam"))

    instance = rule_instance(admin, deal)
    assert instance["status"] == "error"
    [found] = instance["incidents"]
    assert found["element_id"] == "action_3" and "STAGECOACH_OUTBOUND_MAX_PER_STEP" in found["message"]
    assert sorted(m["payload"]["url"] for m in outbox(admin)) == [
        "https://hooks.example.com/0", "https://hooks.example.com/1"]
    retried = admin.post(f"/api/v1/process-instances/{instance['id']}/retry")  # a new step, a new count
    assert retried.status_code == 200 and retried.get_json()["status"] == "completed", retried.get_json()
    assert len(outbox(admin)) == 3


# -- managing the allow list ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("Hooks.Example.COM.", "hooks.example.com"), ("*.Example.com", "*.example.com"), ("10.1.0.0/16", "10.1.0.0/16"),
    ("10.1.2.3/16", "10.1.0.0/16"), ("[::1]", "::1"), ("2001:DB8::7", "2001:db8::7"), ("bücher.example", "xn--bcher-kva.example"),
])
def test_an_admin_adds_patterns_stored_in_their_short_form(admin, given, stored):
    response = admin.post(HOSTS, json={"pattern": given, "note": "partner"})

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["pattern"] == stored and created["allow_private"] is False
    assert created["note"] == "partner" and created["created_by"] == "admin" and created["id"]


@pytest.mark.parametrize("pattern", ["", "   ", "*", "*.com", "http://hooks.example.com", "hooks example.com",
                                     "10.0.0.0/33", "300.1.1.1", "127.1", "a" * 64 + ".example.com", "-x.example.com"])
def test_a_pattern_that_is_no_host_address_or_network_is_a_400(admin, pattern):
    body = assert_problem(admin.post(HOSTS, json={"pattern": pattern}), 400)

    assert "pattern" in body["errors"]
    assert admin.get(HOSTS).get_json()["total"] == 0


def test_a_pattern_already_on_the_list_is_a_409(admin):
    allow(admin, "hooks.example.com")

    body = assert_problem(admin.post(HOSTS, json={"pattern": "HOOKS.example.com"}), 409)

    assert "already on the allow list" in body["detail"]


def test_an_admin_lists_and_deletes_entries(admin):
    second = allow(admin, "b.example.com", allow_private=True)
    first = allow(admin, "a.example.com")

    listed = admin.get(HOSTS).get_json()
    assert [(h["pattern"], h["allow_private"]) for h in listed["items"]] == [
        ("a.example.com", False), ("b.example.com", True)]
    assert listed["total"] == 2

    assert admin.delete(f"{HOSTS}/{second['id']}").status_code == 204
    assert [h["id"] for h in admin.get(HOSTS).get_json()["items"]] == [first["id"]]
    assert_problem(admin.delete(f"{HOSTS}/{second['id']}"), 404)


def test_only_an_admin_manages_the_list(admin, modeler, client):
    entry = allow(admin, "hooks.example.com")

    assert_problem(modeler.get(HOSTS), 403)
    assert_problem(modeler.post(HOSTS, json={"pattern": "127.0.0.1", "allow_private": True}), 403)
    assert_problem(modeler.delete(f"{HOSTS}/{entry['id']}"), 403)
    assert_problem(client.get(HOSTS), 401)
    assert [h["pattern"] for h in admin.get(HOSTS).get_json()["items"]] == ["hooks.example.com"]


def test_a_wildcard_covers_subdomains_only(app_ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW", ("*.example.com",))

    outbound.check_url("https://hooks.example.com/x")
    outbound.check_url("https://a.b.example.com/x")
    for url in ("https://example.com/x", "https://evilexample.com/x", "https://example.com.evil.net/x"):
        with pytest.raises(outbound.OutboundRefusedError) as refused:
            outbound.check_url(url)
        assert "not on the outbound allow list" in str(refused.value)
