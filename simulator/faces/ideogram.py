"""The Ideogram face: POST /ideogram/generate with an `Api-Key` header and an `image_request` envelope."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.config import SimulatorConfig
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.faces.native import answering_outages, authenticate, image_items, in_envelope, send
from simulator.faces.perf import base_url
from simulator.http import parse_json, read_body
from simulator.keys import KeyRegistry
from simulator.mapping import ideogram as mapping
from spec import errors

PREFIX = "/ideogram"


class IdeogramFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = config.public_url

    def routes(self) -> list[Route]:
        return [
            Route(PREFIX + mapping.PATH, answering_outages(self.generate, in_envelope(mapping.error_answer)), methods=["POST"]),
            Route(PREFIX + "/{rest:path}", self.not_found),
        ]

    async def generate(self, request: Request) -> Response:
        try:
            key = (request.headers.get("api-key") or "").strip() or None
            tenant = authenticate(self.keys, mapping.PROVIDER, key, mapping.MISSING_KEY_MESSAGE)
            native = mapping.request_from_native(parse_json(await read_body(request)))
            result = await self.engine.generate(tenant, native.generation, bucket=mapping.PROVIDER)
        except ApiError as exc:
            return send(mapping.error_answer(exc))
        urls = await image_items(self.engine, result, False, base_url(request, self.public_url))
        return send(mapping.success_answer(result, native, urls, self.engine.output_flagged(native.generation)))

    async def not_found(self, request: Request) -> Response:
        path = request.url.path.removeprefix(PREFIX)
        return send(mapping.error_answer(ApiError(errors.NOT_FOUND, f"{request.method} {path}: no such endpoint")))
