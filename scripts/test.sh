#!/usr/bin/env bash
# Install everything the test suite needs and run it: lint, then the whole pytest suite.
# Idempotent: reuses .venv, installs redis-server only when missing (as root, via apt-get), starts it on
# 127.0.0.1:6379 only when nothing answers there.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

if [ -f scripts/redis.sh ]; then
  bash scripts/redis.sh
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
