"""The Perf API face: POST /v1/images/generations in the document's wire format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import Generic, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine, GenerationResult, RateLimited
from simulator.engine.request import GenerationRequest
from simulator.http import Endpoint, SafeJSONResponse, credential_header, read_body
from simulator.keys import KeyRegistry, Tenant
from simulator.perf.wire import PATH, error_response, request_from_wire, success_body, success_headers
from simulator.state.base import RateState
from simulator.urls import base_url, image_url


class MadeImages(Protocol):
    """Images made for a request, however they were made: what the success answer's headers are taken from."""

    @property
    def request_id(self) -> str: ...

    @property
    def rate(self) -> RateState: ...


M = TypeVar("M", bound=MadeImages)


class PerfFlow(ABC, Generic[M]):
    """The Perf API's flow, whoever makes the images: the key, the body, then the images made (`make`) and answered
    in the document's body (`payload`) and headers, or the error in its envelope with the key's windows. The
    in-process face (`PerfFace`) has the engine make them; the gateway (`simulator.perf.gateway`) has providers."""

    def __init__(self, engine: Engine, keys: KeyRegistry, public_url: str | None) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = public_url

    def routes(self) -> list[Route]:
        return [Route(PATH, Endpoint(self.create_image), methods=["POST"])]

    async def create_image(self, request: Request) -> Response:
        tenant: Tenant | None = None
        try:
            tenant = self.keys.authenticate(credential_header(request, b"authorization", "Authorization"))
            made = await self.make(tenant, request_from_wire(await read_body(request), request))
        except RateLimited as exc:
            return error_response(exc, exc.rate)
        except ApiError as exc:
            return error_response(exc, await self.engine.usage(tenant) if tenant else None)
        payload = await self.payload(made, base_url(request, self.public_url))
        return SafeJSONResponse(payload, headers=success_headers(made.request_id, made.rate))

    @abstractmethod
    def make(self, tenant: Tenant, generation: GenerationRequest) -> Awaitable[M]:
        """The request's images, or ApiError (RateLimited when the key's windows refused them)."""

    @abstractmethod
    async def payload(self, made: M, base: str) -> dict[str, object]:
        """The document's success body for `made`, its image URLs under `base`."""


class PerfFace(PerfFlow[GenerationResult]):
    def make(self, tenant: Tenant, generation: GenerationRequest) -> Awaitable[GenerationResult]:
        """The engine's own coroutine, handed on rather than awaited in one more: this is the benchmarked fast path."""
        return self.engine.generate(tenant, generation)

    async def payload(self, result: GenerationResult, base: str) -> dict[str, object]:
        request = result.request
        if request.response_format == "b64_json":
            data = [{"b64_json": text, "revised_prompt": result.revised_prompt} for text in await self.engine.images_b64(result)]
        else:
            data = [{"url": image_url(base, image.image_id), "revised_prompt": result.revised_prompt} for image in result.images]
        return success_body(request, result.created, data, result.request_id, result.cost_usd, result.latency_ms)
