"""Touchpoints the server records itself, each once and in the transaction of the step that caused it:
an email queued by a process (`email_sent`), its tracked open and clicks through the public pixel and
click links (`email_opened`, `email_clicked`: forged, tampered and replayed tokens record nothing more,
a click redirects only where its token says), a message correlated (`message_received`), a form
completed (`form_submitted`) and a call to-do done (`call_logged`); a tracked open rescores the record
and releases the instances waiting for `email_opened`."""
from __future__ import annotations

import datetime as dt

import pytest

from app.crm import tracking

from ..factories import assert_problem, fixture, signed_links, tracking_tokens
from .test_bindings import bind, blueprint, create, get, records, timeline  # noqa: F401 - the blueprint fixture

SECRET = "test-secret-key"  # TestConfig.SECRET_KEY
OFFER, TERMS = "https://shop.example/offer?a=1&b=2", "https://shop.example/terms"


@pytest.fixture
def touching(clock, admin, make):
    """New leads get a call to-do and a tracked HTML email, then wait for its open and a survey form."""
    admin.deploy(fixture("crm", "touchpoints.bpmn"))
    bind(admin, module="Leads", event="create", process_key="crm_touchpoints")
    return make.client("rita", groups=["sales_reps"])


def touchpoints(client, record_id: str) -> list[tuple]:
    return [(e["type"], e["data"].get("name")) for e in timeline(client, "Leads", record_id)
            if (e["data"] or {}).get("touchpoint")]


def email_of(admin, record_id: str) -> dict:
    [message] = [m for m in admin.get(f"/api/v1/outbox?record_id={record_id}").get_json()["items"]
                 if m["kind"] == "email"]
    return message


def running(admin, record_id: str) -> dict:
    [inst] = admin.get(f"/api/v1/process-instances?record_id={record_id}").get_json()["items"]
    return inst


def test_a_queued_email_is_an_email_sent_touchpoint_with_its_links_and_pixel_tracked(touching, admin):
    lead = create(touching, "Leads", last_name="Moreau")

    message = email_of(admin, lead["id"])
    [sent] = [e for e in timeline(admin, "Leads", lead["id"]) if e["type"] == "email_sent"]
    assert sent["data"] == {"touchpoint": True, "name": "Our offer, Moreau", "to": ["lead@example.com"],
                            "message_id": message["id"]}
    assert sent["instance_id"] == running(admin, lead["id"])["id"] == message["instance_id"]
    body = message["payload"]["body"]
    assert message["payload"]["html"] is True
    assert signed_links(body) == [OFFER, TERMS]  # the HTML entity in the href is read as the browser reads it
    assert len(tracking_tokens(body, "o")) == 1 and body.index("/t/o/") < body.index("</body>")
    assert "shop.example" not in body  # only signed inside the tokens


def test_a_fields_markup_goes_into_an_html_email_as_text_and_its_links_are_never_signed(touching, admin):
    injected = '<a href="https://attacker.example/phish">Win</a><script>alert(1)</script>'
    lead = create(touching, "Leads", last_name=injected)
    body = email_of(admin, lead["id"])["payload"]["body"]

    assert "Dear &lt;a href=&#34;https://attacker.example/phish&#34;&gt;Win&lt;/a&gt;&lt;script&gt;" in body
    assert signed_links(body) == [OFFER, TERMS]  # the template's own links only
    assert "<script>" not in body


def test_a_link_with_spaces_or_control_characters_is_not_made_a_click_link():
    body = '<html><body><a href="https://a.example/x&#13;&#10;X-Injected: yes">a</a> <a href="https://b.example/">b</a>'
    out = tracking.instrument(body, "https://crm.test", lambda kind, url=None: f"{kind}-{url}")
    assert 'href="https://a.example/x&#13;&#10;X-Injected: yes"' in out  # left as written: no token, no redirect
    assert 'href="https://crm.test/t/c/click-https://b.example/"' in out
    assert not tracking.followable("javascript:alert(1)") and not tracking.followable("https://a.example/\x00")


def test_a_plain_text_email_gets_its_links_rewritten_and_no_pixel():
    body = "Read https://shop.example/a, then https://shop.example/b.\nThanks"

    out = tracking.instrument(body, "https://crm.test", lambda kind, url=None: f"{kind}-{url}")

    assert out == ("Read https://crm.test/t/c/click-https://shop.example/a, then "
                   "https://crm.test/t/c/click-https://shop.example/b.\nThanks")


