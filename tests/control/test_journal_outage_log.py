"""While Redis is away, the entries the shared journal cannot write are lost (docs/control.md): stderr says so once,
and once more with their count when the journal is written again, not once per request."""

from __future__ import annotations

import asyncio
import logging

import pytest

from spec import tiers
from tests.conftest import app_on_own_redis

pytestmark = pytest.mark.anyio

REQUESTS_IN_THE_OUTAGE = 30


async def test_a_redis_outage_puts_one_line_on_stderr_and_one_with_the_count_of_entries_lost_once_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = {"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}pro_a"}
    async with app_on_own_redis() as (server, _, client):

        async def generate() -> int:
            return (await client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=headers)).status_code

        assert await generate() == 200
        server.stop()
        with caplog.at_level(logging.WARNING, logger="perf-sim"):
            assert [await generate() for _ in range(REQUESTS_IN_THE_OUTAGE)] == [503] * REQUESTS_IN_THE_OUTAGE
            await asyncio.sleep(0.3)  # the entries of the 503s are written (tried) after the answers
            server.start()
            assert await generate() == 200
    lines = [record.getMessage() for record in caplog.records if "request journal" in record.getMessage()]
    assert len(lines) == 2, lines
    assert lines[0].startswith("request journal not written: Redis at")
    assert lines[1].startswith(f"request journal written again: {REQUESTS_IN_THE_OUTAGE} entries lost in ")
