"""CRM modules (record types and their fields and validation rules), the bindings that tie their
record events to processes, and the manifests (`stagecoach.json`) that declare both."""
from __future__ import annotations

from sqlalchemy import select

from ..crm import BUILTIN_MODULES, FieldError, check_field_definitions
from ..errors import ConflictError, NotFoundError, ValidationError
from ..extensions import db
from ..models import Binding, Module, ProcessDefinition
from .access import require_admin
from .core import Actor, engine, write_transaction
from .scoring import set_scoring

BINDING_KINDS = {"process", "blueprint", "approval", "review", "rule"}
BINDING_EVENTS = {"create", "edit", "create_or_edit", "field_change", "delete"}


# -- modules ----------------------------------------------------------------------

def ensure_builtin_modules() -> None:
    """Create the built-in modules that do not exist yet."""
    existing = set(db.session.scalars(select(Module.api_name)))
    missing = [m for m in BUILTIN_MODULES if m["api_name"] not in existing]
    if not missing:
        db.session.rollback()
        return
    with write_transaction():
        for m in missing:
            db.session.add(Module(api_name=m["api_name"], label=m["label"], builtin=True, fields=m["fields"],
                                  rules=[]))


def list_modules() -> list[Module]:
    return list(db.session.scalars(select(Module).order_by(Module.api_name)))


def get_module(api_name: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.api_name == api_name))
    if module is None:
        raise NotFoundError(f"no module {api_name!r}")
    return module


def _check_rules_compile(rules: list[dict]) -> list[dict]:
    errors: dict[str, list[str]] = {}
    out = []
    for i, rule in enumerate(rules or []):
        expression = (rule.get("expression") or "").strip()
        try:
            engine().check_expression(expression)
        except Exception as exc:
            errors.setdefault(f"rules[{i}]", []).append(f"expression cannot run: {exc}")
        out.append({"name": rule.get("name") or f"rule {i + 1}", "expression": expression,
                    "field": rule.get("field"), "message": rule.get("message")})
    if errors:
        raise ValidationError("invalid validation rules", errors=errors)
    return out


def create_module(data: dict, actor: Actor) -> Module:
    """Define a custom module (admins)."""
    _require_admin(actor)
    with write_transaction():
        if db.session.scalar(select(Module.id).where(Module.api_name == data["api_name"])):
            raise ConflictError(f"module {data['api_name']!r} exists")
        names = set(db.session.scalars(select(Module.api_name))) | {data["api_name"]}
        try:
            fields = check_field_definitions(data.get("fields") or [], names)
        except FieldError as exc:
            raise ValidationError("invalid fields", errors=exc.errors) from None
        module = Module(api_name=data["api_name"], label=data.get("label") or data["api_name"], builtin=False,
                        fields=fields, rules=_check_rules_compile(data.get("rules") or []))
        db.session.add(module)
    return module


def update_module(api_name: str, data: dict, actor: Actor) -> Module:
    """Replace a module's fields and/or validation rules (admins)."""
    _require_admin(actor)
    with write_transaction():
        module = get_module(api_name)
        if "fields" in data:
            names = set(db.session.scalars(select(Module.api_name)))
            try:
                module.fields = check_field_definitions(data["fields"], names)
            except FieldError as exc:
                raise ValidationError("invalid fields", errors=exc.errors) from None
        if "rules" in data:
            module.rules = _check_rules_compile(data["rules"])
        if "label" in data:
            module.label = data["label"]
    return module


def _require_admin(actor: Actor) -> None:
    require_admin(actor, "change modules and bindings")


# -- bindings ---------------------------------------------------------------------

def create_binding(data: dict, actor: Actor) -> Binding:
    """Tie a process key to a module event and criteria (admins)."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    if data.get("kind", "process") not in BINDING_KINDS:
        errors["kind"] = [f"must be one of {', '.join(sorted(BINDING_KINDS))}"]
    date_rule = data.get("kind") == "rule" and data.get("event") == "date"  # scheduled by rule_schedules
    if data.get("event") not in BINDING_EVENTS and not date_rule:
        errors["event"] = [f"must be one of {', '.join(sorted(BINDING_EVENTS))}"]
    if data.get("event") == "field_change" and not data.get("field"):
        errors["field"] = ["a field_change binding names its field"]
    criteria = (data.get("criteria") or "").strip() or None
    if criteria:
        try:
            engine().check_expression(criteria)
        except Exception as exc:
            errors["criteria"] = [f"cannot run: {exc}"]
    if errors:
        raise ValidationError("invalid binding", errors=errors)
    with write_transaction():
        module = get_module(data["module"])
        if db.session.scalar(select(ProcessDefinition.id).where(
                ProcessDefinition.key == data["process_key"]).limit(1)) is None:
            raise ValidationError("invalid binding", errors={"process_key": [
                f"no deployed process {data['process_key']!r}; deploy it first"]})
        options = dict(data.get("options") or {})
        if data.get("kind") == "blueprint":
            stage_field = options.get("stage_field", "stage")
            if stage_field not in {f["name"] for f in module.fields}:
                raise ValidationError("invalid binding", errors={"options.stage_field": [
                    f"{stage_field!r} is not a field of {module.api_name}"]})
            options["stage_field"] = stage_field
        binding = Binding(name=data.get("name") or f"{data['process_key']} on {data['module']} {data['event']}",
                          module=module.api_name, event=data["event"], field=data.get("field"),
                          criteria=criteria, process_key=data["process_key"], kind=data.get("kind", "process"),
                          options=options, active=data.get("active", True))
        db.session.add(binding)
    return binding


def list_bindings(module: str | None = None) -> list[Binding]:
    stmt = select(Binding).order_by(Binding.created_at)
    if module:
        stmt = stmt.where(Binding.module == module)
    return list(db.session.scalars(stmt))


def delete_binding(binding_id: str, actor: Actor) -> None:
    _require_admin(actor)
    with write_transaction():
        binding = db.session.get(Binding, binding_id)
        if binding is None:
            raise NotFoundError(f"no binding {binding_id}")
        db.session.delete(binding)


# -- manifests ----------------------------------------------------------------------

def apply_manifest(manifest: dict, actor: Actor) -> dict[str, list[str]]:
    """Create or update the modules, bindings and scoring rules a shipped folder declares (stagecoach.json)."""
    done: dict[str, list[str]] = {"modules": [], "bindings": [], "scoring": []}
    for spec in manifest.get("modules", []):
        exists = db.session.scalar(select(Module.id).where(Module.api_name == spec["api_name"]))
        if exists:
            update_module(spec["api_name"], spec, actor)
        else:
            create_module(spec, actor)
        done["modules"].append(spec["api_name"])
    for spec in manifest.get("bindings", []):
        old = db.session.scalar(select(Binding).where(Binding.name == spec["name"]))
        if old is not None:
            with write_transaction():
                db.session.delete(db.session.merge(old))
        create_binding(spec, actor)
        done["bindings"].append(spec["name"])
    for spec in manifest.get("scoring", []):
        set_scoring(spec["module"], spec, actor)
        done["scoring"].append(spec["module"])
    return done
