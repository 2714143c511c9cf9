#!/usr/bin/env bash
# Install Stagecoach with its test dependencies into .venv and run the whole suite,
# on SQLite and then on PostgreSQL (TEST_POSTGRES_URL, default
# postgresql://postgres@127.0.0.1:5432/test). Without a reachable PostgreSQL the
# second pass is skipped with a warning, except under CI=true, where it fails.
# The console's browser tests drive Debian's Chromium: installed here when missing
# (as root); without it they fail under CI=true and are skipped with a warning locally.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -x -k approval
set -uo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || exit 1
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' || exit 1

# Playwright's own browser download cannot run here: the browser tests use /usr/bin/chromium.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "=== installing Chromium for the console's browser tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || { echo "could not install chromium" >&2; exit 1; }
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs /usr/bin/chromium for the console's browser tests (apt-get install chromium)" >&2
    exit 1
  else
    echo "WARNING: /usr/bin/chromium is missing: the console's browser tests will be skipped (apt-get install chromium)" >&2
  fi
fi

run_suite() {
  local label=$1 url=$2; shift 2
  echo "=== tests on $label"
  TEST_DATABASE_URL="$url" .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "no tests ran on $label: failing" >&2; exit 1; fi
  if [ $rc -ne 0 ]; then echo "tests failed on $label" >&2; exit $rc; fi
}

run_suite SQLite "" "$@"

pg_url=${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
if .venv/bin/python - "$pg_url" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  run_suite PostgreSQL "$pg_url" "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs PostgreSQL at $pg_url" >&2
  exit 1
else
  echo "WARNING: PostgreSQL pass skipped (set TEST_POSTGRES_URL to a reachable server)" >&2
fi
echo "=== all test passes succeeded"
