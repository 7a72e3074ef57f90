"""A JSON response sends the headers Starlette's JSONResponse would send for the same content and headers, and a
request's headers read as Starlette's `Headers` reads them."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from simulator.http import SafeJSONResponse, request_header

HEADERS: list[dict[str, str] | Headers | None] = [
    None,
    {},
    {"x-request-id": "req_1", "X-RateLimit-Limit-Images": "30"},
    {"X-A": "1", "x-a": "2", "Retry-After": "7"},
    {"Content-Type": "application/problem+json", "x-b": "é"},
    {"content-length": "3"},
    Headers(raw=[(b"x-a", b"1"), (b"x-a", b"2"), (b"x-c", b"3")]),
]


@pytest.mark.parametrize("status", [200, 204, 304, 404, 429])
@pytest.mark.parametrize("headers", HEADERS)
def test_a_json_response_sends_what_starlettes_sends(headers: dict[str, str] | Headers | None, status: int) -> None:
    content = {"created": 1, "data": [{"url": "http://sim/images/x.png"}]}
    ours = SafeJSONResponse(content, status_code=status, headers=headers)
    theirs = JSONResponse(content, status_code=status, headers=headers)
    assert ours.raw_headers == theirs.raw_headers
    assert bytes(ours.body) == bytes(theirs.body)


def test_the_same_header_names_with_other_values_send_those_values() -> None:
    first = SafeJSONResponse({}, headers={"x-request-id": "req_1", "x-n": "1"})
    second = SafeJSONResponse({}, headers={"x-request-id": "req_2", "x-n": "2"})
    assert first.raw_headers[:2] == [(b"x-request-id", b"req_1"), (b"x-n", b"1")]
    assert second.raw_headers[:2] == [(b"x-request-id", b"req_2"), (b"x-n", b"2")]


@pytest.mark.parametrize("name", ["host", "authorization", "content-length", "x-absent"])
def test_a_request_header_is_read_as_starlettes_headers_read_it(name: str) -> None:
    raw = [(b"host", b"sim:8080"), (b"authorization", b"Bearer a\xe9"), (b"authorization", b"Bearer b"), (b"content-length", b"12")]
    request = Request({"type": "http", "headers": raw})
    assert request_header(request, name.encode()) == Headers(raw=raw).get(name)
