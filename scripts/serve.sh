#!/usr/bin/env bash
# Install Stagecoach into .venv and serve it on the embedded default:
# SQLite under instance/, the shipped bpmn/ processes deployed, http://127.0.0.1:5000.
# Settings come from the environment (see config.py), e.g. PORT=8080 ./scripts/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

export FLASK_APP=wsgi
# Upgrades the schema, creates the admin user on first start, deploys bpmn/.
.venv/bin/flask bpmn deploy
exec .venv/bin/gunicorn --workers "${WORKERS:-2}" --threads "${THREADS:-4}" \
  --bind "${HOST:-127.0.0.1}:${PORT:-5000}" wsgi:app
