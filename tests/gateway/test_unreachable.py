"""Gateway mode against an upstream that cannot be reached: a refused connection and one that is never made (a
firewalled or powered-off host drops the connection attempt) are the same outage, the documented 503."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Callable, Coroutine, Iterator

import httpx
import pytest
from PIL import Image

from simulator.engine.errors import ApiError, ProviderCall, ProviderCallsFailed
from simulator.engine.generate import made_nothing
from simulator.engine.request import GenerationRequest
from simulator.gateway.adapter import call_upstream
from simulator.gateway.transport import Reach, UpstreamHttp
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
    args = ("--upstream-ideogram", blackhole, "--upstream-bfl", blackhole, "--upstream-timeout", str(UPSTREAM_TIMEOUT_SECONDS))
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


def test_requests_whose_connections_are_never_made_use_no_quota_so_retries_keep_meeting_the_503(gateway: RunningServer) -> None:
    """BFL makes one call per image, concurrently: the first connect timeout cancels the other call while it is still
    connecting, so none reached the provider and the charge is given back (a free key's five images a minute would
    otherwise be spent by the third request, and the fourth be the key's own 429)."""
    key = "pk_test_free_never_connected"
    for _ in range(4):
        answer = generate(gateway, {"prompt": "a dark harbour", "model": "flux-dev", "size": "256x256", "n": 2}, key)
        assert answer.status_code == 503, answer.text
        assert "upstream bfl at http://127.0.0.1:" in answer.json()["error"]["message"], answer.text
    usage = httpx.get(f"{gateway.base_url}/_sim/usage/{key}").json()
    assert (usage["minute"]["used"], usage["day"]["used"]) == (0, 0)


def test_a_refused_call_beside_one_the_provider_answered_is_no_proof_that_nothing_reached_it() -> None:
    """BFL's first task is submitted and answered, its second refused: the 503 stays, and so does the charge (the
    engine gives it back only when the provider made nothing); with both refused, it did."""

    async def submit(refuse_both: bool) -> ApiError:
        calls: list[int] = []

        async def provider(request: httpx.Request) -> httpx.Response:
            calls.append(1)
            if len(calls) == 1 and not refuse_both:
                return httpx.Response(200, json={"id": "task-1", "polling_url": "http://bfl.test/v1/get_result?id=task-1"})
            await asyncio.sleep(0.05)
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

        return await _bfl_failure(provider, 2)

    answered_one, refused_both = asyncio.run(submit(False)), asyncio.run(submit(True))
    assert answered_one.type == refused_both.type == errors.SERVICE_UNAVAILABLE
    assert isinstance(answered_one, ProviderCallsFailed) and isinstance(refused_both, ProviderCallsFailed)
    assert (made_nothing(answered_one.calls), made_nothing(refused_both.calls)) == (False, True)


def test_a_call_that_got_past_connecting_may_have_reached_the_provider() -> None:
    """As httpcore traces a call: connecting alone (started, failed) reaches nothing; a connection made does."""
    connecting, connected = Reach(), Reach()
    for event in ("connection.connect_tcp.started", "connection.connect_tcp.failed"):
        asyncio.run(connecting.trace(event, {}))
    asyncio.run(connected.trace("connection.connect_tcp.complete", {}))
    assert (connecting.maybe, connected.maybe) == (False, True)


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


async def _bfl_failure(provider: Callable[[httpx.Request], Coroutine[None, None, httpx.Response]], n: int) -> ApiError:
    """The error a flux-dev request for `n` images fails with when `provider` answers BFL's calls."""
    http = UpstreamHttp(10)
    http.client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    request = GenerationRequest("a patient robot", "flux-dev", n, "256x256", "standard", None, "b64_json")
    try:
        with pytest.raises(ApiError) as raised:
            await call_upstream(bfl.UPSTREAM, http, "http://bfl.test", "bfl-key", request, bfl.native_calls(request))
    finally:
        await http.close()
    return raised.value


def _bfl_submits(statuses: list[int]) -> ProviderCallsFailed:
    """The failure of a flux-dev request for len(`statuses`) images whose submits BFL answers with `statuses`, each
    answer after the one before (list the failure last: the first failure cancels the calls still waiting, and this
    transport traces nothing, so one cancelled here reads as never connected, as no real connection would)."""
    answered: list[int] = []

    async def provider(request: httpx.Request) -> httpx.Response:
        status = statuses[len(answered)]
        answered.append(status)
        await asyncio.sleep(0.05 * len(answered))
        if status == 200:
            return httpx.Response(200, json={"id": "task-1", "polling_url": "http://bfl.test/v1/get_result?id=task-1"})
        return httpx.Response(status, json={"detail": "refused"})

    failure = asyncio.run(_bfl_failure(provider, len(statuses)))
    assert isinstance(failure, ProviderCallsFailed)
    return failure


def test_each_generation_call_reports_the_status_the_provider_answered_it_with() -> None:
    refused = _bfl_submits([429])
    assert refused.type == errors.RATE_LIMIT_EXCEEDED and refused.retry_after == 1, "answered as BFL's 429 maps"
    assert refused.calls == (ProviderCall(True, 429),)
    beside_a_task = _bfl_submits([200, 429])
    assert beside_a_task.calls == (ProviderCall(True, 200), ProviderCall(True, 429))
    assert not made_nothing(beside_a_task.calls), "the first task was submitted: BFL makes and bills it"


@pytest.mark.parametrize(
    ("calls", "nothing"),
    [
        ((ProviderCall(True, 429),), True),
        ((ProviderCall(True, 400), ProviderCall(False)), True),
        (tuple(ProviderCall(True, status) for status in (401, 403, 404, 413, 422)), True),
        ((ProviderCall(False), ProviderCall(False)), True),
        ((ProviderCall(True, 429), ProviderCall(True, 200)), False),
        ((ProviderCall(True, 429), ProviderCall(True, None)), False),
        ((ProviderCall(True, 500),), False),
        ((ProviderCall(True, 503),), False),
        ((ProviderCall(True, 200),), False),
        ((ProviderCall(True, None),), False),
        ((ProviderCall(True, 408),), False),
    ],
)
def test_the_provider_made_nothing_only_when_every_call_was_unreached_or_refused(calls: tuple[ProviderCall, ...], nothing: bool) -> None:
    """A 4xx refusal proves nothing was made; a 2xx made it; a 5xx or no answer may have (docs/providers.md)."""
    assert made_nothing(calls) is nothing
