"""`flask` commands, grouped: `flask users ...`, `flask bpmn ...`, `flask authorizations ...`, `flask history ...`;
`flask db-backup`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

users_cli = AppGroup("users", help="Manage users and groups.")
bpmn_cli = AppGroup("bpmn", help="Deploy and validate BPMN diagrams.")

DIAGRAM_SUFFIXES = {".bpmn", ".dmn", ".form", ".json"}
MANIFEST = "stagecoach.json"  # modules and bindings of a folder, applied after its diagrams deploy
outbox_cli = AppGroup("outbox", help="Deliver queued emails and webhook calls.")
jobs_cli = AppGroup("jobs", help="Fire due timers.")
grants_cli = AppGroup("authorizations", help="Grant permissions on processes, topics and modules.")
history_cli = AppGroup("history", help="History retention: remove ended instances past their removal time.")


@users_cli.command("create")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="The user's password.")
@click.option("--group", "groups", multiple=True, help="A group to join (repeatable).")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--email", help="The user's email address (for process emails).")
@click.option("--manager", help="The username of the user's manager.")
def create_user(name, password, groups, admin, email, manager):
    """Create a user NAME."""
    from .errors import StagecoachError
    from .services.core import SYSTEM
    from .services.users import create_user as create

    try:
        create(name, password, list(groups), admin, email=email, manager=manager, actor=SYSTEM)
    except StagecoachError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"created user {name}" + (f" in {', '.join(groups)}" if groups else "") + (" (admin)" if admin else ""))


def _as_system(change, *args):
    """Run a users service as SYSTEM; a refusal (unknown user, last admin, ...) is the command's error."""
    from .errors import StagecoachError
    from .services.core import SYSTEM

    try:
        return change(*args, SYSTEM)
    except StagecoachError as exc:
        raise click.ClickException(exc.detail) from None


@users_cli.command("list")
@click.option("--group", help="Only the members of this group.")
@click.option("--disabled/--enabled", default=None, help="Only disabled (or only enabled) users.")
def list_users(group, disabled):
    """List users: name, groups, role and state."""
    from .services import users

    page = 1
    while True:
        found = _as_system(lambda actor: users.list_users(actor, group=group, disabled=disabled, page=page,
                                                          per_page=200))
        for user in found.items:
            flags = [f for f, on in (("admin", user.is_admin), ("disabled", user.disabled)) if on]
            click.echo("\t".join([user.username, ",".join(user.group_names) or "-", " ".join(flags) or "-",
                                  user.email or "-"]))
        if page * 200 >= found.total:
            break
        page += 1


@users_cli.command("disable")
@click.argument("name")
def disable_user(name):
    """Disable user NAME: they cannot log in and their tokens stop working at once."""
    from .services.users import set_disabled

    _as_system(set_disabled, name, True)
    click.echo(f"disabled {name}; their tokens no longer work")


@users_cli.command("enable")
@click.argument("name")
def enable_user(name):
    """Enable user NAME again (they log in anew)."""
    from .services.users import set_disabled

    _as_system(set_disabled, name, False)
    click.echo(f"enabled {name}")


@users_cli.command("set-password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="The new password.")
def set_password(name, password):
    """Give user NAME a new password; their tokens stop working at once."""
    from .services.users import set_password as change

    _as_system(change, name, password)
    click.echo(f"new password set for {name}; their tokens no longer work")


@users_cli.command("delete")
@click.argument("name")
@click.confirmation_option(prompt="Delete this user, their group memberships and grants?")
def delete_user(name):
    """Delete user NAME with their group memberships and grants (their tasks and records keep the name)."""
    from .services.users import delete_user as delete

    _as_system(delete, name)
    click.echo(f"deleted {name}")


def _collect(path: Path) -> list[list[tuple[str, bytes]]]:
    """Deployment units under `path`: each folder's files deploy together."""
    if path.is_file():
        return [[(path.name, path.read_bytes())]]
    units = []
    for folder in sorted({p.parent for p in path.rglob("*") if p.suffix in DIAGRAM_SUFFIXES}):
        files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())
                 if p.suffix in DIAGRAM_SUFFIXES and p.name != MANIFEST]
        if any(name.endswith((".bpmn", ".dmn")) for name, _ in files):
            units.append(files)
    return units


