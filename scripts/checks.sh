#!/usr/bin/env bash
# The test suite, defined once: lint, types, the default pytest run, then the bounded forms of the slow load and
# mutation runs. scripts/test.sh, tox and .ci/run all run exactly this, with the Python of their environment
# ($PYTHON, default .venv/bin/python); arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"

"$python" -m ruff check .
"$python" -m ruff format --check .
"$python" -m mypy
"$python" -m pytest "$@"
"$python" -m pytest -m slow "$@"
