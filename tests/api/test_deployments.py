"""POST /api/v1/deployments: what is accepted, and how every refusal is explained.

A refused upload is an RFC 9457 problem whose `bpmn` list names the file, the
line and the element of each problem; a deployment is all or nothing; hostile
XML is refused before anything is expanded or read from disk.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from app import create_app
from config import TestConfig

from ..conftest import make_config
from ..factories import ApiClient, fixture, shipped

DEPLOY = "/api/v1/deployments"
PROBLEM = "application/problem+json"
BLUEPRINT = shipped("blueprints", "enquiry_blueprint.bpmn")
NEW_FORM = shipped("blueprints", "enquiry_new.schema.json")
CONTACTED_FORM = shipped("blueprints", "enquiry_contacted.schema.json")


def upload(api: ApiClient, *files: tuple[str, bytes], query: str = ""):
    """POST files (name, content) as the multipart field `files`."""
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return api.post(DEPLOY + query, data=data, content_type="multipart/form-data")


def upload_paths(api: ApiClient, *paths: Path, query: str = ""):
    return upload(api, *[(p.name, p.read_bytes()) for p in paths], query=query)


def definitions_total(api: ApiClient) -> int:
    response = api.get("/api/v1/process-definitions")
    assert response.status_code == 200
    return response.get_json()["total"]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert body["instance"] == DEPLOY
    return body


# -- invalid files ----------------------------------------------------------------

# What each deliberately broken fixture must be reported with, besides its file name.
# Line numbers are those of the faulty element (or of the DOCTYPE) in the fixture.
INVALID = {
    "not_xml": {},
    "truncated": {},
    "not_bpmn": {"line": 3},
    "xxe": {"line": 3},
    "billion_laughs": {"line": 3},
    "unknown_element": {"line": 8, "element_id": "fancy_1"},
    "dangling_flow": {"line": 13, "element_id": "flow_bad"},
    "cron_cycle": {"line": 6, "element_id": "every_5"},
    "script_syntax_error": {"line": 11, "element_id": "bad_script"},
    "no_executable_process": {},
}


def test_every_invalid_fixture_is_covered():
    on_disk = {p.stem for p in fixture("invalid").glob("*.bpmn")}
    assert on_disk == set(INVALID)


@pytest.mark.parametrize("stem", sorted(INVALID))
def test_an_invalid_diagram_is_refused_with_a_problem_naming_file_line_and_element(admin, stem):
    path = fixture("invalid", f"{stem}.bpmn")

    response = upload_paths(admin, path)

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/invalid-bpmn"
    first = body["bpmn"][0]
    assert first["file"] == path.name
    assert first["message"]
    for key, value in INVALID[stem].items():
        assert first[key] == value, (key, first)
    if stem in {"not_xml", "truncated"}:
        assert isinstance(first["line"], int)
    assert definitions_total(admin) == 0


def test_a_diagram_without_an_executable_process_names_the_process_element(admin):
    """The fixture's only process, `not_executable` (line 4), is the faulty element."""
    response = upload_paths(admin, fixture("invalid", "no_executable_process.bpmn"))

    body = assert_problem(response, 422)
    [problem] = body["bpmn"]
    assert problem["file"] == "no_executable_process.bpmn"
    assert problem.get("element_id") == "not_executable"
    assert problem.get("line") == 4


def test_no_executable_process_is_reported_against_the_diagram_not_the_first_upload(admin):
    response = upload(admin, (NEW_FORM.name, NEW_FORM.read_bytes()),
                      ("no_executable_process.bpmn", fixture("invalid", "no_executable_process.bpmn").read_bytes()))

    body = assert_problem(response, 422)
    assert [p["file"] for p in body["bpmn"]] == ["no_executable_process.bpmn"]


def test_xxe_never_leaks_local_files_and_is_refused_cheaply(admin):
    passwd = Path("/etc/passwd")
    leaked = [line for line in passwd.read_text().splitlines()[:3] if line] if passwd.exists() else []

    response = upload_paths(admin, fixture("invalid", "xxe.bpmn"))

    assert 400 <= response.status_code < 500
    text = response.get_data(as_text=True)
    assert "root:" not in text
    for line in leaked:
        assert line not in text
    assert definitions_total(admin) == 0


def test_billion_laughs_is_refused_without_expanding_entities(admin):
    response = upload_paths(admin, fixture("invalid", "billion_laughs.bpmn"))

    assert 400 <= response.status_code < 500
    assert response.mimetype == PROBLEM
    assert len(response.data) < 10_000  # nothing expanded was echoed
    assert "lollol" not in response.get_data(as_text=True)


