"""A JSON response sends the headers Starlette's JSONResponse would send for the same content and headers, and is
strict JSON whatever it holds; a request's headers read as Starlette's `Headers` reads them."""

from __future__ import annotations

import json

import pytest
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from simulator.engine.jsontypes import HugeNumber
from simulator.http import SafeJSONResponse, dump_json, request_header

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


def strict_loads(text: bytes) -> object:
    """JSON as a strict parser (a browser's, Go's, jq) reads it: `Infinity` and `NaN` are no JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("content", "written"),
    [
        ([float("inf"), "\ud800"], b'[null,"\\ud800"]'),
        ({"n": float("-inf"), "big": 2**64}, b'{"n":null,"big":18446744073709551616}'),
        ([float("nan"), {1: "\ud800"}], b'[null,{"1":"\\ud800"}]'),
        ({"n": HugeNumber("1e400"), "user": "\ud800"}, b'{"n":1e400,"user":"\\ud800"}'),
        ([HugeNumber("-1E+400")], b"[-1E+400]"),
    ],
    ids=["inf-beside-a-surrogate", "inf-beside-a-big-integer", "nan-beside-a-surrogate-in-a-key", "huge-as-sent", "huge-alone"],
)
def test_an_answer_orjson_refuses_is_still_strict_json_with_no_infinity_or_nan(content: object, written: bytes) -> None:
    """orjson refuses a lone surrogate, an integer beyond 64 bits and a HugeNumber; the fallback wrote `Infinity`
    for every infinite number beside one, which a browser's JSON.parse refuses (the dashboard showed nothing)."""
    assert dump_json(content) == written
    strict_loads(dump_json(content))


def test_the_fallback_writes_a_deep_value_holding_a_huge_number_without_recursion() -> None:
    deep: list[object] = [HugeNumber("1e400"), "\ud800"]
    for _ in range(5000):
        deep = [deep]
    written = dump_json(deep)
    assert written == b"[" * 5000 + b'[1e400,"\\ud800"]' + b"]" * 5000
