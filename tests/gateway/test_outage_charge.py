"""Gateway mode gives an outage's charge back: a request none of whose calls reached the provider (each connection
refused) uses no quota, in memory and in Redis alike, so a caller retrying through the outage keeps meeting the 503
that names the provider, never its own 429; a request the provider answered keeps its charge (docs/providers.md,
gateway decisions)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest

from simulator.launcher import RunningServer, free_port, running_simulator
from spec import tiers
from spec.models import MODELS
from tests.conftest import state_for
from tests.gateway.test_gateway import GoogleInternalError

REDIS_DB = 14
"""This module's database of the session's Redis."""
FREE_MINUTE = tiers.TIERS["free"].images_per_minute


@pytest.fixture(scope="module", params=["memory", "redis"])
def gateway(request: pytest.FixtureRequest) -> Iterator[tuple[RunningServer, str]]:
    """Stability, BFL and Ideogram at a port of 127.0.0.1 nobody listens on; Google at a server answering 500; and
    the URL of the closed port."""
    state = state_for(request, request.param == "redis", REDIS_DB)
    failing = ThreadingHTTPServer(("127.0.0.1", 0), GoogleInternalError)
    failing.daemon_threads = True
    threading.Thread(target=failing.serve_forever, daemon=True).start()
    closed = f"http://127.0.0.1:{free_port()}"
    answering = f"http://127.0.0.1:{failing.server_address[1]}"
    args = ("--upstream-stability", closed, "--upstream-bfl", closed, "--upstream-ideogram", closed, "--upstream-google", answering)
    try:
        with running_simulator("--seed", "7", "--state", state, *args, "--upstream-timeout", "10") as server:
            yield server, closed
    finally:
        failing.shutdown()


def generate(server: RunningServer, body: dict[str, object], key: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/images/generations", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=30)


def used(server: RunningServer, key: str) -> tuple[int, int]:
    """The images in the key's Perf minute and day windows."""
    usage = httpx.get(f"{server.base_url}/_sim/usage/{key}").json()
    return usage["minute"]["used"], usage["day"]["used"]


@pytest.mark.parametrize(("model", "size"), [("stable-diffusion-3", "1024x1024"), ("flux-dev", "256x256"), ("ideogram-2", "1024x1024")])
def test_a_free_key_retrying_through_a_refusing_upstream_meets_the_503_every_time_and_uses_no_quota(
    gateway: tuple[RunningServer, str], model: str, size: str
) -> None:
    """Two images a request, so four requests ask for more than the key's five a minute. Stability and BFL make one
    call per image, concurrently: none got past connecting."""
    server, closed = gateway
    key = f"pk_test_free_outage_{model.replace('-', '_')}"
    for _ in range(4):
        answer = generate(server, {"prompt": "a dark harbour", "model": model, "size": size, "n": 2}, key)
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["type"] == "service_unavailable", answer.text
        assert error["message"].startswith(f"upstream {MODELS[model].provider} at {closed} is unreachable"), answer.text
        assert answer.headers["x-ratelimit-remaining-images"] == str(FREE_MINUTE), "the headers show the charge given back"
    assert used(server, key) == (0, 0)


def test_a_request_the_upstream_answered_keeps_its_charge(gateway: tuple[RunningServer, str]) -> None:
    """The provider was reached (and may bill): the images count, and a retrying caller meets its own windows' 429."""
    server, _ = gateway
    key = "pk_test_free_outage_answered"
    for _ in range(2):
        answer = generate(server, {"prompt": "a dark harbour", "model": "imagen-3", "n": 2}, key)
        assert answer.status_code == 502 and answer.json()["error"]["type"] == "upstream_error", answer.text
    assert used(server, key) == (4, 4)
    assert generate(server, {"prompt": "a dark harbour", "model": "imagen-3", "n": 2}, key).status_code == 429