def test_all_problems_of_one_file_are_listed_at_once(admin, tmp_path):
    diagram = tmp_path / "two_bad_scripts.bpmn"
    diagram.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_two" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="two_bad_scripts" name="Two bad scripts" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="bad_one" name="First" scriptFormat="python">
      <bpmn:incoming>flow_1</bpmn:incoming>
      <bpmn:outgoing>flow_2</bpmn:outgoing>
      <bpmn:script>x = = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="bad_two" name="Second" scriptFormat="python">
      <bpmn:incoming>flow_2</bpmn:incoming>
      <bpmn:outgoing>flow_3</bpmn:outgoing>
      <bpmn:script>if :</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end">
      <bpmn:incoming>flow_3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="bad_one" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="bad_one" targetRef="bad_two" />
    <bpmn:sequenceFlow id="flow_3" sourceRef="bad_two" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""")

    response = upload_paths(admin, diagram)

    body = assert_problem(response, 422)
    found = {(p["file"], p["element_id"], p["line"]) for p in body["bpmn"]}
    assert found == {("two_bad_scripts.bpmn", "bad_one", 10), ("two_bad_scripts.bpmn", "bad_two", 15)}
    assert definitions_total(admin) == 0


# -- what is accepted --------------------------------------------------------------

def test_a_raw_xml_body_deploys_under_the_given_name(admin):
    content = fixture("valid", "simple_user_task.bpmn").read_bytes()

    response = admin.post(f"{DEPLOY}?name=review.bpmn", data=content, content_type="application/xml")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"]
    [definition] = body["definitions"]
    assert definition["key"] == "simple_user_task" and definition["version"] == 1
    assert definition["name"] == "Simple user task"
    stored = admin.get(f"/api/v1/process-definitions/{definition['id']}").get_json()
    assert stored["resource_name"] == "review.bpmn"
    assert admin.get(f"/api/v1/process-definitions/{definition['id']}/xml").data == content


def test_a_bad_raw_xml_body_is_reported_under_the_given_name(admin):
    content = fixture("invalid", "dangling_flow.bpmn").read_bytes()

    response = admin.post(f"{DEPLOY}?name=flows.bpmn", data=content, content_type="application/xml")

    body = assert_problem(response, 422)
    assert body["bpmn"][0]["file"] == "flows.bpmn"
    assert body["bpmn"][0]["element_id"] == "flow_bad"


def test_dry_run_validates_and_deploys_nothing(admin):
    response = upload_paths(admin, fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn"),
                            query="?dry_run=true")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] is None
    assert sorted(d["key"] for d in body["definitions"]) == ["simple_user_task", "three_tasks"]
    assert all(d["id"] is None and d["version"] == 1 and d["unchanged"] is False for d in body["definitions"])
    assert definitions_total(admin) == 0
    assert admin.post("/api/v1/process-definitions/key/simple_user_task/start", json={}).status_code == 404


def test_dry_run_gives_the_version_each_process_would_get(admin, tmp_path):
    """Changed content would be the next version; the same content keeps the latest one (as deploying does)."""
    simple, three = fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn")
    admin.deploy(simple, three)
    changed = tmp_path / "three_tasks.bpmn"
    changed.write_text(three.read_text().replace('name="Task A"', 'name="First task"'))
    admin.deploy(changed)
    kept = admin.get("/api/v1/process-definitions?key=simple_user_task").get_json()["items"][0]

    response = upload_paths(admin, simple, three, query="?dry_run=true")

    assert response.status_code == 200, response.get_json()
    planned = {d["key"]: d for d in response.get_json()["definitions"]}
    assert (planned["three_tasks"]["version"], planned["three_tasks"]["unchanged"]) == (3, False)
    assert planned["three_tasks"]["id"] is None
    assert planned["simple_user_task"] == dict(planned["simple_user_task"], id=kept["id"], version=1, unchanged=True)
    assert definitions_total(admin) == 3
    deployed = {d["key"]: d for d in admin.deploy(simple, three)["definitions"]}
    assert (deployed["three_tasks"]["version"], deployed["simple_user_task"]["id"]) == (3, kept["id"])


def test_dry_run_of_a_bad_file_reports_the_same_problems(admin):
    response = upload_paths(admin, fixture("invalid", "script_syntax_error.bpmn"), query="?dry_run=true")

    body = assert_problem(response, 422)
    assert body["bpmn"][0]["element_id"] == "bad_script"


def test_several_good_files_deploy_together(admin):
    body = admin.deploy(fixture("valid", "simple_user_task.bpmn"), fixture("valid", "three_tasks.bpmn"))

    assert sorted(d["key"] for d in body["definitions"]) == ["simple_user_task", "three_tasks"]
    assert definitions_total(admin) == 2


def test_one_bad_file_deploys_nothing_of_the_deployment(admin):
    admin.deploy(fixture("valid", "parallel_tasks.bpmn"))
    assert definitions_total(admin) == 1

    response = upload_paths(admin, fixture("valid", "simple_user_task.bpmn"), fixture("invalid", "dangling_flow.bpmn"),
                            fixture("valid", "three_tasks.bpmn"))

    body = assert_problem(response, 422)
    assert {p["file"] for p in body["bpmn"]} == {"dangling_flow.bpmn"}
    assert definitions_total(admin) == 1
    for key in ("simple_user_task", "three_tasks"):
        listed = admin.get(f"/api/v1/process-definitions?key={key}").get_json()
        assert listed["total"] == 0, key


def test_problems_of_several_bad_files_are_reported_together(admin):
    response = upload_paths(admin, fixture("invalid", "dangling_flow.bpmn"),
                            fixture("invalid", "script_syntax_error.bpmn"))

    body = assert_problem(response, 422)
    assert {(p["file"], p.get("element_id")) for p in body["bpmn"]} == {
        ("dangling_flow.bpmn", "flow_bad"), ("script_syntax_error.bpmn", "bad_script")}


# -- limits -------------------------------------------------------------------------

@pytest.fixture
def small_app(database_url):
    """An app that accepts request bodies of at most 1 KiB."""
    return create_app(make_config(database_url, MAX_CONTENT_LENGTH=1024))


def test_an_oversized_upload_is_a_413_problem(small_app):
    api = ApiClient.login(small_app, "admin", TestConfig.ADMIN_PASSWORD)
    content = fixture("valid", "simple_user_task.bpmn").read_bytes()
    assert len(content) > 1024

    response = upload(api, ("simple_user_task.bpmn", content))

    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 413
    assert definitions_total(api) == 0


def test_an_oversized_raw_xml_body_is_a_413_problem(small_app):
    api = ApiClient.login(small_app, "admin", TestConfig.ADMIN_PASSWORD)
    content = fixture("valid", "simple_user_task.bpmn").read_bytes()

    response = api.post(DEPLOY, data=content, content_type="application/xml")

    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert definitions_total(api) == 0


@pytest.mark.parametrize("content_type, data", [
    ("application/json", b'{"files": []}'),
    ("text/plain", b"start -> review -> end"),
    ("application/x-www-form-urlencoded", b"files=simple_user_task.bpmn"),
])
def test_a_body_that_is_neither_multipart_nor_xml_is_a_415_problem(admin, content_type, data):
    response = admin.post(DEPLOY, data=data, content_type=content_type)

    body = assert_problem(response, 415)
    assert body["type"] == "/problems/unsupported-media-type"
    assert definitions_total(admin) == 0


def test_multipart_without_files_is_a_400_problem(admin):
    response = admin.post(DEPLOY, data={"other": "x"}, content_type="multipart/form-data")

    body = assert_problem(response, 400)
    assert "files" in body["errors"]


# -- JSON Schema forms ------------------------------------------------------------

def test_the_blueprint_deploys_with_its_json_schema_forms(admin, make):
    body = admin.deploy(BLUEPRINT, NEW_FORM, CONTACTED_FORM)

    assert [d["key"] for d in body["definitions"]] == ["enquiry_blueprint"]
    started = admin.start("enquiry_blueprint")
    [task] = started["tasks"]
    assert task["element_id"] == "stage_new"
    form = admin.get(f"/api/v1/tasks/{task['id']}").get_json()["form"]
    assert form["title"] == "New enquiry"
    assert form["properties"]["transition"]["enum"] == ["contact", "disqualify"]


def test_the_blueprint_without_its_forms_names_each_missing_form_and_its_task(admin):
    response = upload_paths(admin, BLUEPRINT)

    body = assert_problem(response, 422)
    by_element = {p["element_id"]: p for p in body["bpmn"]}
    assert set(by_element) == {"stage_new", "stage_contacted"}
    assert "enquiry_new.schema.json" in by_element["stage_new"]["message"]
    assert "enquiry_contacted.schema.json" in by_element["stage_contacted"]["message"]
    assert all(p["file"] == "enquiry_blueprint.bpmn" and isinstance(p["line"], int) for p in body["bpmn"])
    assert definitions_total(admin) == 0


def test_the_blueprint_with_one_form_missing_names_only_that_form(admin):
    response = upload_paths(admin, BLUEPRINT, NEW_FORM)

    body = assert_problem(response, 422)
    [problem] = body["bpmn"]
    assert problem["element_id"] == "stage_contacted"
    assert "enquiry_contacted.schema.json" in problem["message"]
    assert definitions_total(admin) == 0


def test_a_form_file_that_is_not_json_schema_is_named(admin):
    response = upload(admin, (BLUEPRINT.name, BLUEPRINT.read_bytes()), (NEW_FORM.name, NEW_FORM.read_bytes()),
                      (CONTACTED_FORM.name, b'{"type": "object", "properties": '))

    body = assert_problem(response, 422)
    assert "enquiry_contacted.schema.json" in {p["file"] for p in body["bpmn"]}
    assert definitions_total(admin) == 0
