#!/usr/bin/env bash
# Install redis-server (Debian package) when missing and run one on 127.0.0.1:${REDIS_PORT:-6379}.
# Tests start their own throwaway servers from the same binary; this one serves manual runs and examples.
set -euo pipefail
port="${REDIS_PORT:-6379}"
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi
if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
  echo "redis: already answering on 127.0.0.1:$port"
  exit 0
fi
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes
for _ in $(seq 50); do
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && { echo "redis: up on 127.0.0.1:$port"; exit 0; }
  sleep 0.1
done
echo "redis: did not start on 127.0.0.1:$port" >&2
exit 1
