"""With --latency-scale 1 the simulator holds each answer for its modelled latency without holding anything else:
a thousand requests waiting at once are all answered."""

from __future__ import annotations

import uuid

import pytest

from load.concurrent import post_all
from simulator.launcher import running_simulator

WAITING = 1000


@pytest.mark.slow
def test_a_thousand_concurrent_requests_each_waiting_its_modelled_latency_are_all_answered() -> None:
    """dall-e-3's modelled latency is about five seconds; every request gets its own key (no 429) and connection."""
    keys = [f"pk_test_enterprise_{uuid.uuid4().hex[:8]}{i}" for i in range(WAITING)]
    with running_simulator("--latency-scale", "1") as sim:
        burst = post_all(sim.base_url, keys, {"prompt": "a lighthouse at dusk", "model": "dall-e-3"}, timeout=120)
    assert burst.statuses == {200: WAITING}, {r.text for r in burst.responses if r.status_code != 200}
    latencies = {r.json()["perf"]["latency_ms"] for r in burst.responses}
    assert min(latencies) > 3000, "each request models a latency of several seconds"
    assert len({r.json()["data"][0]["url"] for r in burst.responses}) == WAITING
