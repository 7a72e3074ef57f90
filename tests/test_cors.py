"""The simulator's CORS layer answers every request with exactly the headers Starlette's CORSMiddleware would."""

from __future__ import annotations

import asyncio

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.cors import OpenCORS


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
        answering(response_headers), allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], expose_headers=["*"]
    )
    assert call(OpenCORS(answering(response_headers)), method, request_headers) == call(starlette, method, request_headers)
