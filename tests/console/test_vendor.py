"""The console's browser libraries are exactly the npm packages' bundles the lock file names.

scripts/vendor.sh writes app/console/static/vendor/ and its vendor.lock.json; these tests hold the
committed files to it, so a hand-edited bundle, a file added or dropped without the script, or a
missing licence fails the build.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "app" / "console" / "static" / "vendor"
LOCK = json.loads((VENDOR / "vendor.lock.json").read_text())


def test_every_committed_file_matches_its_sha256():
    for package in LOCK["packages"]:
        for name, digest in package["files"].items():
            assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, f"{name} was changed"


def test_no_file_is_there_that_the_lock_does_not_name():
    named = {name for package in LOCK["packages"] for name in package["files"]}
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert present - {"vendor.lock.json"} == named


@pytest.mark.parametrize("package", LOCK["packages"], ids=lambda p: p["package"])
def test_each_package_is_pinned_with_its_npm_integrity_and_licence(package):
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"])
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", package["integrity"])
    assert f"{package['folder']}/LICENSE" in package["files"]


def test_the_versions_the_console_is_written_for():
    versions = {p["package"]: p["version"] for p in LOCK["packages"]}
    assert set(versions) == {"htmx.org", "bpmn-js", "@bpmn-io/form-js"}
    assert versions["htmx.org"].startswith("2.")


def test_bpmn_io_licences_keep_the_watermark_clause():
    for folder in ("bpmn-js", "form-js"):
        assert "watermark" in (VENDOR / folder / "LICENSE").read_text()
