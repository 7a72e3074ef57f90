"""Fixtures for the load and shared-state tests: a throwaway Redis (skipped, with the reason, where redis-server
is not installed; CI installs it with .ci/redis.sh)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from load.redis_server import RedisServer, redis_available, running_redis

needs_redis = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed (CI installs it with .ci/redis.sh)")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with .ci/redis.sh)")
    with running_redis() as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
