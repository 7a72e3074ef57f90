"""The OpenAI Images face: POST /openai/v1/images/generations on OpenAI's wire (openai SDK base_url ".../openai/v1")."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.config import SimulatorConfig
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.http import Endpoint, credential_header, parse_json, read_body
from simulator.keys import KeyRegistry, bearer_token
from simulator.providers.openai import mapping
from simulator.providers.serving import NativeErrorAnswer, authenticate, image_items, send
from simulator.urls import base_url
from spec import errors

PREFIX = "/openai"
MALFORMED_ANSWER = b'{"created": 1767225600, "data": [{"url": "http://127.0.0.1/images/img_'
"""The start of a success answer, cut short: what the control plane's `malformed` fault sends on this face."""


class OpenAIFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = config.public_url

    def routes(self) -> list[Route]:
        return [Route(f"/v1{mapping.PATH}", Endpoint(self.create_image), methods=["POST"])]

    async def create_image(self, request: Request) -> Response:
        n: int | None = None
        try:
            key = bearer_token(credential_header(request, b"authorization", "Authorization"))
            tenant = authenticate(self.keys, key, mapping.MISSING_KEY_MESSAGE)
            generation = mapping.request_from_native(parse_json(await read_body(request), request=request))
            n = generation.n
            result = await self.engine.generate(tenant, generation, face=mapping.PROVIDER)
        except ApiError as exc:
            return NativeErrorAnswer(partial(mapping.error_answer, exc, n=n))
        inline = result.request.response_format == "b64_json"
        items = await image_items(self.engine, result, inline, base_url(request, self.public_url))
        return send(mapping.success_answer(result, items))


def error_response(exc: ApiError) -> Response:
    return NativeErrorAnswer(partial(mapping.error_answer, exc))


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    """OpenAI answers an unknown path, and a wrong method on a known one, with a 404 "Invalid URL"."""
    return ApiError(errors.NOT_FOUND, f"Invalid URL ({method} {(path.removeprefix(PREFIX) or '/')})")
