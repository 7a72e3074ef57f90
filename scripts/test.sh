#!/usr/bin/env bash
# Install everything the test suite needs, then run it (scripts/checks.sh: ruff, mypy, the default pytest run, then
# the bounded forms of the slow load/mutation runs). Idempotent: reuses .venv; installs redis-server (the tests start
# their own throwaway servers from it), wrk, valgrind, chromium, nodejs and npm (Debian) only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} missing and not root; the tests that need them will skip" >&2
  fi
fi

PYTHON=.venv/bin/python exec bash scripts/checks.sh "$@"
