"""The Perf API face: POST /v1/images/generations in the document's wire format."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine, GenerationResult, RateLimited
from simulator.http import Endpoint, SafeJSONResponse, read_body, request_header
from simulator.keys import KeyRegistry, Tenant
from simulator.perf.wire import PATH, error_response, request_from_wire, success_body, success_headers
from simulator.urls import base_url, image_url


class PerfFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, public_url: str | None, real_clock: bool) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = public_url
        self.real_clock = real_clock

    def routes(self) -> list[Route]:
        return [Route(PATH, Endpoint(self.create_image), methods=["POST"])]

    async def create_image(self, request: Request) -> Response:
        tenant: Tenant | None = None
        try:
            tenant = self.keys.authenticate(request_header(request, b"authorization"))
            result = await self.engine.generate(tenant, request_from_wire(await read_body(request)))
        except RateLimited as exc:
            return error_response(exc, exc.rate, window_on_manual_clock=not self.real_clock)
        except ApiError as exc:
            return error_response(exc, await self.engine.usage(tenant) if tenant else None)
        payload = await self.payload(result, base_url(request, self.public_url))
        return SafeJSONResponse(payload, headers=success_headers(result.request_id, result.rate))

    async def payload(self, result: GenerationResult, base: str) -> dict[str, object]:
        request = result.request
        if request.response_format == "b64_json":
            data = [{"b64_json": text, "revised_prompt": result.revised_prompt} for text in await self.engine.images_b64(result)]
        else:
            data = [{"url": image_url(base, image.image_id), "revised_prompt": result.revised_prompt} for image in result.images]
        return success_body(request, result.created, data, result.request_id, result.cost_usd, result.latency_ms)