def _print_problems(exc) -> None:
    for p in exc.bpmn or []:
        where = ":".join(str(p[k]) for k in ("file", "line") if p.get(k))
        element = f" [{p['element_id']}]" if p.get("element_id") else ""
        click.echo(f"  {where}{element}: {p['message']}", err=True)


@bpmn_cli.command("deploy")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def deploy(path):
    """Deploy the diagrams under PATH (default: the shipped bpmn/ folder); each folder is one deployment."""
    from .errors import BpmnValidationError
    from .services.core import SYSTEM
    from .services.definitions import deploy as deploy_files
    from .services.modules import apply_manifest
    from .services.workflow_rules import apply_manifest_rules

    path = path or Path(current_app.config["BPMN_DIR"])
    failed = False
    for files in _collect(path):
        try:
            _, definitions = deploy_files(files, SYSTEM, name=str(path))
        except BpmnValidationError as exc:
            failed = True
            click.echo(f"refused {', '.join(n for n, _ in files)}: {exc.detail}", err=True)
            _print_problems(exc)
            continue
        for d in definitions:
            click.echo(f"deployed {d.key} version {d.version} ({d.resource_name})")
    for manifest in sorted(path.rglob(MANIFEST)) if path.is_dir() else []:
        if failed:
            break
        declared = json.loads(manifest.read_text())
        done = apply_manifest(declared, SYSTEM)
        rules = apply_manifest_rules(declared, SYSTEM)
        click.echo(f"applied {manifest}: modules {', '.join(done['modules']) or '-'}; "
                   f"bindings {', '.join(done['bindings']) or '-'}; rules {', '.join(rules) or '-'}")
    if failed:
        sys.exit(1)


@bpmn_cli.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def validate(path):
    """Check the diagrams under PATH without deploying; exit 1 if any cannot run."""
    from .errors import BpmnValidationError
    from .services.definitions import validate as validate_files

    failed = False
    for files in _collect(path):
        try:
            models = validate_files(files)
            for m in models:
                click.echo(f"ok {m.key} ({m.file})")
        except BpmnValidationError as exc:
            failed = True
            click.echo(f"invalid {', '.join(n for n, _ in files)}: {exc.detail}", err=True)
            _print_problems(exc)
    if failed:
        sys.exit(1)


@outbox_cli.command("deliver")
def deliver():
    """Deliver every due email and webhook call once."""
    from .operations.metrics import count_outbox
    from .services.outbox import deliver_due

    counts = deliver_due()
    count_outbox(counts)
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@jobs_cli.command("run")
def run_jobs():
    """Fire every timer due now, once."""
    from .jobs.runner import run_due_jobs

    counts = run_due_jobs(worker="cli")
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@jobs_cli.command("worker")
def jobs_worker():
    """Fire due timers until interrupted (run any number of these beside the API processes)."""
    import threading

    from .jobs.timers import run_forever

    from .operations.exporter import prepare_multiprocess_dir, serve_configured

    prepare_multiprocess_dir()
    serve_configured(current_app.config)  # STAGECOACH_METRICS_ADDRESS: this worker's metrics on an address of its own
    click.echo("job worker started; Ctrl-C stops it")
    try:
        run_forever(current_app._get_current_object(), threading.Event(), kind="worker")
    except KeyboardInterrupt:
        pass


