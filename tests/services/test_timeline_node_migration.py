"""Migration 0023 gives existing timeline entries the node Path Finder groups them by; new ones get it written.

Runs on its own SQLite file, whatever TEST_DATABASE_URL says.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from app.models.crm import touchpoint_node

from ..migrating import DatabaseAt
from ..timing import real_now

AT = real_now().replace(microsecond=0) - dt.timedelta(days=1)


def _entry(type_: str, data) -> dict:
    return {"record_id": "r1", "module": "Leads", "type": type_, "at": AT, "data": data}


def test_upgrading_to_0023_writes_each_touchpoints_node_and_nothing_for_other_entries(tmp_path):
    database = DatabaseAt(tmp_path, "0022_analytics_indexes")
    engine = database.engine
    events = database.table("crm_record_event")
    entries = [
        _entry("created", {"fields": {"last_name": "Okafor"}}),
        _entry("stage_changed", {"field": "stage", "from": "New", "to": "Qualified"}),  # before stages were marked
        _entry("email_opened", {"touchpoint": True, "name": "Welcome", "message_id": "m1"}),
        _entry("call_logged", {"touchpoint": True}),
        _entry("demo_booked", {"touchpoint": True, "name": ""}),
        _entry("note", {"text": "a touchpoint was mentioned", "touchpoint": "yes"}),  # not JSON true
        _entry("updated", None),
    ]
    with engine.begin() as conn:
        conn.execute(events.insert(), entries)

    database.upgrade()
    with engine.connect() as conn:
        nodes = [row.node for row in conn.execute(sa.text("SELECT node FROM crm_record_event ORDER BY id"))]
    assert nodes == [None, "stage: Qualified", "email_opened: Welcome", "call_logged", "demo_booked", None, None]
    assert nodes == [touchpoint_node(e["type"], e["data"]) for e in entries]  # as new entries get theirs


def test_a_new_entry_gets_its_node_as_it_is_written(app, admin):
    from app.extensions import db
    from app.models import RecordEvent

    lead = admin.post("/api/v1/modules/Leads/records", json={"last_name": "Okafor"}).get_json()["id"]
    posted = admin.post(f"/api/v1/modules/Leads/records/{lead}/touchpoints",
                        json={"type": "demo_booked", "data": {"name": "Pricing"}})
    assert posted.status_code == 201, posted.get_json()
    with app.app_context():
        nodes = [(e.type, e.node) for e in db.session.scalars(
            sa.select(RecordEvent).where(RecordEvent.record_id == lead).order_by(RecordEvent.id))]
        db.session.remove()
    assert ("demo_booked", "demo_booked: Pricing") in nodes
    assert ("created", None) in nodes
