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
from simulator.namespace_path import namespace_base_path, split_namespace_path
from simulator.providers.openai import mapping
from simulator.providers.serving import NativeErrorAnswer, authenticate, image_items, send
from simulator.urls import base_url
from spec import errors

PREFIX = "/openai"
ROUTE = f"/v1{mapping.PATH}"
"""The face's one route, under PREFIX: the openai SDK's base URL is PREFIX + "/v1"."""
MALFORMED_ANSWER = b'{"created": 1767225600, "data": [{"url": "http://127.0.0.1/images/img_'
"""The start of a success answer, cut short: what the control plane's `malformed` fault sends on this face."""


class OpenAIFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = config.public_url

    def routes(self) -> list[Route]:
        return [Route(ROUTE, Endpoint(self.create_image), methods=["POST"])]

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
    """OpenAI answers an unknown path, and a wrong method on a known one, with a 404 "Invalid URL" quoting the path
    after the base URL's host (without the simulator's mount prefix, or the namespace base path `path` came by).

    Decision: a base URL without `/v1` (`http://HOST:PORT/openai`, the likeliest mistake on this face) sends a path
    the face serves once `/v1` is put after the prefix; its 404 then adds, after OpenAI's words, a perf-image-sim
    sentence naming that path, with the namespace base path, as the face's 401 adds the keys it takes and as the Perf
    API's 404 names near misses. The openai SDK shows the message whole in its NotFoundError."""
    name, rest = split_namespace_path(path)
    within = rest.removeprefix(PREFIX) or "/"
    message = f"Invalid URL ({method} {within})"
    if method == "POST" and f"/v1{within}" == ROUTE:
        base = "" if name is None else namespace_base_path(name)
        message += f" (perf-image-sim: did you mean {base}{PREFIX}{ROUTE}? The face's base URL ends in {PREFIX}/v1.)"
    return ApiError(errors.NOT_FOUND, message)
