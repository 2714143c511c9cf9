"""The deploy page: a dry run that shows every problem on its diagram, or the versions deploying would give;
then deploying for real. For admins and holders of a deploy grant."""
from __future__ import annotations

import html as htmllib
import io
import json
import re

import pytest

from config import TestConfig

from ..factories import fixture
from .conftest import text

ADMIN = ("admin", TestConfig.ADMIN_PASSWORD)
SIMPLE = fixture("valid", "simple_user_task.bpmn")
THREE = fixture("valid", "three_tasks.bpmn")


def upload(session, *files: tuple[str, bytes], action: str = "check", htmx: bool = False, **form):
    data = {"files": [(io.BytesIO(content), name) for name, content in files], "action": action, **form}
    headers = {"HX-Target": "deploy-results"} if htmx else {}
    return session.post("/console/deploy", data, htmx=htmx, headers=headers, content_type="multipart/form-data")


def of(path) -> tuple[str, bytes]:
    return path.name, path.read_bytes()


def attribute(html: str, name: str) -> list:
    """Every JSON value of a data attribute on the page, in order."""
    return [json.loads(htmllib.unescape(v)) for v in re.findall(rf'{name}="([^"]*)"', html)]


def definitions(admin) -> list[tuple[str, int]]:
    items = admin.get("/api/v1/process-definitions").get_json()["items"]
    return sorted((d["key"], d["version"]) for d in items)


@pytest.fixture
def broken():
    """simple_user_task whose last flow leads nowhere: one problem, on element flow_review_to_end."""
    return "broken.bpmn", SIMPLE.read_bytes().replace(b'targetRef="end"', b'targetRef="nowhere"')


def test_a_dry_run_shows_what_deploying_would_give_and_stores_nothing(console, admin):
    admin.deploy(SIMPLE)

    page = upload(console(*ADMIN), of(SIMPLE), of(THREE))

    assert page.status_code == 200
    html = text(page)
    assert "No problems: deploying simple_user_task.bpmn, three_tasks.bpmn would give" in html
    planned = {key: html[html.index(f'id="planned-{key}"'):].split("</tr>")[0] for key in ("three_tasks",
                                                                                          "simple_user_task")}
    assert '1 <span class="tag">new</span>' in planned["three_tasks"]
    assert "1 <span class=\"muted\">(unchanged" in planned["simple_user_task"]
    assert definitions(admin) == [("simple_user_task", 1)]


def test_every_problem_is_listed_and_marked_on_its_diagram(console, admin, broken):
    page = upload(console(*ADMIN), broken, of(fixture("invalid", "not_xml.bpmn")))

    assert page.status_code == 422
    html = text(page)
    problems = html[html.index('id="deploy-problems"'):]
    assert "2 problems: these files cannot be deployed" in problems
    flow = problems[:problems.index("</table>")]
    assert "broken.bpmn" in flow and "<code>flow_review_to_end</code>" in flow and "nowhere" in flow
    assert ">25<" in flow and "not_xml.bpmn" in flow
    # each uploaded diagram is drawn from the upload itself, its problem's element marked with a badge
    sources = [htmllib.unescape(v) for v in re.findall(r'data-diagram-xml="([^"]*)"', html)]
    assert sources == [broken[1].decode(), fixture("invalid", "not_xml.bpmn").read_text()]
    assert "data-diagram-url" not in html
    assert attribute(html, "data-markers") == [{"flow_review_to_end": "marker-incident"}]
    assert attribute(html, "data-badges") == [{"flow_review_to_end": [{"text": "1 problem", "kind": "incident"}]}]
    # the problem of no element is listed above its diagram
    not_xml = html[html.index("<h2 id=\"diagram-2-heading\">not_xml.bpmn</h2>"):]
    assert not_xml.index('class="unplaced-problems"') < not_xml.index('class="diagram"')
    assert definitions(admin) == []


def test_with_htmx_the_check_swaps_only_the_results(console, broken):
    page = upload(console(*ADMIN), broken, htmx=True)

    assert page.status_code == 422
    assert "<h1>" not in text(page) and 'id="deploy-problems"' in text(page)
    assert 'name="files"' not in text(page)  # the form (and the files chosen in it) stays as it is


def test_deploying_for_real_stores_and_says_which_versions(console, admin):
    session = console(*ADMIN)
    admin.deploy(SIMPLE)

    done = upload(session, of(SIMPLE), of(THREE), action="deploy", name="release 7")

    assert (done.status_code, done.headers["Location"]) == (302, "/console/deploy")
    message = text(session.get("/console/deploy"))
    assert "Deployed release 7: simple_user_task version 1 (unchanged), three_tasks version 1." in message
    assert definitions(admin) == [("simple_user_task", 1), ("three_tasks", 1)]


def test_a_refused_deployment_stores_nothing_and_shows_the_problems(console, admin, broken):
    page = upload(console(*ADMIN), broken, of(THREE), action="deploy")

    assert page.status_code == 422
    assert "1 problem: nothing was deployed" in text(page)
    assert definitions(admin) == []


def test_no_file_is_shown_beside_the_file_input(console):
    page = console(*ADMIN).post("/console/deploy", {"action": "check"}, content_type="multipart/form-data")

    assert page.status_code == 400
    html = text(page)
    assert '<p class="error" id="deploy-files-error">choose one or more files</p>' in html
    assert 'aria-invalid="true" aria-describedby="deploy-files-error"' in html


def test_a_post_without_the_csrf_token_is_refused(console, admin):
    data = {"files": [(io.BytesIO(THREE.read_bytes()), THREE.name)], "action": "deploy"}
    refused = console(*ADMIN).post("/console/deploy", data, csrf=False, content_type="multipart/form-data")

    assert refused.status_code == 400 and "cannot be accepted" in text(refused)
    assert definitions(admin) == []


def test_a_plain_user_gets_403_and_no_link(console, olga, admin):
    session = console("olga")

    assert session.get("/console/deploy").status_code == 403
    assert upload(session, of(THREE), action="deploy").status_code == 403
    assert 'href="/console/deploy"' not in text(session.get("/console/jobs"))
    assert definitions(admin) == []


def test_a_holder_of_a_deploy_grant_deploys_its_keys_only(console, make, admin):
    make.user("dora")
    make.grant("deploy", "process", "three_tasks", user="dora")
    session = console("dora")

    assert 'href="/console/deploy"' in text(session.get("/console/jobs"))
    assert session.get("/console/deploy").status_code == 200
    assert "three_tasks" in text(upload(session, of(THREE)))
    other = upload(session, of(SIMPLE))  # the dry run makes the deployment's checks: not hers to deploy
    assert other.status_code == 403 and "simple_user_task" in text(other)
    assert upload(session, of(THREE), action="deploy").status_code == 302
    assert definitions(admin) == [("three_tasks", 1)]
