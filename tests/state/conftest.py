"""A throwaway Redis for the state tests; skipped with a reason where redis-server is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from load.redis_server import RedisServer, redis_available, running_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with .ci/redis.sh)")
    with running_redis() as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