def test_a_step_that_fails_after_queueing_the_email_records_no_touchpoint(touching, admin):
    lead = create(touching, "Leads", last_name="Fail")

    assert running(admin, lead["id"])["status"] == "error"
    assert admin.get(f"/api/v1/outbox?record_id={lead['id']}").get_json()["items"] == []
    assert touchpoints(admin, lead["id"]) == []


def test_the_pixel_records_the_first_open_once_and_releases_the_waiting_instance(touching, admin, client):
    lead = create(touching, "Leads", last_name="Moreau")
    message = email_of(admin, lead["id"])
    [pixel] = tracking_tokens(message["payload"]["body"], "o")

    responses = [client.get(f"/t/o/{pixel}") for _ in range(3)]  # a proxy fetching twice, the reader again

    for response in responses:
        assert response.status_code == 200 and response.mimetype == "image/gif"
        assert response.data.startswith(b"GIF89a") and "no-store" in response.headers["Cache-Control"]
    entries = timeline(admin, "Leads", lead["id"])
    [opened] = [e for e in entries if e["type"] == "email_opened"]
    assert opened["data"] == {"touchpoint": True, "name": "Our offer, Moreau", "message_id": message["id"]}
    assert opened["instance_id"] == message["instance_id"] and opened["user"] is None
    # the open is the touchpoint: the email_opened message the pixel delivers is not noted a second time
    assert [e for e in entries if e["type"] == "message_received"] == []
    [task] = admin.get(f"/api/v1/tasks?process_instance_id={message['instance_id']}").get_json()["items"]
    assert task["name"] == "Answer the survey"


def test_a_signed_link_to_an_unfollowable_url_is_refused_and_records_nothing(touching, admin, client):
    lead = create(touching, "Leads", last_name="Moreau")
    message = email_of(admin, lead["id"])
    token = tracking.sign(SECRET, tracking.CLICK, message["id"], "https://a.example/x\r\nX-Injected: yes")

    response = client.get(f"/t/c/{token}")

    assert assert_problem(response, 404)["type"].endswith("/invalid-tracking-link")
    assert "Location" not in response.headers
    assert touchpoints(admin, lead["id"]) == [("email_sent", "Our offer, Moreau")]


def test_a_click_redirects_only_to_its_signed_link_once_recorded_and_counts_as_the_open(touching, admin, client):
    lead = create(touching, "Leads", last_name="Moreau")
    offer, terms = tracking_tokens(email_of(admin, lead["id"])["payload"]["body"], "c")

    first = client.get(f"/t/c/{offer}?url=https://evil.example/&next=https://evil.example/")
    again = client.get(f"/t/c/{offer}")
    other = client.get(f"/t/c/{terms}")

    assert [r.status_code for r in (first, again, other)] == [302, 302, 302]
    assert first.headers["Location"] == again.headers["Location"] == OFFER and other.headers["Location"] == TERMS
    assert touchpoints(admin, lead["id"]) == [
        ("email_sent", "Our offer, Moreau"), ("email_opened", "Our offer, Moreau"),
        ("email_clicked", "Our offer, Moreau"), ("email_clicked", "Our offer, Moreau")]
    clicked = [e["data"]["url"] for e in timeline(admin, "Leads", lead["id"]) if e["type"] == "email_clicked"]
    assert clicked == [OFFER, TERMS]


def test_forged_tampered_and_misused_tokens_record_nothing_and_redirect_nowhere(touching, admin, client):
    lead = create(touching, "Leads", last_name="Moreau")
    body = email_of(admin, lead["id"])["payload"]["body"]
    [pixel], [offer, _] = tracking_tokens(body, "o"), tracking_tokens(body, "c")
    message_id = email_of(admin, lead["id"])["id"]
    forged = tracking.sign("another-secret", tracking.CLICK, message_id, "https://evil.example/")
    payload, signature = offer.rsplit(".", 1)
    tampered = f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}"

    for token in (forged, tampered, pixel, "nonsense", offer[:-2]):
        problem = assert_problem(client.get(f"/t/c/{token}"), 404)
        assert problem["type"] == "/problems/invalid-tracking-link"
    for token in (tracking.sign("another-secret", tracking.OPEN, message_id), offer, "x"):
        response = client.get(f"/t/o/{token}")
        assert response.status_code == 200 and response.mimetype == "image/gif"

    assert touchpoints(admin, lead["id"]) == [("email_sent", "Our offer, Moreau")]
    assert running(admin, lead["id"])["status"] == "running"


