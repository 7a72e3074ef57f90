"""Gateway mode gives the charge back when the provider made nothing: a request none of whose calls reached the
provider (each connection refused) uses no quota, in memory and in Redis alike, and neither does one whose every call
the provider refused (a 429, a 400), so a caller retrying keeps meeting the answer that names the provider, never its
own 429; a request the provider may have made images for (a 5xx, a submitted BFL task) keeps its charge
(docs/providers.md, gateway decisions)."""

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


@pytest.fixture(scope="module")
def refusing() -> Iterator[tuple[RunningServer, RunningServer]]:
    """A gateway before a real upstream perf-sim, whose fault rules (per caller key) refuse the gateway's calls."""
    with (
        running_simulator("--seed", "7") as upstream,
        running_simulator("--seed", "7", "--upstream", upstream.base_url, "--upstream-timeout", "10") as server,
    ):
        yield upstream, server


def refuse(upstream: RunningServer, key: str, match: dict[str, object], action: dict[str, object]) -> None:
    """Every call of `key` that `match`es is answered as `action` says, until the module's upstream stops."""
    httpx.post(f"{upstream.base_url}/_sim/faults", json={"match": {"key": key, **match}, "action": action}).raise_for_status()


# Stability and BFL make one call per image: one image a request, so a refusal is never beside a sibling call already
# sent (which keeps the charge); six requests ask for more than the free key's five images a minute.
REQUESTS: dict[str, tuple[dict[str, object], int]] = {
    "dall-e-2": ({"size": "256x256", "n": 2}, 4),
    "stable-diffusion-3": ({"size": "1024x1024", "n": 1}, 6),
    "flux-dev": ({"size": "256x256", "n": 1}, 6),
    "ideogram-2": ({"size": "1024x1024", "n": 2}, 4),
    "imagen-3": ({"n": 2}, 4),
}
REFUSALS: dict[str, tuple[dict[str, object], dict[str, int]]] = {
    "429": ({"status": 429, "retry_after": 7}, {provider: 429 for provider in ("openai", "stability", "bfl", "ideogram", "google")}),
    # OpenAI's, Stability's and Ideogram's 400 is the caller's 400; BFL's and Google's a 502 (docs/providers.md).
    "400": ({"status": 400, "message": "bad field x"}, {"openai": 400, "stability": 400, "ideogram": 400, "bfl": 502, "google": 502}),
}


@pytest.mark.parametrize("refusal", REFUSALS)
@pytest.mark.parametrize("model", REQUESTS)
def test_a_free_key_retrying_through_an_upstream_that_refuses_its_calls_meets_the_upstreams_answer_and_uses_no_quota(
    refusing: tuple[RunningServer, RunningServer], model: str, refusal: str
) -> None:
    """The provider made and billed nothing for a refused call: the caller keeps meeting the answer that names the
    upstream, never its own windows' 429."""
    upstream, server = refusing
    provider = MODELS[model].provider
    action, perf_status = REFUSALS[refusal]
    key = f"pk_test_free_refused_{refusal}_{model.replace('-', '_')}"
    refuse(upstream, key, {"face": provider}, action)
    fields, requests = REQUESTS[model]
    for _ in range(requests):
        answer = generate(server, {"prompt": "a refused harbour", "model": model, **fields}, key)
        assert answer.status_code == perf_status[provider], answer.text
        assert f"upstream {provider} " in answer.json()["error"]["message"], answer.text
        assert answer.headers["x-ratelimit-remaining-images"] == str(FREE_MINUTE), "the headers show the charge given back"
    assert used(server, key) == (0, 0)


@pytest.mark.parametrize("model", ["dall-e-2", "stable-diffusion-3"])
def test_an_upstream_500_keeps_the_charge_as_the_provider_may_have_made_the_images(
    refusing: tuple[RunningServer, RunningServer], model: str
) -> None:
    upstream, server = refusing
    key = f"pk_test_free_upstream_500_{model.replace('-', '_')}"
    refuse(upstream, key, {"face": MODELS[model].provider}, {"status": 500})
    fields = {"size": "256x256" if model == "dall-e-2" else "1024x1024", "n": 2}
    for _ in range(2):
        answer = generate(server, {"prompt": "a failing harbour", "model": model, **fields}, key)
        assert answer.status_code == 502 and answer.json()["error"]["type"] == "upstream_error", answer.text
    assert used(server, key) == (4, 4)
    assert generate(server, {"prompt": "a failing harbour", "model": model, **fields}, key).status_code == 429, "its own limit"


def test_a_refused_bfl_poll_keeps_the_charge_as_the_task_was_submitted(refusing: tuple[RunningServer, RunningServer]) -> None:
    upstream, server = refusing
    key = "pk_test_free_refused_poll"
    refuse(upstream, key, {"path": "/v1/get_result"}, {"status": 404})
    answer = generate(server, {"prompt": "a lost task", "model": "flux-dev", "size": "256x256", "n": 2}, key)
    assert answer.status_code == 502 and "upstream bfl answered 404" in answer.json()["error"]["message"], answer.text
    assert used(server, key) == (2, 2)
