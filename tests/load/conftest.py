"""Fixtures for the load and shared-state tests: a throwaway Redis (skipped, with the reason, where redis-server
is not installed; CI installs it with scripts/redis.sh)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from load.redis_server import RedisServer, redis_available, running_redis
from simulator.launcher import PROJECT_ROOT

needs_redis = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed (CI installs it with scripts/redis.sh)")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    with running_redis() as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def environment() -> dict[str, str]:
    """The environment for Locust and benchmark subprocesses: the project importable from anywhere."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