@click.command("db-backup")
@with_appcontext
@click.argument("target", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def db_backup(target):
    """Back the database up into TARGET while the server runs (SQLite: online backup; PostgreSQL: pg_dump)."""
    from .operations.backup import BackupError, backup

    try:
        click.echo(backup(current_app.config["SQLALCHEMY_DATABASE_URI"], target))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


@grants_cli.command("list")
@click.option("--user", help="Only grants to this user (or '*').")
@click.option("--group", help="Only grants to this group.")
def list_grants(user, group):
    """List the grants: id, holder, resource, permissions."""
    from .services.authorizations import list_grants as grants
    from .services.core import SYSTEM

    for grant in grants(SYSTEM, user_id=user, group_id=group, per_page=10_000).items:
        holder = f"user {grant.user_id}" if grant.user_id else f"group {grant.group_id}"
        click.echo(f"{grant.id}\t{holder}\t{grant.resource_type} {grant.resource_id}\t{','.join(grant.permissions)}")


@grants_cli.command("grant")
@click.argument("resource_type", type=click.Choice(["process", "topic", "module"]))
@click.argument("resource_id")
@click.argument("permissions", nargs=-1, required=True)
@click.option("--user", help="The user (or '*' for every user) to grant to.")
@click.option("--group", help="The group to grant to.")
def grant(resource_type, resource_id, permissions, user, group):
    """Grant PERMISSIONS on RESOURCE_TYPE RESOURCE_ID ('*' for all), e.g. `grant process discount_approval start --group sales`."""
    from .errors import StagecoachError
    from .services.authorizations import create_grant
    from .services.core import SYSTEM

    try:
        created = create_grant({"user_id": user, "group_id": group, "resource_type": resource_type,
                                "resource_id": resource_id, "permissions": list(permissions)}, SYSTEM)
    except StagecoachError as exc:
        raise click.ClickException(f"{exc.detail} {getattr(exc, 'errors', None) or ''}".strip()) from None
    click.echo(f"granted {created.id}")


@grants_cli.command("revoke")
@click.argument("grant_id")
def revoke(grant_id):
    """Remove the grant GRANT_ID."""
    from .errors import StagecoachError
    from .services.authorizations import delete_grant
    from .services.core import SYSTEM

    try:
        delete_grant(grant_id, SYSTEM)
    except StagecoachError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"revoked {grant_id}")


@grants_cli.command("restore-defaults")
def restore_defaults():
    """Put back the default grants that were removed (every user starts processes and creates records;
    `modelers` deploy; `workers` work external tasks)."""
    from .services.authorizations import restore_default_grants

    restore_default_grants()
    click.echo("default grants in place")


def _rows(rows: dict) -> str:
    return ", ".join(f"{table} {n}" for table, n in sorted(rows.items()) if n) or "no rows"


@history_cli.command("cleanup")
@click.option("--batch-size", type=click.IntRange(min=1), help="Instances per transaction "
              "(default STAGECOACH_HISTORY_CLEANUP_BATCH_SIZE).")
@click.option("--dry-run", is_flag=True, help="Count what is due; remove nothing.")
def history_cleanup(batch_size, dry_run):
    """Remove every ended instance past its removal time, with all its rows, batch after batch."""
    from .services.retention import run_cleanup

    report = _as_system(lambda actor: run_cleanup(actor, size=batch_size, dry_run=dry_run))
    if dry_run:
        click.echo(f"would remove {report.instances} instance(s) in {report.batches} batch(es): {_rows(report.rows)}")
        return
    click.echo(f"removed {report.instances} instance(s) in {report.batches} batch(es): {_rows(report.rows)}; "
               f"longest batch {report.longest_batch_seconds * 1000:.0f} ms")


@history_cli.command("recompute")
@click.option("--definition", "definition_id", help="Only the instances of this definition id.")
def history_recompute(definition_id):
    """Give ended instances the removal time the times to live in force say (after changing the default)."""
    from .services.retention import recompute_removal_times

    changed = _as_system(lambda actor: recompute_removal_times(actor, definition_id))
    click.echo(f"removal time changed on {changed} ended instance(s)")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(bpmn_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(grants_cli)
    app.cli.add_command(history_cli)
    app.cli.add_command(db_backup)
