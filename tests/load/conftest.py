"""Helpers for the load tests: the environment of their subprocesses, and a mark for tests that need Redis."""

from __future__ import annotations

import os

import pytest

from load.redis_server import redis_available
from simulator.launcher import PROJECT_ROOT

needs_redis = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed (CI installs it with scripts/redis.sh)")


def environment() -> dict[str, str]:
    """The environment for Locust and benchmark subprocesses: the project importable from anywhere."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
