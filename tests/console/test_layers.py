"""The console stays a presentation layer: it calls the services, which decide who may do what.

Like the API's views it never touches SQL, the models or the engine (import-linter's contracts in
pyproject.toml keep it off SpiffWorkflow and above the services; this test keeps it off the rest).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "app" / "console"
FORBIDDEN = ("app.models", "app.engine", "app.api", "app.schemas", "app.crm", "app.database", "sqlalchemy",
             "SpiffWorkflow", "flask_sqlalchemy")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against app.console
                base = ["app", "console"][: 3 - node.level]
                module = ".".join(base + ([module] if module else []))
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(CONSOLE.glob("*.py")), ids=lambda p: p.name)
def test_console_modules_go_through_the_services(path):
    names = imported(path)
    assert not [n for n in names if n.startswith(FORBIDDEN)]
    assert not [n for n in names if n.startswith("app.extensions") and n != "app.extensions.csrf"]
    assert "commit(" not in path.read_text() and "db.session" not in path.read_text()


def test_templates_run_no_inline_script():
    """The Content-Security-Policy allows scripts from files only: data goes in JSON script blocks."""
    for template in CONSOLE.joinpath("templates").rglob("*.html"):
        html = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", html), f"an inline event handler in {template.name}"
        for tag in html.split("<script")[1:]:
            attributes = tag.split(">", 1)[0]
            assert "src=" in attributes or 'type="application/json"' in attributes, template.name
