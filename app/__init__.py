"""Stagecoach: a BPMN 2.0 workflow server for CRM processes."""
from __future__ import annotations

from flask import Flask

from .extensions import db, migrate, rest_api


def create_app(config: object | str = "config.Config") -> Flask:
    """Build the app: bind extensions, register blueprints, errors and commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config)
    if app.config.get("PROXY_HOPS"):  # trust X-Forwarded-For/-Proto from exactly that many proxies
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])

    from . import database
    from .api import BLUEPRINTS, PUBLIC_BLUEPRINTS
    from .api.camunda import BLUEPRINTS as CAMUNDA_BLUEPRINTS, install_routing_errors
    from .api.inputs import install_input_checks
    from .api.openapi import ProblemsPlugin
    from .cli import register_commands
    from .console import init_console
    from . import patterns
    from .engine import DiagramLimits, Engine, Limits, default_registry
    from .errors import register_error_handlers
    from .jobs.scheduling import schedule_jobs
    from .operations import count_step, init_operations
    from .services import crm_actions
    from .services.core import register_after_step
    from .services.events import deliver_buffered
    from .services.record_sync import record_touchpoints, sync_record
    from .services.rule_schedules import report_rule_failure

    db.init_app(app)
    init_operations(app)  # first: every request gets its id, log line and latency, even one refused below
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR") or _migrations_dir())
    rest_api.init_app(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearerAuth": []}],
        "extra_plugins": [ProblemsPlugin()]})
    for blueprint in BLUEPRINTS:
        rest_api.register_blueprint(blueprint)
    for blueprint in CAMUNDA_BLUEPRINTS + PUBLIC_BLUEPRINTS:  # plain Flask blueprints, not in /api/v1's OpenAPI
        app.register_blueprint(blueprint)
    init_console(app)  # the web console at /console (session login, CSRF on its forms); GET / leads there
    register_error_handlers(app)
    install_routing_errors(app)  # /engine-rest's unknown paths and methods in Camunda's error shape
    install_input_checks(app)  # NUL, JSON depth and numbers, content types, body size: before any view
    register_commands(app)
    # After every step: its jobs move, its record follows and hears its touchpoints, a buffered message it
    # now waits for arrives, a workflow rule's failed action is reported, the instance is counted (once the
    # step commits).
    register_after_step(app, schedule_jobs, record_touchpoints, sync_record, deliver_buffered, report_rule_failure,
                        count_step)
    registry = default_registry()
    crm_actions.register(registry)
    app.extensions["stagecoach.engine"] = Engine(
        registry,
        limits=Limits.from_config(app.config),  # steps, seconds, sizes and tasks (config.py)
        diagram_limits=DiagramLimits(max_elements=app.config["BPMN_MAX_ELEMENTS"],
                                     max_subprocess_depth=app.config["BPMN_MAX_SUBPROCESS_DEPTH"],
                                     max_nesting=app.config["DEPLOY_MAX_NESTING"]))
    # User-written regular expressions (forms, CRM fields) run on RE2 within these limits.
    patterns.configure(app.config["PATTERN_MAX_LENGTH"], app.config["PATTERN_MAX_INPUT"])
    with app.app_context():
        database.configure(db.engine, app.config["LOCK_TIMEOUT_MS"])
        if app.config.get("AUTO_UPGRADE"):
            from .bootstrap import prepare_database
            prepare_database(app)
    return app


def _migrations_dir() -> str:
    from pathlib import Path
    return str(Path(__file__).resolve().parent.parent / "migrations")
