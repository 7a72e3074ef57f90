"""The Perf API face: POST /v1/images/generations in the document's wire format."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.encode import base64_text
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine, GenerationResult, RateLimited
from simulator.engine.request import GenerationRequest
from simulator.engine.validate import validate_perf_request
from simulator.http import Endpoint, SafeJSONResponse, parse_json, read_body
from simulator.keys import KeyRegistry, Tenant
from simulator.perf.wire import error_response, rate_limit_headers
from simulator.urls import base_url, image_url
from spec import errors


def perf_body(
    request: GenerationRequest, created: int, data: list[dict[str, str]], request_id: str, cost_usd: float, latency_ms: int
) -> dict[str, object]:
    """The document's success body; the in-process face and the gateway both answer with it."""
    perf = {
        "request_id": request_id,
        "model_used": request.model,
        "size": request.size,
        "quality": request.quality,
        "cost_usd": cost_usd,
        "latency_ms": latency_ms,
    }
    return {"created": created, "data": data, "perf": perf}


PREFIX = "/v1"
PATH = "/images/generations"


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    if allowed is None:
        return ApiError(errors.NOT_FOUND, f"no route for {method} {path}; see /openapi.json")
    return ApiError(errors.METHOD_NOT_ALLOWED, f"method {method} is not allowed on {path}; allowed: {allowed}")


class PerfFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, public_url: str | None) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = public_url

    def routes(self) -> list[Route]:
        return [Route(PATH, Endpoint(self.create_image), methods=["POST"])]

    async def create_image(self, request: Request) -> Response:
        tenant: Tenant | None = None
        try:
            tenant = self.keys.authenticate(request.headers.get("authorization"))
            body = parse_json(await read_body(request))
            result = await self.engine.generate(tenant, validate_perf_request(body))
        except RateLimited as exc:
            return error_response(exc, exc.rate)
        except ApiError as exc:
            return error_response(exc, await self.engine.usage(tenant) if tenant else None)
        payload = await self.payload(result, base_url(request, self.public_url))
        return SafeJSONResponse(payload, headers={"x-request-id": result.request_id, **rate_limit_headers(result.rate)})

    async def payload(self, result: GenerationResult, base: str) -> dict[str, object]:
        request = result.request
        if request.response_format == "b64_json":
            pngs = await self.engine.render_all([image.render_key for image in result.images])
            data = [{"b64_json": base64_text(png), "revised_prompt": result.revised_prompt} for png in pngs]
        else:
            data = [{"url": image_url(base, image.image_id), "revised_prompt": result.revised_prompt} for image in result.images]
        return perf_body(request, result.created, data, result.request_id, result.cost_usd, result.latency_ms)
