"""A request for an API face's own path answers exactly as Starlette's route walk would answer it: same status,
headers and body, for every method (the face's 405 or 404 included), whether it reaches the face by its lane or
not."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from simulator.app import SimulatorApp, create_app
from simulator.config import SimulatorConfig
from simulator.control.layer import ControlLayer
from simulator.face_lanes import face_lanes
from simulator.mounting import FaceApp

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
BEARER = "pk_test_pro_lanes"
_ID = "[0-9a-f]{16,}"
KEY_HEADERS = {"Authorization": f"Bearer {BEARER}", "x-key": BEARER, "Api-Key": BEARER, "x-goog-api-key": BEARER}


def _app(lanes: bool) -> httpx.AsyncClient:
    app = create_app(SimulatorConfig(clock="manual", seed=7))
    assert isinstance(app, SimulatorApp)
    if not lanes:  # SimulatorApp.build_middleware_stack's stack without the lanes: every request walks the routes
        app.middleware_stack = ControlLayer(Starlette.build_middleware_stack(app), app.plane, app.sim_state, app.pages, app.body_timeout)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """An error's id counts per process (Perf) or is random (OpenAI, Stability): the only part of an answer the two
    apps may not share."""
    if response.status_code < 400:
        return response.status_code, response.headers.multi_items(), response.content
    headers = [(k, re.sub(_ID, "*", v)) for k, v in response.headers.multi_items()]
    return response.status_code, headers, re.sub(_ID.encode(), b"*", response.content)


def test_every_faces_literal_path_has_a_lane() -> None:
    app = create_app(SimulatorConfig(clock="manual"))
    assert {"/v1/images/generations", "/openai/v1/images/generations", "/v1/flux-pro", "/ideogram/generate"} <= set(face_lanes(app.routes))


def test_a_face_path_an_earlier_route_matches_keeps_the_walk() -> None:
    async def page(request: Request) -> Response:
        return PlainTextResponse("page")

    inner = [Route("/images/generations", page, methods=["POST"]), Route("/images/{name}", page)]
    face = FaceApp("perf", inner, lambda error, headers: PlainTextResponse(error.message))
    routes = [Route("/v1/images/generations", page, methods=["GET"]), Mount("/v1", face)]
    assert face_lanes(routes) == {}
    assert face_lanes(routes[1:]) == {"/v1/images/generations": routes[1]}


@pytest.mark.parametrize("origin", [None, "http://localhost:3000"])
def test_a_face_path_answers_by_its_lane_as_by_the_route_walk(origin: str | None) -> None:
    paths = sorted(face_lanes(create_app(SimulatorConfig(clock="manual")).routes))
    headers = {**KEY_HEADERS, **({"Origin": origin} if origin else {})}

    async def answers(lanes: bool) -> list[tuple[int, list[tuple[str, str]], bytes]]:
        async with _app(lanes) as client:
            return [
                _comparable(await client.request(method, path, json={"prompt": "a kite", "n": 1}, headers=headers))
                for path in paths
                for method in METHODS
            ]

    by_lane, by_walk = asyncio.run(answers(True)), asyncio.run(answers(False))
    assert [status for status, _, _ in by_lane].count(200) >= 4, "the comparison covers successful answers too"
    assert by_lane == by_walk
