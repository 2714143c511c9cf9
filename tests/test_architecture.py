"""The layering rules of docs/architecture.md, checked on the source tree.

api, cli → services → engine, models; only app/engine imports SpiffWorkflow;
the engine knows no Flask or SQLAlchemy; HTTP modules never touch the
database session or commit.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    package = ".".join(path.relative_to(APP.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: str):
    return sorted((APP / folder).rglob("*.py")) if folder else sorted(APP.glob("*.py"))


@pytest.mark.parametrize("path", [p for p in APP.rglob("*.py") if "engine" not in p.parts],
                         ids=lambda p: str(p.relative_to(APP)))
def test_only_the_engine_imports_spiffworkflow(path):
    assert not any(name.startswith("SpiffWorkflow") for name in _imports(path))


@pytest.mark.parametrize("path", _modules("engine"), ids=lambda p: p.name)
def test_the_engine_knows_no_flask_or_sqlalchemy(path):
    forbidden = ("flask", "sqlalchemy", "flask_sqlalchemy", "app.models", "app.services", "app.api")
    assert not [n for n in _imports(path) if n.startswith(forbidden)]


@pytest.mark.parametrize("path", _modules("api"), ids=lambda p: p.name)
def test_http_modules_go_through_services(path):
    imports = _imports(path)
    assert not [n for n in imports if n.startswith(("app.models", "app.engine", "sqlalchemy", "app.extensions"))]
    assert "commit(" not in path.read_text()


@pytest.mark.parametrize("folder", ["engine", "models", "schemas", "api"])
def test_only_services_commit(folder):
    offenders = [p.name for p in _modules(folder) if ".commit()" in p.read_text()]
    assert offenders == []


@pytest.mark.parametrize("path", _modules("services") + _modules("models"), ids=lambda p: p.name)
def test_lower_layers_do_not_import_http(path):
    assert not [n for n in _imports(path) if n.startswith(("app.api", "app.cli", "flask_smorest"))]


# -- contracts over the whole import graph ----------------------------------------------------------------------

def test_the_import_linter_contracts_hold():
    """Layers, the runtime core's imports, the engine's door and no cycles (pyproject.toml
    [tool.importlinter]); imports inside functions count as much as those at the top."""
    from importlinter import configuration  # noqa: F401 - wires the library's adapters, as its command does
    from importlinter.api import read_configuration
    from importlinter.application import use_cases

    config_file = str(APP.parent / "pyproject.toml")
    assert len(read_configuration(config_file)["contracts_options"]) >= 5, "the contracts are missing"
    kept = use_cases.lint_imports(config_filename=config_file, cache_dir=None, no_logo=True)
    assert kept, "an import-linter contract is broken: run `lint-imports` to see which import"


MAX_MODULE_LINES = 500


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=lambda p: str(p.relative_to(APP)))
def test_no_module_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
