"""The two forms of "the instances and tasks an actor may read" agree: the set form (`id IN (union)`, for
long lists) and the per-row form (`few=True`, correlated lookups, for a list narrowed to a record's few)."""
from __future__ import annotations

from ..factories import fixture, shipped


def test_the_per_row_check_reads_what_the_set_check_reads(app, admin, make):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import HumanTask, ProcessInstance
    from app.services.access import readable_instances, readable_tasks
    from app.services.core import Actor

    admin.deploy(fixture("crm", "follow_up_todo.bpmn"))
    assert admin.post("/api/v1/bindings", json={"module": "Deals", "event": "create",
                                                "process_key": "crm_follow_up_todo"}).status_code == 201
    admin.deploy(shipped("approvals", "discount_approval.bpmn"))
    make.user("ben")
    rita = make.client("rita", manager="ben", groups=["sales_reps"])
    make.user("maria", groups=["sales_managers"])
    make.user("cole")
    rita.post("/api/v1/modules/Deals/records", json={"deal_name": "Initech"})
    admin.post("/api/v1/modules/Deals/records", json={"deal_name": "Globex", "owner": "rita"})
    started = admin.post("/api/v1/process-definitions/key/discount_approval/start",
                         json={"variables": {"discount": 18, "deal_name": "Acme"}})
    assert started.status_code in (200, 201), started.get_json()

    actors = [Actor("rita", ("sales_reps",)), Actor("ben"), Actor("maria", ("sales_managers",)), Actor("cole"),
              Actor("admin", (), True)]
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ProcessInstance)) >= 3
        seen = []
        for actor in actors:
            sets, rows = readable_instances(actor), readable_instances(actor, few=True)
            if sets is None:
                assert rows is None
                continue
            by_set = set(db.session.scalars(select(ProcessInstance.id).where(sets)))
            by_row = set(db.session.scalars(select(ProcessInstance.id).where(rows)))
            assert by_set == by_row, actor
            tasks_by_set = set(db.session.scalars(select(HumanTask.id).where(readable_tasks(actor))))
            tasks_by_row = set(db.session.scalars(select(HumanTask.id).where(readable_tasks(actor, few=True))))
            assert tasks_by_set == tasks_by_row, actor
            seen.append(len(by_set))
        assert max(seen) > 0 and min(seen) == 0  # someone reads instances, cole none
