"""Gateway mode against an upstream that cannot be reached: a refused connection and one that is never made (a
firewalled or powered-off host drops the connection attempt) are the same outage, the documented 503."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from simulator.gateway.adapter import call_upstream
from simulator.gateway.transport import UpstreamHttp
from simulator.launcher import RunningServer, running_simulator
from simulator.providers.bfl import mapping as bfl
from spec import errors

UPSTREAM_TIMEOUT_SECONDS = 1


@pytest.fixture(scope="module")
def blackhole() -> Iterator[str]:
    """The URL of a port that listens but never accepts, with its queue full: a connection attempt to it is never
    answered, as one to a host that drops it is (no refusal comes back)."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(0)
        port = listening.getsockname()[1]
        queued: list[socket.socket] = []
        try:
            while True:
                attempt = socket.socket()
                attempt.settimeout(0.2)
                try:
                    attempt.connect(("127.0.0.1", port))
                except TimeoutError:
                    attempt.close()
                    break
                queued.append(attempt)
            yield f"http://127.0.0.1:{port}"
        finally:
            for attempt in queued:
                attempt.close()


@pytest.fixture(scope="module")
def gateway(blackhole: str) -> Iterator[RunningServer]:
    args = ("--upstream-ideogram", blackhole, "--upstream-timeout", str(UPSTREAM_TIMEOUT_SECONDS))
    with running_simulator("--seed", "7", *args) as server:
        yield server


def generate(server: RunningServer, body: dict[str, object], key: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/images/generations", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=30)


def test_an_upstream_that_never_takes_the_connection_is_a_503_unreachable_naming_the_connect_wait(gateway: RunningServer) -> None:
    """Not a 502 "did not answer": a client that waits out a 503 and gives up on a 502 must wait out this outage. The
    connect wait is half of a short --upstream-timeout, so the request's overall timeout does not end it first."""
    started = time.monotonic()
    answer = generate(gateway, {"prompt": "a dark harbour", "model": "ideogram-2"}, "pk_test_pro_unreachable")
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["type"] == "service_unavailable", answer.text
    assert "is unreachable: no connection within 0.5 s" in error["message"], "half of --upstream-timeout 1"
    assert time.monotonic() - started < 4


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_bfl_poll_whose_connection_is_not_made_in_time_is_tried_again_as_a_refused_one_is() -> None:
    """The task was submitted and charged: a poll lost to a connect timeout must not throw the generation away."""
    sample = _png((256, 256))
    polls: list[int] = []

    def provider(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"id": "task-1", "polling_url": "http://bfl.test/v1/get_result?id=task-1"})
        if request.url.path == "/v1/get_result":
            polls.append(1)
            if len(polls) <= 2:
                raise httpx.ConnectTimeout("timed out", request=request)
            return httpx.Response(200, json={"status": "Ready", "result": {"sample": "http://bfl.test/sample.png"}})
        return httpx.Response(200, content=sample, headers={"content-type": "image/png"})

    async def generate_through_bfl() -> bytes:
        http = UpstreamHttp(10)
        http.client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
        request = GenerationRequest("a patient robot", "flux-dev", 1, "256x256", "standard", None, "b64_json")
        try:
            (image,) = await call_upstream(bfl.UPSTREAM, http, "http://bfl.test", "bfl-key", request, bfl.native_calls(request))
        finally:
            await http.close()
        return image.data

    assert asyncio.run(generate_through_bfl()) == sample
    assert len(polls) == 3


def test_a_connect_timeout_is_told_apart_from_an_answer_that_never_came() -> None:
    """The message gives the connect wait actually spent, not --upstream-timeout's."""

    def provider(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    async def send() -> None:
        http = UpstreamHttp(60)
        http.client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
        try:
            await http.send("google", "POST", "http://google.test/v1beta/models/x:predict", json={})
        finally:
            await http.close()

    with pytest.raises(ApiError) as raised:
        asyncio.run(send())
    assert raised.value.type == errors.SERVICE_UNAVAILABLE
    assert raised.value.message == "upstream google at http://google.test is unreachable: no connection within 5 s"
