"""The simulator's CORS layer answers every request with exactly the headers Starlette's CORSMiddleware would with every
origin allowed, credentials too, and a refused preflight in the Perf envelope where Starlette answers plain text."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.cors import EXPOSED_HEADERS, OpenCORS


def answering(headers: dict[str, str] | list[tuple[str, str]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse("hello")
        response.raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers.items() if isinstance(headers, dict) else headers)]
        await response(scope, receive, send)

    return app


def call(app: ASGIApp, method: str, headers: dict[str, str]) -> list[Message]:
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": "/v1/images/generations",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "query_string": b"",
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, receive, send)

    asyncio.run(run())
    return sent


REQUESTS = [
    ("POST", {}),
    ("POST", {"Origin": "http://localhost:3000"}),
    ("GET", {"Origin": "null", "Cookie": "a=b"}),
    ("OPTIONS", {"Origin": "http://localhost:3000"}),
    ("OPTIONS", {"Access-Control-Request-Method": "POST"}),
    ("OPTIONS", {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}),
    ("OPTIONS", {"Origin": "https://a.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-a,b"}),
    ("OPTIONS", {"Origin": "https://app.example", "Access-Control-Request-Method": "BREW"}),
    ("OPTIONS", {"Origin": "https://a.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "1"}),
]
RESPONSES = [
    {},
    {"Vary": "Accept-Encoding"},
    [("Vary", "Accept"), ("X-Other", "1"), ("Vary", "Cookie")],
    {"Access-Control-Allow-Origin": "https://only.example", "Access-Control-Expose-Headers": "x-request-id"},
]


@pytest.mark.parametrize("response_headers", RESPONSES, ids=["plain", "vary", "two-varies", "own-cors"])
@pytest.mark.parametrize(("method", "request_headers"), REQUESTS, ids=[f"{m}-{'-'.join(h) or 'none'}" for m, h in REQUESTS])
def test_open_cors_sends_what_starlettes_cors_middleware_sends(
    method: str, request_headers: dict[str, str], response_headers: dict[str, str] | list[tuple[str, str]]
) -> None:
    starlette = CORSMiddleware(
        answering(response_headers),
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials=True,
        expose_headers=["*", *EXPOSED_HEADERS],
    )
    ours, theirs = call(OpenCORS(answering(response_headers)), method, request_headers), call(starlette, method, request_headers)
    if theirs[0]["status"] == 400:  # a refused preflight: the same headers, the Perf envelope for Starlette's text
        assert (ours[0]["status"], without_body_headers(ours[0]["headers"])) == (400, without_body_headers(theirs[0]["headers"]))
        assert json.loads(ours[1]["body"])["error"]["type"] == "invalid_request"
    else:
        assert ours == theirs


def without_body_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if name not in (b"content-length", b"content-type")]


@pytest.mark.parametrize(
    ("request_headers", "param", "says"),
    [
        ({"Access-Control-Request-Method": "FOO BAR"}, "Access-Control-Request-Method", "'FOO BAR' is no method a preflight"),
        ({"Access-Control-Request-Method": "post"}, "Access-Control-Request-Method", "'post' is no method"),
        (
            {"Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"},
            "Access-Control-Request-Private-Network",
            "private network access is not allowed",
        ),
    ],
    ids=["unknown-method", "lower-case-method", "private-network"],
)
def test_a_refused_preflight_answers_the_perf_envelope_naming_the_header_not_plain_text(
    request_headers: dict[str, str], param: str, says: str
) -> None:
    """Starlette answers `Disallowed CORS method` in text/plain, the one 400 of the simulator in no envelope."""
    start, body = call(OpenCORS(answering({})), "OPTIONS", {"Origin": "https://app.example", **request_headers})
    assert start["status"] == 400 and (b"content-type", b"application/json") in start["headers"]
    error = json.loads(body["body"])["error"]
    assert error["param"] == param and says in error["message"] and error["type"] == "invalid_request"


def test_a_request_with_an_origin_is_allowed_that_origin_with_credentials() -> None:
    """A credentialed request (`credentials: 'include'`, axios `withCredentials`) fails in the browser on
    `Access-Control-Allow-Origin: *`; the Origin reflected, with `Access-Control-Allow-Credentials: true`, it passes,
    and the headers clients read are exposed by name, as `*` exposes none to it."""
    start, _ = call(OpenCORS(answering({})), "POST", {"Origin": "http://localhost:3000"})
    headers = dict(start["headers"])
    assert headers[b"access-control-allow-origin"] == b"http://localhost:3000"
    assert headers[b"access-control-allow-credentials"] == b"true"
    exposed = headers[b"access-control-expose-headers"].split(b", ")
    assert exposed[:4] == [b"*", b"x-request-id", b"retry-after", b"x-ratelimit-limit-images"]
    assert headers[b"vary"] == b"Origin", "a cache keeps one answer per origin"
    without_origin, _ = call(OpenCORS(answering({})), "POST", {})
    assert [name for name, _ in without_origin["headers"] if name.startswith(b"access-control-")] == []


def test_a_preflight_allows_the_origin_with_credentials() -> None:
    start, _ = call(OpenCORS(answering({})), "OPTIONS", {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    headers = dict(start["headers"])
    assert start["status"] == 200 and headers[b"access-control-allow-origin"] == b"http://localhost:3000"
    assert headers[b"access-control-allow-credentials"] == b"true"
