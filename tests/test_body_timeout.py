"""A body that stops coming is answered 408 in its face's envelope after --body-timeout, and its connection closed:
a client whose Content-Length promises more than it sends, or whose chunked body stops, is told so, never left
waiting for ever; a control call (the Perf envelope) as much as an API request, and in process as under uvicorn."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.launcher import RunningServer, running_simulator

KEY = "pk_test_pro_stall"
IN_PROCESS_TIMEOUT = 0.2
STALL_SECONDS = 3.0
"""How long an in-process body stops before its last part: far longer than the deadline and its tick."""


@pytest.fixture(scope="module")
def impatient() -> Iterator[RunningServer]:
    with running_simulator("--body-timeout", "1", "--clock", "manual", "--quiet") as server:
        yield server


def _send_and_read(server: RunningServer, head: bytes, body: bytes) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout fails the test: a hang)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as connection:
        connection.sendall(head + b"\r\n" + body)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    ("head", "body", "error_of"),
    [
        (
            b"POST /v1/images/generations HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 500\r\n",
            b'{"prompt": "a',
            lambda answer: answer["error"]["type"] == "request_timeout" and "500 bytes" in answer["error"]["message"],
        ),
        (
            b"POST /ideogram/generate HTTP/1.1\r\nHost: sim\r\nApi-Key: " + KEY.encode() + b"\r\nContent-Length: 80\r\n",
            b"",
            lambda answer: "did not arrive within 1 s" in answer["error"],
        ),
        (
            b"POST /openai/v1/images/generations HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + KEY.encode() + b"\r\n"
            b"Transfer-Encoding: chunked\r\n",
            b'5\r\n{"pro\r\n',
            lambda answer: answer["error"]["type"] == "invalid_request_error" and "did not arrive" in answer["error"]["message"],
        ),
        (
            b"POST /google/v1beta/models/imagen-3.0-generate-002:predict HTTP/1.1\r\nHost: sim\r\nx-goog-api-key: "
            + KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 90\r\n",
            b'{"instances": [',
            lambda answer: answer["error"]["code"] == 408 and answer["error"]["status"] == "DEADLINE_EXCEEDED",
        ),
    ],
    ids=["perf-short-content-length", "ideogram-no-body-at-all", "openai-chunked-body-stops", "google-names-the-deadline"],
)
def test_a_body_that_stops_coming_is_a_408_in_the_faces_envelope_then_the_connection_closes(
    impatient: RunningServer, head: bytes, body: bytes, error_of: Callable[[Any], bool]
) -> None:
    received = _send_and_read(impatient, head, body)
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    assert error_of(json.loads(rest.partition(b"\r\n\r\n")[2]))


def test_the_api_document_lists_the_408_a_stalled_generation_gets(impatient: RunningServer) -> None:
    """A client validating answers against /openapi.json (schemathesis, openapi-core) must not flag the 408."""
    head = b"POST /v1/images/generations HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 50\r\n"
    status = _send_and_read(impatient, head, b"{").partition(b"\r\n")[0].split(b" ")[1].decode()
    document = httpx.get(impatient.base_url + "/openapi.json").json()
    assert status == "408" and status in document["paths"]["/v1/images/generations"]["post"]["responses"]


def test_a_stalled_request_is_journalled_and_the_server_goes_on_serving(impatient: RunningServer) -> None:
    with httpx.Client(base_url=impatient.base_url) as client:
        client.delete("/_sim/requests").raise_for_status()
        head = b"POST /v1/images/generations HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 9\r\n"
        assert _send_and_read(impatient, head, b"{").startswith(b"HTTP/1.1 408")
        assert [entry["status"] for entry in client.get("/_sim/requests").json()["requests"]] == [408]
        answer = client.post("/v1/images/generations", json={"prompt": "a kite"}, headers={"Authorization": f"Bearer {KEY}"})
        assert answer.status_code == 200


@pytest.mark.parametrize(
    ("head", "said"),
    [
        (
            b"POST /v1/images/generations HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 9\r\n",
            lambda answer: answer["error"]["message"],
        ),
        (
            b"POST /ideogram/generate HTTP/1.1\r\nHost: sim\r\nApi-Key: " + KEY.encode() + b"\r\nContent-Length: 80\r\n",
            lambda answer: answer["error"],
        ),
    ],
    ids=["perf", "ideogram"],
)
def test_a_stalled_requests_entry_carries_the_408s_message(impatient: RunningServer, head: bytes, said: Callable[[Any], str]) -> None:
    with httpx.Client(base_url=impatient.base_url) as client:
        client.delete("/_sim/requests").raise_for_status()
        received = _send_and_read(impatient, head, b"{")
        assert received.startswith(b"HTTP/1.1 408")
        message = said(json.loads(received.partition(b"\r\n\r\n")[2]))
        (entry,) = client.get("/_sim/requests").json()["requests"]
        assert (entry["status"], entry["error_message"], entry["error_param"]) == (408, message, None)
        assert "did not arrive" in message


@pytest.mark.parametrize(
    "head",
    [
        b"POST /_sim/faults HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: 100\r\n",
        b"POST /_sim/clock/advance HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: 50\r\n",
        b"POST /_sim/ns/jobA/_sim/requests/count HTTP/1.1\r\nHost: sim\r\nTransfer-Encoding: chunked\r\n",
    ],
    ids=["faults-short-content-length", "clock-advance-short-content-length", "namespaced-count-chunked-body-stops"],
)
def test_a_control_call_whose_body_stops_coming_is_a_408_in_the_perf_envelope_then_the_connection_closes(
    impatient: RunningServer, head: bytes
) -> None:
    received = _send_and_read(impatient, head, b"1\r\n{\r\n" if b"chunked" in head else b"{")
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
    assert error["type"] == "request_timeout" and "did not arrive within 1 s" in error["message"]
    with httpx.Client(base_url=impatient.base_url) as client:
        assert client.get("/_sim/faults").json()["faults"] == []


async def _stalled_body() -> AsyncIterator[bytes]:
    yield b'{"prompt": "a'
    await asyncio.sleep(STALL_SECONDS)
    yield b' kite"}'


def _post_in_process(app: Any, path: str, stall: bool) -> httpx.Response:
    """`path` posted to `app` through httpx's ASGITransport (which raises what the app raises), in an event loop of
    its own, as each test of a suite with a loop per test does."""

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
            content: Any = _stalled_body() if stall else b'{"prompt": "a kite"}'
            return await client.post(path, content=content, headers={"Authorization": f"Bearer {KEY}"})

    return asyncio.run(post())


@pytest.mark.parametrize("path", ["/v1/images/generations", "/_sim/requests/count"], ids=["api", "control"])
def test_in_process_a_body_that_stops_coming_is_a_408_and_raises_nothing(path: str) -> None:
    app = create_app(SimulatorConfig(body_timeout=IN_PROCESS_TIMEOUT, clock="manual"))
    answer = _post_in_process(app, path, stall=True)
    assert answer.status_code == 408
    assert answer.json()["error"]["type"] == "request_timeout"


def test_the_deadline_holds_in_every_event_loop_the_app_is_served_in() -> None:
    """A request ends each loop: its deadline's timer is still pending when the loop closes."""
    app = create_app(SimulatorConfig(body_timeout=IN_PROCESS_TIMEOUT, clock="manual"))
    statuses = []
    for _ in range(3):
        statuses.append(_post_in_process(app, "/v1/images/generations", stall=True).status_code)
        assert _post_in_process(app, "/v1/images/generations", stall=False).status_code == 200
    assert statuses == [408, 408, 408]


def test_the_deadline_holds_in_each_of_two_event_loops_serving_the_app_at_once() -> None:
    """Two threads, each with its own loop, whose stalled bodies wait at the same time: each gets its 408 before its
    body's last part would have come."""
    app = create_app(SimulatorConfig(body_timeout=IN_PROCESS_TIMEOUT, clock="manual"))

    def timed_post() -> tuple[int, float]:
        started = time.monotonic()
        status = _post_in_process(app, "/v1/images/generations", stall=True).status_code
        return status, time.monotonic() - started

    with ThreadPoolExecutor(2) as threads:
        answers = [threads.submit(timed_post) for _ in range(2)]
        results = [answer.result() for answer in answers]
    assert [status for status, _ in results] == [408, 408]
    assert max(seconds for _, seconds in results) < STALL_SECONDS, "a loop's stalled body waited for the rest of it"
