"""Execution counts: how many times each element of an instance was entered, from its audit trail."""
from __future__ import annotations

import pytest

from app.errors import NotFoundError
from app.extensions import db
from app.services.core import Actor
from app.services.history import element_counts

from ..factories import fixture



def counts(app, instance_id: str, actor: Actor) -> dict[str, int]:
    with app.app_context():
        try:
            return element_counts(instance_id, actor)
        finally:
            db.session.remove()


def test_an_element_entered_again_by_a_loop_is_counted_each_time(server, make):
    admin = server.login()
    make.user("sam", groups=["staff"])
    admin.deploy(fixture("valid", "rework_loop.bpmn"))
    started = admin.start("rework_loop")
    for approved in (False, False, True):  # two rejections, then approval; the state is saved and read back
        server.restart()
        [task] = server.admin.instance(started["id"])["tasks"]
        server.admin.complete(task["id"], {"approved": approved})

    found = counts(server.app, started["id"], Actor("admin", (), True))

    assert found == {"start": 1, "draft": 3, "approved_gateway": 3, "end": 1}
    assert server.admin.instance(started["id"])["status"] == "completed"


def test_counts_are_for_those_who_may_read_the_instance(app, admin, make):
    make.user("olga")
    admin.deploy(fixture("valid", "rework_loop.bpmn"))
    started = admin.start("rework_loop")

    assert counts(app, started["id"], Actor("admin", (), True)) == {"start": 1, "draft": 1}
    with pytest.raises(NotFoundError) as refused:
        counts(app, started["id"], Actor("olga"))
    assert started["id"] in refused.value.detail
