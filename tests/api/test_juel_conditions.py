"""A Camunda Modeler diagram with JUEL and FEEL expressions deploys and routes over HTTP; one whose
expressions cannot be translated is refused at deploy, naming file, line and element of each."""
from __future__ import annotations

import io

import pytest

from ..factories import assert_problem, fixture

DIAGRAM = fixture("valid", "juel_gateway.bpmn")
KEY = "juel_gateway"


def open_tasks(client, instance_id: str) -> list[dict]:
    response = client.get(f"/api/v1/tasks?state=open&process_instance_id={instance_id}&per_page=100")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def review(admin, variables: dict) -> tuple[str, dict | None]:
    """Start an order, check the JUEL assignee of its review, complete it; return the instance and next task."""
    started = admin.start(KEY, variables)
    [task] = open_tasks(admin, started["id"])
    assert task["element_id"] == "review" and task["assignee"] == "olga"
    done = admin.complete(task["id"])
    next_tasks = open_tasks(admin, started["id"])
    assert len(next_tasks) <= 1
    assert done["status"] == ("running" if next_tasks else "completed")
    return started["id"], (next_tasks[0] if next_tasks else None)


@pytest.fixture
def deployed(admin):
    deployment = admin.deploy(DIAGRAM)
    assert [d["key"] for d in deployment["definitions"]] == [KEY]
    return admin


@pytest.mark.parametrize(("amount", "region", "element_id"), [
    (1500, "EU", "manager_approval"),  # ${amount > 1000}
    (1001, "US", "manager_approval"),
    (1000, "EU", "eu_check"),  # ${amount <= 1000}, then = customer.region = "EU"
    (20, "EU", "eu_check"),
])
def test_juel_and_feel_conditions_route_the_order(deployed, amount, region, element_id):
    customer = {"region": region, "account_manager": "erik"}

    _, task = review(deployed, {"owner": "olga", "amount": amount, "customer": customer})

    assert task["element_id"] == element_id
    if element_id == "eu_check":
        assert task["assignee"] == "erik"  # ${customer.account_manager}
    else:
        assert task["assignee"] is None and task["candidate_groups"] == ["managers"]


def test_a_small_order_outside_the_eu_takes_the_default_flow_and_finishes(deployed):
    instance_id, task = review(deployed, {"owner": "olga", "amount": 10, "customer": {"region": "US"}})

    assert task is None
    assert deployed.instance(instance_id)["status"] == "completed"


def test_an_untranslatable_expression_is_refused_at_deploy_naming_element_and_line(admin):
    text = DIAGRAM.read_text()
    text = text.replace(">${amount &lt;= 1000}<", ">${execution.getVariable('amount') &lt;= 1000}<")
    text = text.replace('>= customer.region = "EU"<', ">= customer.region == &quot;EU&quot;<")
    lines = text.splitlines()
    small_line = next(i for i, line in enumerate(lines, 1) if "execution.getVariable" in line)
    eu_line = next(i for i, line in enumerate(lines, 1) if "customer.region ==" in line)

    response = admin.post("/api/v1/deployments", content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(text.encode()), "juel_refused.bpmn")]})

    body = assert_problem(response, 422)
    problems = {p["element_id"]: p for p in body["bpmn"]}
    assert set(problems) == {"flow_small", "flow_eu"}  # every problem in one round
    small, eu = problems["flow_small"], problems["flow_eu"]
    assert (small["file"], small["line"], small["element_type"]) == ("juel_refused.bpmn", small_line, "sequenceFlow")
    assert "execution.getVariable" in small["message"] and "${amount}" in small["message"]
    assert "column 3" in small["message"]
    assert eu["line"] == eu_line and "FEEL compares with '='" in eu["message"]
    assert admin.get("/api/v1/process-definitions").get_json()["total"] == 0
