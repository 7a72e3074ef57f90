"""Many requests at once, each on its own connection: the burst and the many-waiting cases of tests and benchmarks.

A connection per request (no keep-alive) lets the kernel spread the requests over a server's worker processes,
as it spreads many clients.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import httpx

GENERATIONS = "/v1/images/generations"


@dataclass(frozen=True)
class Burst:
    responses: list[httpx.Response]
    seconds: float
    """From the first request sent to the last answer received."""

    @property
    def statuses(self) -> Counter[int]:
        return Counter(response.status_code for response in self.responses)


async def _post_all(base_url: str, keys: list[str], body: dict[str, object], timeout: float) -> Burst:
    limits = httpx.Limits(max_connections=len(keys), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        started = time.monotonic()
        responses = await asyncio.gather(*(client.post(GENERATIONS, headers={"Authorization": f"Bearer {key}"}, json=body) for key in keys))
        return Burst(list(responses), time.monotonic() - started)


def post_all(base_url: str, keys: list[str], body: dict[str, object], timeout: float = 120) -> Burst:
    """POST `body` once per entry of `keys` (a key may repeat), all at once."""
    return asyncio.run(_post_all(base_url, keys, body, timeout))
