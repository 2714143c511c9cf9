"""/api/v1 answers what its OpenAPI document says, whatever it is sent.

schemathesis reads the served /openapi.json and, for every operation, sends
the documented examples, boundary and just-out-of-bounds values (its coverage
phase) and a few generated requests, valid and invalid, as an admin and as a
user without grants. Every answer must be no server error, of a documented
status and content type, and match the documented schema. A value the
database refused (a bound missing from a schema, caught by the last-resort
400) fails the run too: the schema, not the database, must refuse it.

Bounded: a few generated examples per operation, no shrinking, one
deterministic seed, so the file runs in well under a minute on SQLite.
"""
from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from app import create_app
from app.api.common import ProblemSchema

from ..conftest import make_config
from ..factories import ApiClient, fixture

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=8, deadline=2000, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def _served_schema(coverage: bool):
    """The OpenAPI document as the app serves it, read at collection time (no database needed for it);
    the requests go to the test's own `app`. The coverage phase sends each parameter's boundary values and
    the values just past them, and each operation's other methods."""
    documenting = create_app(make_config("sqlite://", AUTO_UPGRADE=False))
    config = schemathesis.Config.from_dict({"seed": 1, "phases": {"coverage": {"enabled": coverage}}})
    return schemathesis.openapi.from_wsgi("/openapi.json", documenting, config=config)


admin_schema = _served_schema(coverage=True)
user_schema = _served_schema(coverage=False)  # what a user may not do is refused before its input matters


def _seed(admin: ApiClient) -> None:
    """Something to list: definitions, an instance with an open task, an external task, a record."""
    admin.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "external_charge.bpmn"))
    admin.start("simple_user_task", business_key="order-1")
    admin.start("external_charge", {"amount": 10})
    response = admin.post("/api/v1/modules/Leads/records", json={"last_name": "Lovelace", "region": "EU"})
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def as_admin(admin) -> dict:
    _seed(admin)
    return {"Authorization": f"Bearer {admin.token}"}


@pytest.fixture
def as_user(admin, make) -> dict:
    """A user without grants: most calls are refused, none may fail."""
    _seed(admin)
    return {"Authorization": f"Bearer {make.client('fuzzed').token}"}


@pytest.fixture(autouse=True)
def _no_value_refused_by_the_database(caplog):
    with caplog.at_level(logging.WARNING):
        yield
    refused = [r.getMessage() for r in caplog.records if "refused by the database" in r.getMessage()]
    assert not refused, refused


def _call_and_check(app, case, headers: dict) -> None:
    response = case.call(app=app, headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@admin_schema.parametrize()
@FUZZ
def test_every_answer_to_an_admin_is_documented(app, case, as_admin):
    _call_and_check(app, case, as_admin)


@user_schema.parametrize()
@FUZZ
def test_every_answer_to_a_user_without_grants_is_documented(app, case, as_user):
    _call_and_check(app, case, as_user)


# -- the document itself ---------------------------------------------------------------------------

def _operations(app):
    spec = app.test_client().get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_problem_responses(app):
    for label, operation in _operations(app):
        responses = operation["responses"]
        expected = {"400", "401", "503", "default"} | ({"413", "415"} if "requestBody" in operation else set())
        assert expected <= set(responses), f"{label} lacks {expected - set(responses)}"
        for status, response in responses.items():
            if status == "default" or int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], f"{label} {status}"


def _problem_classes() -> set[str]:
    """The names of every error class that is answered as a problem (StagecoachError and its subclasses)."""
    import app.api  # noqa: F401  (imports every module that defines one)
    from app.errors import StagecoachError

    found, todo = set(), [StagecoachError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found - {"CamundaError"}  # rendered as Camunda's body, its keywords are not problem members


def test_the_problem_schema_declares_every_member_a_problem_carries():
    """Every keyword a problem is raised with (besides the error's own arguments) is a declared member."""
    classes, arguments = _problem_classes(), {"detail", "errors", "bpmn", "headers"}
    members = set()
    for source in Path(__file__).resolve().parents[2].joinpath("app").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name in classes:
                    members |= {k.arg for k in node.keywords if k.arg and k.arg not in arguments}
    assert {"instance_status", "assignee"} <= members, "the scan found too little: it is broken"
    assert members <= set(ProblemSchema().fields), members - set(ProblemSchema().fields)
