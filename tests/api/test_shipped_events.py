"""The shipped event-driven processes end to end over HTTP, on a controllable clock: the Zylker Travels
customer journey (bpmn/journeys), the lead follow-up cadence (bpmn/cadences), the lead follow-up reminder
rule (bpmn/rules) and the case SLA (bpmn/sla).

Each scenario deploys those folders (and bpmn/zylker, whose Trips module the journey writes to) through the
API, applies their stagecoach.json manifests, and plays the people and systems involved: a web form that
creates enquiries, customers whose opens, answers, replies and issues arrive as messages, users who edit
records and complete tasks. Time is frozen with time-machine and moved forward by the test; timers fire when
the test runs the due jobs, as the job worker would. Every request loads the instance from the database and
saves it again, so each scenario is also a save/restore round trip between its steps.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from config import TestConfig

from ..factories import ApiClient, assert_problem, shipped, signed_links, tracking_tokens
from ..timing import next_at

FOLDERS = ("zylker", "journeys", "cadences", "rules", "sla")  # zylker first: it declares Trips
MANIFEST = "stagecoach.json"
DEPLOYABLE = {".bpmn", ".dmn", ".json"}
START = next_at(9, weekday=0)  # the next Monday, 09:00 UTC

# username: (groups, email, manager)
USERS = {
    # Zylker Travels: the web form posts enquiries, travel advisors take them in turn, support helps travellers
    "webform": ([], None, None),
    "zara": (["sales_reps"], "zara@zylker.test", "sam"),
    "zeno": (["sales_reps"], "zeno@zylker.test", "sam"),
    "sam": (["sales_managers"], "sam@zylker.test", None),
    "zylker_support": (["zylker_support"], "support@zylker.test", None),
    # inside sales: lead owners, one with a manager and one without
    "lena": (["inside_sales"], "lena@crm.test", "max"),
    "max": (["sales_managers"], "max@crm.test", None),
    "otto": (["inside_sales"], "otto@crm.test", None),
    # customer support: agent → team lead → support manager
    "sue": (["support"], "sue@help.test", "tim"),
    "tim": (["support"], "tim@help.test", "mona"),
    "mona": (["support_managers"], "mona@help.test", None),
}


class World:
    """The deployed processes, the frozen clock, and a logged-in client per person."""

    def __init__(self, app, traveller):
        self.app = app
        self.traveller = traveller
        self.now = START
        self._clients: dict[str, tuple[dt.datetime, ApiClient]] = {}

    def __getitem__(self, username: str) -> ApiClient:
        # Tokens live 12 hours and the tests travel days: log in again when the clock has moved.
        cached = self._clients.get(username)
        if cached is None or cached[0] != self.now:
            password = TestConfig.ADMIN_PASSWORD if username == "admin" else "secret"
            self._clients[username] = (self.now, ApiClient.login(self.app, username, password))
        return self._clients[username][1]

    @property
    def admin(self) -> ApiClient:
        return self["admin"]

    def advance(self, **delta) -> dict[str, int]:
        """Let `delta` (and one more second) pass, then run the due jobs as the job worker would."""
        from app.extensions import db
        from app.jobs.runner import run_due_jobs

        self.now += dt.timedelta(**delta) + dt.timedelta(seconds=1)
        self.traveller.move_to(self.now)
        with self.app.app_context():
            counts = run_due_jobs()
            db.session.remove()
        assert counts["failed"] == counts["retried"] == 0, counts
        return counts

    def advance_to(self, moment: dt.datetime) -> dict[str, int]:
        """Let time pass until just after `moment`, then run the due jobs."""
        return self.advance(seconds=(moment - self.now).total_seconds())


@pytest.fixture
def world(app) -> World:
    """Deploy the shipped folders over HTTP, apply their manifests, create the people; time stands at START."""
    from app.extensions import db
    from app.services.core import SYSTEM
    from app.services.modules import apply_manifest
    from app.services.users import create_user

    with time_machine.travel(START, tick=False) as traveller:
        w = World(app, traveller)
        for folder in FOLDERS:
            files = [p for p in sorted(shipped(folder).iterdir()) if p.suffix in DEPLOYABLE and p.name != MANIFEST]
            w.admin.deploy(*files)
        with app.app_context():
            for folder in FOLDERS:
                apply_manifest(json.loads(shipped(folder, MANIFEST).read_text()), SYSTEM)
            for name, (groups, email, manager) in USERS.items():
                create_user(name, "secret", groups, False, email=email, manager=manager, actor=SYSTEM)
            db.session.remove()
        yield w


# -- helpers ----------------------------------------------------------------------------------------

def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def create(api: ApiClient, module: str, **fields) -> dict:
    return ok(api.post(f"/api/v1/modules/{module}/records", json=fields), 201)


def record(api: ApiClient, module: str, record_id: str) -> dict:
    return ok(api.get(f"/api/v1/modules/{module}/records/{record_id}"))


def edit(api: ApiClient, module: str, record_id: str, **fields) -> dict:
    return ok(api.patch(f"/api/v1/modules/{module}/records/{record_id}", json=fields))


def find(api: ApiClient, module: str, **filters) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return ok(api.get(f"/api/v1/modules/{module}/records?{query}&per_page=100"))["items"]


def instance_of(w: World, record_id: str, key: str) -> dict:
    [found] = ok(w.admin.get(f"/api/v1/process-instances?record_id={record_id}&key={key}"))["items"]
    return found


def message(w: World, name: str, expect: int = 200, **body) -> dict:
    """A message from outside (email tracking, the survey tool, the help desk), sent by an admin."""
    response = w.admin.post("/api/v1/messages", json={"name": name, **body})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def outbox(w: World, record_id: str, instance_id: str | None = None) -> list[dict]:
    """Emails queued for a record (optionally by one instance), oldest first, with the day and hour queued."""
    items = ok(w.admin.get(f"/api/v1/outbox?record_id={record_id}&per_page=200"))["items"]
    mails = []
    for m in items:
        if m["kind"] != "email" or (instance_id and m["instance_id"] != instance_id):
            continue
        at = dt.datetime.fromisoformat(m["created_at"])
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        elapsed = at - START
        mails.append(dict(m["payload"], at=at, day=elapsed.days, hour=int(elapsed.total_seconds() // 3600)))
    return sorted(mails, key=lambda m: (m["at"], m["subject"]))


def crm_tasks(w: World, record_id: str) -> list[dict]:
    items = ok(w.admin.get(f"/api/v1/crm-tasks?record_id={record_id}&status=&per_page=100"))["items"]
    return sorted(items, key=lambda t: t["created_at"])


def notes(w: World, module: str, record_id: str) -> list[str]:
    events = ok(w.admin.get(f"/api/v1/modules/{module}/records/{record_id}/timeline?per_page=200"))["items"]
    return [e["data"]["text"] for e in events if e["type"] == "note"]


def human_tasks(w: World, instance_id: str, state: str = "open") -> list[dict]:
    return ok(w.admin.get(f"/api/v1/tasks?process_instance_id={instance_id}&state={state}"))["items"]


def day(n: int) -> str:
    """The date n days after START."""
    return (START + dt.timedelta(days=n)).date().isoformat()


def midnight(n: int) -> dt.datetime:
    """The start (00:00 UTC) of the day n days after START."""
    return dt.datetime.combine(START.date() + dt.timedelta(days=n), dt.time(), tzinfo=dt.UTC)


# -- Zylker Travels customer journey ---------------------------------------------------------------

def _web_enquiry(w: World, **fields) -> dict:
    fields = {"first_name": "Ana", "last_name": "Lima", "email": "ana@example.com",
              "interests": "Beaches and old towns", **fields}
    return create(w["webform"], "WebEnquiries", **fields)


def test_a_web_enquiry_gets_the_welcome_series_and_leaves_the_journey_when_nothing_is_opened(world):
    enquiry = _web_enquiry(world)
    journey = instance_of(world, enquiry["id"], "zylker_customer_journey")
    assert journey["status"] == "running" and journey["record_role"] == "process"
    started = record(world.admin, "WebEnquiries", enquiry["id"])
    assert (started["owner"], started["journey_stage"]) == ("zara", "Welcome series")  # advisors in turn

    [welcome] = outbox(world, enquiry["id"])
    assert welcome["to"] == ["ana@example.com"] and welcome["day"] == 0
    assert welcome["subject"] == "Welcome to Zylker Travels, Ana"
    # the survey link is a tracked click link leading there (reading the token records nothing)
    assert signed_links(welcome["body"]) == [f"https://zylker.example/survey/{enquiry['id']}"]

    world.advance(days=1, hours=23)
    assert len(outbox(world, enquiry["id"])) == 1
    world.advance(hours=1)  # day 2
    assert len(outbox(world, enquiry["id"])) == 2
    world.advance(days=3)  # day 5
    assert len(outbox(world, enquiry["id"])) == 3
    world.advance(days=1)  # day 6
    assert world.admin.instance(journey["id"])["status"] == "running"
    world.advance(days=1)  # day 7

    mails = outbox(world, enquiry["id"])
    assert [(m["day"], m["subject"]) for m in mails] == [
        (0, "Welcome to Zylker Travels, Ana"), (2, "Ideas for your next journey, Ana"),
        (5, "Still dreaming of a trip, Ana?")]
    assert all(m["to"] == ["ana@example.com"] for m in mails)
    assert world.admin.instance(journey["id"])["status"] == "completed"
    left = record(world.admin, "WebEnquiries", enquiry["id"])
    assert left["journey_stage"] == "Left" and left.get("contact") is None
    assert notes(world, "WebEnquiries", enquiry["id"]) == [
        "No email of the welcome series was opened within 7 days: the enquiry left the customer journey."]
    assert find(world.admin, "Contacts", email="ana@example.com") == []
    assert_problem(world.admin.post("/api/v1/messages", json={"name": "email_opened",
                                                              "business_key": enquiry["id"]}), 404)


def test_the_welcome_email_opened_in_a_mail_client_releases_the_journey_without_any_integration(world):
    enquiry = _web_enquiry(world)
    journey = instance_of(world, enquiry["id"], "zylker_customer_journey")
    [welcome] = outbox(world, enquiry["id"])
    [pixel] = tracking_tokens(welcome["body"], "o")
    world.advance(days=1)

    reader = world.app.test_client()  # the customer's mail client: no account, no token
    for _ in range(2):  # shown twice (an image proxy, then the reader): one open
        assert reader.get(f"/t/o/{pixel}").mimetype == "image/gif"

    assert record(world.admin, "WebEnquiries", enquiry["id"])["journey_stage"] == "Engaged"
    assert notes(world, "WebEnquiries", enquiry["id"]) == ["Opened the welcome email: waiting for the survey answer."]
    events = ok(world.admin.get(f"/api/v1/modules/WebEnquiries/records/{enquiry['id']}/timeline?per_page=200"))["items"]
    assert [(e["type"], e["data"]["name"], e["instance_id"]) for e in events if e["data"].get("touchpoint")] == [
        ("email_sent", "Welcome to Zylker Travels, Ana", journey["id"]),
        ("email_opened", "Welcome to Zylker Travels, Ana", journey["id"])]  # the open, not also the message it delivers
    world.advance(days=3)  # the series stopped at the open: no day-2 email
    assert [m["day"] for m in outbox(world, enquiry["id"])] == [0]


def test_an_opened_email_and_a_survey_answer_make_a_contact_and_a_trip_and_issues_reach_support(world):
    _web_enquiry(world, last_name="First")  # zara takes this one, zeno the next
    enquiry = _web_enquiry(world, phone="+351 21 000 0000")
    journey = instance_of(world, enquiry["id"], "zylker_customer_journey")
    assert_problem(world.admin.post("/api/v1/messages", json={  # the survey counts only after an open
        "name": "survey_answered", "business_key": enquiry["id"], "variables": {"destination": "Lisbon"}}), 404)

    world.advance(days=1)
    delivered = message(world, "email_opened", business_key=enquiry["id"])
    assert delivered["delivered"] == [journey["id"]]
    assert record(world.admin, "WebEnquiries", enquiry["id"])["journey_stage"] == "Engaged"
    world.advance(days=3)  # the series stopped at the open: no day-2 email
    assert [m["day"] for m in outbox(world, enquiry["id"])] == [0]

    message(world, "survey_answered", business_key=enquiry["id"],
            variables={"destination": "Lisbon", "travel_date": day(48)})
    customer = record(world.admin, "WebEnquiries", enquiry["id"])
    assert customer["owner"] == "zeno"
    assert (customer["journey_stage"], customer["destination"], customer["travel_date"]) == (
        "Customer", "Lisbon", day(48))
    [contact] = find(world.admin, "Contacts", email="ana@example.com")
    assert contact["id"] == customer["contact"]
    assert (contact["first_name"], contact["last_name"], contact["phone"], contact["owner"]) == (
        "Ana", "Lima", "+351 21 000 0000", "zeno")
    trip = record(world.admin, "Trips", customer["trip_id"])
    assert (trip["trip_name"], trip["destination"], trip["travel_date"], trip["owner"]) == (
        "Lima: Lisbon", "Lisbon", day(48), "zeno")
    assert notes(world, "WebEnquiries", enquiry["id"]) == [
        "Opened the welcome email: waiting for the survey answer.",
        f"Answered the survey (Lisbon): converted to a contact, trip {trip['id']} created."]
    booked = outbox(world, enquiry["id"])[-1]
    assert (booked["to"], booked["subject"], booked["day"]) == (["ana@example.com"], "Your Zylker trip to Lisbon", 4)

    # the help desk reports issues against the trip: correlated by the journey's trip_id variable
    world.advance(days=40)
    for issue in ("The hotel lost our booking", "Our transfer did not come"):
        done = message(world, "customer_issue", correlation={"trip_id": trip["id"]}, variables={"issue": issue})
        assert done["delivered"] == [journey["id"]]
        assert record(world.admin, "WebEnquiries", enquiry["id"])["last_issue"] == issue
    mails = outbox(world, enquiry["id"])[-4:]
    alerts = [m for m in mails if m["subject"] == "Trip issue: Ana Lima in Lisbon"]
    support = [m for m in mails if m["subject"] == "We are on it, Ana"]
    assert [m["to"] for m in alerts] == [["support@zylker.test", "zeno@zylker.test"]] * 2
    # both issues arrive at the same instant of the test clock: their alerts are not ordered between them
    hotel, transfer = sorted(alerts, key=lambda m: "Our transfer did not come" in m["body"])
    assert "The hotel lost our booking" in hotel["body"] and trip["id"] in hotel["body"]
    assert "Our transfer did not come" in transfer["body"]
    assert [m["to"] for m in support] == [["ana@example.com"]] * 2 and "Lisbon" in support[0]["body"]
    tasks = crm_tasks(world, enquiry["id"])
    assert [(t["subject"], t["owner"], t["due_date"]) for t in tasks] == [("Trip issue: Lima in Lisbon",
                                                                            "zylker_support", day(44))] * 2

    # aftercare ends 14 days after the travel date, at midnight UTC
    world.advance_to(midnight(48 + 14) - dt.timedelta(minutes=1))
    assert world.admin.instance(journey["id"])["status"] == "running"
    world.advance(minutes=1)
    assert world.admin.instance(journey["id"])["status"] == "completed"
    assert record(world.admin, "WebEnquiries", enquiry["id"])["journey_stage"] == "Completed"
    assert notes(world, "WebEnquiries", enquiry["id"])[-1] == "Aftercare is over: the customer journey is complete."
    assert_problem(world.admin.post("/api/v1/messages", json={
        "name": "customer_issue", "correlation": {"trip_id": trip["id"]}}), 404)


def test_without_a_travel_date_aftercare_lasts_30_days_after_booking(world):
    enquiry = _web_enquiry(world)
    message(world, "email_opened", business_key=enquiry["id"])
    message(world, "survey_answered", business_key=enquiry["id"], variables={"destination": "Kyoto"})
    trip = record(world.admin, "Trips", record(world.admin, "WebEnquiries", enquiry["id"])["trip_id"])
    assert (trip["destination"], trip.get("travel_date")) == ("Kyoto", None)
    journey = instance_of(world, enquiry["id"], "zylker_customer_journey")
    world.advance(days=29, hours=23)
    assert world.admin.instance(journey["id"])["status"] == "running"
    world.advance(hours=1)
    assert world.admin.instance(journey["id"])["status"] == "completed"


def test_an_engaged_customer_who_skips_the_survey_is_handed_to_the_advisor_after_7_days(world):
    enquiry = _web_enquiry(world, first_name=None, last_name="Okafor", email="okafor@example.com")
    journey = instance_of(world, enquiry["id"], "zylker_customer_journey")
    world.advance(days=2, hours=1)  # the day-2 email went out, then the customer opens one
    message(world, "email_opened", business_key=enquiry["id"])
    world.advance(days=6, hours=23)
    assert crm_tasks(world, enquiry["id"]) == []
    world.advance(hours=1)

    [task] = crm_tasks(world, enquiry["id"])
    assert (task["subject"], task["owner"], task["due_date"]) == (
        "Call Okafor about their trip ideas", "zara", day(10))
    assert world.admin.instance(journey["id"])["status"] == "completed"
    assert record(world.admin, "WebEnquiries", enquiry["id"])["journey_stage"] == "Left"
    assert notes(world, "WebEnquiries", enquiry["id"])[-1] == (
        "Opened the welcome email but did not answer the survey within 7 days: handed to the travel advisor.")
    assert [m["day"] for m in outbox(world, enquiry["id"])] == [0, 2]
    assert find(world.admin, "Contacts", email="okafor@example.com") == []


# -- lead follow-up cadence --------------------------------------------------------------------------

def _lead(w: World, owner: str = "lena", **fields) -> tuple[dict, dict]:
    fields = {"first_name": "Ana", "last_name": "Lima", "company": "Initech", "email": "ana@initech.test",
              **fields}
    lead = create(w[owner], "Leads", **fields)
    return lead, instance_of(w, lead["id"], "lead_follow_up_cadence")


def _cadence_mails(w: World, lead: dict, cadence: dict) -> list[tuple[int, str]]:
    mails = outbox(w, lead["id"], cadence["id"])
    assert all(m["to"] == [lead["email"]] for m in mails)
    return [(m["day"], m["subject"]) for m in mails]


def _cadence_tasks(w: World, lead: dict) -> list[tuple[str, str, str]]:
    return [(t["subject"], t["owner"], t["due_date"]) for t in crm_tasks(w, lead["id"])]


def test_the_cadence_emails_on_days_0_and_5_plans_calls_on_days_2_and_9_and_ends_on_day_14(world):
    lead, cadence = _lead(world)
    assert _cadence_mails(world, lead, cadence) == [(0, "Nice to meet you, Ana")]
    assert notes(world, "Leads", lead["id"]) == [
        "Enrolled in the follow-up cadence: emails on days 0 and 5, calls on days 2 and 9."]

    world.advance(days=2)
    assert _cadence_tasks(world, lead) == [("Call Ana Lima (follow-up cadence, day 2)", "lena", day(2))]
    world.advance(days=3)
    assert _cadence_mails(world, lead, cadence) == [(0, "Nice to meet you, Ana"), (5, "Following up, Ana")]
    world.advance(days=3, hours=23)
    assert len(_cadence_tasks(world, lead)) == 1
    world.advance(hours=1)
    assert _cadence_tasks(world, lead)[1] == ("Last follow-up call: Ana Lima (follow-up cadence, day 9)", "lena",
                                              day(9))
    world.advance(days=5)

    assert world.admin.instance(cadence["id"])["status"] == "completed"
    assert notes(world, "Leads", lead["id"])[-1] == "The follow-up cadence ended on day 14 without a reply."
    assert len(_cadence_mails(world, lead, cadence)) == 2 and len(_cadence_tasks(world, lead)) == 2
    assert record(world.admin, "Leads", lead["id"]).get("lead_status") is None


def test_a_reply_releases_only_the_lead_that_replied_and_is_noted_as_the_goal(world):
    lead, cadence = _lead(world, lead_status="New")
    other, other_cadence = _lead(world, first_name="Bo", last_name="Berg", email="bo@globex.test")
    world.advance(days=2)
    world.advance(days=1)
    assert message(world, "reply", business_key=lead["id"],
                   variables={"excerpt": "Thursday works for me"})["delivered"] == [cadence["id"]]

    assert world.admin.instance(cadence["id"])["status"] == "completed"
    assert notes(world, "Leads", lead["id"])[-1] == (
        "Replied during the follow-up cadence (goal met): Thursday works for me")
    assert record(world.admin, "Leads", lead["id"])["lead_status"] == "Contacted"
    for days in (2, 4, 5):  # to days 5, 9 and 14
        world.advance(days=days)
    assert _cadence_mails(world, lead, cadence) == [(0, "Nice to meet you, Ana")]
    assert [t[0] for t in _cadence_tasks(world, lead)] == ["Call Ana Lima (follow-up cadence, day 2)"]
    assert [d for d, _ in _cadence_mails(world, other, other_cadence)] == [0, 5]  # the other lead goes on
    assert len(_cadence_tasks(world, other)) == 2
    assert world.admin.instance(other_cadence["id"])["status"] == "completed"
    assert_problem(world.admin.post("/api/v1/messages", json={"name": "reply", "business_key": lead["id"]}), 404)


def test_a_lead_is_unenrolled_on_demand_and_the_remaining_steps_are_dropped(world):
    lead, cadence = _lead(world)
    for days in (2, 3, 1):  # to days 2, 5 and 6
        world.advance(days=days)
    message(world, "unenrol", business_key=lead["id"], variables={"reason": "asked not to be contacted"})
    assert world.admin.instance(cadence["id"])["status"] == "completed"
    assert notes(world, "Leads", lead["id"])[-1] == "Unenrolled from the follow-up cadence: asked not to be contacted"
    world.advance(days=10)
    assert [d for d, _ in _cadence_mails(world, lead, cadence)] == [0, 5]
    assert len(_cadence_tasks(world, lead)) == 1  # the day-9 call is not planned
    assert record(world.admin, "Leads", lead["id"]).get("lead_status") is None


def test_a_reply_without_an_excerpt_and_an_unenrolment_without_a_reason_are_noted_plainly(world):
    lead, _ = _lead(world)
    message(world, "reply", business_key=lead["id"])
    assert notes(world, "Leads", lead["id"])[-1] == "Replied during the follow-up cadence (goal met)."
    other, _ = _lead(world, email="other@initech.test")
    message(world, "unenrol", business_key=other["id"])
    assert notes(world, "Leads", other["id"])[-1] == "Unenrolled from the follow-up cadence."


def test_only_leads_with_an_email_address_are_enrolled(world):
    lead = create(world["lena"], "Leads", last_name="Nomail", company="Hooli")
    keys = [i["key"] for i in ok(world.admin.get(f"/api/v1/process-instances?record_id={lead['id']}"))["items"]]
    assert keys == ["lead_follow_up_reminder"]


# -- lead follow-up reminder rule ------------------------------------------------------------------

def _watched_lead(w: World, owner: str = "lena", **fields) -> tuple[dict, dict]:
    lead = create(w[owner], "Leads", last_name="Moreau", company="Umbrella", **fields)  # no email: no cadence
    return lead, instance_of(w, lead["id"], "lead_follow_up_reminder")


def _reminders(w: World, lead: dict, rule: dict) -> list[tuple[float, list[str]]]:
    mails = outbox(w, lead["id"], rule["id"])
    assert all(m["subject"] == "Follow up on the lead Moreau" for m in mails)
    return [((m["at"] - START).total_seconds() / 3600, m["to"]) for m in mails]


def test_a_lead_idle_for_2_days_reminds_its_owner_and_the_owners_manager_once(world):
    lead, rule = _watched_lead(world)
    world.advance(days=1, hours=23)
    assert _reminders(world, lead, rule) == []
    world.advance(hours=1)
    [(hours, to)] = _reminders(world, lead, rule)
    assert 48 <= hours < 48.1 and to == ["lena@crm.test", "max@crm.test"]
    [mail] = outbox(world, lead["id"], rule["id"])
    assert "owned by lena, has not been updated for 2 days" in mail["body"] and "(Umbrella)" in mail["body"]
    world.advance(days=4)
    assert len(_reminders(world, lead, rule)) == 1  # one reminder per idle spell

    edit(world["lena"], "Leads", lead["id"], lead_status="Contacted")  # day 6: the next spell starts
    world.advance(days=2)
    assert [round(h) for h, _ in _reminders(world, lead, rule)] == [48, 192]
    assert world.admin.instance(rule["id"])["status"] == "running"


def test_a_lead_left_alone_for_30_days_after_its_reminder_is_no_longer_watched(world):
    lead, rule = _watched_lead(world)
    world.advance(days=2)
    world.advance(days=29, hours=23)
    assert world.admin.instance(rule["id"])["status"] == "running"
    world.advance(hours=1)
    assert world.admin.instance(rule["id"])["status"] == "completed"
    assert notes(world, "Leads", lead["id"]) == [
        "No update for 32 days, 30 of them after a follow-up reminder: the lead is no longer watched."]
    assert len(_reminders(world, lead, rule)) == 1
    edit(world["lena"], "Leads", lead["id"], phone="+1 555 0199")  # nobody listens any more: fine


def test_any_edit_restarts_the_2_days(world):
    lead, rule = _watched_lead(world)
    world.advance(days=1, hours=12)
    edit(world["lena"], "Leads", lead["id"], phone="+1 555 0100")
    world.advance(days=1)  # 2.5 days after creation, 1 day after the edit
    assert _reminders(world, lead, rule) == []
    edit(world["max"], "Leads", lead["id"], lead_status="Contacted")  # anyone's edit counts
    world.advance(days=1, hours=23)
    assert _reminders(world, lead, rule) == []
    world.advance(hours=1)
    assert [(round(h), to) for h, to in _reminders(world, lead, rule)] == [
        (108, ["lena@crm.test", "max@crm.test"])]
    history = ok(world.admin.get(f"/api/v1/process-instances/{rule['id']}/history?per_page=200"))["items"]
    assert [h["data"]["name"] for h in history if h["type"] == "message_received"] == ["record_edited"] * 2


def test_a_lead_whose_owner_has_no_manager_reminds_the_owner_alone(world):
    lead, rule = _watched_lead(world, owner="otto")
    world.advance(days=2)
    assert [to for _, to in _reminders(world, lead, rule)] == [["otto@crm.test"]]


def test_a_lost_or_converted_lead_is_no_longer_watched(world):
    lost, lost_rule = _watched_lead(world)
    converted, converted_rule = _watched_lead(world, owner="otto")
    world.advance(days=1)
    edit(world["lena"], "Leads", lost["id"], lead_status="Lost")
    edit(world["otto"], "Leads", converted["id"], converted=True)
    world.advance(days=2)
    for lead, rule in ((lost, lost_rule), (converted, converted_rule)):
        assert world.admin.instance(rule["id"])["status"] == "completed"
        assert _reminders(world, lead, rule) == []
        history = ok(world.admin.get(f"/api/v1/process-instances/{rule['id']}/history?per_page=200"))["items"]
        assert [h["element_id"] for h in history if h["type"] == "element_entered"][-1] == "lead_closed"


def test_a_lead_can_take_a_few_hundred_edits_and_is_still_watched(world):
    # Each edit takes the loop once more and deepens the task tree by 3; the engine refuses past 900.
    lead, rule = _watched_lead(world)
    lena = world["lena"]
    for n in range(250):
        edit(lena, "Leads", lead["id"], employees=n + 1)
    assert world.admin.instance(rule["id"])["status"] == "running"
    world.advance(days=2)
    assert len(_reminders(world, lead, rule)) == 1
    assert world.admin.instance(rule["id"])["status"] == "running"


# -- case SLA --------------------------------------------------------------------------------------------

def _case(w: World, **fields) -> tuple[dict, dict]:
    fields = {"subject": "Invoice shows the wrong VAT", "priority": "High", **fields}
    case = create(w["sue"], "Cases", **fields)
    return case, instance_of(w, case["id"], "case_sla")


def _escalations(w: World, case: dict) -> list[tuple[int, list[str], str]]:
    return [(m["hour"], m["to"], m["subject"]) for m in outbox(w, case["id"])]


def _resolve(w: World, instance: dict, user: str = "sue", **variables) -> dict:
    [task] = human_tasks(w, instance["id"])
    return ok(w[user].post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables}))


def test_an_unresolved_case_is_escalated_to_the_team_lead_after_4_hours_and_the_manager_after_8(world):
    case, sla = _case(world)
    assert record(world.admin, "Cases", case["id"])["status"] == "New"
    [task] = human_tasks(world, sla["id"])
    assert (task["name"], task["candidate_groups"]) == ("Resolve the case", ["support"])
    assert dt.datetime.fromisoformat(task["due_at"]).replace(tzinfo=dt.UTC) == START + dt.timedelta(hours=4)
    assert task["id"] in [t["id"] for t in ok(world["tim"].get("/api/v1/tasks?mine=true"))["items"]]

    world.advance(hours=3, minutes=59)
    assert _escalations(world, case) == [] and record(world.admin, "Cases", case["id"])["status"] == "New"
    world.advance(minutes=1)
    assert _escalations(world, case) == [(4, ["tim@help.test"], "Case escalated: Invoice shows the wrong VAT")]
    assert record(world.admin, "Cases", case["id"])["status"] == "Escalated"
    assert [t["id"] for t in human_tasks(world, sla["id"])] == [task["id"]]  # the task stays with support
    world.advance(hours=4)
    assert _escalations(world, case)[1:] == [(8, ["mona@help.test"],
                                              "Case unresolved for 8 hours: Invoice shows the wrong VAT")]
    assert "still unresolved after 8 hours" in outbox(world, case["id"])[1]["body"]

    done = _resolve(world, sla, user="tim", outcome="resolved", resolution_note="VAT rate corrected")
    assert done["status"] == "completed"
    assert record(world.admin, "Cases", case["id"])["status"] == "Closed"
    assert notes(world, "Cases", case["id"]) == [
        "Unresolved after 4 hours: escalated to the team lead tim.",
        "Unresolved after 8 hours: escalated to the manager mona.",
        "Resolved: VAT rate corrected"]


def test_escalations_go_to_the_next_person_up_when_the_chain_is_short(world):
    case = create(world["tim"], "Cases", subject="Portal down")  # tim's manager mona has no manager
    world.advance(hours=4)
    world.advance(hours=4)
    assert [(hour, to) for hour, to, _ in _escalations(world, case)] == [(4, ["mona@help.test"]),
                                                                        (8, ["mona@help.test"])]
    assert notes(world, "Cases", case["id"]) == ["Unresolved after 4 hours: escalated to the team lead mona.",
                                                 "Unresolved after 8 hours: escalated to the manager mona."]


def test_a_case_resolved_within_4_hours_is_never_escalated(world):
    case, sla = _case(world, status="New")
    world.advance(hours=2)
    assert _resolve(world, sla, outcome="resolved")["status"] == "completed"
    world.advance(hours=10)
    assert _escalations(world, case) == []
    assert record(world.admin, "Cases", case["id"])["status"] == "Closed"
    assert notes(world, "Cases", case["id"]) == ["Resolved."]
    assert ok(world.admin.get("/api/v1/jobs?status=pending"))["total"] == 0


def test_a_case_waiting_on_the_customer_closes_itself_after_7_days_without_a_reply(world):
    case, sla = _case(world)
    world.advance(hours=1)
    waiting = _resolve(world, sla, outcome="waiting_on_customer", resolution_note="asked for the invoice number")
    assert waiting["status"] == "running" and waiting["tasks"] == []
    world.advance(hours=12)
    assert _escalations(world, case) == []  # the SLA timers went with the task
    world.advance(days=6, hours=11)
    assert record(world.admin, "Cases", case["id"])["status"] == "New"
    world.advance(hours=1)

    assert world.admin.instance(sla["id"])["status"] == "completed"
    assert record(world.admin, "Cases", case["id"])["status"] == "Closed"
    assert notes(world, "Cases", case["id"]) == [
        ("Waiting on the customer: asked for the invoice number. The case closes by itself after 7 days without "
         "a reply."),
        "Closed automatically: no reply from the customer within 7 days."]


def test_a_customer_reply_puts_the_case_back_with_support_with_a_fresh_sla(world):
    case, sla = _case(world)
    _resolve(world, sla, outcome="waiting_on_customer")
    world.advance(days=3)
    delivered = message(world, "customer_replied", business_key=case["id"], variables={"reply": "Number is 4711"})
    assert delivered["delivered"] == [sla["id"]]
    [task] = human_tasks(world, sla["id"])
    assert task["name"] == "Resolve the case"

    world.advance(hours=4)
    assert record(world.admin, "Cases", case["id"])["status"] == "Escalated"
    world.advance(hours=4)
    assert [(m["hour"] - 72, m["to"]) for m in outbox(world, case["id"])] == [
        (4, ["tim@help.test"]), (8, ["mona@help.test"])]
    world.advance(days=5)  # past the end of the first wait: the reply cancelled it
    assert world.admin.instance(sla["id"])["status"] == "running"
    _resolve(world, sla, outcome="resolved")
    assert world.admin.instance(sla["id"])["status"] == "completed"
    assert record(world.admin, "Cases", case["id"])["status"] == "Closed"
    assert_problem(world.admin.post("/api/v1/messages", json={"name": "customer_replied",
                                                              "business_key": case["id"]}), 404)


def test_only_support_resolves_a_case_and_the_outcome_is_required(world):
    _, sla = _case(world)
    [task] = human_tasks(world, sla["id"])
    assert_problem(world["lena"].post(f"/api/v1/tasks/{task['id']}/complete",
                                      json={"variables": {"outcome": "resolved"}}), 404)  # not hers to see
    missing = assert_problem(world["sue"].post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}), 400)
    assert "outcome" in missing["errors"]
    wrong = assert_problem(world["sue"].post(f"/api/v1/tasks/{task['id']}/complete",
                                             json={"variables": {"outcome": "ignored"}}), 400)
    assert "outcome" in wrong["errors"]


# -- what ships ---------------------------------------------------------------------------------------

def test_the_cli_deploys_the_event_folders_and_applies_their_bindings(app, admin):
    runner = app.test_cli_runner()
    validated = runner.invoke(args=["bpmn", "validate", str(shipped())])
    assert validated.exit_code == 0, validated.output
    for key in ("zylker_customer_journey", "lead_follow_up_cadence", "lead_follow_up_reminder", "case_sla"):
        assert f"ok {key} " in validated.output
    deployed = runner.invoke(args=["bpmn", "deploy", str(shipped())])
    assert deployed.exit_code == 0, deployed.output
    bindings = {b["process_key"]: b for b in ok(admin.get("/api/v1/bindings"))["items"]}
    assert {key: (bindings[key]["module"], bindings[key]["event"], bindings[key]["kind"]) for key in (
        "zylker_customer_journey", "lead_follow_up_cadence", "lead_follow_up_reminder", "case_sla")} == {
        "zylker_customer_journey": ("WebEnquiries", "create", "process"),
        "lead_follow_up_cadence": ("Leads", "create", "process"),
        "lead_follow_up_reminder": ("Leads", "create", "process"),
        "case_sla": ("Cases", "create", "process")}
    assert bindings["lead_follow_up_cadence"]["criteria"] == "bool(email)"
    fields = {f["name"] for f in ok(admin.get("/api/v1/modules/WebEnquiries"))["fields"]}
    assert {"email", "journey_stage", "contact", "trip_id", "last_issue"} <= fields