def test_a_tracked_open_rescores_the_record_once(touching, admin, client):
    response = admin.put("/api/v1/modules/Leads/scoring", json={"touchpoints": {"email_opened": 5, "email_sent": 1}})
    assert response.status_code == 200, response.get_json()
    lead = create(touching, "Leads", last_name="Moreau")
    assert get(admin, "Leads", lead["id"])["score"] == 1  # the email_sent of the step that created it
    [pixel] = tracking_tokens(email_of(admin, lead["id"])["payload"]["body"], "o")

    client.get(f"/t/o/{pixel}")
    client.get(f"/t/o/{pixel}")

    assert get(admin, "Leads", lead["id"])["score"] == 6
    changes = [e["data"] for e in timeline(admin, "Leads", lead["id"]) if e["type"] == "score_changed"]
    assert [(c["old"], c["new"]) for c in changes] == [(None, 0), (0, 1), (1, 6)]


def test_a_completed_form_is_a_form_submitted_touchpoint(touching, admin, client):
    lead = create(touching, "Leads", last_name="Moreau")
    [pixel] = tracking_tokens(email_of(admin, lead["id"])["payload"]["body"], "o")
    client.get(f"/t/o/{pixel}")
    inst = running(admin, lead["id"])
    [task] = admin.get(f"/api/v1/tasks?process_instance_id={inst['id']}").get_json()["items"]

    touching.complete(task["id"], {"rating": 5})

    [form] = [e for e in timeline(admin, "Leads", lead["id"]) if e["type"] == "form_submitted"]
    assert form["data"] == {"touchpoint": True, "name": "Answer the survey", "element_id": "survey",
                            "process_key": "crm_touchpoints"}
    assert form["user"] == "rita" and form["instance_id"] == inst["id"]


def test_a_completed_call_to_do_logs_the_call_once(touching, admin):
    lead = create(touching, "Leads", last_name="Moreau")
    [todo] = admin.get(f"/api/v1/crm-tasks?record_id={lead['id']}").get_json()["items"]
    assert todo["kind"] == "call"

    for action in ("complete", "reopen", "complete"):
        response = admin.post(f"/api/v1/crm-tasks/{todo['id']}/{action}")
        assert response.status_code == 200, response.get_json()

    [logged] = [e for e in timeline(admin, "Leads", lead["id"]) if e["type"] == "call_logged"]
    assert logged["data"] == {"touchpoint": True, "name": "Call Moreau", "task_id": todo["id"]}


def test_an_integration_may_still_post_a_call_but_not_an_open(touching, admin):
    lead = create(touching, "Leads", last_name="Moreau")
    url = f"{records('Leads')}/{lead['id']}/touchpoints"

    assert admin.post(url, json={"type": "call_logged", "data": {"minutes": 4}}).status_code == 201
    assert_problem(admin.post(url, json={"type": "email_opened", "data": {}}), 400)

    assert [t for t, _ in touchpoints(admin, lead["id"])] == ["email_sent", "call_logged"]


def test_a_stage_reached_is_a_touchpoint_with_its_transition_and_the_time_spent_before(clock, admin, blueprint):
    from .test_bindings import perform

    rita, _, _ = blueprint
    clock.shift(dt.timedelta(minutes=1))
    deal = create(rita, "Deals", deal_name="Acme")
    clock.shift(dt.timedelta(hours=3, seconds=2))

    response = perform(rita, deal["id"], "advance", amount=800)

    assert response.status_code == 200, response.get_json()
    changed = [e for e in timeline(admin, "Deals", deal["id"]) if e["type"] == "stage_changed"]
    assert [e["data"] for e in changed] == [
        {"touchpoint": True, "name": "Qualification", "field": "stage", "from": None, "to": "Qualification",
         "transition": None, "who": "rita", "previous_stage_ms": 0},
        {"touchpoint": True, "name": "Negotiation", "field": "stage", "from": "Qualification", "to": "Negotiation",
         "transition": "advance", "who": "rita", "previous_stage_ms": (3 * 3600 + 2) * 1000}]
    assert changed[1]["instance_id"] == changed[0]["instance_id"] is not None
