"""Deploy: upload BPMN, DMN and form files, check them with a dry run, then deploy them for real.

For admins and holders of a `deploy` grant (`definitions.require_deployer`; the services check each
process key). "Check" is `definitions.dry_run`: every check of a deployment, nothing stored; it answers
each process's key and the version it would get, or every problem (file, line, element, message). Each
uploaded diagram is then drawn from the uploaded file itself (it is stored nowhere) with its problems'
elements marked; a problem that names no element, or an element the viewer does not draw (a flow to
nowhere), is listed above its diagram. "Deploy" is
`definitions.deploy`, refused with the same problems. With htmx the check swaps only the results, so the
chosen files stay selected for "Deploy".
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..errors import BpmnValidationError, ValidationError
from ..services import definitions
from .auth import current_actor
from .blueprint import bp, nav
from .helpers import htmx_target

DIAGRAM_SUFFIXES = (".bpmn", ".xml")

nav("Deploy", "console.deploy", admin=True, order=64, shown_to=definitions.may_deploy)


def _uploads() -> list[tuple[str, bytes]]:
    files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("files") if f.filename]
    if not files:
        raise ValidationError("choose the files to deploy", errors={"files": ["choose one or more files"]})
    return files


def _diagrams(files: list[tuple[str, bytes]], problems: list[dict]) -> list[dict]:
    """Each uploaded BPMN file as the diagram viewer draws it, with its problems' elements marked."""
    shown = []
    for name, content in files:
        if not name.lower().endswith(DIAGRAM_SUFFIXES):
            continue
        try:
            xml = content.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not text bpmn-js could read; its problems are in the table
        mine = [p for p in problems if p.get("file") == name]
        counts: dict[str, int] = {}
        for problem in mine:
            if problem.get("element_id"):
                counts[problem["element_id"]] = counts.get(problem["element_id"], 0) + 1
        shown.append({
            "file": name, "xml": xml, "unplaced": [p for p in mine if not p.get("element_id")],
            "placed": [p for p in mine if p.get("element_id")],  # listed too when the viewer cannot draw them
            "markers": {element: "marker-incident" for element in counts},
            "badges": {element: [{"text": f"{n} problem{'s' if n != 1 else ''}", "kind": "incident"}]
                       for element, n in counts.items()},
        })
    return shown


def _render(status: int = 200, **context):
    context.setdefault("name", request.form.get("name", "").strip())
    partial = htmx_target() == "deploy-results"
    template = "_deploy_results.html" if partial else "deploy.html"
    return render_template(f"console/admin/{template}", partial=partial, **context), status


@bp.route("/deploy", methods=["GET", "POST"])
def deploy():
    """The upload form; posting it checks the files (dry run) or deploys them."""
    actor = current_actor()
    definitions.require_deployer(actor)
    if request.method == "GET":
        return _render()
    action = "deploy" if request.form.get("action") == "deploy" else "check"
    name = request.form.get("name", "").strip() or None
    try:
        files = _uploads()
        if action == "check":
            return _render(action=action, planned=definitions.dry_run(files, actor), files=[f for f, _ in files])
        deployment, deployed = definitions.deploy(files, actor, name)
    except BpmnValidationError as exc:
        problems = exc.bpmn or []
        return _render(exc.status, action=action, problems=problems, diagrams=_diagrams(files, problems),
                       files=[f for f, _ in files])
    except ValidationError as exc:
        return _render(exc.status, action=action, errors=exc.errors or {"files": [exc.detail]})
    done = ", ".join(f"{d.key} version {d.version}" + ("" if d.deployment_id == deployment.id else " (unchanged)")
                     for d in deployed)
    flash(f"Deployed {deployment.name}: {done or 'no executable process'}.", "success")
    return redirect(url_for("console.deploy"))
