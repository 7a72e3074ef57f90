"""The Ideogram face: POST /ideogram/generate with an `Api-Key` header and an `image_request` envelope."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.config import SimulatorConfig
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.http import Endpoint, credential_header, parse_json, read_body
from simulator.keys import KeyRegistry
from simulator.mounting import unknown_route_error
from simulator.providers.ideogram import mapping
from simulator.providers.serving import authenticate, image_items, send
from simulator.urls import base_url

PREFIX = "/ideogram"
MALFORMED_ANSWER = b'{"created": "2026-01-01T00:00:00+00:00", "data": [{"url": "http://127.0.0.1/images/img_'
"""The start of a success answer, cut short: what the control plane's `malformed` fault sends on this face."""


class IdeogramFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = config.public_url

    def routes(self) -> list[Route]:
        return [Route(mapping.PATH, Endpoint(self.generate), methods=["POST"])]

    async def generate(self, request: Request) -> Response:
        try:
            key = (credential_header(request, b"api-key", "Api-Key") or "").strip() or None
            tenant = authenticate(self.keys, key, mapping.MISSING_KEY_MESSAGE)
            native = mapping.request_from_native(parse_json(await read_body(request), request=request))
            result = await self.engine.generate(tenant, native.generation, face=mapping.PROVIDER)
        except ApiError as exc:
            return send(mapping.error_answer(exc))
        urls = await image_items(self.engine, result, False, base_url(request, self.public_url))
        return send(mapping.success_answer(result, native, urls, self.engine.output_flagged(native.generation)))


def error_response(exc: ApiError) -> Response:
    return send(mapping.error_answer(exc))


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    return unknown_route_error(method, path.removeprefix(PREFIX) or "/", allowed)
