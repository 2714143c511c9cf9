#!/usr/bin/env bash
# Refresh the web console's browser libraries from npm: htmx, bpmn-js (its navigated viewer) and the
# form-js viewer, as the ready-made bundles their packages ship, with their licence files.
#
# Each package is fetched with `npm pack` (npm checks the tarball against the registry's integrity)
# into a temporary folder; the bundles are copied to app/console/static/vendor/<package>/ and
# app/console/static/vendor/vendor.lock.json records per package its version, npm integrity and the
# sha256 of every committed file (tests/console/test_vendor.py checks the files against it).
# Node is needed only here, never to serve or test.
#
#   ./scripts/vendor.sh                          # the pinned versions below
#   HTMX=2.0.11 BPMN_JS=18.31.1 FORM_JS=1.23.0 ./scripts/vendor.sh
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX=${HTMX:-2.0.11}          # htmx 2.x: the console's claim, filters and paging
BPMN_JS=${BPMN_JS:-18.31.1}   # bpmn-js: the navigated viewer (markers, overlays)
FORM_JS=${FORM_JS:-1.23.0}    # @bpmn-io/form-js: its viewer bundle renders Camunda forms

command -v npm >/dev/null || { echo "vendor.sh needs npm" >&2; exit 1; }
vendor=app/console/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch NAME@VERSION DEST: unpack the package's tarball into $work/DEST, its npm metadata in $work/DEST.json
fetch() {
  local spec=$1 dest=$2
  mkdir -p "$work/$dest"
  (cd "$work" && npm pack --silent --json "$spec" > "$dest.json")
  tar xzf "$work/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["filename"])' "$work/$dest.json")" \
    -C "$work/$dest" --strip-components=1
}

fetch "htmx.org@$HTMX" htmx.org
fetch "bpmn-js@$BPMN_JS" bpmn-js
fetch "@bpmn-io/form-js@$FORM_JS" form-js

rm -rf "$vendor"
mkdir -p "$vendor/htmx.org" "$vendor/bpmn-js" "$vendor/form-js"
cp "$work/htmx.org/dist/htmx.min.js" "$work/htmx.org/LICENSE" "$vendor/htmx.org/"
cp "$work/bpmn-js/dist/bpmn-navigated-viewer.production.min.js" "$work/bpmn-js/dist/assets/diagram-js.css" \
   "$work/bpmn-js/dist/assets/bpmn-js.css" "$work/bpmn-js/LICENSE" "$vendor/bpmn-js/"
cp "$work/form-js/dist/form-viewer.umd.js" "$work/form-js/dist/assets/form-js.css" "$work/form-js/LICENSE" \
   "$vendor/form-js/"

python3 - "$work" "$vendor" <<'PY'
import hashlib, json, sys
from pathlib import Path

work, vendor = Path(sys.argv[1]), Path(sys.argv[2])
packages = []
for folder in ("htmx.org", "bpmn-js", "form-js"):
    meta = json.loads((work / f"{folder}.json").read_text())[0]
    files = {p.relative_to(vendor).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((vendor / folder).iterdir())}
    packages.append({"package": meta["name"], "version": meta["version"], "integrity": meta["integrity"],
                     "folder": folder, "files": files})
lock = {"comment": "Written by scripts/vendor.sh; tests/console/test_vendor.py checks the files against it.",
        "packages": packages}
(vendor / "vendor.lock.json").write_text(json.dumps(lock, indent=2) + "\n")
for p in packages:
    print(f"{p['package']}@{p['version']}: {len(p['files'])} files")
PY
