"""The whole app's CORS, beyond the layer's own (tests/test_cors.py): a bug's 500 carries the CORS headers, and a
credentialed request can read every header any face sends."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.cors import EXPOSED_HEADERS

ORIGIN = "http://127.0.0.1:5173"
SAFELISTED = {"cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"}
"""Response headers a browser shows a page whatever the answer exposes (Fetch's CORS-safelisted response headers)."""
NOT_FOR_CLIENTS = {"vary", "cross-origin-resource-policy"}
"""Headers the browser itself reads, which no client code needs to."""


def _client() -> httpx.AsyncClient:
    app = create_app(SimulatorConfig(clock="manual", seed=7))

    async def bug(request: Request) -> Response:
        raise RuntimeError("a bug of the simulator")

    app.router.routes.append(Route("/_sim/test-bug", bug))  # a control path with a bug, as any page or call may have
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://sim")


def test_a_bugs_500_carries_the_cors_headers_so_a_page_reads_it() -> None:
    """Starlette answers an unexpected exception outside the CORS layer: the page saw `TypeError: Failed to fetch`
    and a CORS error in the console, not the 500 asking to report the bug."""

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        async with _client() as client:
            return await client.get("/_sim/test-bug", headers={"Origin": ORIGIN}), await client.get("/_sim/test-bug")

    from_page, from_curl = asyncio.run(calls())
    assert from_page.status_code == 500 and "this is a bug, please report it" in from_page.json()["error"]["message"]
    assert from_page.headers["access-control-allow-origin"] == ORIGIN
    assert from_page.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in from_page.headers["access-control-expose-headers"].split(", ")
    assert from_page.headers["vary"] == "Origin"
    assert from_curl.status_code == 500 and not any(name.startswith("access-control-") for name in from_curl.headers)
    assert from_curl.headers["vary"] == "Origin", "as every other answer to a request without an Origin"


_keys = (f"pk_test_free_cors{n}" for n in itertools.count())


def _face_calls(client: httpx.AsyncClient) -> dict[str, Callable[[dict[str, str]], Awaitable[httpx.Response]]]:
    """One generation request per face (and Stability's JSON form), each with a free key of its own."""
    bearer, stability = {"Authorization": f"Bearer {next(_keys)}"}, {"Authorization": f"Bearer {next(_keys)}"}
    stability_json, bfl, ideogram, google = next(_keys), next(_keys), next(_keys), next(_keys)
    form: dict[str, object] = {"data": {"prompt": "a fox"}, "files": {"none": ("", b"")}}
    return {
        "perf": lambda h: client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={**bearer, **h}),
        "openai": lambda h: client.post("/openai/v1/images/generations", json={"prompt": "a fox"}, headers={**bearer, **h}),
        "stability": lambda h: client.post("/stability/v2beta/stable-image/generate/sd3", **form, headers={**stability, **h}),  # type: ignore[arg-type]
        "stability-json": lambda h: client.post(
            "/stability/v2beta/stable-image/generate/sd3",
            **form,  # type: ignore[arg-type]
            headers={"Authorization": f"Bearer {stability_json}", "Accept": "application/json", **h},
        ),
        "bfl": lambda h: client.post("/v1/flux-dev", json={"prompt": "a fox"}, headers={"x-key": bfl, **h}),
        "ideogram": lambda h: client.post(
            "/ideogram/generate", json={"image_request": {"prompt": "a fox"}}, headers={"Api-Key": ideogram, **h}
        ),
        "google": lambda h: client.post(
            "/google/v1beta/models/imagen-3.0-generate-002:predict",
            json={"instances": [{"prompt": "a fox"}], "parameters": {"sampleCount": 1}},
            headers={"x-goog-api-key": google, **h},
        ),
    }


def test_every_header_a_face_sends_is_exposed_by_name_to_a_credentialed_request() -> None:
    """A page calling with `credentials: 'include'` reads only the headers named in Access-Control-Expose-Headers
    (for it `*` is a header's name): every face's answers (a success, an injected and a real 429, a malformed answer,
    a 405, BFL's poll and sample, an image) send no header a client reads that `EXPOSED_HEADERS` leaves out."""
    origin = {"Origin": ORIGIN}

    async def answers() -> list[httpx.Response]:
        got: list[httpx.Response] = []
        async with _client() as client:
            for face, call in _face_calls(client).items():
                got += [await call(origin), await call({**origin, "X-Sim-Fault": "status=429;retry_after=3"})]
                got.append(await call({**origin, "X-Sim-Fault": "malformed"}))
                for _ in range(10):  # a free key's 5 images a minute
                    got.append(await call(origin))
                    if got[-1].status_code == 429:
                        break
                assert got[-1].status_code == 429, f"{face}: no real 429 ({got[-1].status_code})"
            got.append(await client.get("/v1/images/generations", headers=origin))
            task = (await client.post("/v1/flux-dev", json={"prompt": "a fox"}, headers={"x-key": "pk_live_abc123"})).json()
            got.append(poll := await client.get(task["polling_url"], headers={"x-key": "pk_live_abc123", **origin}))
            got.append(await client.get(poll.json()["result"]["sample"], headers=origin))
            made = await client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={"Authorization": "Bearer pk_live_abc123"})
            got.append(await client.get(made.json()["data"][0]["url"], headers=origin))
        return got

    got = asyncio.run(answers())
    assert {405, 200, 429} <= {answer.status_code for answer in got}
    assert {"retry-after", "x-ratelimit-limit-images", "x-ratelimit-limit-requests", "finish-reason", "allow"} <= {
        name for answer in got for name in answer.headers
    }, "the answers cover the faces' own headers"
    for answer in got:
        assert answer.headers["access-control-allow-origin"] == ORIGIN and answer.headers["access-control-allow-credentials"] == "true"
        exposed = answer.headers["access-control-expose-headers"].split(", ")
        read = {name for name in answer.headers if not name.startswith("access-control-")} - SAFELISTED - NOT_FOR_CLIENTS
        unexposed = read - set(exposed)
        assert not unexposed, f"{answer.request.method} {answer.request.url.path} {answer.status_code}: {unexposed} not exposed"
        assert exposed == ["*", *EXPOSED_HEADERS], "every header to an uncredentialed request, as before"
