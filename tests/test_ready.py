"""`GET /_sim/ready`: readiness for a healthcheck, where `/_sim/health` is liveness."""

from __future__ import annotations

import httpx
import pytest

from load.redis_server import RedisServer, redis_available
from simulator.control.client import SimulatorControl
from simulator.launcher import RunningServer, free_port, running_simulator


def test_ready_names_the_state_while_it_answers(sim: RunningServer) -> None:
    response = httpx.get(sim.base_url + "/_sim/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "state": "memory"}
    assert SimulatorControl(sim.base_url).ready()


def test_ready_is_a_503_while_redis_is_down_and_200_once_it_is_back_while_health_stays_200() -> None:
    """Every API request is a 503 while the simulator's Redis is down, though the process lives: a healthcheck on
    /_sim/ready stops sending it traffic, one on /_sim/health (liveness) does not restart it."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    redis = RedisServer(free_port())
    redis.start()
    try:
        with running_simulator("--state", redis.url, silent=True) as sim:
            control = SimulatorControl(sim.base_url)
            assert control.ready()
            redis.stop()
            response = httpx.get(sim.base_url + "/_sim/ready", timeout=30)
            assert response.status_code == 503, response.text
            assert response.json()["error"]["type"] == "service_unavailable"
            assert "simulator state is unavailable" in response.json()["error"]["message"]
            assert response.headers["retry-after"] == "1"
            assert not control.ready()
            assert httpx.get(sim.base_url + "/_sim/health").status_code == 200
            redis.start()
            assert control.ready()
            assert httpx.get(sim.base_url + "/_sim/ready").json()["state"] == redis.url
    finally:
        redis.stop()
